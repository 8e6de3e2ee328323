"""Leases that ran out: the sweep that expires them and frees their slots, and the way back to a
swept item for its trainer.

A trainer who walks away from an item holds one of its slots until the lease ends
(`LEASE_MINUTES`); after that the slot counts as free for the pick (storage/assignment.py), but
the assignment stayed `active` and the item out of `items_open` until someone asked again. The
sweep (every minute, handlers/lease_sweeper.py) makes it final: the assignment becomes
`expired`, the item goes back into the queue at once, and the panel message says the time ran
out, with its scores and buttons kept.

The trainer may come back. A tap on a swept item's panel, or /next, takes the lease up again
(a new one of `LEASE_MINUTES`) if the item still needs this trainer and they hold no other
open item, so nothing they gave is lost; otherwise the tap is refused (`Refusal.EXPIRED`) and
the panel says which (another item open, or the item no longer needs them) and offers the next
item. A Submit or Skip neither takes the lease up nor is refused: a review given after expiry
is kept and marked late (`assignments.late`), as it always was, whether or not the sweep got
there first.

Until the sweep has looked at an ended lease (within a minute), it is handled as before:
/next renews or expires it, and a tap applies to it.
"""

from __future__ import annotations

import logging

from bot.clock import Clock, after, stamp, utc_now
from bot.config import Settings
from storage import leases, reviews
from storage.assignment import item_still_wanted
from storage.database import Database
from storage.leases import SweptLease
from storage.records import Assignment, Trainer

__all__ = ["PAGE", "Leases", "SweptLease"]

log = logging.getLogger(__name__)

PAGE = 200  # leases expired per write: a short one, even after a long downtime


class Leases:
    """Expiring ended leases, and renewing a swept one for its trainer."""

    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    @property
    def minutes(self) -> int:
        return self.settings.lease_minutes

    async def sweep_page(self) -> list[SweptLease]:
        """Expire the next page of ended leases (at most `PAGE`), freeing their slots; [] with
        nothing to sweep, found by one index probe and without a write."""
        now = stamp(self.clock())
        if not await leases.any_ended(self.db, now):
            return []
        swept = await leases.expire_ended(self.db, now, PAGE)
        if swept:
            log.info("expired %d leases that ran out", len(swept))
        return swept

    async def take_up(self, trainer: Trainer, assignment: Assignment) -> Assignment | None:
        """A swept lease of `trainer`, live again with a new lease, if its item still needs
        them (room, their languages, the batch open) and they hold no other open item."""
        now = self.clock()
        if not await item_still_wanted(self.db, assignment, stamp(now)):
            return None
        lease = stamp(after(now, self.minutes))
        renewed = await leases.renew_swept(self.db, assignment.id, stamp(now), lease)
        if renewed is not None:
            log.info("trainer %s took up swept assignment %s", trainer.user_id, assignment.id)
        return renewed

    async def renew_open(self, assignment: Assignment) -> Assignment | None:
        """/next's renewal of the trainer's open item, a new lease from now; if the sweep
        expired it since it was read, taken up again only as a tap would be (room, no other
        open item), else None (and /next picks a new item)."""
        now = self.clock()
        lease = stamp(after(now, self.minutes))
        return await leases.renew_open(self.db, assignment.id, stamp(now), lease)

    async def offer_back(self, trainer: Trainer) -> Assignment | None:
        """For /next when the trainer holds no open item: their last swept lease, taken up
        again, if its item still needs them (else None, and a new item is picked)."""
        swept = await leases.last_swept(self.db, trainer.user_id)
        return None if swept is None else await self.take_up(trainer, swept)

    async def holds_another(self, trainer: Trainer) -> bool:
        """Whether a refused take-up is (also) because the trainer holds another open item,
        which Next then shows them, rather than because the item no longer needs them."""
        return await leases.holds_open_item(self.db, trainer.user_id)

    async def still_swept(self, assignment_id: int) -> bool:
        """Whether a swept lease is still expired (its trainer has not taken it up again)."""
        assignment = await reviews.get_assignment(self.db, assignment_id)
        return assignment is not None and assignment.status == "expired"

    async def trainers_of(self, swept: list[SweptLease]) -> dict[int, Trainer]:
        return await leases.trainers_of(self.db, [lease.assignment.trainer_id for lease in swept])
