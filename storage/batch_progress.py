"""Queries of how far batches are, as a trainer's panel shows it."""

from __future__ import annotations

from storage.database import Database
from storage.gold import GOLD_ITEM


async def batch_progress(db: Database, batch_id: int) -> tuple[int, int]:
    """(complete items, items) of one batch's ordinary items: counts over the `items_queue`
    index entries of its complete and its gold items (no item row is read) and the batch's
    stored item count. Gold items are not part of a batch's progress."""
    row = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM items WHERE batch_id = :batch AND complete = 1),"
        " item_count - (SELECT COUNT(*) FROM items WHERE batch_id = :batch AND complete = :gold)"
        " FROM batches WHERE id = :batch",
        {"batch": batch_id, "gold": GOLD_ITEM},
    )
    return (0, 0) if row is None else (row[0], row[1])


async def any_batch(db: Database) -> bool:
    """Whether any batch exists (one still importing does not count): before the first one,
    there is nothing to hand out yet."""
    return await db.fetchval("SELECT 1 FROM batches WHERE importing = 0 LIMIT 1") is not None
