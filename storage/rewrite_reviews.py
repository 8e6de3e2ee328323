"""Rewrite review: which rewrite a reviewer sees next, the lock while it is open in their chat,
the decision, and who may review (`trainers.reviewer`).

A review moves `open` -> (Reject) `reason` -> (a reason) `comment` -> `rejected`, or `open` ->
`accepted`; Skip deletes the row and remembers the skip. Every step is one guarded UPDATE: it
changes the row only if it is still in the state the button was made for and still the
tapper's, so a double tap, a stale button or a lock taken over changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from storage.audit import record_change, target_of_trainer
from storage.database import Database


class Step(StrEnum):
    """What a guarded write found."""

    DONE = "done"  # the change was made
    STALE = "stale"  # decided already, skipped, or no longer this reviewer's
    MISSING = "missing"  # no such rewrite (forged data)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """One rewrite as a reviewer sees it."""

    assignment_id: int
    writer_id: int
    batch_name: str
    external_id: str
    prompt: str
    response: str
    context: tuple[dict[str, str], ...]
    rewrite: str
    note: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """A completed decision and what the writer is to be told."""

    assignment_id: int
    accepted: bool
    reason: str | None
    comment: str | None
    writer_id: int
    writer_chat_id: int
    writer_language: str
    writer_reachable: bool
    batch_name: str
    external_id: str


# The rewrites a reviewer may be shown: submitted, not on a gold item, not their own, not
# decided, not skipped by them, and not open (locked) in another reviewer's chat.
_CANDIDATES = (
    " FROM judgments j JOIN assignments a ON a.id = j.assignment_id"
    " JOIN items i ON i.id = a.item_id JOIN batches b ON b.id = i.batch_id"
    " LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id"
    " WHERE j.rewrite IS NOT NULL AND j.rewrite <> '' AND a.status = 'submitted'"
    " AND i.complete <> 2 AND a.trainer_id <> :me AND {batches}"
    " AND NOT EXISTS (SELECT 1 FROM rewrite_skips s"
    "   WHERE s.assignment_id = a.id AND s.reviewer_id = :me)"
    " AND (r.assignment_id IS NULL OR (r.status IN ('open', 'reason', 'comment')"
    "   AND (r.reviewer_id = :me OR r.locked_until <= :now)))"
)
# The reviewer's own undecided review first (a second /review shows it again instead of
# locking another), then items any trainer flagged unsafe, then the oldest.
_ORDER = (
    " ORDER BY CASE WHEN r.reviewer_id = :me THEN 0 ELSE 1 END,"
    " CASE WHEN EXISTS (SELECT 1 FROM flags f JOIN assignments fa ON fa.id = f.assignment_id"
    "   WHERE fa.item_id = a.item_id AND fa.status = 'submitted' AND f.flag = 'unsafe')"
    " THEN 0 ELSE 1 END, a.submitted_at, a.id LIMIT 1"
)


async def open_next(
    db: Database, reviewer_id: int, batch_id: int | None, *, now: str, locked_until: str
) -> Rewrite | None:
    """Pick the reviewer's next rewrite and lock it for them, in one write; None if none left.

    The pick and the lock share one BEGIN IMMEDIATE transaction, and the upsert is guarded by
    the lock's state besides: two reviewers asking at once never both get the same rewrite.
    """
    return await db.write(_open_next, reviewer_id, batch_id, now, locked_until)


def _open_next(
    conn: sqlite3.Connection, reviewer_id: int, batch_id: int | None, now: str, locked_until: str
) -> Rewrite | None:
    batches = "b.status = 'open'" if batch_id is None else "b.id = :batch"
    params = {"me": reviewer_id, "now": now, "batch": batch_id, "until": locked_until}
    while True:
        row = conn.execute(
            f"SELECT a.id{_CANDIDATES.format(batches=batches)}{_ORDER}", params
        ).fetchone()
        if row is None:
            return None
        locked = conn.execute(
            "INSERT INTO rewrite_reviews (assignment_id, status, reviewer_id, opened_at,"
            " locked_until) VALUES (:id, 'open', :me, :now, :until)"
            " ON CONFLICT (assignment_id) DO UPDATE SET status = 'open',"
            " reviewer_id = excluded.reviewer_id, opened_at = excluded.opened_at,"
            " locked_until = excluded.locked_until, reason = NULL, comment = NULL,"
            " comment_prompt = NULL"
            " WHERE rewrite_reviews.status IN ('open', 'reason', 'comment')"
            " AND (rewrite_reviews.reviewer_id = excluded.reviewer_id"
            "      OR rewrite_reviews.locked_until <= excluded.opened_at)",
            {**params, "id": row[0]},
        ).rowcount
        if locked:
            return _rewrite(conn, row[0])


def _rewrite(conn: sqlite3.Connection, assignment_id: int) -> Rewrite:
    row = conn.execute(
        "SELECT a.id, a.trainer_id, b.name, i.external_id, i.prompt, i.response, i.context,"
        " j.rewrite, j.note FROM judgments j JOIN assignments a ON a.id = j.assignment_id"
        " JOIN items i ON i.id = a.item_id JOIN batches b ON b.id = i.batch_id"
        " WHERE a.id = ?",
        (assignment_id,),
    ).fetchone()
    return Rewrite(
        assignment_id=row[0],
        writer_id=row[1],
        batch_name=row[2],
        external_id=row[3],
        prompt=row[4],
        response=row[5],
        context=tuple(json.loads(row[6])) if row[6] else (),
        rewrite=row[7],
        note=row[8] or None,
    )


async def start_reject(db: Database, assignment_id: int, reviewer_id: int) -> Step:
    """Reject tapped: the review waits for a reason."""
    return await db.write(_step, assignment_id, reviewer_id, "open", "status = 'reason'", ())


async def choose_reason(db: Database, assignment_id: int, reviewer_id: int, reason: str) -> Step:
    """A reason chosen: the review waits for a comment (or "No comment")."""
    return await db.write(
        _step, assignment_id, reviewer_id, "reason", "status = 'comment', reason = ?", (reason,)
    )


async def remember_comment_prompt(
    db: Database, assignment_id: int, reviewer_id: int, message_id: int
) -> Step:
    """The question a comment replies to, so the reply finds its review."""
    return await db.write(
        _step, assignment_id, reviewer_id, "comment", "comment_prompt = ?", (message_id,)
    )


def _step(
    conn: sqlite3.Connection,
    assignment_id: int,
    reviewer_id: int,
    status: str,
    change: str,
    values: tuple[object, ...],
) -> Step:
    changed = conn.execute(
        f"UPDATE rewrite_reviews SET {change}"
        " WHERE assignment_id = ? AND reviewer_id = ? AND status = ?",
        (*values, assignment_id, reviewer_id, status),
    ).rowcount
    return Step.DONE if changed else _why_not(conn, assignment_id)


def _why_not(conn: sqlite3.Connection, assignment_id: int) -> Step:
    """A guarded write changed nothing: a real rewrite's button gone stale, or forged data."""
    known = conn.execute(
        "SELECT 1 FROM judgments WHERE assignment_id = ? AND rewrite IS NOT NULL",
        (assignment_id,),
    ).fetchone()
    return Step.STALE if known else Step.MISSING


async def decide(
    db: Database,
    assignment_id: int,
    reviewer_id: int,
    *,
    accepted: bool,
    comment: str | None = None,
    now: str,
) -> Decision | Step:
    """Accept (from `open`) or complete a rejection (from `comment`), and close the judgment to
    corrections (its rewrite has been reviewed); the decision, or why nothing changed."""
    return await db.write(_decide, assignment_id, reviewer_id, accepted, comment, now)


def _decide(
    conn: sqlite3.Connection,
    assignment_id: int,
    reviewer_id: int,
    accepted: bool,
    comment: str | None,
    now: str,
) -> Decision | Step:
    status, before = ("accepted", "open") if accepted else ("rejected", "comment")
    changed = conn.execute(
        "UPDATE rewrite_reviews SET status = ?, comment = ?, decided_at = ?"
        " WHERE assignment_id = ? AND reviewer_id = ? AND status = ?"
        " AND EXISTS (SELECT 1 FROM assignments a WHERE a.id = rewrite_reviews.assignment_id"
        "   AND a.status = 'submitted')",
        (status, comment, now, assignment_id, reviewer_id, before),
    ).rowcount
    if not changed:
        return _why_not(conn, assignment_id)
    conn.execute(
        "UPDATE judgments SET reviewed_at = ? WHERE assignment_id = ?", (now, assignment_id)
    )
    row = conn.execute(
        "SELECT r.reason, t.user_id, t.chat_id, t.language, t.reachable, b.name, i.external_id"
        " FROM rewrite_reviews r JOIN assignments a ON a.id = r.assignment_id"
        " JOIN trainers t ON t.user_id = a.trainer_id JOIN items i ON i.id = a.item_id"
        " JOIN batches b ON b.id = i.batch_id WHERE r.assignment_id = ?",
        (assignment_id,),
    ).fetchone()
    return Decision(
        assignment_id=assignment_id,
        accepted=accepted,
        reason=row[0],
        comment=comment,
        writer_id=row[1],
        writer_chat_id=row[2],
        writer_language=row[3],
        writer_reachable=bool(row[4]),
        batch_name=row[5],
        external_id=row[6],
    )


async def skip(db: Database, assignment_id: int, reviewer_id: int, *, now: str) -> Step:
    """Skip: the review row goes (the rewrite stays unreviewed, free for others) and the skip
    is remembered, so this reviewer is not shown it again."""
    return await db.write(_skip, assignment_id, reviewer_id, now)


def _skip(conn: sqlite3.Connection, assignment_id: int, reviewer_id: int, now: str) -> Step:
    gone = conn.execute(
        "DELETE FROM rewrite_reviews WHERE assignment_id = ? AND reviewer_id = ?"
        " AND status IN ('open', 'reason', 'comment')",
        (assignment_id, reviewer_id),
    ).rowcount
    if not gone:
        return _why_not(conn, assignment_id)
    conn.execute(
        "INSERT INTO rewrite_skips (assignment_id, reviewer_id, skipped_at) VALUES (?, ?, ?)"
        " ON CONFLICT (assignment_id, reviewer_id) DO NOTHING",
        (assignment_id, reviewer_id, now),
    )
    return Step.DONE


async def review_asking_comment(
    db: Database, reviewer_id: int, message_id: int
) -> tuple[int, str] | None:
    """(assignment id, status) of the review whose comment question is that message of the
    reviewer's chat; None if the message is no such question."""
    row = await db.fetchone(
        "SELECT assignment_id, status FROM rewrite_reviews"
        " WHERE reviewer_id = ? AND comment_prompt = ?",
        (reviewer_id, message_id),
    )
    return None if row is None else (row[0], row[1])


async def mark_notified(db: Database, assignment_id: int, *, now: str) -> None:
    """The writer was told the outcome."""
    await db.execute(
        "UPDATE rewrite_reviews SET notified_at = ? WHERE assignment_id = ?", (now, assignment_id)
    )


async def set_reviewer(
    db: Database, user_id: int, reviewer: bool, *, actor_id: int, now: str
) -> bool:
    """Make a trainer a reviewer or not, audited in the same transaction; whether anything
    changed (False: they already were, or were not, one)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE trainers SET reviewer = ? WHERE user_id = ? AND reviewer <> ?",
            (int(reviewer), user_id, int(reviewer)),
        )
        if not cursor.rowcount:
            return False
        await record_change(
            conn,
            actor_id=actor_id,
            action="trainer.reviewer",
            target=target_of_trainer(user_id),
            detail="off -> on" if reviewer else "on -> off",
            now=now,
        )
        return True
