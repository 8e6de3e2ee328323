"""Queries of the lease sweeper: live leases that ended become `expired`, and a swept lease is
taken up again by its trainer while the item still has room for them.

Slots (storage/assignment.py): an item takes a review while its submitted reviews plus the
live leases on it (active, not yet ended) are below the overlap. A lease that ended already
stops counting; sweeping it only makes that visible (the status, the panel's text) and puts
its item back into `items_open` at once (`item_released`), so trainers who passed the item
while it was leased are offered it by their next pick, not only when its `full_until` hint
comes due. (A gold item is never in `items_open`: its lease ending only frees it for its
trainer to take up again.)

The sweep reads through the partial index `assignments_leases` (lease_expires_at) WHERE status
= 'active', so the per-minute look with nothing to sweep is one index probe and no write.
Leases that never end (a judgment reopened by Undo, `storage.corrections.HELD`) are never
swept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.assignment import PICK_TURN, item_released
from storage.database import Database, Row, Transaction
from storage.queue_sql import GOLD_ITEM, PAUSED_IN_BATCH, WANTED_REVIEWS
from storage.records import Assignment, Trainer

_ENDED_ANY_SQL = (
    "SELECT 1 FROM assignments WHERE status = 'active' AND lease_expires_at <= ? LIMIT 1"
)

# One page of ended leases, oldest first, expired in one statement; the guard is repeated on
# the row so that only a lease still active and ended changes.
_EXPIRE_PAGE_SQL = """
UPDATE assignments SET status = 'expired'
WHERE id IN (SELECT id FROM assignments WHERE status = 'active' AND lease_expires_at <= :now
             ORDER BY lease_expires_at LIMIT :limit)
  AND status = 'active' AND lease_expires_at <= :now
RETURNING id, item_id, trainer_id, status, lease_expires_at, criterion
"""

_PANELS_SQL = (
    "SELECT assignment_id, chat_id, message_id FROM assignment_messages"
    " WHERE kind = 'panel' AND assignment_id IN ({ids})"
)

# Taking a swept lease up again: only while the trainer holds no other open item, is not paused
# in the item's batch for failing its gold items, and the item's reviews plus the others' live
# leases leave room below what it wants (its batch open, the item not complete), checked in
# the write itself, in the pick's turn (it takes room as a pick does), so two trainers never
# fill one slot. A gold item ignores the overlap: it stays this trainer's to answer while its
# batch is open.
_TAKE_UP_GUARD = f"""
  NOT EXISTS (SELECT 1 FROM assignments held
              WHERE held.trainer_id = assignments.trainer_id AND held.status = 'active')
  AND EXISTS (SELECT 1 FROM items i JOIN batches b ON b.id = i.batch_id
              WHERE i.id = assignments.item_id AND b.status = 'open'
                AND NOT {PAUSED_IN_BATCH.format(trainer="assignments.trainer_id", batch="b.id")}
                AND (i.complete = {GOLD_ITEM}
                     OR (i.complete = 0
                         AND i.done_count + (SELECT COUNT(*) FROM assignments live
                                             WHERE live.item_id = i.id AND live.status = 'active'
                                               AND live.lease_expires_at > :now)
                             < {WANTED_REVIEWS.format(batch="b", item="i")})))
"""
_RETURNING = "RETURNING id, item_id, trainer_id, status, lease_expires_at, criterion"

_RENEW_SQL = f"""
UPDATE assignments SET status = 'active', lease_expires_at = :lease
WHERE id = :id AND status = 'expired' AND {_TAKE_UP_GUARD}
{_RETURNING}
"""

# /next renewing the trainer's open item: still active, its lease runs from now (never
# shorter: a judgment reopened by Undo keeps its lease that never ends); swept since /next read
# it, only as a take-up would be. One write, so a sweep in between never leaves /next showing
# an item resumed whose slot was released.
_RENEW_OPEN_SQL = f"""
UPDATE assignments SET status = 'active',
  lease_expires_at = CASE WHEN lease_expires_at < :lease THEN :lease ELSE lease_expires_at END
WHERE id = :id AND (status = 'active' OR (status = 'expired' AND {_TAKE_UP_GUARD}))
{_RETURNING}
"""

# The trainer's newest swept lease given out after their last Submit: what /next offers back
# before a new item. Once the trainer has submitted anything after it, it is history, and /next
# does not look at it again (nor at older swept ones, given out before it). Two probes of the
# index assignments_trainer: the newest expired row, then whether a Submit came after it; the
# comparison is between timestamps only (no '' sentinel), so it reads the same on PostgreSQL.
# An expired row was never submitted (an Undo's reopened judgment is restored before a
# trainer's leases are expired, and never swept): `submitted_at IS NULL` says so, and lets the
# index give the newest one first without sorting the trainer's expired rows.
_LAST_SWEPT_SQL = """
SELECT * FROM (SELECT * FROM assignments
               WHERE trainer_id = :trainer AND status = 'expired' AND submitted_at IS NULL
               ORDER BY id DESC LIMIT 1) a
WHERE NOT EXISTS (SELECT 1 FROM assignments s
                  WHERE s.trainer_id = :trainer AND s.status = 'submitted'
                    AND s.submitted_at >= a.assigned_at)
"""


@dataclass(frozen=True, slots=True)
class SweptLease:
    """A lease the sweep expired, and where its item's live panel is (None: never shown)."""

    assignment: Assignment
    chat_id: int | None
    panel_message_id: int | None


async def any_ended(db: Database, now: str) -> bool:
    """Whether some live lease has ended by `now` (one probe of the partial index)."""
    return await db.fetchval(_ENDED_ANY_SQL, (now,)) is not None


async def expire_ended(db: Database, now: str, limit: int) -> list[SweptLease]:
    """Expire up to `limit` leases that ended by `now`, oldest first, and release their items,
    in one short write; what each panel edit needs."""
    return await db.write_in_turn(PICK_TURN, _expire_ended, now, limit)


async def _expire_ended(tx: Transaction, now: str, limit: int) -> list[SweptLease]:
    rows = await tx.fetchall(_EXPIRE_PAGE_SQL, {"now": now, "limit": limit})
    if not rows:
        return []
    expired = [Assignment.from_row(row) for row in rows]
    for assignment in expired:
        await item_released(tx, assignment.id)
    ids = [assignment.id for assignment in expired]
    sql = _PANELS_SQL.format(ids=", ".join("?" * len(ids)))
    newest: dict[int, tuple[int, int]] = {}
    for assignment_id, chat_id, message_id in await tx.fetchall(sql, ids):
        if assignment_id not in newest or message_id > newest[assignment_id][1]:
            newest[assignment_id] = (chat_id, message_id)
    return [
        SweptLease(a, *newest.get(a.id, (None, None)))
        for a in sorted(expired, key=lambda a: a.lease_expires_at)
    ]


async def renew_swept(db: Database, assignment_id: int, now: str, lease: str) -> Assignment | None:
    """Make a swept lease live again until `lease`, if its trainer holds no other open item and
    its item still has room; the renewed assignment, else None."""
    row = await db.write_in_turn(PICK_TURN, _renew, assignment_id, now, lease)
    return None if row is None else Assignment.from_row(row)


async def _renew(tx: Transaction, assignment_id: int, now: str, lease: str) -> Row | None:
    return await tx.fetchone(_RENEW_SQL, {"id": assignment_id, "now": now, "lease": lease})


async def renew_open(db: Database, assignment_id: int, now: str, lease: str) -> Assignment | None:
    """Renew the lease of a trainer's open item until `lease`, or take it up again if the
    sweep expired it meanwhile (see `_RENEW_OPEN_SQL`); the renewed assignment, else None."""
    row = await db.write_in_turn(PICK_TURN, _renew_open, assignment_id, now, lease)
    return None if row is None else Assignment.from_row(row)


async def _renew_open(tx: Transaction, assignment_id: int, now: str, lease: str) -> Row | None:
    params = {"id": assignment_id, "now": now, "lease": lease}
    return await tx.fetchone(_RENEW_OPEN_SQL, params)


async def last_swept(db: Database, trainer_id: int) -> Assignment | None:
    """The trainer's newest swept lease that /next may offer back (see `_LAST_SWEPT_SQL`)."""
    row = await db.fetchone(_LAST_SWEPT_SQL, {"trainer": trainer_id})
    return None if row is None else Assignment.from_row(row)


async def holds_open_item(db: Database, trainer_id: int) -> bool:
    """Whether the trainer holds an open item (an active assignment; index assignments_trainer)."""
    sql = "SELECT 1 FROM assignments WHERE trainer_id = ? AND status = 'active' LIMIT 1"
    return await db.fetchval(sql, (trainer_id,)) is not None


async def trainers_of(db: Database, user_ids: Sequence[int]) -> dict[int, Trainer]:
    """The trainers holding the swept leases of one page, by user id."""
    if not user_ids:
        return {}
    unique = sorted(set(user_ids))
    rows = await db.fetchall(
        f"SELECT * FROM trainers WHERE user_id IN ({', '.join('?' * len(unique))})", unique
    )
    return {row["user_id"]: Trainer.from_row(row) for row in rows}
