"""A trainer's sitting: consecutive reviewing without a long pause, and its summary.

A sitting starts with the first item shown or judged after `PAUSE` (30 minutes) without any
activity, and ends when nothing is left for the trainer or today's quota is reached; then the
trainer sees what it held: items reviewed, items skipped, time spent (first to last activity).
A pause of `PAUSE` or more ends a sitting silently (the trainer has left; there is nobody to tell).

Kept in memory, not in the database: a summary is a courtesy, not data. A restart in the middle
of a sitting only makes its summary count from the restart on; nothing else depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock, utc_now

PAUSE = timedelta(minutes=30)
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
    _current: dict[int, Sitting] = field(default_factory=dict)

    def active(self, trainer_id: int) -> None:
        """The trainer did something (an item was shown to them)."""
        self._touch(trainer_id)

    def reviewed(self, trainer_id: int, assignment_id: int) -> None:
        self._touch(trainer_id).reviewed.add(assignment_id)

    def skipped(self, trainer_id: int, assignment_id: int) -> None:
        self._touch(trainer_id).skipped.add(assignment_id)

    def finish(self, trainer_id: int) -> SittingSummary | None:
        """End the sitting; its summary, or None if it judged nothing (or had ended already)."""
        sitting = self._current.pop(trainer_id, None)
        if sitting is None or self.clock() - sitting.last >= PAUSE:
            return None
        if not sitting.reviewed and not sitting.skipped:
            return None
        spent = sitting.last - sitting.started
        minutes = int(spent.total_seconds() // 60)
        return SittingSummary(len(sitting.reviewed), len(sitting.skipped), minutes)

    def _touch(self, trainer_id: int) -> Sitting:
        now = self.clock()
        sitting = self._current.get(trainer_id)
        if sitting is None or now - sitting.last >= PAUSE:
            sitting = self._current[trainer_id] = Sitting(started=now, last=now)
            if len(self._current) > _MAX_TRAINERS:  # long gone trainers: forget the oldest
                self._current.pop(next(iter(self._current)))
        sitting.last = now
        return sitting
