"""Which errors coordinators were told about, shared by every bot process on the database.

One row of `bot_facts` per distinct error (`error_alert:<key>`) holds when it was last told; an
alert is claimed by the one write that moved that time on, so several processes hitting the
same fault send one alert an hour between them, not one each.
"""

from __future__ import annotations

from storage.database import Database, current_request

PREFIX = "error_alert:"

_CLAIM = (
    "INSERT INTO bot_facts (name, value) VALUES (?, ?)"
    " ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE bot_facts.value < ?"
)


async def claim_alert(db: Database, key: str, now: str, told_before: str) -> bool:
    """Whether this call may tell coordinators of error `key`: nobody told them since
    `told_before` (stamps). Written outside the failed update's request mark, so the update is
    not recorded as handled by it."""
    mark = current_request.set(None)
    try:
        return await db.execute(_CLAIM, (PREFIX + key, now, told_before)) > 0
    finally:
        current_request.reset(mark)
