"""Queries behind the agreement figures (bot/agreement.py): how often each score was given on
each item of a batch, and how far each trainer lands from the others on the same items.

Only submitted reviews of ordinary items count: gold (control) items are left out, and so are
items with fewer than two submitted reviews (`items.done_count`, which counts exactly the
submitted reviews), since one review agrees with nobody.

The value counts (how many reviewers gave each score on each item) are grouped in SQL, one row
per item, so nothing ever holds a raters x items matrix. Each criterion's counts come packed in
one integer, `bits` bits per score value (the count of value `low + k` is bits
bits*k..bits*k+bits-1; `bits_for` gives 63 // the scale's width, 12 for a 1-5 scale): one row
of a few integers per item is what makes 100,000 items take well under a second to read, where
a row per (item, score) took three times as long (bench/agreement_speed.py). A batch whose
items have more reviews than a field holds (4,095 at 1-5) is read a row per (item, criterion,
score) instead (`value_count_rows`), so a count never spills into its neighbour. CROSS JOIN
keeps the reading order (the batch's items, then their assignments, then their scores):
SQLite would otherwise start from every submitted assignment of every batch; PostgreSQL reads
it as a plain join.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.database import Database, Row
from storage.gold import GOLD_ITEM

MAX_BITS = 16  # per score value; more would only shrink the scales that fit
# The reviews that count: submitted, on an ordinary item of the batch with two or more of them.
_COUNTED = (
    " FROM items i"
    " CROSS JOIN assignments a"
    " CROSS JOIN scores s"
    " WHERE a.item_id = i.id AND a.status = 'submitted' AND s.assignment_id = a.id"
    " AND i.batch_id = ? AND i.done_count >= 2 AND i.gold IS NULL"
)
# The shift is cast to INTEGER: PostgreSQL shifts a BIGINT by an INTEGER only.
_PACKED = (
    "SUM(CASE WHEN s.criterion = ?"
    " THEN CAST(1 AS BIGINT) << CAST(? * (s.score - ?) AS INTEGER) ELSE 0 END)"
)


def bits_for(width: int) -> int:
    """Bits per score value when a scale of `width` values is packed in a 63-bit integer."""
    return min(MAX_BITS, 63 // max(width, 1))


def value_counts_sql(criteria: int) -> str:
    """(item id, then one packed count per criterion) for each counted item of a batch."""
    packed = ", ".join([_PACKED] * criteria)
    return f"SELECT i.id, {packed}{_COUNTED} GROUP BY i.id"


# Per trainer: the sum of |own score - mean of the other reviewers' scores| over every item and
# criterion that has other reviewers, and how many such scores there are.
DISTANCE_SQL = (
    "WITH totals AS ("
    f" SELECT a.item_id, s.criterion, SUM(s.score) AS total, COUNT(*) AS n{_COUNTED}"
    " GROUP BY a.item_id, s.criterion HAVING COUNT(*) >= 2)"
    " SELECT a.trainer_id,"
    " SUM(ABS(s.score - (t.total - s.score) * 1.0 / (t.n - 1))), COUNT(*)"
    " FROM totals t"
    " CROSS JOIN assignments a"
    " CROSS JOIN scores s"
    " WHERE a.item_id = t.item_id AND a.status = 'submitted'"
    " AND s.assignment_id = a.id AND s.criterion = t.criterion"
    " GROUP BY a.trainer_id"
)
# What the figures rest on, read cheaply: the batch's submitted reviews of ordinary items (a
# covering scan of items_progress; gold answers never change the figures) and the last Undo
# anywhere (the largest revision id), since an Undo followed by a fresh Submit leaves the
# review count as it was but may change the scores.
FRESHNESS_SQL = (
    "SELECT (SELECT COALESCE(SUM(done_count), 0) FROM items"
    f" WHERE batch_id = ? AND complete <> {GOLD_ITEM}),"
    " (SELECT COALESCE(MAX(id), 0) FROM judgment_revisions)"
)


@dataclass(frozen=True, slots=True)
class TrainerDistance:
    trainer_id: int
    total: float  # the sum of absolute distances from the others' mean
    scores: int  # how many scores it sums over


async def value_counts(
    db: Database, batch_id: int, criteria: Sequence[str], low: int, bits: int
) -> list[Row]:
    """Per counted item: its id, then for each of `criteria` its packed value counts (see the
    module docstring; `low` is the scale's lowest score). On the reader thread when long."""
    params = [value for criterion in criteria for value in (criterion, bits, low)]
    return await db.fetchall(value_counts_sql(len(criteria)), (*params, batch_id))


async def value_count_rows(db: Database, batch_id: int) -> list[Row]:
    """(item id, criterion, score, reviewers) for each counted item: the unpacked form, for a
    batch whose items have more reviews than a packed field holds."""
    return await db.fetchall(
        f"SELECT i.id, s.criterion, s.score, COUNT(*){_COUNTED}"
        " GROUP BY i.id, s.criterion, s.score",
        (batch_id,),
    )


async def most_reviews(db: Database, batch_id: int) -> int:
    """The most submitted reviews any ordinary item of the batch has (a covering read of
    items_progress). Gold items are left out: their reviews count the crowd that answered them,
    not the overlap, and would send a big batch down the slow unpacked path for nothing."""
    return await db.fetchval(
        "SELECT COALESCE(MAX(done_count), 0) FROM items WHERE batch_id = ? AND complete <> ?",
        (batch_id, GOLD_ITEM),
    )


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
