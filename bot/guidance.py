"""Guidance while reviewing: whether a trainer is about to see a batch for the first time."""

from __future__ import annotations

from bot.clock import Clock, stamp, utc_now
from storage import guidance
from storage.database import Database


class Guidance:
    """Remembers, per trainer and batch, that the batch's guidelines were shown."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    async def first_showing(self, trainer_id: int, batch_id: int) -> bool:
        """True exactly once per trainer and batch: record it, so later items skip them.

        Recorded before they are sent: a send that fails costs the trainer one showing, which
        the panel's Guidelines button gives back, while a repeat on every item would not do.
        """
        return await guidance.mark_guidelines_shown(
            self.db, trainer_id, batch_id, stamp(self.clock())
        )
