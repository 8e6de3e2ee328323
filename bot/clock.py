"""Time, in one place, so tests can move it (lease expiry) and every timestamp has one format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """The stored form: ISO-8601 UTC with microseconds, which sorts correctly as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def start_of_day(moment: datetime, timezone: str) -> datetime:
    """Midnight of `moment`'s day in `timezone` (quotas count per local day)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def after(moment: datetime, minutes: int) -> datetime:
    return moment + timedelta(minutes=minutes)


def parse_stamp(text: str) -> datetime:
    """The moment a stored stamp names (the inverse of `stamp`)."""
    return datetime.fromisoformat(text)
