"""Queries behind the anomaly signals (bot/anomalies.py): per trainer, over a window of recent
days, their submissions' timings and item lengths, their skips, how often every criterion got
the same score, and their rewrites.

Each is one grouped statement for every trainer asked about (or everyone), never one per
trainer; the submissions are read on the `assignments_submitted` index (status, submitted_at).
A skip keeps no time of its own, so skips (and the items handed out they are a share of) are
counted by when the item was handed out. Durations and rewrite normalisation are done in Python
(bot/anomalies.py): date arithmetic and whitespace folding differ between SQL dialects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Database


@dataclass(frozen=True, slots=True)
class Handed:
    """A trainer's items handed out in the window that they finished: submitted or skipped."""

    skipped: int
    finished: int


@dataclass(frozen=True, slots=True)
class SameScores:
    """A trainer's submissions scored on two or more criteria, and those with one score on all."""

    same: int
    scored: int


def _only(user_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    if user_ids is None:
        return "", []
    marks = ", ".join("?" for _ in user_ids) or "NULL"
    return f" AND a.trainer_id IN ({marks})", list(user_ids)


async def submission_times(
    db: Database, since: str, user_ids: Sequence[int] | None = None
) -> list[tuple[int, str, str, int]]:
    """(trainer, handed out, submitted, the item's length in characters) per submission since
    `since` (the prompt, the answer and any earlier turns)."""
    only, params = _only(user_ids)
    rows = await db.fetchall(
        "SELECT a.trainer_id, a.assigned_at, a.submitted_at,"
        " LENGTH(i.prompt) + LENGTH(i.response) + COALESCE(LENGTH(i.context), 0)"
        " FROM assignments a JOIN items i ON i.id = a.item_id"
        f" WHERE a.status = 'submitted' AND a.submitted_at >= ?{only}",
        (since, *params),
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def handed_out(
    db: Database, since: str, user_ids: Sequence[int] | None = None
) -> dict[int, Handed]:
    """Skipped and finished (submitted or skipped) items handed out since `since`, per trainer."""
    only, params = _only(user_ids)
    rows = await db.fetchall(
        "SELECT a.trainer_id, SUM(CASE WHEN a.status = 'skipped' THEN 1 ELSE 0 END), COUNT(*)"
        " FROM assignments a"
        f" WHERE a.status IN ('submitted', 'skipped') AND a.assigned_at >= ?{only}"
        " GROUP BY a.trainer_id",
        (since, *params),
    )
    return {row[0]: Handed(row[1] or 0, row[2]) for row in rows}


async def same_scores(
    db: Database, since: str, user_ids: Sequence[int] | None = None
) -> dict[int, SameScores]:
    """Per trainer: submissions since `since` with scores on two or more criteria, and how many
    of them gave every criterion the same score."""
    only, params = _only(user_ids)
    rows = await db.fetchall(
        "SELECT trainer_id, SUM(CASE WHEN low = high THEN 1 ELSE 0 END), COUNT(*) FROM ("
        " SELECT a.trainer_id AS trainer_id, MIN(s.score) AS low, MAX(s.score) AS high"
        " FROM assignments a JOIN scores s ON s.assignment_id = a.id"
        f" WHERE a.status = 'submitted' AND a.submitted_at >= ?{only}"
        " GROUP BY a.id, a.trainer_id HAVING COUNT(*) >= 2) per_review"
        " GROUP BY trainer_id",
        (since, *params),
    )
    return {row[0]: SameScores(row[1] or 0, row[2]) for row in rows}


async def rewrites(
    db: Database, since: str, user_ids: Sequence[int] | None = None
) -> list[tuple[int, int, str]]:
    """(trainer, item, rewrite text) of each submission since `since` that has a rewrite."""
    only, params = _only(user_ids)
    rows = await db.fetchall(
        "SELECT a.trainer_id, a.item_id, j.rewrite"
        " FROM assignments a JOIN judgments j ON j.assignment_id = a.id"
        f" WHERE a.status = 'submitted' AND a.submitted_at >= ?{only}"
        " AND j.rewrite IS NOT NULL",
        (since, *params),
    )
    return [(row[0], row[1], row[2]) for row in rows]
