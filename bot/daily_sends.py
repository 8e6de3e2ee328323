"""What daily message is due when: reminders and summaries at their time in each trainer's zone,
the coordinators' report at REPORT_TIME in TIMEZONE, never inside quiet hours. An empty
SUMMARY_TIME or REPORT_TIME turns that kind off.

Every minute the bot looks at the window (last check, now]. A kind is due in a zone when today's
moment of it there (the local date of now, at the kind's time) falls in that window; only today's:
a time missed on an earlier local day is never sent. So a bot that was down at a time and starts
later that same local day catches up once, and a trainer who joins, or moves to a zone whose time
has passed, gets it from the next day on.

Deciding is recording (`storage/daily_sends.py`): one row per (kind, recipient, local date),
inserted only if none exists, in the same step that decides it, so a restart, a crash, two
overlapping runs or a changed time never send one twice. The last check is stored with the
decisions; the first run ever starts its window at now (no catch-up from nothing).

`DailySendService` is that engine as the domain service the sender (`handlers/scheduled.py`)
reaches through `context.services.daily_sends`: the check, the start-up, the rows it claims
and records, and whether a claimed send is still wanted when it goes out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock, parse_stamp, stamp
from bot.config import Settings
from bot.streaks import day_range, local_date
from storage import daily_sends as store
from storage.daily_sends import Claimed, Key, Outcome
from storage.database import Database

__all__ = ["Claimed", "DailyDecisions", "DailySendService", "Key", "Kind", "Outcome"]

log = logging.getLogger(__name__)


class Kind(StrEnum):
    REMINDER = "reminder"
    SUMMARY = "summary"
    REPORT = "report"


QUIET_KINDS = frozenset({Kind.REMINDER, Kind.SUMMARY})  # the report is the coordinators' choice
# A send made this long after its decision was resumed (after a restart), not part of the burst
# it was decided with: quiet hours are looked at again, so it never lands inside them. A burst
# of 10,000 at 30/s takes 5.5 minutes and is not cut off by quiet hours that start meanwhile.
RESUMED_AFTER = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Schedule:
    """The settings that say when each kind is due."""

    times: dict[Kind, time]  # a kind turned off (empty SUMMARY_TIME, REPORT_TIME) is absent
    quiet_hours: tuple[time, time] | None
    default_zone: str  # TIMEZONE: trainers without their own zone, and the report

    @classmethod
    def of(cls, settings: Settings) -> Schedule:
        times = {
            Kind.REMINDER: settings.reminder_time,
            Kind.SUMMARY: settings.summary_time,
            Kind.REPORT: settings.report_time,
        }
        on = {kind: at for kind, at in times.items() if at is not None}
        return cls(on, settings.quiet_hours, settings.timezone)

    def silenced(self) -> list[Kind]:
        """The kinds whose time is inside quiet hours: they would never be sent."""
        return [
            kind
            for kind, at in self.times.items()
            if kind in QUIET_KINDS and in_quiet_hours(at, self.quiet_hours)
        ]

    def zone_for(self, kind: Kind, trainer_zone: str | None) -> str:
        """The zone whose local date a send of `kind` to someone in `trainer_zone` belongs to."""
        if kind is Kind.REPORT:
            return self.default_zone
        return trainer_zone or self.default_zone


@dataclass(frozen=True, slots=True)
class Due:
    """A kind due now for the recipients in one zone (all coordinators for the report)."""

    kind: Kind
    zone: str
    day: date  # the local date there
    moment: datetime  # the scheduled moment


def in_quiet_hours(local: time, quiet: tuple[time, time] | None) -> bool:
    """`local` inside `[start, end)`, which wraps past midnight when start > end."""
    if quiet is None:
        return False
    start, end = quiet
    local = local.replace(second=0, microsecond=0, tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def quiet_at(kind: Kind, moment: datetime, zone: str, quiet: tuple[time, time] | None) -> bool:
    """Whether a send of `kind` at `moment` falls inside quiet hours in `zone`."""
    return kind in QUIET_KINDS and in_quiet_hours(moment.astimezone(ZoneInfo(zone)).time(), quiet)


def moment_on(day: date, at: time, zone: str) -> datetime:
    """`at` on local date `day` in `zone` (a time skipped by daylight saving lands just after)."""
    tz = ZoneInfo(zone)
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=tz).astimezone(tz)


def due_in_window(
    last: datetime, now: datetime, zones: Iterable[str], schedule: Schedule
) -> list[Due]:
    """Each kind due in `(last, now]`: today's moment of it in each zone (the report in TIMEZONE
    only), unless it or now is inside quiet hours there (skipped, not postponed)."""
    due: list[Due] = []
    for kind, at in schedule.times.items():
        kind_zones = [schedule.default_zone] if kind is Kind.REPORT else sorted(set(zones))
        for zone in kind_zones:
            day = local_date(now, zone)
            moment = moment_on(day, at, zone)
            if not last < moment <= now:
                continue
            if quiet_at(kind, moment, zone, schedule.quiet_hours) or quiet_at(
                kind, now, zone, schedule.quiet_hours
            ):
                continue
            due.append(Due(kind, zone, day, moment))
    return due


def still_wanted(
    kind: Kind,
    day: date,
    zone: str,
    now: datetime,
    quiet: tuple[time, time] | None,
    decided_at: datetime,
) -> bool:
    """A decided send is still made at `now`: its local date is still today in its zone, and
    a send resumed long after its decision (RESUMED_AFTER) is not inside quiet hours there.
    Quiet hours were checked at the scheduled time; a burst going out on time is not cut off
    by them starting meanwhile."""
    if local_date(now, zone) != day:
        return False
    return now - decided_at <= RESUMED_AFTER or not quiet_at(kind, now, zone, quiet)


def known_zones(zones: Iterable[str], warned: set[str]) -> list[str]:
    """The zones ZoneInfo knows; each unknown one (a bad `trainers.timezone`) is logged once
    in `warned` and skipped, so it never stops the daily sends of every other zone."""
    known = []
    for zone in zones:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            if zone not in warned:
                warned.add(zone)
                log.warning("unknown time zone %r of some trainers: no daily sends there", zone)
            continue
        known.append(zone)
    return known


class DailyDecisions:
    """The per-minute check: decides and records what is due, from the stored last check."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.schedule = Schedule.of(settings)
        self._lock = asyncio.Lock()  # one check at a time in this process
        self._unknown_zones: set[str] = set()  # logged once each

    async def start_window(self, now: datetime) -> None:
        """The first start ever begins the window now; later starts keep the stored one, so
        what fell due while the bot was down is caught up."""
        await store.start_window(self.db, stamp(now))

    async def check(self, now: datetime) -> int:
        """Decide everything due in (last check, now], moving the last check to now in the
        same transaction as the last decisions; how many sends were decided."""
        async with self._lock:
            checked = await store.checked_at(self.db)
            last = now if checked is None else parse_stamp(checked)
            zones = known_zones(
                await store.zones_in_use(self.db, self.schedule.default_zone), self._unknown_zones
            )
            due = due_in_window(last, now, zones, self.schedule)
            return await store.decide(
                self.db,
                [decision_of(one) for one in due],
                default_zone=self.schedule.default_zone,
                checked_at=stamp(now),
            )


def decision_of(due: Due) -> store.Decision:
    """What storage records for `due` (the report goes to coordinators in any zone)."""
    start, end = day_range(due.day, due.zone)
    return store.Decision(
        kind=due.kind.value,
        zone=None if due.kind is Kind.REPORT else due.zone,
        local_date=due.day.isoformat(),
        moment=stamp(due.moment),
        day_start=start,
        day_end=end,
    )


class DailySendService:
    """The daily sends of one bot, for its sender: the per-minute check, the start-up after a
    crash, the claims with their outcomes, and the last look before each send."""

    def __init__(self, db: Database, settings: Settings, clock: Clock):
        self.db = db
        self.settings = settings
        self.clock = clock
        self.decisions = DailyDecisions(db, settings)  # per-process: one check at a time

    @property
    def schedule(self) -> Schedule:
        return self.decisions.schedule

    async def start_up(self) -> dict[str, int]:
        """Give up the sends a crash left in doubt (never resent) and keep the window of the
        last check (the first start ever opens it now); how many were lost, of each kind."""
        now = self.clock()
        lost = await store.lose_unconfirmed(self.db, stamp(now))
        await self.decisions.start_window(now)
        return lost

    async def check(self) -> int:
        """Decide and record what fell due since the last check; how many sends."""
        return await self.decisions.check(self.clock())

    async def has_due(self) -> bool:
        """Whether any decided send waits for the sender."""
        return await store.has_due(self.db)

    async def record_and_claim(
        self,
        *,
        outcomes: Sequence[Outcome] = (),
        release: Sequence[Key] = (),
        claim: int = 0,
    ) -> list[Claimed]:
        """In one step: record finished sends, put claimed unsent ones back to due, and claim
        up to `claim` due ones (reports first) with their recipients as they are now."""
        return await store.record_and_claim(
            self.db, outcomes=outcomes, release=release, claim=claim, now=stamp(self.clock())
        )

    def still_to_send(self, claimed: Claimed, now: datetime) -> bool:
        """Still today in the recipient's zone, not resumed into their quiet hours, and still
        someone who gets it: not paused, removed or unreachable since the decision, and for a
        reminder still a trainer who wants reminders (/reminders off since)."""
        kind, trainer = Kind(claimed.kind), claimed.trainer
        if trainer.status != "active" or not trainer.reachable:
            return False
        if kind is Kind.REMINDER and (not trainer.reminders or trainer.role != "trainer"):
            return False
        zone = self.schedule.zone_for(kind, trainer.timezone)
        day = date.fromisoformat(claimed.local_date)
        decided_at = parse_stamp(claimed.decided_at)
        return still_wanted(kind, day, zone, now, self.settings.quiet_hours, decided_at)
