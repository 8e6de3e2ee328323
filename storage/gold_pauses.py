"""Queries of one gold pause at a time: claiming its notices (migration 0017) and lifting it by
its id (the evidence's Resume button; storage/gold.lift_pauses lifts each pause the same way).

A pause tells the trainer and the coordinators once each. Each side is stamped when it is
CLAIMED for sending (a guarded `UPDATE ... WHERE ..._told_at IS NULL`), then sent: a crash
after the claim loses that one message, never doubles it; a crash before it leaves the pause
untold, and the per-minute job (handlers/quality_notices.py) sends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.audit import record_change, target_of_trainer
from storage.database import Database, Transaction

TRAINER = "trainer_told_at"
COORDINATORS = "coordinators_told_at"
UNTOLD_PAGE = 100  # untold pauses read at once by the job


@dataclass(frozen=True, slots=True)
class Pause:
    """A gold pause and its batch (name and rubric JSON, to tell it)."""

    id: int
    trainer_id: int
    batch_id: int
    batch_name: str
    rubric_json: str
    live: bool  # not lifted yet
    trainer_told: bool
    coordinators_told: bool


_SELECT = (
    "SELECT p.id, p.trainer_id, p.batch_id, b.name, b.rubric, p.lifted_at IS NULL,"
    " p.trainer_told_at IS NOT NULL, p.coordinators_told_at IS NOT NULL"
    " FROM gold_pauses p JOIN batches b ON b.id = p.batch_id"
)


def _pause(row: tuple) -> Pause:
    return Pause(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]), bool(row[7]))


async def get_pause(db: Database, pause_id: int) -> Pause | None:
    """The pause with that id, lifted or not; None when there is none."""
    row = await db.fetchone(f"{_SELECT} WHERE p.id = ?", (pause_id,))
    return None if row is None else _pause(row)


async def live_pause(db: Database, trainer_id: int, batch_id: int) -> Pause | None:
    """The trainer's live pause in the batch (at most one), if any."""
    row = await db.fetchone(
        f"{_SELECT} WHERE p.trainer_id = ? AND p.batch_id = ? AND p.lifted_at IS NULL",
        (trainer_id, batch_id),
    )
    return None if row is None else _pause(row)


async def untold_before(db: Database, before: str, limit: int = UNTOLD_PAGE) -> list[Pause]:
    """Pauses made at or before `before` with a side not claimed yet, oldest first (lifted
    ones too: the job claims them and sends nothing, so they leave the partial index)."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE (p.trainer_told_at IS NULL OR p.coordinators_told_at IS NULL)"
        " AND p.paused_at <= ? ORDER BY p.paused_at, p.id LIMIT ?",
        (before, limit),
    )
    return [_pause(row) for row in rows]


async def claim(db: Database, pause_id: int, side: str, now: str) -> bool:
    """Stamp one side (TRAINER or COORDINATORS) of a pause as claimed for sending; False when
    it was claimed already (by the immediate path, the job, or a redelivered update)."""
    assert side in (TRAINER, COORDINATORS)
    changed = await db.execute(
        f"UPDATE gold_pauses SET {side} = ? WHERE id = ? AND {side} IS NULL", (now, pause_id)
    )
    return changed == 1


async def lift_pause(db: Database, pause_id: int, *, actor_id: int, now: str) -> Pause | None:
    """Lift that one pause if it is still live, start the trainer's gold tally in its batch
    afresh and audit it, in one transaction; None when it was lifted already (a stale button
    or a second tap), so a later pause in the same batch is never lifted by an old button."""
    return await db.write(_lift_pause, pause_id, actor_id, now)


async def _lift_pause(tx: Transaction, pause_id: int, actor_id: int, now: str) -> Pause | None:
    row = await tx.fetchone(f"{_SELECT} WHERE p.id = ?", (pause_id,))
    if row is None:
        return None
    pause = _pause(tuple(row))
    if not await lift_live(tx, pause, actor_id=actor_id, now=now):
        return None
    return pause


async def live_pauses_in(tx: Transaction, trainer_id: int, batch_id: int | None) -> list[Pause]:
    """Inside the caller's transaction: the trainer's live pauses in one batch (or in every
    batch when `batch_id` is None), by batch."""
    only = "" if batch_id is None else " AND p.batch_id = ?"
    params = (trainer_id,) if batch_id is None else (trainer_id, batch_id)
    rows = await tx.fetchall(
        f"{_SELECT} WHERE p.trainer_id = ? AND p.lifted_at IS NULL{only} ORDER BY p.batch_id",
        params,
    )
    return [_pause(tuple(row)) for row in rows]


async def lift_live(tx: Transaction, pause: Pause, *, actor_id: int, now: str) -> bool:
    """Inside the caller's transaction: lift `pause` if it is still live, start the trainer's
    gold tally in its batch afresh (earlier answers no longer counted) and audit it; False, and
    nothing changed, when it was lifted already. One way to lift, whichever button asked."""
    lifted = await tx.execute(
        "UPDATE gold_pauses SET lifted_at = ?, lifted_by = ? WHERE id = ? AND lifted_at IS NULL",
        (now, actor_id, pause.id),
    )
    if lifted != 1:
        return False
    await tx.execute(
        "UPDATE gold_answers SET counted = 0 WHERE trainer_id = ? AND batch_id = ? AND counted = 1",
        (pause.trainer_id, pause.batch_id),
    )
    await record_change(
        tx,
        actor_id=actor_id,
        action="gold.resume",
        target=target_of_trainer(pause.trainer_id),
        detail=f"batch {pause.batch_name}: gold pause lifted, tally afresh",
        now=now,
    )
    return True
