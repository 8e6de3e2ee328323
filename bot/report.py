"""The coordinators' daily report, as figures: the team's day, each open batch's, and each
trainer's, computed from storage at one moment.

Each trainer's figures use the trainer's own local day containing the report's moment (and the
six days before it for the week): a trainer in WIT whose evening is over counts a day that a
trainer in WIB is still in. The team's week adds up each trainer's own days, today last.

Time spent reviewing is estimated from the database, as sittings are (`bot/sittings.py`): the
moments a reviewed item was handed out and submitted, in order; consecutive moments less than
`PAUSE` (30 minutes) apart count as reviewing time, a longer gap as a pause. A gap counts on
the day (and in the week) where it falls; skipped items are inside the gaps around them.

A thousand trainers cost a fixed handful of grouped statements (storage/report.py,
bot/streaks.py per time zone in use, one per open batch for its item counts and its agreement,
cached until its reviews change, four for the anomalies of the last 7 days, four for the
quality figures of bot/quality.py), never one per trainer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from bot.agreement import BatchAgreement, batch_agreement
from bot.anomalies import Anomaly, find_anomalies
from bot.clock import parse_stamp, stamp
from bot.config import Settings
from bot.forecast import Forecast, forecasts
from bot.quality import CrowdQuality, TrainerQuality, crowd_quality, trainer_quality
from bot.review import quota_of
from bot.sittings import PAUSE
from bot.streaks import WEEK, Days, day_range, days_of, local_date
from storage import progress, report
from storage.database import Database
from storage.records import Trainer
from storage.report import ZoneRange


@dataclass(frozen=True, slots=True)
class TrainerFigures:
    """One active trainer's line of the report: their own local day and week."""

    trainer: Trainer
    days: Days  # today (their local date), the week, the streak
    skipped_week: int
    seconds_today: float  # time spent reviewing (see the module docstring)
    seconds_week: float
    last_seen: datetime | None
    quality: TrainerQuality | None = None  # acceptance and gold (bot/quality.py); None: none

    @property
    def skip_rate(self) -> float | None:
        """Skipped items of those finished this week (None: none finished)."""
        finished = self.days.week_total + self.skipped_week
        return self.skipped_week / finished if finished else None


@dataclass(frozen=True, slots=True)
class BatchFigures:
    """One open batch's line of the report: its reviews today, progress and forecast."""

    batch_id: int
    name: str
    reviews_today: int  # by each trainer's own today, of ordinary items (not gold ones)
    done: int  # reviews counted towards the overlap
    wanted: int  # items x overlap, and the extra reviews items were given (as /progress)
    forecast: Forecast | None  # estimated finish and deadline (bot/forecast.py)
    agreement: BatchAgreement | None = None  # alpha per criterion (bot/agreement.py)

    @property
    def share(self) -> float:
        """The part of the wanted reviews done (1.0 for a batch that wants none)."""
        return self.done / self.wanted if self.wanted else 1.0


@dataclass(frozen=True, slots=True)
class Report:
    """The report's figures at `moment`: what the message, the chart and the CSV show."""

    moment: datetime
    trainers: tuple[TrainerFigures, ...]  # by name
    batches: tuple[BatchFigures, ...]  # open batches, by priority
    team_week: tuple[int, ...]  # the team's reviews on each of the last 7 days, today last
    # Trainers with anomalies over the last 7 days (bot/anomalies.py), most signals first.
    anomalies: tuple[tuple[Trainer, tuple[Anomaly, ...]], ...] = ()
    # The listed trainers' rewrites accepted, rewrites waiting for review, gold pauses.
    crowd: CrowdQuality | None = None

    @property
    def reviews_today(self) -> int:
        """The team's reviews today, each trainer's on their own local day."""
        return sum(figures.days.done_today for figures in self.trainers)

    @property
    def active_today(self) -> int:
        """Trainers with at least one review today (their local day)."""
        return sum(1 for figures in self.trainers if figures.days.done_today)

    @property
    def met(self) -> tuple[TrainerFigures, ...]:
        """Who met today's quota, most reviews first."""
        met = [figures for figures in self.trainers if figures.days.met_today]
        return tuple(sorted(met, key=lambda f: -f.days.done_today))

    @property
    def missed(self) -> tuple[TrainerFigures, ...]:
        """Who is below today's quota, furthest behind first."""
        missed = [figures for figures in self.trainers if not figures.days.met_today]
        return tuple(sorted(missed, key=lambda f: f.days.done_today))


def trainer_label(
    trainer: Trainer, *, handle: bool = True, clean: Callable[[str], str] = str.strip
) -> str:
    """How the report names a trainer (not escaped): "Name (@handle)", or whichever of the two
    exists, else "#id"; `handle=False` gives the name alone when there is one (a chart's bar).
    `clean` tidies the name first (the chart drops what its font cannot draw)."""
    name = clean(trainer.name).strip()
    at = f"@{trainer.username}" if trainer.username else ""
    if name and at and handle:
        return f"{name} ({at})"
    return name or at or f"#{trainer.user_id}"


async def build_report(db: Database, settings: Settings, now: datetime) -> Report:
    """The report at `now` (see the module docstring)."""
    members = await report.team(db)
    default = settings.timezone
    days = await days_of(
        db,
        [member.trainer for member in members],
        now,
        default_zone=default,
        quota_of=lambda trainer: quota_of(trainer, settings),
    )
    zones = sorted({m.trainer.timezone or default for m in members} or {default})
    today = [_range(zone, now, 0) for zone in zones]
    week = [_range(zone, now, WEEK - 1) for zone in zones]
    skipped = await report.skips_per_trainer(db, week, default)
    times = await report.review_times(db, week, default)
    starts = {
        day.zone: (parse_stamp(day.start), parse_stamp(days_back.start))
        for day, days_back in zip(today, week, strict=True)
    }
    # Hundreds of thousands of stamps at a thousand trainers (~0.15 s of Python): on a thread,
    # so the event loop (trainers' taps) gets the interpreter between its slices.
    spent_by = await asyncio.to_thread(_spent_by_trainer, members, times, starts, default)
    moment = stamp(now)
    qualities = await trainer_quality(db, until=moment)  # everyone: cheaper than an IN list
    figures = []
    for member in members:
        user_id = member.trainer.user_id
        spent = spent_by[user_id]
        seen = parse_stamp(member.last_seen_at) if member.last_seen_at else None
        figures.append(
            TrainerFigures(
                member.trainer,
                days[user_id],
                skipped.get(user_id, 0),
                *spent,
                seen,
                qualities.get(user_id),
            )
        )
    listed = [member.trainer.user_id for member in members]
    return Report(
        moment=now,
        trainers=tuple(figures),
        batches=tuple(await _batches(db, today, default, now)),
        team_week=_team_week([f.days for f in figures]),
        anomalies=await _anomalies(db, members, now),
        crowd=await crowd_quality(db, qualities, listed, until=moment),
    )


def _spent_by_trainer(
    members: Sequence[report.Member],
    times: dict[int, list[tuple[str, str]]],
    starts: dict[str, tuple[datetime, datetime]],
    default: str,
) -> dict[int, tuple[float, float]]:
    """Each member's seconds spent reviewing today and this week (`reviewing_seconds`)."""
    spent = {}
    for member in members:
        day_start, week_start = starts[member.trainer.timezone or default]
        user_id = member.trainer.user_id
        spent[user_id] = reviewing_seconds(times.get(user_id, []), day_start, week_start)
    return spent


def _range(zone: str, now: datetime, days_back: int) -> ZoneRange:
    """The zone's local days from `days_back` days before today up to `now` (not the end of
    today): a report rebuilt later for its CSV counts nothing done after its moment."""
    today = local_date(now, zone)
    start, _ = day_range(today - timedelta(days=days_back), zone)
    _, end = day_range(today, zone)
    return ZoneRange(zone, start, min(end, stamp(now)))


async def _batches(
    db: Database, today: Sequence[ZoneRange], default: str, now: datetime
) -> list[BatchFigures]:
    open_batches = await progress.open_batches(db)
    reviews = await report.reviews_per_batch(db, today, default)
    estimates = await forecasts(db, now, zone=default)
    figures = []
    for batch in open_batches:
        counts = await progress.item_counts(db, batch)
        figures.append(
            BatchFigures(
                batch_id=batch.id,
                name=batch.name,
                reviews_today=reviews.get(batch.id, 0),
                done=counts.useful,
                wanted=counts.wanted(batch.overlap),
                forecast=estimates.get(batch.id),
                agreement=await batch_agreement(db, batch.id),
            )
        )
    return figures


async def _anomalies(
    db: Database, members: Sequence[report.Member], now: datetime
) -> tuple[tuple[Trainer, tuple[Anomaly, ...]], ...]:
    """The report's trainers with anomalies, most signals first, then as listed (by name)."""
    found = await find_anomalies(db, now)  # everyone at once: cheaper than a long IN list
    listed = [(m.trainer, found[m.trainer.user_id]) for m in members if m.trainer.user_id in found]
    return tuple(sorted(listed, key=lambda entry: -len(entry[1])))


def _team_week(days: Sequence[Days]) -> tuple[int, ...]:
    return tuple(sum(d.week[index] for d in days) for index in range(WEEK))


def reviewing_seconds(
    reviews: Sequence[tuple[str, str]], day_start: datetime, week_start: datetime
) -> tuple[float, float]:
    """Seconds spent reviewing today and this week, from (handed out, submitted) stamps of
    the reviews submitted this week (see the module docstring)."""
    moments = sorted(parse_stamp(stamp) for review in reviews for stamp in review)
    today = week = 0.0
    for earlier, later in pairwise(moments):
        if later - earlier >= PAUSE or later <= week_start:
            continue
        week += (later - max(earlier, week_start)).total_seconds()
        if later > day_start:
            today += (later - max(earlier, day_start)).total_seconds()
    return today, week


def week_days(now: datetime, zone: str) -> list[date]:
    """The last 7 local dates in `zone` (the reader's), today last: the chart's labels."""
    today = local_date(now, zone)
    return [today - timedelta(days=back) for back in range(WEEK - 1, -1, -1)]


class Reports:
    """The coordinators' daily report over one database and the bot's settings."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings

    async def build(self, now: datetime) -> Report:
        """The report at `now` (see the module docstring)."""
        return await build_report(self.db, self.settings, now)
