"""Rewrite review: which rewrite a reviewer sees next, the lock while it is open in their chat,
the decision, and who may review (`trainers.reviewer`).

A review moves `open` -> (Reject) `reason` -> (a reason) `comment` -> `rejected`, or `open` ->
`accepted`; Skip deletes the row and remembers the skip. Every step is one guarded UPDATE: it
changes the row only if it is still in the state the button was made for and still the
tapper's, so a double tap, a stale button or a lock taken over changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from storage.audit import record_change, target_of_trainer
from storage.database import Database, Transaction
from storage.gold import GOLD_ITEM


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


# The rewrites a reviewer may be shown, as conditions on one candidate `a` (with its judgment
# j, item i, batch b and review row r): a rewrite submitted at least the correction window ago
# (its writer can no longer change it), not on a gold item, not their own, not decided, not
# skipped by them, and not open (locked) in another reviewer's chat.
_ELIGIBLE = (
    " JOIN items i ON i.id = a.item_id JOIN batches b ON b.id = i.batch_id"
    " LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id"
    " WHERE j.rewrite IS NOT NULL AND a.status = 'submitted' AND {submitted} <= :settled"
    " AND i.complete <> :gold AND a.trainer_id <> :me AND {batches}"
    " AND NOT EXISTS (SELECT 1 FROM rewrite_skips s"
    "   WHERE s.assignment_id = a.id AND s.reviewer_id = :me)"
    " AND (r.assignment_id IS NULL OR (r.status IN ('open', 'reason', 'comment')"
    "   AND (r.reviewer_id = :me OR r.locked_until <= :now)))"
)
# Three picks, each cheap, in order; each CROSS JOIN fixes where the pick starts (SQLite never
# reorders one; elsewhere it is a plain join, its condition in the WHERE). The reviewer's own
# undecided review first (a second /review shows it again instead of locking another): their
# few review rows, by rewrite_reviews_reviewer.
_OWN = (
    "SELECT a.id FROM rewrite_reviews mine CROSS JOIN assignments a CROSS JOIN judgments j"
    "{eligible} AND mine.reviewer_id = :me AND mine.status IN ('open', 'reason', 'comment')"
    " AND a.id = mine.assignment_id AND j.assignment_id = a.id"
    " ORDER BY a.submitted_at, a.id LIMIT 1"
)
# Then rewrites of items any trainer flagged unsafe: the unsafe flags are a small set.
_UNSAFE = (
    "SELECT a.id FROM flags f CROSS JOIN assignments fa CROSS JOIN assignments a"
    " CROSS JOIN judgments j{eligible} AND f.flag = 'unsafe' AND fa.id = f.assignment_id"
    " AND fa.status = 'submitted' AND a.item_id = fa.item_id AND j.assignment_id = a.id"
    " ORDER BY a.submitted_at, a.id LIMIT 1"
)
# Then the oldest: submitted assignments walked in the order of the assignments_submitted index
# (status, submitted_at), stopping at the first eligible one; no sort of every candidate.
_OLDEST = (
    "SELECT a.id FROM assignments a CROSS JOIN judgments j{eligible}"
    " AND j.assignment_id = a.id ORDER BY a.submitted_at, a.id LIMIT 1"
)


async def open_next(
    db: Database,
    reviewer_id: int,
    batch_id: int | None,
    *,
    now: str,
    settled: str,
    locked_until: str,
) -> Rewrite | None:
    """Pick the reviewer's next rewrite and lock it for them, in one write; None if none left.

    `settled`: only rewrites submitted by then are offered (the writer's correction window is
    over, so the text decided on is the text shown). The pick and the lock share one BEGIN
    IMMEDIATE transaction, and the upsert is guarded by the lock's state besides: two reviewers
    asking at once never both get the same rewrite. Each pick reads an index in order and stops
    at its first row, so the write stays short however many rewrites there are.
    """
    return await db.write(_open_next, reviewer_id, batch_id, now, settled, locked_until)


async def _open_next(
    tx: Transaction,
    reviewer_id: int,
    batch_id: int | None,
    now: str,
    settled: str,
    locked_until: str,
) -> Rewrite | None:
    batches = "b.status = 'open'" if batch_id is None else "b.id = :batch"
    # Only the oldest pick walks assignments_submitted; the others compare `submitted_at || ''`
    # (no index serves it), so they start from their own small sets.
    eligible = _ELIGIBLE.format(batches=batches, submitted="(a.submitted_at || '')")
    oldest = _ELIGIBLE.format(batches=batches, submitted="a.submitted_at")
    params = {
        "me": reviewer_id,
        "now": now,
        "settled": settled,
        "batch": batch_id,
        "until": locked_until,
        "gold": GOLD_ITEM,
    }
    while True:
        row = None
        for pick in (_OWN.format(eligible=eligible), _UNSAFE.format(eligible=eligible)):
            row = await tx.fetchone(pick, params)
            if row is not None:
                break
        if row is None:
            row = await tx.fetchone(_OLDEST.format(eligible=oldest), params)
        if row is None:
            return None
        locked = await tx.execute(
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
        )
        if locked:
            return await _rewrite(tx, row[0])


async def _rewrite(tx: Transaction, assignment_id: int) -> Rewrite:
    row = await tx.fetchone(
        "SELECT a.id, a.trainer_id, b.name, i.external_id, i.prompt, i.response, i.context,"
        " j.rewrite, j.note FROM judgments j JOIN assignments a ON a.id = j.assignment_id"
        " JOIN items i ON i.id = a.item_id JOIN batches b ON b.id = i.batch_id"
        " WHERE a.id = ?",
        (assignment_id,),
    )
    assert row is not None  # locked in this same transaction
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


async def _step(
    tx: Transaction,
    assignment_id: int,
    reviewer_id: int,
    status: str,
    change: str,
    values: tuple[object, ...],
) -> Step:
    changed = await tx.execute(
        f"UPDATE rewrite_reviews SET {change}"
        " WHERE assignment_id = ? AND reviewer_id = ? AND status = ?",
        (*values, assignment_id, reviewer_id, status),
    )
    return Step.DONE if changed else await _why_not(tx, assignment_id)


async def _why_not(tx: Transaction, assignment_id: int) -> Step:
    """A guarded write changed nothing: a real rewrite's button gone stale (decided, taken
    over, or its text corrected or undone since), or forged data."""
    known = await tx.fetchone(
        "SELECT 1 FROM judgments WHERE assignment_id = ? AND rewrite IS NOT NULL"
        " UNION ALL SELECT 1 FROM rewrite_reviews WHERE assignment_id = ?",
        (assignment_id, assignment_id),
    )
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


async def _decide(
    tx: Transaction,
    assignment_id: int,
    reviewer_id: int,
    accepted: bool,
    comment: str | None,
    now: str,
) -> Decision | Step:
    status, before = ("accepted", "open") if accepted else ("rejected", "comment")
    changed = await tx.execute(
        "UPDATE rewrite_reviews SET status = ?, comment = ?, decided_at = ?"
        " WHERE assignment_id = ? AND reviewer_id = ? AND status = ?"
        " AND EXISTS (SELECT 1 FROM assignments a WHERE a.id = rewrite_reviews.assignment_id"
        "   AND a.status = 'submitted')"
        # the text decided on is the text shown: not corrected since the review was opened
        " AND NOT EXISTS (SELECT 1 FROM judgments j WHERE j.assignment_id ="
        "   rewrite_reviews.assignment_id AND j.revised_at >= rewrite_reviews.opened_at)",
        (status, comment, now, assignment_id, reviewer_id, before),
    )
    if not changed:
        return await _why_not(tx, assignment_id)
    await tx.execute(
        "UPDATE judgments SET reviewed_at = ? WHERE assignment_id = ?", (now, assignment_id)
    )
    return await _decision(tx, assignment_id)


async def _decision(tx: Transaction, assignment_id: int) -> Decision:
    """A decided review and what its writer is to be told."""
    row = await tx.fetchone(
        "SELECT r.status, r.reason, r.comment, t.user_id, t.chat_id, t.language, t.reachable,"
        " b.name, i.external_id"
        " FROM rewrite_reviews r JOIN assignments a ON a.id = r.assignment_id"
        " JOIN trainers t ON t.user_id = a.trainer_id JOIN items i ON i.id = a.item_id"
        " JOIN batches b ON b.id = i.batch_id WHERE r.assignment_id = ?",
        (assignment_id,),
    )
    assert row is not None  # decided in this same transaction
    return Decision(
        assignment_id=assignment_id,
        accepted=row[0] == "accepted",
        reason=row[1],
        comment=row[2],
        writer_id=row[3],
        writer_chat_id=row[4],
        writer_language=row[5],
        writer_reachable=bool(row[6]),
        batch_name=row[7],
        external_id=row[8],
    )


async def skip(db: Database, assignment_id: int, reviewer_id: int, *, now: str) -> Step:
    """Skip: the review row goes (the rewrite stays unreviewed, free for others) and the skip
    is remembered, so this reviewer is not shown it again."""
    return await db.write(_skip, assignment_id, reviewer_id, now)


async def _skip(tx: Transaction, assignment_id: int, reviewer_id: int, now: str) -> Step:
    gone = await tx.execute(
        "DELETE FROM rewrite_reviews WHERE assignment_id = ? AND reviewer_id = ?"
        " AND status IN ('open', 'reason', 'comment')",
        (assignment_id, reviewer_id),
    )
    if not gone:
        return await _why_not(tx, assignment_id)
    await tx.execute(
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


async def claim_notice(db: Database, assignment_id: int, *, now: str) -> bool:
    """Claim the writer's notice of a decision for sending: whether this caller got it (False:
    claimed already). Claimed before it is sent, so a crash loses that one notice, never
    doubles it."""
    claimed = await db.execute(
        "UPDATE rewrite_reviews SET notified_at = ? WHERE assignment_id = ?"
        " AND notified_at IS NULL AND status IN ('accepted', 'rejected')",
        (now, assignment_id),
    )
    return claimed == 1


async def claim_untold(
    db: Database, *, now: str, decided_before: str, limit: int
) -> list[Decision]:
    """Decisions whose writer's notice was never claimed (the process stopped between the
    decision and its notice), decided before `decided_before`: claimed now, oldest first, at
    most `limit`; what each writer is to be told."""
    return await db.write(_claim_untold, now, decided_before, limit)


async def _claim_untold(
    tx: Transaction, now: str, decided_before: str, limit: int
) -> list[Decision]:
    rows = await tx.fetchall(
        "SELECT assignment_id FROM rewrite_reviews WHERE notified_at IS NULL"
        " AND status IN ('accepted', 'rejected') AND decided_at < ?"
        " ORDER BY decided_at, assignment_id LIMIT ?",
        (decided_before, limit),
    )
    claimed = []
    for (assignment_id,) in rows:
        await tx.execute(
            "UPDATE rewrite_reviews SET notified_at = ? WHERE assignment_id = ?",
            (now, assignment_id),
        )
        claimed.append(await _decision(tx, assignment_id))
    return claimed


async def set_reviewer(
    db: Database, user_id: int, reviewer: bool, *, actor_id: int, now: str
) -> bool:
    """Make a trainer a reviewer or not, audited in the same transaction; whether anything
    changed (False: they already were, or were not, one)."""
    return await db.write(_set_reviewer, user_id, reviewer, actor_id, now)


async def _set_reviewer(
    tx: Transaction, user_id: int, reviewer: bool, actor_id: int, now: str
) -> bool:
    changed = await tx.execute(
        "UPDATE trainers SET reviewer = ? WHERE user_id = ? AND reviewer <> ?",
        (int(reviewer), user_id, int(reviewer)),
    )
    if not changed:
        return False
    await record_change(
        tx,
        actor_id=actor_id,
        action="trainer.reviewer",
        target=target_of_trainer(user_id),
        detail="off -> on" if reviewer else "on -> off",
        now=now,
    )
    return True
