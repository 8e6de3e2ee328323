"""Queries behind /progress: a batch's items and reviews, aggregated in SQL.

The item figures, open items per language included, come from one scan of the covering index
`items_progress` (no item row is read, so a batch of 100,000 long items costs milliseconds);
the recent activity comes from the `assignments_submitted` index, bounded by the last day's
submissions. Whether anyone can still take a batch's items is the pick's own question
(storage.assignment.anyone_can_take).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from storage.database import Database
from storage.gold import GOLD_ITEM


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: int
    name: str
    status: str
    overlap: int
    extra_reviews: int = 0  # dynamic overlap's cap (0: off): items may want overlap + extra


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """A batch's ordinary items: gold items (complete = GOLD_ITEM) are not part of its progress."""

    items: int
    complete: int
    reviews: int  # every submitted review (late ones beyond the overlap included)
    useful: int  # reviews counted towards the overlap: at most `overlap + extra` per item
    # Items still wanting reviews, per language (None: items without one).
    open_by_language: dict[str | None, int] = field(default_factory=dict)
    extra: int = 0  # extra reviews the items were given for disagreement (dynamic overlap)

    def wanted(self, overlap: int) -> int:
        """Reviews wanted in all: `overlap` per item, and the extra ones it was given."""
        return self.items * overlap + self.extra


@dataclass(frozen=True, slots=True)
class Activity:
    reviews_since: int  # submitted since `since` (the rate's long window)
    reviews_last_hour: int
    trainers_today: int
    first_since: str | None  # the earliest of the reviews since `since`


NO_ACTIVITY = Activity(0, 0, 0, None)
_BATCH_COLUMNS = "SELECT id, name, status, overlap, extra_reviews FROM batches"
# One covering-index scan (items_progress) per batch: a handful of groups, no item row read.
ITEM_COUNTS_SQL = (
    "SELECT complete, lang, done_count, COUNT(*) FROM items WHERE batch_id = ?"
    " GROUP BY complete, lang, done_count"
)
# With dynamic overlap on, the items given extra reviews want `overlap + extra`: `extra` is
# not in the index, so these batches' item rows are read (ordinary batches' never are).
EXTRA_SQL = (
    "SELECT done_count, extra, COUNT(*) FROM items WHERE batch_id = ?"
    " AND complete IN (0, 1) AND extra > 0 GROUP BY done_count, extra"
)


async def find_batch(db: Database, name: str) -> BatchRow | None:
    row = await db.fetchone(f"{_BATCH_COLUMNS} WHERE name = ?", (name,))
    return None if row is None else BatchRow(*row)


async def open_batches(db: Database) -> list[BatchRow]:
    rows = await db.fetchall(f"{_BATCH_COLUMNS} WHERE status = 'open' ORDER BY priority DESC, id")
    return [BatchRow(*row) for row in rows]


async def item_counts(db: Database, batch: BatchRow) -> ItemCounts:
    """Ordinary items, complete items, reviews and open items per language of one batch, from
    a few grouped index entries (gold items left out)."""
    rows = await db.fetchall(ITEM_COUNTS_SQL, (batch.id,))
    items = complete = reviews = useful = 0
    open_by_language: dict[str | None, int] = {}
    for state, language, done, count in rows:
        if state == GOLD_ITEM:
            continue
        items += count
        complete += count if state else 0
        reviews += done * count
        useful += min(done, batch.overlap) * count
        if not state:
            open_by_language[language] = open_by_language.get(language, 0) + count
    extra = 0
    if batch.extra_reviews > 0:
        for done, item_extra, count in await db.fetchall(EXTRA_SQL, (batch.id,)):
            extra += item_extra * count
            wants = batch.overlap + item_extra
            useful += (min(done, wants) - min(done, batch.overlap)) * count
    return ItemCounts(items, complete, reviews, useful, open_by_language, extra)


async def recent_activity(
    db: Database, batch_ids: Sequence[int], *, since: str, hour_ago: str, today: str
) -> dict[int, Activity]:
    """Per batch: reviews of its ordinary items since `since` (and the first of them), in the
    last hour, and how many trainers submitted one since `today` (gold answers are left out,
    as gold items are out of the batch's progress).

    `since` must be the earliest of the three moments: it bounds the index range read.
    """
    if not batch_ids:
        return {}
    marks = ", ".join("?" for _ in batch_ids)
    rows = await db.fetchall(
        "SELECT i.batch_id, COUNT(*),"
        " SUM(CASE WHEN a.submitted_at >= ? THEN 1 ELSE 0 END),"
        " COUNT(DISTINCT CASE WHEN a.submitted_at >= ? THEN a.trainer_id END),"
        " MIN(a.submitted_at)"
        " FROM assignments a JOIN items i ON i.id = a.item_id"
        f" WHERE a.status = 'submitted' AND a.submitted_at >= ? AND i.batch_id IN ({marks})"
        f" AND i.complete <> {GOLD_ITEM} GROUP BY i.batch_id",
        (hour_ago, today, since, *batch_ids),
    )
    return {row[0]: Activity(row[1], row[2] or 0, row[3], row[4]) for row in rows}
