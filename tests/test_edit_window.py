"""The correction rule (bot/edit_window.py): a window after Submit, closed once reviewed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import stamp
from bot.edit_window import still_correctable

SUBMITTED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes_later", "reviewed", "window", "allowed"),
    [
        (0, False, 10, True),
        (9.99, False, 10, True),
        (10, False, 10, False),  # the window is [submit, submit + 10 min)
        (60, False, 10, False),
        (1, True, 10, False),  # a reviewed rewrite is closed at once
        (0, False, 0, False),  # EDIT_WINDOW_MINUTES=0 turns corrections off
    ],
)
def test_a_submitted_judgment_is_correctable_only_within_its_window(
    minutes_later: float, reviewed: bool, window: int, allowed: bool
) -> None:
    now = SUBMITTED + timedelta(minutes=minutes_later)
    reviewed_at = stamp(SUBMITTED) if reviewed else None
    assert still_correctable(stamp(SUBMITTED), reviewed_at, now, window) is allowed


def test_a_draft_is_always_correctable() -> None:
    assert still_correctable(None, None, SUBMITTED, 10)
