"""How many reviews trainers submitted on each of a run of days (for streaks, summaries and the
daily report). The days are given as UTC ranges, so a trainer's local days in any time zone, with
or without daylight saving, are counted by the same portable SQL."""

from __future__ import annotations

from collections.abc import Sequence

from storage.database import Database

_CHUNK = 500  # trainer ids per statement (SQLite allows 32,766 parameters)


async def submitted_per_day(
    db: Database, trainer_ids: Sequence[int], days: Sequence[tuple[str, str]]
) -> dict[int, list[int]]:
    """Each trainer's submitted reviews in each `[start, end)` of `days` (stamps, oldest
    first, contiguous), as a list in the same order; trainers with none get zeros."""
    counts = {trainer_id: [0] * len(days) for trainer_id in trainer_ids}
    if not days:
        return counts
    ranges = ", ".join("(?, ?, ?)" for _ in days)
    range_params = [v for index, (start, end) in enumerate(days) for v in (index, start, end)]
    for first in range(0, len(trainer_ids), _CHUNK):
        chunk = list(trainer_ids[first : first + _CHUNK])
        marks = ", ".join("?" for _ in chunk)
        rows = await db.fetchall(
            f"WITH days (day, day_start, day_end) AS (VALUES {ranges})"
            " SELECT a.trainer_id, days.day, COUNT(*) AS reviews FROM assignments a"
            " JOIN days ON a.submitted_at >= days.day_start AND a.submitted_at < days.day_end"
            f" WHERE a.status = 'submitted' AND a.trainer_id IN ({marks})"
            " AND a.submitted_at >= ? AND a.submitted_at < ?"
            " GROUP BY a.trainer_id, days.day",
            (*range_params, *chunk, days[0][0], days[-1][1]),
        )
        for row in rows:
            counts[row["trainer_id"]][row["day"]] = row["reviews"]
    return counts
