"""What a trainer's assignments say about their recent reviewing: the moments each was handed
out and submitted, and whether it was skipped, and when their last sitting was summed up, for
the summary of a sitting (bot/sittings.py) when several processes share the database."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database

# Two index ranges of assignments_trainer (trainer_id, status, submitted_at): the submitted
# ones by submission time; the others (open, skipped, expired, reopened by Undo) are few.
_ACTIVITY_SQL = (
    "SELECT id, status, assigned_at, submitted_at FROM assignments"
    " WHERE trainer_id = ? AND status = 'submitted' AND submitted_at >= ?"
    " UNION ALL"
    " SELECT id, status, assigned_at, submitted_at FROM assignments"
    " WHERE trainer_id = ? AND status <> 'submitted' AND (assigned_at >= ? OR submitted_at >= ?)"
)


@dataclass(frozen=True, slots=True)
class Handed:
    """One assignment of the trainer's: when it was handed out, and submitted (if it was)."""

    assignment_id: int
    assigned_at: str
    submitted_at: str | None  # kept by Undo's reopening and by a skip after it
    skipped: bool  # a skip keeps no time of its own


async def handed_since(db: Database, trainer_id: int, since: str) -> list[Handed]:
    """The trainer's assignments handed out or submitted at `since` (a stamp) or later."""
    rows = await db.fetchall(_ACTIVITY_SQL, (trainer_id, since, trainer_id, since, since))
    return [
        Handed(row["id"], row["assigned_at"], row["submitted_at"], row["status"] == "skipped")
        for row in rows
    ]


async def last_ended(db: Database, trainer_id: int) -> str | None:
    """When the trainer's last sitting was summed up (a stamp), by any process; None if never."""
    return await db.fetchval(
        "SELECT ended_at FROM sitting_ends WHERE trainer_id = ?", (trainer_id,)
    )


async def mark_ended(db: Database, trainer_id: int, now: str) -> None:
    """Everything up to `now` belongs to the sitting just summed up."""
    await db.execute(
        "INSERT INTO sitting_ends (trainer_id, ended_at) VALUES (?, ?)"
        " ON CONFLICT (trainer_id) DO UPDATE SET ended_at = excluded.ended_at",
        (trainer_id, now),
    )
