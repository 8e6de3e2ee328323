"""Progress of batches for /progress: how far each is, how fast it moves, when it may finish,
and what holds it up (no trainer left who can take its items; languages nobody reviews).

The estimate here follows the last hour (or day): what the team is doing now. Each report also
carries the batch's forecast (bot/forecast.py, the last three days' pace), which says whether
it will make its deadline, as the daily report does.

Plain values in, plain dataclasses out. Everything is aggregated in SQL on indexes (see
storage/progress.py), so a batch of 100,000 items is reported in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.agreement import BatchAgreement, batch_agreement
from bot.clock import Clock, stamp, start_of_day, utc_now
from bot.config import Settings
from bot.forecast import Forecast, forecast
from bot.forecast import UnknownBatch as StillImporting
from storage import assignment, languages, progress
from storage.database import Database
from storage.progress import NO_ACTIVITY, BatchRow

__all__ = ["BatchReport", "ProgressService", "UnknownBatch"]

# The finish estimate uses the last hour's pace when it has enough reviews to mean something,
# else the pace since the first review of the last day (at least an hour long, so one quick
# burst does not promise too much); fewer than MIN_REVIEWS in a day is "not enough data".
MIN_REVIEWS = 5
LONG_WINDOW = timedelta(hours=24)


class UnknownBatch(LookupError):
    """No batch has that name."""


@dataclass(frozen=True, slots=True)
class BatchReport:
    batch_id: int
    name: str
    status: str
    items: int
    complete: int
    reviews: int  # submitted (late extras included)
    wanted: int  # overlap x items, and the extra reviews items were given (dynamic overlap)
    remaining: int  # reviews still needed to reach the overlap on every item (gold left out)
    trainers_today: int
    last_hour: int
    per_hour: float | None  # the pace the estimate uses; None: not enough data
    finish_at: datetime | None  # None when finished, stuck, or when there is not enough data
    # Open, unfinished, and no active trainer can be given any of its items any more.
    needs_trainers: bool = False
    # (code, open items) for each language of its open items that no active trainer reviews.
    unreviewed_languages: tuple[tuple[str, int], ...] = ()
    # The days-long view (bot/forecast.py): the deadline, and whether the batch misses it.
    forecast: Forecast | None = None

    @property
    def finished(self) -> bool:
        return self.remaining == 0


class ProgressService:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now):
        self.db = db
        self.settings = settings
        self.clock = clock

    async def report(
        self, batch_name: str | None = None, *, timezone: str | None = None
    ) -> list[BatchReport]:
        """The named batch (UnknownBatch if none has that name), or every open batch.

        "Today" is the day in `timezone` (the coordinator's), the bot's timezone by default.
        """
        if batch_name is not None:
            batch = await progress.find_batch(self.db, batch_name.strip())
            if batch is None:
                raise UnknownBatch(batch_name)
            batches = [batch]
        else:
            batches = await progress.open_batches(self.db)
        now = self.clock()
        today = start_of_day(now, timezone or self.settings.timezone)
        activity = await progress.recent_activity(
            self.db,
            [batch.id for batch in batches],
            since=stamp(min(now - LONG_WINDOW, today)),
            hour_ago=stamp(now - timedelta(hours=1)),
            today=stamp(today),
        )
        language_sets = await languages.active_language_sets(self.db)
        return [
            await self._report(batch, activity.get(batch.id, NO_ACTIVITY), now, language_sets)
            for batch in batches
        ]

    async def agreement(self, batch_id: int) -> BatchAgreement:
        """The batch's agreement per criterion (cached until its judgments change)."""
        return await batch_agreement(self.db, batch_id)

    async def _report(
        self,
        batch: BatchRow,
        activity: progress.Activity,
        now: datetime,
        language_sets: dict[str, tuple[str, ...]],
    ) -> BatchReport:
        counts = await progress.item_counts(self.db, batch)
        wanted = counts.wanted(batch.overlap)
        remaining = max(0, wanted - counts.useful)
        needs_trainers = (
            remaining > 0
            and batch.status == "open"
            and not await self._anyone_can_take(batch, counts, language_sets, now)
        )
        per_hour = _pace(activity, now)
        finish_at = None
        if remaining and per_hour and not needs_trainers:
            finish_at = now + timedelta(hours=remaining / per_hour)
        return BatchReport(
            batch_id=batch.id,
            name=batch.name,
            status=batch.status,
            items=counts.items,
            complete=counts.complete,
            reviews=counts.reviews,
            wanted=wanted,
            remaining=remaining,
            trainers_today=activity.trainers_today,
            last_hour=activity.reviews_last_hour,
            per_hour=per_hour,
            finish_at=finish_at,
            needs_trainers=needs_trainers,
            unreviewed_languages=_unreviewed(counts, language_sets),
            forecast=await self._forecast(batch, now),
        )

    async def _forecast(self, batch: BatchRow, now: datetime) -> Forecast | None:
        try:
            return await forecast(self.db, batch.id, now, zone=self.settings.timezone)
        except StillImporting:  # asked for by name while its import runs
            return None

    async def _anyone_can_take(
        self,
        batch: BatchRow,
        counts: progress.ItemCounts,
        language_sets: dict[str, tuple[str, ...]],
        now: datetime,
    ) -> bool:
        """Asked only of the trainers' language lists that some open item is in."""
        open_items = counts.open_by_language
        useful = {
            stored: codes
            for stored, codes in language_sets.items()
            if open_items.get(None) or any(open_items.get(code) for code in codes)
        }
        return bool(useful) and await assignment.anyone_can_take(
            self.db, batch.id, useful, stamp(now)
        )


def _unreviewed(
    counts: progress.ItemCounts, language_sets: dict[str, tuple[str, ...]]
) -> tuple[tuple[str, int], ...]:
    reviewed = {code for codes in language_sets.values() for code in codes}
    return tuple(
        (code, items)
        for code, items in sorted(counts.open_by_language.items(), key=lambda kv: kv[0] or "")
        if code is not None and code not in reviewed and items
    )


def _pace(activity: progress.Activity, now: datetime) -> float | None:
    """Reviews per hour: the last hour's if it had enough, else the recent day's average."""
    if activity.reviews_last_hour >= MIN_REVIEWS:
        return float(activity.reviews_last_hour)
    if activity.reviews_since < MIN_REVIEWS or activity.first_since is None:
        return None
    span = now - datetime.fromisoformat(activity.first_since)
    return activity.reviews_since / max(span / timedelta(hours=1), 1.0)
