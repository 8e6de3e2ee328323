"""The record of handled Telegram update ids, so a redelivered update changes nothing."""

from __future__ import annotations

from storage.database import Database


async def was_processed(db: Database, update_id: int) -> bool:
    row = await db.fetchone("SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,))
    return row is not None


async def mark_processed(db: Database, update_id: int, now: str) -> None:
    await db.execute(
        "INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?)"
        " ON CONFLICT (update_id) DO NOTHING",
        (update_id, now),
    )


async def forget_processed_before(db: Database, before: str) -> int:
    """Drop old ids: Telegram redelivers only for about a day, so the table stays small."""
    return await db.execute("DELETE FROM processed_updates WHERE processed_at < ?", (before,))
