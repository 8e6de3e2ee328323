"""Queries behind "batch complete" (bot/batch_events.py): which batches just got every item's
reviews, marked so in the statement that decides, and their totals for the message."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database, Transaction
from storage.gold import GOLD_ITEM

# A batch not yet marked whose ordinary items are all complete (gold items, complete = 2, are
# not part of its completion: it is complete while trainers still have gold items left). Each
# candidate costs a probe of `items_progress` (batch_id, complete, ...) for an open item and
# one for a complete one (a batch of gold items only is never complete), so with nothing to
# announce the per-minute look is a read of the few unmarked batches and nothing else.
_JUST_COMPLETE = (
    "completed_at IS NULL AND importing = 0 AND item_count > 0"
    " AND NOT EXISTS (SELECT 1 FROM items WHERE items.batch_id = batches.id"
    " AND items.complete = 0)"
    " AND EXISTS (SELECT 1 FROM items WHERE items.batch_id = batches.id AND items.complete = 1)"
)
ANY_COMPLETE_SQL = f"SELECT 1 FROM batches WHERE {_JUST_COMPLETE} LIMIT 1"
MARK_COMPLETE_SQL = f"UPDATE batches SET completed_at = ? WHERE {_JUST_COMPLETE} RETURNING id"


@dataclass(frozen=True, slots=True)
class CompletedBatch:
    id: int
    name: str
    items: int  # ordinary items (gold ones left out)
    reviews: int  # submitted reviews of them, late extras included
    trainers: int  # trainers with a submitted review of them
    created_at: str
    completed_at: str


async def any_just_complete(db: Database) -> bool:
    """A read first, so the minute with nothing to announce takes no write lock."""
    return await db.fetchval(ANY_COMPLETE_SQL) is not None


async def mark_completed(db: Database, now: str) -> list[int]:
    """Mark every batch that just became complete and return their ids: the mark is the
    decision, so two runs (or a restart) never both get the same batch, and a batch an Undo
    reopens and a Submit completes again is marked already."""
    return await db.write(_mark, now)


async def _mark(tx: Transaction, now: str) -> list[int]:
    return [row[0] for row in await tx.fetchall(MARK_COMPLETE_SQL, (now,))]


async def completed_batch(db: Database, batch_id: int) -> CompletedBatch | None:
    row = await db.fetchone(
        "SELECT b.id, b.name,"
        " b.item_count - (SELECT COUNT(*) FROM items WHERE batch_id = b.id AND complete = :gold),"
        " (SELECT COALESCE(SUM(done_count), 0) FROM items WHERE batch_id = b.id"
        "  AND complete <> :gold),"
        " (SELECT COUNT(DISTINCT a.trainer_id) FROM assignments a JOIN items i"
        "  ON i.id = a.item_id WHERE i.batch_id = b.id AND i.complete <> :gold"
        "  AND a.status = 'submitted'),"
        " b.created_at, b.completed_at FROM batches b WHERE b.id = :batch",
        {"gold": GOLD_ITEM, "batch": batch_id},
    )
    return None if row is None or row[6] is None else CompletedBatch(*row)


async def batch_name(db: Database, batch_id: int) -> str | None:
    """The name of a batch that finished importing (export buttons carry its id)."""
    return await db.fetchval("SELECT name FROM batches WHERE id = ? AND importing = 0", (batch_id,))
