"""Queries of the guidance shown while reviewing: whose batch guidelines were shown already."""

from __future__ import annotations

from storage.database import Connection, Database


async def mark_guidelines_shown(db: Database, trainer_id: int, batch_id: int, now: str) -> bool:
    """Record that `trainer_id` is shown the guidelines of `batch_id`; False if they were."""
    return await db.write(_mark, trainer_id, batch_id, now)


def _mark(conn: Connection, trainer_id: int, batch_id: int, now: str) -> bool:
    cursor = conn.execute(
        "INSERT INTO guidelines_shown (trainer_id, batch_id, shown_at) VALUES (?, ?, ?)"
        " ON CONFLICT (trainer_id, batch_id) DO NOTHING",
        (trainer_id, batch_id, now),
    )
    return cursor.rowcount == 1
