"""Which Telegram updates were handled already: a redelivered one must change nothing."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock, stamp, utc_now
from storage import updates
from storage.database import Database

KEEP_FOR = timedelta(days=2)  # Telegram keeps unconfirmed updates for 24 hours


class UpdateLog:
    def __init__(self, db: Database, clock: Clock = utc_now):
        self.db = db
        self.clock = clock

    async def seen(self, update_id: int) -> bool:
        return await updates.was_processed(self.db, update_id)

    async def remember(self, update_id: int) -> None:
        await updates.mark_processed(self.db, update_id, stamp(self.clock()))

    async def prune(self) -> int:
        """Forget ids older than Telegram could ever resend; run daily by the scheduler."""
        return await updates.forget_processed_before(self.db, stamp(self.clock() - KEEP_FOR))
