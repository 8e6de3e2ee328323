"""Batch events: a batch whose every item has its reviews is announced to the coordinators,
once.

Once means the decision is the mark: `batches.completed_at` is set in the statement that finds
the batch complete (storage/batch_events.py), and only the batches that statement returned are
announced. A second run, an overlapping one or a restart finds them marked; an Undo that
reopens an item and a Submit that completes it again find the mark too. A crash between the
mark and the messages loses them (the log says "complete" without "announced"), never doubles
them: a coordinator can still ask /progress and /export.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.clock import parse_stamp, stamp
from storage import batch_events as store
from storage.batch_events import CompletedBatch
from storage.database import Database

__all__ = ["BatchEvents", "CompletedBatch", "newly_completed", "took_seconds"]

log = logging.getLogger(__name__)


async def newly_completed(db: Database, now: datetime) -> list[CompletedBatch]:
    """Mark the batches that became complete since the last look, and return them."""
    if not await store.any_just_complete(db):
        return []
    completed = []
    for batch_id in await store.mark_completed(db, stamp(now)):
        batch = await store.completed_batch(db, batch_id)
        if batch is not None:
            log.info("batch %r (%d) is complete; announcing it", batch.name, batch.id)
            completed.append(batch)
    return completed


def took_seconds(batch: CompletedBatch) -> float:
    """From the batch's import to its completion."""
    return (parse_stamp(batch.completed_at) - parse_stamp(batch.created_at)).total_seconds()


class BatchEvents:
    """The `batch-events` job's reads and marks over one database."""

    def __init__(self, db: Database):
        self.db = db

    async def newly_completed(self, now: datetime) -> list[CompletedBatch]:
        """Mark the batches that became complete since the last look, and return them."""
        return await newly_completed(self.db, now)

    async def batch_name(self, batch_id: int) -> str | None:
        """The batch's name (its export button's), None once it is gone."""
        return await store.batch_name(self.db, batch_id)
