"""When a batch will finish at its recent pace, and whether that misses its deadline.

The rate is the batch's submitted reviews of the last 3 days, per day: over those 3 days, or,
for a batch younger than that, over its life so far (at least an hour, so the first few
reviews of a fresh batch do not promise a finish within minutes). Three days smooth out the
daily rhythm of a crowd that reviews in the evenings and a quiet Sunday, while still following
a team that grows or shrinks within the week. The estimated finish is now + remaining / rate:
None when there is no rate (nothing submitted in the window) or nothing remains.

A deadline is a date in TIMEZONE and passes at the end of that day (bot/deadlines.py). A batch
is late when its estimated finish falls after that moment, or when the moment has passed and
reviews are still wanted (with or without a rate).

Used by /progress (handlers/coordinator_progress.py) and the daily report (handlers/reports.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import parse_stamp, stamp
from bot.deadlines import deadline_end
from storage import forecast as store
from storage.database import Database
from storage.forecast import ForecastBatch

__all__ = ["Forecast", "UnknownBatch", "forecast", "forecasts"]

WINDOW = timedelta(days=3)
SHORTEST_SPAN = timedelta(hours=1)
LONGEST_DAYS = 100 * 366  # a finish further off is shown as this (datetime ends at 9999)


class UnknownBatch(LookupError):
    """No batch (finished importing) has that id."""


@dataclass(frozen=True, slots=True)
class Forecast:
    remaining: int  # reviews still wanted to give every item its overlap
    per_day: float  # reviews a day at the recent pace (0.0: none in the window)
    finish: datetime | None  # estimated finish; None without a rate, or when complete
    deadline: date | None
    late: bool  # the finish falls after the deadline's end, or it passed with reviews wanted
    passed: bool = False  # the deadline's end has passed (whatever the batch's state)

    @property
    def complete(self) -> bool:
        return self.remaining == 0


async def forecast(db: Database, batch_id: int, now: datetime, *, zone: str) -> Forecast:
    """The batch's forecast at `now`; `zone` is TIMEZONE, where its deadline day ends.
    UnknownBatch if there is no such batch."""
    batch = await store.forecast_batch(db, batch_id)
    if batch is None:
        raise UnknownBatch(batch_id)
    submitted = await store.submitted_between(db, [batch.id], stamp(now - WINDOW), stamp(now))
    return _forecast(batch, await store.missing_reviews(db, batch), submitted, now, zone)


async def forecasts(db: Database, now: datetime, *, zone: str) -> dict[int, Forecast]:
    """Every open batch's forecast by batch id (one read of recent submissions for all);
    `zone` is TIMEZONE, as for `forecast`."""
    batches = await store.open_forecast_batches(db)
    ids = [b.id for b in batches]
    submitted = await store.submitted_between(db, ids, stamp(now - WINDOW), stamp(now))
    return {
        batch.id: _forecast(batch, await store.missing_reviews(db, batch), submitted, now, zone)
        for batch in batches
    }


def _forecast(
    batch: ForecastBatch, remaining: int, submitted: dict[int, int], now: datetime, zone: str
) -> Forecast:
    since = max(now - WINDOW, parse_stamp(batch.created_at))
    span = max(now - since, SHORTEST_SPAN)
    per_day = submitted.get(batch.id, 0) / (span / timedelta(days=1))
    finish = None
    if remaining and per_day:
        finish = now + timedelta(days=min(remaining / per_day, LONGEST_DAYS))
    deadline = date.fromisoformat(batch.deadline) if batch.deadline else None
    late = passed = False
    if deadline is not None:
        ends = deadline_end(deadline, zone)
        passed = now >= ends
        late = bool(remaining) and (passed or (finish is not None and finish > ends))
    return Forecast(remaining, per_day, finish, deadline, late, passed)
