"""Queries behind the agreement figures (bot/agreement.py): how often each score was given on
each item of a batch, and how far each trainer lands from the others on the same items.

Only submitted reviews of ordinary items count: gold (control) items are left out, and so are
items with fewer than two submitted reviews (`items.done_count`, which counts exactly the
submitted reviews), since one review agrees with nobody. The value counts are grouped in SQL,
(item, score, count) per criterion, so nothing ever holds a raters x items matrix: a batch of
100,000 items with 3 reviews each is at most ~300,000 small rows per criterion.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database

# The reviews that count: submitted, on an ordinary item of the batch with two or more of them.
_COUNTED = (
    " FROM items i"
    " JOIN assignments a ON a.item_id = i.id AND a.status = 'submitted'"
    " JOIN scores s ON s.assignment_id = a.id"
    " WHERE i.batch_id = ? AND i.done_count >= 2 AND i.gold IS NULL"
)
VALUE_COUNTS_SQL = (
    f"SELECT a.item_id, s.score, COUNT(*){_COUNTED} AND s.criterion = ? GROUP BY a.item_id, s.score"
)
# Per trainer: the sum of |own score - mean of the other reviewers' scores| over every item and
# criterion that has other reviewers, and how many such scores there are.
DISTANCE_SQL = (
    "WITH totals AS ("
    f" SELECT a.item_id, s.criterion, SUM(s.score) AS total, COUNT(*) AS n{_COUNTED}"
    " GROUP BY a.item_id, s.criterion HAVING COUNT(*) >= 2)"
    " SELECT a.trainer_id,"
    " SUM(ABS(s.score - (t.total - s.score) * 1.0 / (t.n - 1))), COUNT(*)"
    " FROM totals t"
    " JOIN assignments a ON a.item_id = t.item_id AND a.status = 'submitted'"
    " JOIN scores s ON s.assignment_id = a.id AND s.criterion = t.criterion"
    " GROUP BY a.trainer_id"
)
# What the figures rest on, read cheaply: the batch's submitted reviews (a covering scan of
# items_progress) and the last Undo anywhere (the largest revision id), since an Undo followed by
# a fresh Submit leaves the review count as it was but may change the scores.
FRESHNESS_SQL = (
    "SELECT (SELECT COALESCE(SUM(done_count), 0) FROM items WHERE batch_id = ?),"
    " (SELECT COALESCE(MAX(id), 0) FROM judgment_revisions)"
)


@dataclass(frozen=True, slots=True)
class TrainerDistance:
    trainer_id: int
    total: float  # the sum of absolute distances from the others' mean
    scores: int  # how many scores it sums over


async def value_counts(db: Database, batch_id: int, criterion: str) -> list[tuple[int, int, int]]:
    """(item id, score, how many reviewers gave it) for one criterion of a batch."""
    rows = await db.fetchall(VALUE_COUNTS_SQL, (batch_id, criterion))
    return [(row[0], row[1], row[2]) for row in rows]


async def trainer_distances(db: Database, batch_id: int) -> list[TrainerDistance]:
    """Each trainer's summed distance from the other reviewers' mean, over the batch's items."""
    rows = await db.fetchall(DISTANCE_SQL, (batch_id,))
    return [TrainerDistance(row[0], float(row[1]), row[2]) for row in rows]


async def freshness(db: Database, batch_id: int) -> tuple[int, int]:
    """What changes whenever the batch's agreement may have: (submitted reviews, last Undo)."""
    row = await db.fetchone(FRESHNESS_SQL, (batch_id,))
    assert row is not None
    return (row[0], row[1])


async def batch_rubric(db: Database, batch_id: int) -> str:
    """The batch's rubric, as stored (JSON)."""
    return await db.fetchval("SELECT rubric FROM batches WHERE id = ?", (batch_id,))
