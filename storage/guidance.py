"""Queries of the guidance shown while reviewing: whose batch guidelines were shown already."""

from __future__ import annotations

from storage.database import Database, Transaction


async def mark_guidelines_shown(db: Database, trainer_id: int, batch_id: int, now: str) -> bool:
    """Record that `trainer_id` is shown the guidelines of `batch_id`; False if they were."""
    return await db.write(_mark, trainer_id, batch_id, now)


async def _mark(tx: Transaction, trainer_id: int, batch_id: int, now: str) -> bool:
    changed = await tx.execute(
        "INSERT INTO guidelines_shown (trainer_id, batch_id, shown_at) VALUES (?, ?, ?)"
        " ON CONFLICT (trainer_id, batch_id) DO NOTHING",
        (trainer_id, batch_id, now),
    )
    return changed == 1
