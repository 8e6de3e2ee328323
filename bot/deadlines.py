"""Batch deadlines: a date (`deadline=2026-12-20` in an upload's caption, `import --deadline`),
meaning the END of that day in TIMEZONE, so "by the 20th" includes the whole 20th."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DeadlineError(ValueError):
    """A deadline that cannot be used; `.reason` is "malformed" or "past"."""

    def __init__(self, text: str, reason: str):
        super().__init__(f"{reason} deadline {text!r}")
        self.text = text
        self.reason = reason


def deadline_end(day: date, zone: str) -> datetime:
    """The moment a deadline passes: the start of the next day in `zone`."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))


def parse_deadline(text: str, now: datetime, zone: str) -> date:
    """`YYYY-MM-DD` -> the date; DeadlineError when it is not a real date ("malformed") or its
    day has ended already in `zone` ("past": a batch cannot be late before it starts)."""
    text = text.strip()
    if not _DATE.fullmatch(text):
        raise DeadlineError(text, "malformed")
    try:
        day = date.fromisoformat(text)
        ends = deadline_end(day, zone)
    except (ValueError, OverflowError):  # 9999-12-31 ends past the last day datetime has
        raise DeadlineError(text, "malformed") from None
    if ends <= now:
        raise DeadlineError(text, "past")
    return day
