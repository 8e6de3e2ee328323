"""Queries behind the finish estimate (bot/forecast.py): a batch's missing reviews and its
recent submissions.

Missing reviews come from the covering index `items_progress` (batch_id, complete, lang,
done_count): only the entries of items still open are read, grouped by their review count, so
no item row is touched. Recent submissions come from `assignments_submitted` (status,
submitted_at), bounded by the rate's window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.database import Database
from storage.gold import GOLD_ITEM

# One covering-index range per batch: its open items, grouped by how many reviews they have
# (gold items, complete = GOLD_ITEM, are never open: not part of a batch's progress).
MISSING_SQL = (
    "SELECT done_count, COUNT(*) FROM items WHERE batch_id = ? AND complete = 0 GROUP BY done_count"
)

# Dynamic overlap: the open items given extra reviews (`extra` is not in the index, so only
# batches with dynamic overlap on read these rows).
OPEN_EXTRA_SQL = (
    "SELECT done_count, extra, COUNT(*) FROM items WHERE batch_id = ? AND complete = 0"
    " AND extra > 0 GROUP BY done_count, extra"
)


@dataclass(frozen=True, slots=True)
class ForecastBatch:
    id: int
    overlap: int
    deadline: str | None  # YYYY-MM-DD, the last day (in TIMEZONE) the batch should finish on
    created_at: str
    extra_reviews: int = 0  # dynamic overlap's cap (0: off): items may want overlap + extra


_COLUMNS = "SELECT id, overlap, deadline, created_at, extra_reviews FROM batches"


async def forecast_batch(db: Database, batch_id: int) -> ForecastBatch | None:
    row = await db.fetchone(f"{_COLUMNS} WHERE id = ? AND importing = 0", (batch_id,))
    return None if row is None else ForecastBatch(*row)


async def open_forecast_batches(db: Database) -> list[ForecastBatch]:
    rows = await db.fetchall(
        f"{_COLUMNS} WHERE status = 'open' AND importing = 0 ORDER BY priority DESC, id"
    )
    return [ForecastBatch(*row) for row in rows]


async def missing_reviews(db: Database, batch: ForecastBatch) -> int:
    """Reviews still wanted: each open item's reviews short of the overlap and the extra ones
    it was given (late extras beyond the overlap never make up for another item's)."""
    rows = await db.fetchall(MISSING_SQL, (batch.id,))
    missing = sum(max(0, batch.overlap - done) * count for done, count in rows)
    if batch.extra_reviews > 0:  # dynamic overlap: an item given extras wants them too
        for done, extra, count in await db.fetchall(OPEN_EXTRA_SQL, (batch.id,)):
            wants = batch.overlap + extra
            missing += (max(0, wants - done) - max(0, batch.overlap - done)) * count
    return missing


async def submitted_between(
    db: Database, batch_ids: Sequence[int], since: str, until: str
) -> dict[int, int]:
    """Per batch: reviews of its ordinary items submitted from `since` up to `until` (kept ones:
    an Undo takes its review back out until it is submitted again; gold answers are no progress,
    so they are no pace either); `until` is the forecast's moment, so a report rebuilt later for
    its CSV has the same pace."""
    if not batch_ids:
        return {}
    marks = ", ".join("?" for _ in batch_ids)
    rows = await db.fetchall(
        "SELECT i.batch_id, COUNT(*) FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE a.status = 'submitted' AND a.submitted_at >= ? AND a.submitted_at <= ?"
        f" AND i.batch_id IN ({marks}) AND i.complete <> {GOLD_ITEM} GROUP BY i.batch_id",
        (since, until, *batch_ids),
    )
    return {batch_id: count for batch_id, count in rows}
