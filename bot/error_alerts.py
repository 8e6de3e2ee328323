"""Unexpected errors, described briefly: which ones are "the same", and who hears about them.

Coordinators get one short alert per distinct error per hour (after python-telegram-bot's
errorhandlerbot example), so a fault that hits every tap does not flood their chat. An alert
names the error's type and place, never its message: that may hold a trainer's text or an URL
with the token.

"Once an hour" holds for the whole bot when several processes share a PostgreSQL database: the
first look is this process's memory, the decision a claim in the database
(storage/error_alerts.py); a database that refuses the claim (the very fault being reported,
often) leaves the decision to this process alone.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock, stamp, utc_now
from storage import trainers
from storage.database import Database, write_fault
from storage.error_alerts import claim_alert
from storage.records import Trainer

ALERT_EVERY = timedelta(hours=1)
_ROOT = Path(__file__).resolve().parents[1]
_OUR_PACKAGES = ("bot", "handlers", "storage")


@dataclass(frozen=True, slots=True)
class ErrorReport:
    kind: str  # the exception's type, e.g. "KeyError"
    place: str  # where in our code it was raised, e.g. "handlers/trainer.py:83"
    not_saved: str | None  # SQLite's reason when a write could not be stored now

    @property
    def key(self) -> tuple[str, str]:
        """Errors with the same key are one error for alerts: a full disk is one fault
        whichever query met it first."""
        if self.not_saved is not None:
            return ("not_saved", self.not_saved)
        return (self.kind, self.place)


def describe(error: BaseException) -> ErrorReport:
    """The type and place of `error`: the innermost frame of our own code."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if _our_file(frame.filename) is not None]
    place = "?"
    if ours:
        place = f"{_our_file(ours[-1].filename)}:{ours[-1].lineno}"
    elif frames:
        place = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"
    return ErrorReport(type(error).__name__, place, write_fault(error))


def _our_file(filename: str) -> str | None:
    try:
        relative = Path(filename).resolve().relative_to(_ROOT)
    except ValueError:
        return None
    return relative.as_posix() if relative.parts[0] in _OUR_PACKAGES else None


class ErrorAlerts:
    """Remembers when coordinators were last told of each distinct error."""

    def __init__(self, db: Database, clock: Clock = utc_now, every: timedelta = ALERT_EVERY):
        self.db = db
        self.clock = clock
        self.every = every
        self._last: dict[tuple[str, str], datetime] = {}

    def first_in_a_while(self, report: ErrorReport) -> bool:
        """True (and remembered) when this error was not reported in the last hour."""
        now = self.clock()
        last = self._last.get(report.key)
        if last is not None and now - last < self.every:
            return False
        self._last[report.key] = now
        return True

    async def claim(self, report: ErrorReport) -> bool:
        """`first_in_a_while`, for every process on the database: True for one of them."""
        if not self.first_in_a_while(report):
            return False
        now = self.clock()
        key = hashlib.sha256("|".join(report.key).encode()).hexdigest()[:32]
        try:
            return await claim_alert(self.db, key, stamp(now), stamp(now - self.every))
        except Exception as error:  # the database is what failed: decide here alone
            logging.getLogger(__name__).warning("error alert not claimed: %r", error)
            return True

    async def coordinators(self) -> list[Trainer]:
        """Who gets the alert: every coordinator, configured or invited, who can be reached."""
        return [c for c in await trainers.coordinators(self.db) if c.reachable]
