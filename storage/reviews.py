"""Queries of the review loop: handing out items, drafts (scores, flags, texts), submit, skip.

Every write a tap makes is one short transaction on indexed rows; every state change is
guarded by the current status, so a repeated tap or update finds nothing to change.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from storage.assignment import COUNT_REVIEW_SQL, PICK_TURN, item_released
from storage.corrections import resubmitted
from storage.database import Connection, Database
from storage.gold import GoldJudged, GoldRule, judge_first_answer
from storage.records import Assignment, Draft, Item

_ITEM_SQL = (
    "SELECT i.id AS item_id, i.batch_id, b.name AS batch_name, i.external_id, i.prompt,"
    " i.response, i.context, b.rubric FROM items i JOIN batches b ON b.id = i.batch_id"
    " WHERE i.id = ?"
)


async def get_item(db: Database, item_id: int) -> Item | None:
    row = await db.fetchone(_ITEM_SQL, (item_id,))
    return None if row is None else Item.from_row(row)


async def get_assignment(db: Database, assignment_id: int) -> Assignment | None:
    row = await db.fetchone("SELECT * FROM assignments WHERE id = ?", (assignment_id,))
    return None if row is None else Assignment.from_row(row)


async def get_active_assignment(db: Database, trainer_id: int) -> Assignment | None:
    row = await db.fetchone(
        "SELECT * FROM assignments WHERE trainer_id = ? AND status = 'active'"
        # A judgment reopened by Undo is the open item, before the one sent after it.
        " ORDER BY reopened_at IS NULL, id DESC LIMIT 1",
        (trainer_id,),
    )
    return None if row is None else Assignment.from_row(row)


async def expire_assignment(db: Database, assignment_id: int) -> None:
    """Give up an expired lease; a later submit of it is still accepted (marked late)."""
    await db.execute(
        "UPDATE assignments SET status = 'expired' WHERE id = ? AND status = 'active'",
        (assignment_id,),
    )


async def set_score(
    db: Database, assignment_id: int, criterion: str, score: int, next_criterion: int, now: str
) -> None:
    await db.write(_set_score, assignment_id, criterion, score, next_criterion, now)


async def _set_score(
    tx: Connection, assignment_id: int, criterion: str, score: int, following: int, now: str
) -> None:
    await tx.execute(
        "INSERT INTO scores (assignment_id, criterion, score, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (assignment_id, criterion)"
        " DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at",
        (assignment_id, criterion, score, now),
    )
    await tx.execute(
        "UPDATE assignments SET criterion = ? WHERE id = ?", (following, assignment_id)
    )


async def set_criterion(db: Database, assignment_id: int, criterion: int) -> None:
    await db.execute(
        "UPDATE assignments SET criterion = ? WHERE id = ?", (criterion, assignment_id)
    )


async def set_flag(db: Database, assignment_id: int, flag: str, on: bool) -> None:
    """Set (not toggle) a flag, so a repeated tap leaves the same state."""
    if on:
        sql = "INSERT INTO flags (assignment_id, flag) VALUES (?, ?) ON CONFLICT DO NOTHING"
    else:
        sql = "DELETE FROM flags WHERE assignment_id = ? AND flag = ?"
    await db.execute(sql, (assignment_id, flag))


# One read for a tap: the assignment's row, then its scores, flags, note and rewrite (the
# columns of the first SELECT name them all; the other rows use `kind` and `key`/`value`).
_ASSIGNMENT_AND_DRAFT_SQL = (
    "SELECT 'a' AS kind, id, item_id, trainer_id, status AS key, lease_expires_at,"
    " criterion AS value FROM assignments WHERE id = :id"
    " UNION ALL SELECT 's', NULL, NULL, NULL, criterion, NULL, score"
    " FROM scores WHERE assignment_id = :id"
    " UNION ALL SELECT 'f', NULL, NULL, NULL, flag, NULL, NULL FROM flags WHERE assignment_id = :id"
    " UNION ALL SELECT 'n', NULL, NULL, NULL, note, NULL, NULL"
    " FROM judgments WHERE assignment_id = :id"
    " UNION ALL SELECT 'r', NULL, NULL, NULL, rewrite, NULL, NULL"
    " FROM judgments WHERE assignment_id = :id"
)


async def get_assignment_and_draft(
    db: Database, assignment_id: int
) -> tuple[Assignment | None, Draft]:
    """An assignment and what its trainer has given so far, in one round trip."""
    rows = await db.fetchall(_ASSIGNMENT_AND_DRAFT_SQL, {"id": assignment_id})
    assignment = None
    for row in rows:
        if row["kind"] == "a":
            assignment = Assignment(
                id=row["id"],
                item_id=row["item_id"],
                trainer_id=row["trainer_id"],
                status=row["key"],
                lease_expires_at=row["lease_expires_at"],
                criterion=row["value"],
            )
    return assignment, _draft_of((row["kind"], row["key"], row["value"]) for row in rows)


async def get_draft(db: Database, assignment_id: int) -> Draft:
    """Scores, flags, note and rewrite of one assignment, in one round trip."""
    rows = await db.fetchall(
        "SELECT 's', criterion, score FROM scores WHERE assignment_id = ?"
        " UNION ALL SELECT 'f', flag, NULL FROM flags WHERE assignment_id = ?"
        " UNION ALL SELECT 'n', note, NULL FROM judgments WHERE assignment_id = ?"
        " UNION ALL SELECT 'r', rewrite, NULL FROM judgments WHERE assignment_id = ?",
        (assignment_id,) * 4,
    )
    return _draft_of(tuple(row) for row in rows)


def _draft_of(rows: Iterable[tuple[str, Any, Any]]) -> Draft:
    """A Draft from (kind, key, value) rows: 's' score, 'f' flag, 'n' note, 'r' rewrite."""
    draft = Draft()
    flags: set[str] = set()
    for kind, key, value in rows:
        if kind == "s":
            draft.scores[key] = value
        elif kind == "f":
            flags.add(key)
        elif kind == "n":
            draft.note = key
        elif kind == "r":
            draft.rewrite = key
    draft.flags = frozenset(flags)
    return draft


class Submitted(StrEnum):
    FIRST = "first"
    AGAIN = "again"  # a judgment Undo had reopened


async def submit_assignment(db: Database, assignment_id: int, now: str) -> Submitted | None:
    """Mark submitted and count it for the item; None if it was already finished."""
    return await db.write(_submit, assignment_id, now)


async def submit_judged(
    db: Database, assignment_id: int, now: str, rule: GoldRule
) -> tuple[Submitted | None, GoldJudged | None]:
    """`submit_assignment`, judging a gold item's first answer in the same transaction
    (storage/gold.py): nothing is lost or judged twice, whatever crashes when."""
    return await db.write(_submit_judged, assignment_id, now, rule)


async def _submit_judged(
    tx: Connection, assignment_id: int, now: str, rule: GoldRule
) -> tuple[Submitted | None, GoldJudged | None]:
    submitted = await _submit(tx, assignment_id, now)
    if submitted is not Submitted.FIRST:  # after Undo the first answer stands as judged
        return submitted, None
    return submitted, await judge_first_answer(tx, assignment_id, now, rule)


async def _submit(tx: Connection, assignment_id: int, now: str) -> Submitted | None:
    changed = await tx.execute(
        "UPDATE assignments SET submitted_at = ?,"
        " late = CASE WHEN status = 'expired' OR lease_expires_at < ? THEN 1 ELSE 0 END,"
        " status = 'submitted',"
        " rubric_version = (SELECT b.rubric_version FROM items i JOIN batches b"
        " ON b.id = i.batch_id WHERE i.id = assignments.item_id)"
        " WHERE id = ? AND status IN ('active', 'expired')",
        (now, now, assignment_id),
    )
    if changed != 1:
        return None
    await tx.execute(COUNT_REVIEW_SQL, (assignment_id,))
    await tx.execute(
        "INSERT INTO judgments (assignment_id, updated_at) VALUES (?, ?)"
        " ON CONFLICT (assignment_id) DO UPDATE SET updated_at = excluded.updated_at",
        (assignment_id, now),
    )
    await tx.execute(
        "UPDATE trainers SET last_seen_at = ?"
        " WHERE user_id = (SELECT trainer_id FROM assignments WHERE id = ?)",
        (now, assignment_id),
    )
    again = await resubmitted(tx, assignment_id, now)  # a judgment reopened by Undo: revised now
    return Submitted.AGAIN if again else Submitted.FIRST


async def skip_assignment(db: Database, assignment_id: int, reason: str | None) -> bool:
    """Skip for good (never shown to this trainer again); False if already finished."""
    return await db.write_in_turn(PICK_TURN, _skip, assignment_id, reason)


async def _skip(tx: Connection, assignment_id: int, reason: str | None) -> bool:
    changed = await tx.execute(
        "UPDATE assignments SET status = 'skipped', skip_reason = ?"
        " WHERE id = ? AND status IN ('active', 'expired')",
        (reason, assignment_id),
    )
    if changed != 1:
        return False
    await item_released(tx, assignment_id)
    return True


async def link_messages(
    db: Database, assignment_id: int, chat_id: int, messages: list[tuple[int, str]]
) -> None:
    """Remember which chat messages show this assignment ((message_id, kind) pairs)."""
    await db.write(_link_messages, [(chat_id, mid, assignment_id, kind) for mid, kind in messages])


async def _link_messages(tx: Connection, rows: list[tuple[int, int, int, str]]) -> None:
    await tx.executemany(
        "INSERT INTO assignment_messages (chat_id, message_id, assignment_id, kind)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO NOTHING",
        rows,
    )


async def find_message(db: Database, chat_id: int, message_id: int) -> tuple[int, str] | None:
    """(assignment id, kind) of a chat message, if it belongs to one."""
    row = await db.fetchone(
        "SELECT assignment_id, kind FROM assignment_messages WHERE chat_id = ? AND message_id = ?",
        (chat_id, message_id),
    )
    return None if row is None else (row[0], row[1])


async def panel_message_id(db: Database, assignment_id: int) -> int | None:
    return await db.fetchval(
        "SELECT message_id FROM assignment_messages WHERE assignment_id = ? AND kind = 'panel'"
        " ORDER BY message_id DESC LIMIT 1",
        (assignment_id,),
    )


async def count_submitted(db: Database, trainer_id: int, since: str | None = None) -> int:
    if since is None:
        return await db.fetchval(
            "SELECT COUNT(*) FROM assignments WHERE trainer_id = ? AND status = 'submitted'",
            (trainer_id,),
        )
    return await db.fetchval(
        "SELECT COUNT(*) FROM assignments"
        " WHERE trainer_id = ? AND status = 'submitted' AND submitted_at >= ?",
        (trainer_id, since),
    )


async def count_skipped(db: Database, trainer_id: int) -> int:
    return await db.fetchval(
        "SELECT COUNT(*) FROM assignments WHERE trainer_id = ? AND status = 'skipped'",
        (trainer_id,),
    )
