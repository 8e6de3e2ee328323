"""How far a batch is, as the trainer's panel shows it ("batch 340/1,200").

Every panel shows it, and a tap re-renders the panel, so it must not cost a query per tap: the
figures are cached per batch for `PROGRESS_TTL` (by the injectable clock) and read again only
after that. A panel may so lag the batch by a few seconds, which nobody can tell on a phone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock, utc_now
from storage import batch_progress
from storage.database import Database

PROGRESS_TTL = timedelta(seconds=30)
_CACHE_SIZE = 1024


class BatchProgress:
    """Complete items against all items, per batch, cached briefly; see the module docstring."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock
        self._cached: dict[int, tuple[datetime, tuple[int, int]]] = {}

    async def of(self, batch_id: int) -> tuple[int, int]:
        """(complete items, items) of the batch, at most `PROGRESS_TTL` old."""
        now = self.clock()
        cached = self._cached.get(batch_id)
        if cached is not None and now - cached[0] < PROGRESS_TTL:
            return cached[1]
        figures = await batch_progress.batch_progress(self.db, batch_id)
        self._cached[batch_id] = (now, figures)
        if len(self._cached) > _CACHE_SIZE:  # old batches: forget the oldest entry
            self._cached.pop(next(iter(self._cached)))
        return figures

    async def any_batch(self) -> bool:
        """Whether any batch exists: "nothing ready yet" differs from "all done for you"."""
        return await batch_progress.any_batch(self.db)
