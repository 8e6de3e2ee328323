"""The record of handled Telegram update ids, so a redelivered update changes nothing."""

from __future__ import annotations

from storage.database import Database, RequestMark, current_request

_MARK_SQL = (
    "INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?)"
    " ON CONFLICT (update_id) DO NOTHING"
)


async def was_processed(db: Database, update_id: int) -> bool:
    row = await db.fetchone("SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,))
    return row is not None


async def newest_processed(db: Database) -> int | None:
    return await db.fetchval("SELECT MAX(update_id) FROM processed_updates")


def begin_update(update_id: int, now: str) -> RequestMark:
    """From here on (in this task), the first write transaction also records the update id."""
    mark = RequestMark(_MARK_SQL, (update_id, now))
    current_request.set(mark)
    return mark


async def finish_update(db: Database, mark: RequestMark) -> None:
    """Record the update id if no write transaction has done it (a read-only update)."""
    current_request.set(None)
    if not mark.recorded:
        await db.execute(mark.sql, mark.params)
        mark.recorded = True


async def forget_processed_before(db: Database, before: str) -> int:
    """Drop old ids: Telegram redelivers only for about a day, so the table stays small."""
    return await db.execute("DELETE FROM processed_updates WHERE processed_at < ?", (before,))
