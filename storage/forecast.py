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

# One covering-index range per batch: its open items, grouped by how many reviews they have.
MISSING_SQL = (
    "SELECT done_count, COUNT(*) FROM items WHERE batch_id = ? AND complete = 0 GROUP BY done_count"
)


@dataclass(frozen=True, slots=True)
class ForecastBatch:
    id: int
    overlap: int
    deadline: str | None  # YYYY-MM-DD, the last day (in TIMEZONE) the batch should finish on
    created_at: str


_COLUMNS = "SELECT id, overlap, deadline, created_at FROM batches"


async def forecast_batch(db: Database, batch_id: int) -> ForecastBatch | None:
    row = await db.fetchone(f"{_COLUMNS} WHERE id = ? AND importing = 0", (batch_id,))
    return None if row is None else ForecastBatch(*row)


async def open_forecast_batches(db: Database) -> list[ForecastBatch]:
    rows = await db.fetchall(
        f"{_COLUMNS} WHERE status = 'open' AND importing = 0 ORDER BY priority DESC, id"
    )
    return [ForecastBatch(*row) for row in rows]


async def missing_reviews(db: Database, batch: ForecastBatch) -> int:
    """Reviews still wanted: each open item's reviews short of the overlap (late extras beyond
    the overlap never make up for another item's)."""
    rows = await db.fetchall(MISSING_SQL, (batch.id,))
    return sum(max(0, batch.overlap - done) * count for done, count in rows)


async def submitted_between(
    db: Database, batch_ids: Sequence[int], since: str, until: str
) -> dict[int, int]:
    """Per batch: reviews submitted from `since` up to `until` (kept ones: an Undo takes its review
    back out until it is submitted again); `until` is the forecast's moment, so a report rebuilt
    later for its CSV has the same pace."""
    if not batch_ids:
        return {}
    marks = ", ".join("?" for _ in batch_ids)
    rows = await db.fetchall(
        "SELECT i.batch_id, COUNT(*) FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE a.status = 'submitted' AND a.submitted_at >= ? AND a.submitted_at <= ?"
        f" AND i.batch_id IN ({marks}) GROUP BY i.batch_id",
        (since, until, *batch_ids),
    )
    return {batch_id: count for batch_id, count in rows}
