"""Queries behind the coordinators' daily report: the team, and its day grouped per trainer and
per batch, each trainer's figures over their own local days.

Trainers' local days differ by time zone, so every query takes the days as one `[start, end)`
range of UTC stamps per zone in use (`ZoneRange`) and joins each submission to its trainer's
zone's range: one grouped statement for the whole team, whatever its size, in portable SQL. The
outer bounds (the earliest start, the latest end) keep the read on the `assignments_submitted`
index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Database
from storage.gold import GOLD_ITEM
from storage.records import Trainer


@dataclass(frozen=True, slots=True)
class ZoneRange:
    """The UTC stamps of a run of local days in one time zone: what a query counts in it."""

    zone: str  # IANA name; trainers without a zone of their own use the default zone
    start: str  # stamp, inclusive
    end: str  # stamp, exclusive


@dataclass(frozen=True, slots=True)
class Member:
    """An active trainer the report is about, with when they were last seen."""

    trainer: Trainer
    last_seen_at: str | None


# The trainers a report is about: active trainers (not coordinators, not deleted identities).
_TEAM = "t.role = 'trainer' AND t.status = 'active' AND t.user_id > 0"


async def team(db: Database) -> list[Member]:
    """Every active trainer, by name (then id, for a stable order)."""
    rows = await db.fetchall(f"SELECT * FROM trainers t WHERE {_TEAM} ORDER BY t.name, t.user_id")
    return [Member(Trainer.from_row(row), row["last_seen_at"]) for row in rows]


def _ranges(ranges: Sequence[ZoneRange], default_zone: str) -> tuple[str, str, list[Any]]:
    """The CTE of the zones' ranges and the join of a trainer `t` to theirs, with parameters."""
    values = ", ".join("(CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))" for _ in ranges)
    params: list[Any] = [v for r in ranges for v in (r.zone, r.start, r.end)]
    cte = f"WITH zone_days (zone, day_start, day_end) AS (VALUES {values})"
    join = " JOIN zone_days d ON d.zone = COALESCE(t.timezone, ?)"
    return cte, join, [*params, default_zone]


def _bounds(ranges: Sequence[ZoneRange]) -> tuple[str, str]:
    return min(r.start for r in ranges), max(r.end for r in ranges)


async def reviews_per_batch(
    db: Database, ranges: Sequence[ZoneRange], default_zone: str
) -> dict[int, int]:
    """Reviews of ordinary items submitted in each trainer's own range, per batch (every trainer
    counts: a review by someone paused since is still a review of the batch; gold items are not
    part of a batch's progress, so their reviews are not counted)."""
    if not ranges:
        return {}
    cte, join, params = _ranges(ranges, default_zone)
    low, high = _bounds(ranges)
    rows = await db.fetchall(
        f"{cte} SELECT i.batch_id, COUNT(*) FROM assignments a"
        " JOIN trainers t ON t.user_id = a.trainer_id"
        f"{join}"
        " JOIN items i ON i.id = a.item_id"
        " WHERE a.status = 'submitted' AND a.submitted_at >= ? AND a.submitted_at < ?"
        " AND a.submitted_at >= d.day_start AND a.submitted_at < d.day_end AND i.complete <> ?"
        " GROUP BY i.batch_id",
        (*params, low, high, GOLD_ITEM),
    )
    return {row[0]: row[1] for row in rows}


async def skips_per_trainer(
    db: Database, ranges: Sequence[ZoneRange], default_zone: str
) -> dict[int, int]:
    """Items each active trainer skipped, of those handed to them in their own range (a skip
    keeps no time of its own; it is counted by when the item was handed out)."""
    if not ranges:
        return {}
    cte, join, params = _ranges(ranges, default_zone)
    rows = await db.fetchall(
        f"{cte} SELECT a.trainer_id, COUNT(*) FROM trainers t"
        f"{join}"
        " JOIN assignments a ON a.trainer_id = t.user_id AND a.status = 'skipped'"
        f" WHERE {_TEAM} AND a.assigned_at >= d.day_start AND a.assigned_at < d.day_end"
        " GROUP BY a.trainer_id",
        params,
    )
    return {row[0]: row[1] for row in rows}


async def review_times(
    db: Database, ranges: Sequence[ZoneRange], default_zone: str
) -> dict[int, list[tuple[str, str]]]:
    """(handed out, submitted) stamps of each active trainer's reviews submitted in their own
    range, in the order submitted: what the time spent reviewing is estimated from."""
    if not ranges:
        return {}
    cte, join, params = _ranges(ranges, default_zone)
    low, high = _bounds(ranges)
    rows = await db.fetchall(
        f"{cte} SELECT a.trainer_id, a.assigned_at, a.submitted_at FROM assignments a"
        " JOIN trainers t ON t.user_id = a.trainer_id"
        f"{join}"
        " WHERE a.status = 'submitted' AND a.submitted_at >= ? AND a.submitted_at < ?"
        f" AND a.submitted_at >= d.day_start AND a.submitted_at < d.day_end AND {_TEAM}"
        " ORDER BY a.trainer_id, a.submitted_at",
        (*params, low, high),
    )
    times: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for trainer_id, assigned_at, submitted_at in rows:
        times[trainer_id].append((assigned_at, submitted_at))
    return dict(times)
