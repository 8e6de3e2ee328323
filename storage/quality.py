"""Queries behind the quality figures coordinators and trainers see (issue 9): how many of a
trainer's rewrites reviewers accepted, how their gold answers went, who is paused by gold, and
how many rewrites wait for review.

One grouped statement per figure, whatever the team's size (`user_ids=None`: everyone), never
one per trainer. The reads start from the small quality tables: `CROSS JOIN` (an inner join
in any SQL) keeps SQLite from starting at the assignments instead, which are ten times as many
(0.8 s instead of 0.2 s at 1,000 trainers, bench/report_quality_speed.py).

The tables are filled elsewhere: rewrite_reviews by the rewrite review, gold_answers and
gold_pauses by the gold items (migration 0016 says what each column means).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Database
from storage.gold import GOLD_ITEM


@dataclass(frozen=True, slots=True)
class Decided:
    """A trainer's rewrites a reviewer decided on (accepted or rejected)."""

    accepted: int
    decided: int


@dataclass(frozen=True, slots=True)
class GoldTally:
    """A trainer's gold answers in one batch, and how many were right."""

    batch_id: int
    batch_name: str
    answers: int
    correct: int


@dataclass(frozen=True, slots=True)
class GoldPause:
    """A trainer paused by gold in one batch (a live pause: not lifted by /resume)."""

    trainer_id: int
    batch_id: int
    batch_name: str


_NEVER = "9999"  # a stamp after every stamp: no limit


def _among(column: str, user_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    """`AND column IN (...)` for the trainers asked about; nothing for everyone."""
    if user_ids is None:
        return "", []
    marks = ", ".join("?" for _ in user_ids) or "NULL"
    return f" AND {column} IN ({marks})", list(user_ids)


async def decided_rewrites(
    db: Database, user_ids: Sequence[int] | None = None, *, until: str = _NEVER
) -> dict[int, Decided]:
    """Per writer: their rewrites accepted, of those accepted or rejected (decided) before
    `until`.

    A few trainers (/stats, a page of /trainers) are read from their assignments (the trainer
    index); everyone from the reviews (`CROSS JOIN`, see the module docstring). The few are a
    plain join written with a comma (its condition in the WHERE, as the CROSS JOIN's), which
    SQLite may reorder; a bare `JOIN` without `ON` is SQLite's alone."""
    among, params = _among("a.trainer_id", user_ids)
    join = " CROSS JOIN" if user_ids is None else ","
    rows = await db.fetchall(
        "SELECT a.trainer_id, SUM(CASE WHEN r.status = 'accepted' THEN 1 ELSE 0 END), COUNT(*)"
        f" FROM rewrite_reviews r{join} assignments a"
        f" WHERE a.id = r.assignment_id AND r.status IN ('accepted', 'rejected')"
        f" AND r.decided_at < ?{among} GROUP BY a.trainer_id",
        [until, *params],
    )
    return {row[0]: Decided(row[1], row[2]) for row in rows}


async def waiting_rewrites(db: Database, *, until: str = _NEVER) -> int:
    """Rewrites in open batches waiting for a decision at `until`: submitted before it, not on
    a gold item (those are never offered for review), and not accepted or rejected before it
    (one open in a reviewer's chat still waits)."""
    return await db.fetchval(
        "SELECT COUNT(*) FROM judgments j CROSS JOIN assignments a"
        " JOIN items i ON i.id = a.item_id"
        " JOIN batches b ON b.id = i.batch_id"
        " LEFT JOIN rewrite_reviews r ON r.assignment_id = j.assignment_id"
        " AND r.status IN ('accepted', 'rejected') AND r.decided_at < ?"
        " WHERE a.id = j.assignment_id AND j.rewrite IS NOT NULL AND a.status = 'submitted'"
        " AND a.submitted_at < ? AND i.complete <> ?"
        " AND b.status = 'open' AND r.assignment_id IS NULL",
        (until, until, GOLD_ITEM),
        default=0,
    )


async def gold_tallies(
    db: Database, user_ids: Sequence[int] | None = None, *, until: str = _NEVER
) -> dict[int, list[GoldTally]]:
    """Per trainer, per batch: all their gold answers before `until` (counted or not: a
    /resume restarts the tally that pauses, not the record) and how many were right, batches in
    id order."""
    among, params = _among("g.trainer_id", user_ids)
    rows = await db.fetchall(
        "SELECT g.trainer_id, g.batch_id, b.name, COUNT(*), SUM(g.correct) FROM gold_answers g"
        " JOIN batches b ON b.id = g.batch_id"
        f" WHERE g.answered_at < ?{among} GROUP BY g.trainer_id, g.batch_id, b.name"
        " ORDER BY g.trainer_id, g.batch_id",
        [until, *params],
    )
    tallies: dict[int, list[GoldTally]] = {}
    for trainer_id, batch_id, name, answers, correct in rows:
        tallies.setdefault(trainer_id, []).append(GoldTally(batch_id, name, answers, correct))
    return tallies


async def gold_details(
    db: Database, user_ids: Sequence[int] | None = None, *, until: str = _NEVER
) -> list[tuple[int, int, str, str]]:
    """(trainer, batch id, batch name, detail JSON) of every gold answer before `until`: what
    the per-criterion figures are read from, per batch (the JSON is parsed by the caller,
    portable SQL here)."""
    among, params = _among("g.trainer_id", user_ids)
    rows = await db.fetchall(
        "SELECT g.trainer_id, g.batch_id, b.name, g.detail FROM gold_answers g"
        f" JOIN batches b ON b.id = g.batch_id WHERE g.answered_at < ?{among}",
        [until, *params],
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def gold_pauses(
    db: Database, user_ids: Sequence[int] | None = None, *, until: str = _NEVER
) -> list[GoldPause]:
    """The gold pauses live at `until` (made before it, not lifted by /resume before it), with
    their batch's name."""
    among, params = _among("p.trainer_id", user_ids)
    rows = await db.fetchall(
        "SELECT p.trainer_id, p.batch_id, b.name FROM gold_pauses p"
        " JOIN batches b ON b.id = p.batch_id"
        " WHERE p.paused_at < ? AND (p.lifted_at IS NULL OR p.lifted_at >= ?)"
        f"{among} ORDER BY p.trainer_id, p.batch_id",
        [until, until, *params],
    )
    return [GoldPause(row[0], row[1], row[2]) for row in rows]
