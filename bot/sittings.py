"""A trainer's sitting: consecutive reviewing without a long pause, and its summary.

A sitting starts with the first item shown or judged after `PAUSE` (30 minutes) without any
activity, and ends when nothing is left for the trainer or today's quota is reached; then the
trainer sees what it held: items reviewed, items skipped, time spent (first to last activity).
A pause of `PAUSE` or more ends a sitting silently (the trainer has left; there is nobody to tell).

Each process keeps the sittings it sees in memory. With one process (SQLite) that is the whole
sitting, and a summary costs no read; a restart in the middle of a sitting only makes its
summary count from the restart on (a summary is a courtesy, not data).

With several processes on one database (PostgreSQL) a trainer's consecutive taps reach any of
them, so each saw only part of the sitting. There the summary is read from the database, as the
daily report's time spent is (bot/report.py): the moments the trainer's items were handed out
and submitted, walked back from the latest until a gap of `PAUSE` or more, together with what
this process saw (a skip stores no time of its own, so this process's record of it, if it saw
it, keeps a skip at the end of the sitting in its time; one seen elsewhere counts from its item
being handed out). Ending a sitting is stored (`sitting_ends`): everything up to that moment
belongs to the ended sitting, so the summary said with the quota is not said again when nothing
is left a moment later, whichever process the later ask reaches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock, parse_stamp, stamp, utc_now
from storage import sittings
from storage.database import Database

PAUSE = timedelta(minutes=30)
# How far back the database is read for a sitting: nobody reviews a day without such a pause.
_LOOK_BACK = timedelta(days=1)
_MAX_TRAINERS = 10_000


@dataclass(slots=True)
class Sitting:
    started: datetime
    last: datetime
    # assignment ids: an item submitted again after Undo is still one item reviewed
    reviewed: set[int] = field(default_factory=set)
    skipped: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class SittingSummary:
    reviewed: int
    skipped: int
    minutes: int  # whole minutes, rounded down


@dataclass
class Sittings:
    """Every trainer's current sitting; see the module docstring."""

    clock: Clock = utc_now
    db: Database | None = None  # read by `finish` when other processes share it (PostgreSQL)
    _current: dict[int, Sitting] = field(default_factory=dict)

    def active(self, trainer_id: int) -> None:
        """The trainer did something (an item was shown to them)."""
        self._touch(trainer_id)

    def reviewed(self, trainer_id: int, assignment_id: int) -> None:
        self._touch(trainer_id).reviewed.add(assignment_id)

    def skipped(self, trainer_id: int, assignment_id: int) -> None:
        self._touch(trainer_id).skipped.add(assignment_id)

    async def finish(self, trainer_id: int) -> SittingSummary | None:
        """End the sitting; its summary, or None if it judged nothing (or had ended already)."""
        now = self.clock()
        seen = self._current.pop(trainer_id, None)
        if self.db is None or not self.db.shared:
            return _seen_summary(seen, now)
        return await self._shared_summary(self.db, trainer_id, seen, now)

    async def _shared_summary(
        self, db: Database, trainer_id: int, seen: Sitting | None, now: datetime
    ) -> SittingSummary | None:
        """The sitting as the database and this process saw it (see the module docstring)."""
        last_ended = await sittings.last_ended(db, trainer_id)
        ended = None if last_ended is None else parse_stamp(last_ended)
        await sittings.mark_ended(db, trainer_id, stamp(now))
        since = now - _LOOK_BACK if ended is None else max(now - _LOOK_BACK, ended)
        handed = await sittings.handed_since(db, trainer_id, stamp(since))
        spans = [(moment, moment) for moment in _moments(handed)]
        if seen is not None and ended is not None and seen.started <= ended:
            seen = None  # it began in the sitting summed up then: the database's rows say the rest
        if seen is not None:
            spans.append((seen.started, seen.last))
        if ended is not None:  # what came before belongs to the sitting ended then
            spans = [span for span in spans if span[1] > ended]
        found = _latest_sitting(spans, now)
        if found is None:
            return None
        first, last = found
        reviewed, skipped = set(), set()
        if seen is not None and seen.last >= first:
            reviewed, skipped = set(seen.reviewed), set(seen.skipped)
        for item in handed:
            if item.submitted_at is not None and first <= parse_stamp(item.submitted_at) <= last:
                reviewed.add(item.assignment_id)
            if item.skipped and first <= parse_stamp(item.assigned_at) <= last:
                skipped.add(item.assignment_id)
        if not reviewed and not skipped:
            return None
        return SittingSummary(len(reviewed), len(skipped), _minutes(last - first))

    def _touch(self, trainer_id: int) -> Sitting:
        now = self.clock()
        sitting = self._current.get(trainer_id)
        if sitting is None or now - sitting.last >= PAUSE:
            sitting = self._current[trainer_id] = Sitting(started=now, last=now)
            if len(self._current) > _MAX_TRAINERS:  # long gone trainers: forget the oldest
                self._current.pop(next(iter(self._current)))
        sitting.last = now
        return sitting


def _seen_summary(sitting: Sitting | None, now: datetime) -> SittingSummary | None:
    """The summary of the sitting this process saw, if it is still going and judged anything."""
    if sitting is None or now - sitting.last >= PAUSE:
        return None
    if not sitting.reviewed and not sitting.skipped:
        return None
    return SittingSummary(
        len(sitting.reviewed), len(sitting.skipped), _minutes(sitting.last - sitting.started)
    )


def _moments(handed: Iterable[sittings.Handed]) -> list[datetime]:
    """Every moment an item was handed out or submitted."""
    moments = []
    for item in handed:
        moments.append(parse_stamp(item.assigned_at))
        if item.submitted_at is not None:
            moments.append(parse_stamp(item.submitted_at))
    return moments


def _latest_sitting(
    spans: list[tuple[datetime, datetime]], now: datetime
) -> tuple[datetime, datetime] | None:
    """(first, last) moment of the sitting holding the latest of `spans` ((start, end) of
    activity without a pause inside), walked back until a gap of `PAUSE` or more; None if the
    latest is `PAUSE` or more before `now` (that sitting ended silently)."""
    spans = sorted(spans, key=lambda span: span[1], reverse=True)
    if not spans or now - spans[0][1] >= PAUSE:
        return None
    first, last = spans[0]
    for start, end in spans[1:]:  # by end, latest first: the first too far back ends the walk
        if first - end >= PAUSE:
            break
        first = min(first, start)
    return first, last


def _minutes(spent: timedelta) -> int:
    return int(spent.total_seconds() // 60)
