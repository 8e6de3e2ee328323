"""The one rule for correcting a submitted judgment, shared by edits, late replies and Undo.

A submitted judgment can be corrected for `EDIT_WINDOW_MINUTES` after its Submit, and not once
its rewrite has been reviewed (a reviewer's verdict must stay about the text they read).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import parse_stamp


def still_correctable(
    submitted_at: str | None, reviewed_at: str | None, now: datetime, window_minutes: int
) -> bool:
    """Whether a judgment submitted at `submitted_at` may still change at `now`."""
    if submitted_at is None:
        return True  # not submitted: still a draft
    if reviewed_at is not None or window_minutes <= 0:
        return False
    return now < parse_stamp(submitted_at) + timedelta(minutes=window_minutes)
