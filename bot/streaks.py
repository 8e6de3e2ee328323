"""A trainer's days: today's reviews, the last week's, and the streak (consecutive local days on
which the quota was met), each day being the trainer's own local date.

The streak counts today once today's quota is met; until then it is the run that ended
yesterday, still alive until local midnight. It is measured against the trainer's quota as it
is now (quota changes are not kept in history). Days are looked at in widening windows (two
weeks, then as many days again, only for trainers whose streak reaches the window's start, and
only the days not read yet), so a report reads about twice each trainer's streak, not their
whole history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import stamp
from storage.activity import submitted_per_day
from storage.database import Database
from storage.records import Trainer

WEEK = 7
FIRST_WINDOW = 14  # days read at first
LONGEST_WINDOW = 5 * 366  # a streak is looked for this far back at most


@dataclass(frozen=True, slots=True)
class Days:
    """One trainer's figures at a moment, by their local dates."""

    today: date  # the trainer's local date
    quota: int
    week: tuple[int, ...]  # reviews on each of the last 7 local days, today last
    streak: int

    @property
    def done_today(self) -> int:
        return self.week[-1]

    @property
    def met_today(self) -> bool:
        return self.done_today >= self.quota

    @property
    def week_total(self) -> int:
        return sum(self.week)


def local_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def day_range(day: date, zone: str) -> tuple[str, str]:
    """The stamps of a local day's start and of the next day's start (23 or 25 hours apart
    across a daylight-saving change)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return stamp(start), stamp(end)


def streak_of(counts: Sequence[int], quota: int) -> int:
    """The streak given daily counts oldest first, today last (see the module's docstring)."""
    days = list(counts)
    if days and days[-1] < quota:
        days.pop()  # today is not over: the run up to yesterday still stands
    run = 0
    for count in reversed(days):
        if count < quota:
            break
        run += 1
    return run


async def days_of(
    db: Database,
    trainers: Sequence[Trainer],
    now: datetime,
    *,
    default_zone: str,
    quota_of: Callable[[Trainer], int],
) -> dict[int, Days]:
    """`Days` of each trainer at `now`, keyed by user id."""
    by_zone: dict[str, list[Trainer]] = defaultdict(list)
    for trainer in trainers:
        by_zone[trainer.timezone or default_zone].append(trainer)
    result: dict[int, Days] = {}
    for zone, members in by_zone.items():
        result.update(await _zone_days(db, members, zone, now, quota_of))
    return result


async def _zone_days(
    db: Database,
    members: list[Trainer],
    zone: str,
    now: datetime,
    quota_of: Callable[[Trainer], int],
) -> dict[int, Days]:
    """Each member's days, reading back only as far as their streak needs: the first window,
    then as many days again each time, and only the days not read yet."""
    today = local_date(now, zone)
    history = await _counts(db, [t.user_id for t in members], zone, today, now, 0, FIRST_WINDOW)
    result: dict[int, Days] = {}
    pending, window = list(members), FIRST_WINDOW
    while pending:
        unfinished = []
        for trainer in pending:
            days, quota = history[trainer.user_id], quota_of(trainer)
            streak = streak_of(days, quota)
            # The whole window met (today aside): the streak may go back further.
            reaches_start = streak >= len(days) - (days[-1] < quota)
            if reaches_start and window < LONGEST_WINDOW:
                unfinished.append(trainer)
                continue
            result[trainer.user_id] = Days(today, quota, tuple(days[-WEEK:]), streak)
        if not unfinished:
            break
        wider = min(window * 2, LONGEST_WINDOW)
        older = await _counts(
            db, [t.user_id for t in unfinished], zone, today, now, window, wider - window
        )
        for trainer in unfinished:
            history[trainer.user_id] = older[trainer.user_id] + history[trainer.user_id]
        pending, window = unfinished, wider
    return result


async def _counts(
    db: Database,
    trainer_ids: list[int],
    zone: str,
    today: date,
    now: datetime,
    skip: int,
    days: int,
) -> dict[int, list[int]]:
    """Reviews on `days` local days, oldest first, ending `skip` days before today; today's
    count runs up to `now` (a report of 21:00 read at 23:00 still counts what it counted)."""
    ranges = [
        day_range(today - timedelta(days=back), zone)
        for back in range(skip + days - 1, skip - 1, -1)
    ]
    if skip == 0:
        start, _ = ranges[-1]
        ranges[-1] = (start, stamp(now + timedelta(microseconds=1)))
    return await submitted_per_day(db, trainer_ids, ranges)
