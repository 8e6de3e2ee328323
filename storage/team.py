"""Queries of the coordinator's team view: the trainer list, and changes to one trainer.

Every change is written together with its audit_log row in one transaction, so the log never
disagrees with the trainers table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.assignment import items_released_by
from storage.audit import record_change
from storage.corrections import restore_reopened
from storage.database import Database, Transaction
from storage.records import Trainer


@dataclass(frozen=True, slots=True)
class ListedTrainer:
    trainer: Trainer
    last_seen_at: str | None


@dataclass(frozen=True, slots=True)
class Work:
    """A trainer's submitted reviews, and when they last did anything with an item."""

    total: int = 0
    today: int = 0
    last_active_at: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What a change did: the value before and after; `changed` is False if nothing moved."""

    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


async def count_trainers(db: Database) -> int:
    return await db.fetchval("SELECT COUNT(*) FROM trainers", default=0)


async def list_trainers(db: Database, *, limit: int, offset: int) -> list[ListedTrainer]:
    """One page of everyone registered, oldest first (a stable order for paging)."""
    rows = await db.fetchall(
        "SELECT * FROM trainers ORDER BY created_at, user_id LIMIT ? OFFSET ?", (limit, offset)
    )
    return [ListedTrainer(Trainer.from_row(row), row["last_seen_at"]) for row in rows]


async def work_of(db: Database, user_ids: Sequence[int], *, today: str) -> dict[int, Work]:
    """Submitted totals, today's count (since `today`) and last activity, per trainer.

    Both queries stay on the index assignments_trainer (trainer_id, status, submitted_at): a
    trainer's thousands of past reviews are counted without reading their rows.
    """
    if not user_ids:
        return {}
    marks = ", ".join("?" for _ in user_ids)
    done = await db.fetchall(
        "SELECT trainer_id, COUNT(*), SUM(CASE WHEN submitted_at >= ? THEN 1 ELSE 0 END),"
        " MAX(submitted_at) FROM assignments"
        f" WHERE trainer_id IN ({marks}) AND status = 'submitted' GROUP BY trainer_id",
        (today, *user_ids),
    )
    holding = await db.fetchall(
        "SELECT trainer_id, MAX(assigned_at) FROM assignments"
        f" WHERE trainer_id IN ({marks}) AND status = 'active' GROUP BY trainer_id",
        tuple(user_ids),
    )
    work = {row[0]: Work(row[1], row[2] or 0, row[3]) for row in done}
    for trainer_id, assigned_at in holding:
        before = work.get(trainer_id, Work())
        latest = max(filter(None, (before.last_active_at, assigned_at)), default=None)
        work[trainer_id] = Work(before.total, before.today, latest)
    return work


async def find_by_username(db: Database, username: str) -> Trainer | None:
    """Telegram usernames ignore case: an exact match first (indexed), then any case."""
    row = await db.fetchone("SELECT * FROM trainers WHERE username = ?", (username,))
    if row is None:
        row = await db.fetchone(
            "SELECT * FROM trainers WHERE LOWER(username) = LOWER(?) ORDER BY user_id LIMIT 1",
            (username,),
        )
    return None if row is None else Trainer.from_row(row)


async def set_quota(
    db: Database, user_id: int, quota: int, *, actor_id: int, now: str
) -> Change | None:
    """Set a trainer's daily quota and log it; None if there is no such trainer."""
    return await db.write(_set_quota, user_id, quota, actor_id, now)


async def _set_quota(
    conn: Transaction, user_id: int, quota: int, actor_id: int, now: str
) -> Change | None:
    row = await conn.fetchone("SELECT daily_quota FROM trainers WHERE user_id = ?", (user_id,))
    if row is None:
        return None
    change = Change(None if row[0] is None else str(row[0]), str(quota))
    if change.changed:
        await conn.execute(
            "UPDATE trainers SET daily_quota = ? WHERE user_id = ?", (quota, user_id)
        )
        await record_change(
            conn,
            actor_id=actor_id,
            action="trainer.quota",
            target=f"trainer:{user_id}",
            detail=f"{change.before or 'default'} -> {quota}",
            now=now,
        )
    return change


async def set_status(
    db: Database,
    user_id: int,
    status: str,
    *,
    action: str,
    actor_id: int,
    now: str,
    release_items: bool = False,
) -> Change | None:
    """Set a trainer's status and log it; None if there is no such trainer.

    `release_items` gives up the trainer's open leases at once, so their items go back to the
    queue for others instead of waiting for the lease to run out.
    """
    return await db.write(_set_status, user_id, status, action, actor_id, now, release_items)


async def _set_status(
    conn: Transaction,
    user_id: int,
    status: str,
    action: str,
    actor_id: int,
    now: str,
    release_items: bool,
) -> Change | None:
    row = await conn.fetchone("SELECT status FROM trainers WHERE user_id = ?", (user_id,))
    if row is None:
        return None
    change = Change(row[0], status)
    if change.changed:
        await conn.execute("UPDATE trainers SET status = ? WHERE user_id = ?", (status, user_id))
        await record_change(
            conn,
            actor_id=actor_id,
            action=action,
            target=f"trainer:{user_id}",
            detail=f"{change.before} -> {status}",
            now=now,
        )
    if release_items:
        await restore_reopened(conn, user_id)  # an Undo in progress keeps its submission
        await items_released_by(conn, user_id)
        await conn.execute(
            "UPDATE assignments SET status = 'expired' WHERE trainer_id = ? AND status = 'active'",
            (user_id,),
        )
    return change


async def record_invite(
    db: Database,
    code: str,
    *,
    role: str,
    uses: int,
    expires_at: str | None,
    actor_id: int,
    now: str,
) -> None:
    await db.write(
        record_change,
        actor_id=actor_id,
        action="invite.create",
        target=f"invite:{code}",
        detail=f"{role}, uses {uses}, expires {expires_at or 'never'}",
        now=now,
    )
