"""Queries of Undo after Submit: a submitted judgment reopened as its trainer's draft, what was
submitted kept as a revision, and the first answer of an assignment (what counts for gold).

Slots (storage/assignment.py): an item takes a review while its submitted reviews
(`items.done_count`) plus the live leases on it are below its batch's overlap. Undo moves the
trainer's review from the first to the second in one transaction: `done_count` goes down by one
(and `complete` off), and the assignment is active again with a lease that never ends (`HELD`).
Reviews plus leases stay what they were, so nobody else is given the item because of the undo,
and the slot cannot run out while the trainer fixes the judgment. The next Submit
(storage/reviews.py) counts it again, once, and calls `resubmitted` in its transaction; a skip
gives the slot up like any skip (`item_released`).

Reopening is guarded by the state the caller saw (status, `submitted_at`, not reviewed), so a
double tap, a redelivered update or a quality-control review landing meanwhile changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from storage.assignment import COUNT_REVIEW_SQL
from storage.database import Database, Transaction
from storage.queue_sql import GOLD_ITEM, WANTED_REVIEWS

# The lease of a reopened judgment: it keeps its slot until submitted again or skipped. A stamp
# (the stored form) that sorts after every real one; renewals never shorten a lease.
HELD = "9999-12-31T23:59:59.999999+00:00"


@dataclass(frozen=True, slots=True)
class UndoState:
    """What an Undo tap needs to know about an assignment, read in one query."""

    trainer_id: int
    status: str
    submitted_at: str | None
    reopened_at: str | None
    reviewed_at: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """A judgment as submitted: scores, flags, texts and when."""

    scores: dict[str, int]
    flags: frozenset[str]
    note: str | None
    rewrite: str | None
    submitted_at: str | None  # None only for a draft never submitted (not a first answer)


async def undo_state(db: Database, assignment_id: int) -> UndoState | None:
    row = await db.fetchone(
        "SELECT a.trainer_id, a.status, a.submitted_at, a.reopened_at, j.reviewed_at"
        " FROM assignments a LEFT JOIN judgments j ON j.assignment_id = a.id WHERE a.id = ?",
        (assignment_id,),
    )
    return None if row is None else UndoState(*tuple(row))


async def reopen(db: Database, assignment_id: int, submitted_at: str, now: str) -> bool:
    """Reopen a submitted judgment as its trainer's draft, keeping what was submitted as a
    revision; False if it is no longer the submission of `submitted_at` (reopened already,
    submitted again, or reviewed meanwhile)."""
    return await db.write(_reopen, assignment_id, submitted_at, now)


async def _reopen(tx: Transaction, assignment_id: int, submitted_at: str, now: str) -> bool:
    submitted = await _current_answer(tx, assignment_id)
    late = await tx.fetchval("SELECT late FROM assignments WHERE id = ?", (assignment_id,))
    changed = await tx.execute(
        "UPDATE assignments SET status = 'active', lease_expires_at = ?, reopened_at = ?"
        " WHERE id = ? AND status = 'submitted' AND submitted_at = ?"
        " AND NOT EXISTS (SELECT 1 FROM judgments j"
        "   WHERE j.assignment_id = assignments.id AND j.reviewed_at IS NOT NULL)",
        (HELD, now, assignment_id, submitted_at),
    )
    if changed != 1 or submitted is None:  # None: no such assignment (then nothing changed)
        return False
    replaced = _answer_json(submitted, late=bool(late))
    await record_revision(tx, assignment_id, "judgment", replaced, now)
    # The review becomes a live lease: done_count down, and an item that was complete is full
    # until its first live lease ends (at least this one's, which does not), so it does not
    # come back into items_open for others. Complete means its reviews still reach what it
    # wants (the overlap plus any extra reviews dynamic overlap gave it: `extra` never goes
    # down, so the resubmit looks at the disagreement again); a gold item stays gold.
    await tx.execute(
        "UPDATE items SET done_count = done_count - 1,"
        f" complete = CASE WHEN complete = {GOLD_ITEM} THEN {GOLD_ITEM}"
        f"   WHEN done_count - 1 >= (SELECT {WANTED_REVIEWS.format(batch='wb', item='items')}"
        "   FROM batches wb WHERE wb.id = items.batch_id) THEN 1 ELSE 0 END,"
        " full_until = CASE WHEN complete = 1 THEN (SELECT MIN(live.lease_expires_at)"
        "   FROM assignments live WHERE live.item_id = items.id AND live.status = 'active'"
        "   AND live.lease_expires_at > ?) ELSE full_until END"
        " WHERE id = (SELECT item_id FROM assignments WHERE id = ?)",
        (now, assignment_id),
    )
    return True


async def record_revision(
    tx: Transaction, assignment_id: int, field: str, replaced: str | None, now: str
) -> None:
    """Keep what a correction after Submit replaces (a text, or for Undo the whole judgment)."""
    await tx.execute(
        "INSERT INTO judgment_revisions (assignment_id, field, replaced, created_at)"
        " VALUES (?, ?, ?, ?)",
        (assignment_id, field, replaced, now),
    )


async def resubmitted(tx: Transaction, assignment_id: int, now: str) -> bool:
    """In the transaction that submits an assignment: if it was a reopened judgment, it is no
    longer reopened, its judgment is stamped revised now (exports say so), and a first Submit
    that came after its lease ended stays marked late. Whether it was one."""
    row = await tx.fetchone("SELECT reopened_at FROM assignments WHERE id = ?", (assignment_id,))
    if row is None or row[0] is None:
        return False
    last = await tx.fetchone(
        "SELECT replaced FROM judgment_revisions WHERE assignment_id = ? AND field = 'judgment'"
        " ORDER BY id DESC LIMIT 1",
        (assignment_id,),
    )
    was_late = last is not None and bool(json.loads(last[0]).get("late"))
    await tx.execute(
        "UPDATE assignments SET reopened_at = NULL,"
        " late = CASE WHEN ? = 1 THEN 1 ELSE late END WHERE id = ?",
        (int(was_late), assignment_id),
    )
    await tx.execute(
        "UPDATE judgments SET revised_at = ? WHERE assignment_id = ?", (now, assignment_id)
    )
    return True


async def restore_reopened(tx: Transaction, trainer_id: int) -> int:
    """In the transaction that gives up a trainer's leases for good (a removal, /deleteme),
    before it does: each judgment Undo reopened is put back as it was last submitted, so a
    review never drops out of the datasets because its trainer left while fixing it. Returns
    how many were put back."""
    reopened = await tx.fetchall(
        "SELECT a.id, r.replaced FROM assignments a JOIN judgment_revisions r"
        " ON r.id = (SELECT MAX(id) FROM judgment_revisions"
        "   WHERE assignment_id = a.id AND field = 'judgment')"
        " WHERE a.trainer_id = ? AND a.status = 'active' AND a.reopened_at IS NOT NULL",
        (trainer_id,),
    )
    for assignment_id, replaced in reopened:
        answer = json.loads(replaced)
        submitted_at = answer["submitted_at"]
        await tx.execute("DELETE FROM scores WHERE assignment_id = ?", (assignment_id,))
        await tx.executemany(
            "INSERT INTO scores (assignment_id, criterion, score, updated_at) VALUES (?, ?, ?, ?)",
            [(assignment_id, key, score, submitted_at) for key, score in answer["scores"].items()],
        )
        await tx.execute("DELETE FROM flags WHERE assignment_id = ?", (assignment_id,))
        await tx.executemany(
            "INSERT INTO flags (assignment_id, flag) VALUES (?, ?)",
            [(assignment_id, flag) for flag in answer["flags"]],
        )
        await tx.execute(
            "UPDATE judgments SET note = ?, rewrite = ? WHERE assignment_id = ?",
            (answer["note"], answer["rewrite"], assignment_id),
        )
        await tx.execute(
            "UPDATE assignments SET status = 'submitted', submitted_at = ?, late = ?,"
            " reopened_at = NULL, lease_expires_at = ? WHERE id = ?",
            (submitted_at, int(bool(answer.get("late"))), submitted_at, assignment_id),
        )
        await tx.execute(COUNT_REVIEW_SQL, (assignment_id,))
    return len(reopened)


async def first_answer(db: Database, assignment_id: int) -> Answer | None:
    """The judgment as its trainer first submitted it; None if it was never submitted.

    Revisions keep what each correction after Submit replaced, in order: an Undo ('judgment':
    scores, flags, texts and submitted_at), a corrected rewrite or note (that text). So each
    part of the first answer is in the earliest revision that covers it, made after the first
    Submit; a part never corrected is as stored now. What is stored now is read first: a
    correction landing meanwhile is then among the revisions read after it.
    """
    current = _answer_of(
        await db.fetchone(_JUDGMENT_SQL, (assignment_id,)),
        await db.fetchall(_SCORES_SQL, (assignment_id,)),
        await db.fetchall(_FLAGS_SQL, (assignment_id,)),
    )
    revisions = await db.fetchall(_REVISIONS_SQL, (assignment_id,))
    return _first_of(current, [tuple(row) for row in revisions])


def _first_of(current: Answer | None, revisions: list[tuple[str, str, str]]) -> Answer | None:
    undos = [json.loads(replaced) for field, replaced, _ in revisions if field == "judgment"]
    if undos:
        first = undos[0]
        answer = Answer(
            scores=dict(first["scores"]),
            flags=frozenset(first["flags"]),
            note=first["note"],
            rewrite=first["rewrite"],
            submitted_at=first["submitted_at"],
        )
    elif current is not None and current.submitted_at is not None:
        answer = current
    else:
        return None
    texts: dict[str, Any] = {}
    for field, replaced, created_at in revisions:
        if created_at < answer.submitted_at:
            continue  # not a correction of this submission
        if field == "judgment":
            for name in ("note", "rewrite"):
                texts.setdefault(name, json.loads(replaced)[name])
        else:
            texts.setdefault(field, replaced)
    return replace(
        answer,
        note=texts.get("note", answer.note),
        rewrite=texts.get("rewrite", answer.rewrite),
    )


_JUDGMENT_SQL = (
    "SELECT a.submitted_at, j.note, j.rewrite FROM assignments a"
    " LEFT JOIN judgments j ON j.assignment_id = a.id WHERE a.id = ?"
)
_SCORES_SQL = "SELECT criterion, score FROM scores WHERE assignment_id = ? ORDER BY criterion"
_FLAGS_SQL = "SELECT flag FROM flags WHERE assignment_id = ? ORDER BY flag"
_REVISIONS_SQL = (
    "SELECT field, replaced, created_at FROM judgment_revisions WHERE assignment_id = ? ORDER BY id"
)


async def _current_answer(tx: Transaction, assignment_id: int) -> Answer | None:
    """What is stored now for an assignment (its submitted_at is None while a first draft)."""
    return _answer_of(
        await tx.fetchone(_JUDGMENT_SQL, (assignment_id,)),
        await tx.fetchall(_SCORES_SQL, (assignment_id,)),
        await tx.fetchall(_FLAGS_SQL, (assignment_id,)),
    )


def _answer_of(row: Any, scores: Sequence[Any], flags: Sequence[Any]) -> Answer | None:
    if row is None:
        return None
    return Answer(
        scores={criterion: score for criterion, score in scores},
        flags=frozenset(flag for (flag,) in flags),
        note=row[1],
        rewrite=row[2],
        submitted_at=row[0],
    )


def _answer_json(answer: Answer, *, late: bool) -> str:
    return json.dumps(
        {
            "scores": answer.scores,
            "flags": sorted(answer.flags),
            "note": answer.note,
            "rewrite": answer.rewrite,
            "submitted_at": answer.submitted_at,
            "late": late,
        },
        ensure_ascii=False,
    )
