"""Which Telegram updates were handled already: a redelivered one must change nothing.

Checking must be cheap, as it runs for every tap. Update ids only grow, so an id above the
newest one recorded before this process started cannot have been handled by an earlier run;
ids handled since the start are remembered in memory. Only an id from before the start (a
redelivery after a crash) is looked up in the database. The record itself is written in the
same transaction as the update's first change (storage.database.RequestMark).
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from bot.clock import Clock, stamp, utc_now
from storage import updates
from storage.database import Database, RequestMark

__all__ = ["RequestMark", "UpdateLog"]

KEEP_FOR = timedelta(days=2)  # Telegram keeps unconfirmed updates for 24 hours
RECENT = 50_000  # ids remembered in memory; older ones are looked up


class UpdateLog:
    def __init__(self, db: Database, clock: Clock = utc_now):
        self.db = db
        self.clock = clock
        self._newest_before_start: int | None = None
        self._loaded = False
        self._recent: set[int] = set()
        self._order: deque[int] = deque()
        self._forgotten_up_to = -1

    async def seen(self, update_id: int) -> bool:
        if update_id in self._recent:
            return True
        if not self._loaded:
            self._newest_before_start = await updates.newest_processed(self.db)
            self._loaded = True
        earlier_run = (
            self._newest_before_start is not None and update_id <= self._newest_before_start
        )
        # Several processes on the database (PostgreSQL): another may have handled it.
        elsewhere = self.db.shared
        if earlier_run or elsewhere or update_id <= self._forgotten_up_to:
            return await updates.was_processed(self.db, update_id)
        return False

    def begin(self, update_id: int) -> RequestMark:
        """Start handling: the update's first write will record it as handled."""
        self._remember(update_id)
        return updates.begin_update(update_id, stamp(self.clock()))

    async def finish(self, mark: RequestMark) -> None:
        """Record the update as handled if none of its writes did."""
        await updates.finish_update(self.db, mark)

    def _remember(self, update_id: int) -> None:
        self._recent.add(update_id)
        self._order.append(update_id)
        if len(self._order) > RECENT:
            old = self._order.popleft()
            self._recent.discard(old)
            self._forgotten_up_to = max(self._forgotten_up_to, old)

    async def prune(self) -> int:
        """Forget ids older than Telegram could ever resend; run daily by the scheduler."""
        return await updates.forget_processed_before(self.db, stamp(self.clock() - KEEP_FOR))
