"""Which message is the live panel of an open item: exactly one per item.

An item can be shown again (/next asks for the open item; two /next sent at once ask twice). The
newest copy's panel is the live one; the copies above lose their buttons (handlers/
item_messages.py), and a tap that still arrives from one of them (an old keyboard on a slow
phone) is refused instead of acting on what that copy shows.

The newest panel is `assignment_messages`' latest 'panel' row. Every tap asks, so it is kept in
memory once known (it is set whenever an item is sent); only the first tap on an item after a
restart reads it, so a tap stays one read and one write.

With several processes on one database (PostgreSQL) another process may have sent a newer copy
since: a newer panel always has a larger message id, so what is kept here is never newer than
the truth; so there every question reads the live panel (one indexed read per tap), and what is
kept only serves the one process of SQLite.
"""

from __future__ import annotations

from collections import OrderedDict

from storage import panels
from storage.database import Database

_CACHE_SIZE = 10_000  # open items at once, about one per active trainer


class LivePanels:
    """The live panel (chat id, message id) of each recently shown item."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.shared = db.shared  # other processes may send copies too
        self._live: OrderedDict[int, tuple[int, int]] = OrderedDict()

    def remember(self, assignment_id: int, chat_id: int, message_id: int) -> None:
        """The panel just sent for `assignment_id` is its live one from now on."""
        self._live[assignment_id] = (chat_id, message_id)
        self._live.move_to_end(assignment_id)
        if len(self._live) > _CACHE_SIZE:
            self._live.popitem(last=False)

    async def live(self, assignment_id: int, chat_id: int) -> int | None:
        """Message id of the live panel of `assignment_id` in `chat_id`, if it was ever sent."""
        known = None if self.shared else self._live.get(assignment_id)
        if known is None:
            known = await panels.live_panel(self.db, assignment_id)
            if known is None:
                return None
            self.remember(assignment_id, *known)
        return known[1] if known[0] == chat_id else None

    async def is_stale(self, assignment_id: int, chat_id: int, message_id: int) -> bool:
        """Whether `message_id` is an older copy of the item, no longer its live panel."""
        live = await self.live(assignment_id, chat_id)
        return live is not None and message_id < live
