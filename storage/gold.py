"""Queries of gold (control) items: which items are gold, and (issue 9) each trainer's gold
answers and pauses.

A gold item is stored with `items.complete = GOLD_ITEM` (migration 0016): it never enters the
ordinary queue (which reads `complete = 0`), never becomes complete, and is not part of a
batch's progress. Every trainer may be given each gold item once.

A gold answer is judged in the transaction of its first Submit (`judge_first_answer`), so a
crash can neither lose the judgment nor make it twice; what is right and when a trainer is
paused is the rule's (bot/gold.py), handed in, so this module keeps only the SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from storage import gold_pauses
from storage.assignment import item_released
from storage.database import Connection, Database
from storage.queue_sql import GOLD_ITEM  # defined there (storage/assignment.py needs it); kept here


class GoldRule(Protocol):
    """What is a correct gold answer, and when a tally pauses a trainer (bot/gold.py)."""

    def judge(
        self,
        expectation: Mapping[str, Sequence[int]],
        scores: Mapping[str, int],
        criteria: Sequence[str],
    ) -> tuple[bool, dict[str, tuple[int, int, int]]] | None:
        """(correct, criterion -> (given, low, high)); None when nothing can be judged."""
        ...

    def pauses(self, correct: int, answered: int) -> bool:
        """Whether a tally of `correct` right out of `answered` counted pauses the trainer."""
        ...


@dataclass(frozen=True, slots=True)
class GoldJudged:
    """What a first Submit of a gold item did."""

    trainer_id: int
    batch_id: int
    correct: bool
    paused: bool  # this answer paused the trainer in the batch (a live pause is new)


@dataclass(frozen=True, slots=True)
class GoldAnswer:
    """One counted gold answer: the item it was on and criterion -> (given, low, high)."""

    assignment_id: int
    item_id: int
    external_id: str
    correct: bool
    detail: dict[str, tuple[int, int, int]]
    answered_at: str


@dataclass(frozen=True, slots=True)
class PausedBatch:
    """A batch a trainer is (or was just) paused in for gold: its id and name, to say so."""

    batch_id: int
    name: str


async def judge_first_answer(
    tx: Connection, assignment_id: int, now: str, rule: GoldRule
) -> GoldJudged | None:
    """In the transaction of an assignment's first Submit: if its item is gold, judge the
    scores just submitted, record the answer and, if the tally now fails, pause the trainer in
    the batch. None when the item is not gold (or the answer was judged already)."""
    row = await tx.fetchone(
        "SELECT a.trainer_id, i.batch_id, i.gold, b.rubric FROM assignments a"
        " JOIN items i ON i.id = a.item_id JOIN batches b ON b.id = i.batch_id"
        " WHERE a.id = ? AND i.complete = ? AND i.gold IS NOT NULL",
        (assignment_id, GOLD_ITEM),
    )
    if row is None:
        return None
    trainer_id, batch_id = row[0], row[1]
    scores = {
        row[0]: row[1]
        for row in await tx.fetchall(
            "SELECT criterion, score FROM scores WHERE assignment_id = ?", (assignment_id,)
        )
    }
    judged = rule.judge(json.loads(row[2]), scores, json.loads(row[3])["criteria"])
    if judged is None:
        return None
    correct, detail = judged
    inserted = await tx.execute(
        "INSERT INTO gold_answers"
        " (assignment_id, trainer_id, batch_id, correct, detail, answered_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (assignment_id) DO NOTHING",
        (assignment_id, trainer_id, batch_id, int(correct), json.dumps(detail), now),
    )
    if inserted != 1:
        return None
    tally = await tx.fetchone(
        "SELECT COUNT(*), COALESCE(SUM(correct), 0) FROM gold_answers"
        " WHERE trainer_id = ? AND batch_id = ? AND counted = 1",
        (trainer_id, batch_id),
    )
    assert tally is not None  # an aggregate always has its one row
    answered, right = tally[0], tally[1]
    paused = False
    if rule.pauses(right, answered):
        paused = (
            await tx.execute(
                "INSERT INTO gold_pauses (trainer_id, batch_id, paused_at) VALUES (?, ?, ?)"
                " ON CONFLICT (trainer_id, batch_id) WHERE lifted_at IS NULL DO NOTHING",
                (trainer_id, batch_id, now),
            )
            == 1
        )
    if paused:
        await _release_held(tx, trainer_id, batch_id)
    return GoldJudged(trainer_id, batch_id, correct, paused)


async def _release_held(tx: Connection, trainer_id: int, batch_id: int) -> None:
    """A trainer paused in a batch gives up the items of it they hold, so they get nothing
    more from it (a judgment reopened by Undo stays theirs: it was submitted once)."""
    held = await tx.fetchall(
        "SELECT a.id FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE a.trainer_id = ? AND a.status = 'active' AND a.reopened_at IS NULL"
        " AND i.batch_id = ?",
        (trainer_id, batch_id),
    )
    for (assignment_id,) in held:
        await item_released(tx, assignment_id)
        await tx.execute(
            "UPDATE assignments SET status = 'expired' WHERE id = ? AND status = 'active'",
            (assignment_id,),
        )


async def counted_answers(db: Database, trainer_id: int, batch_id: int) -> list[GoldAnswer]:
    """The trainer's gold answers in the batch that count towards their tally, oldest first."""
    rows = await db.fetchall(
        "SELECT g.assignment_id, a.item_id, i.external_id, g.correct, g.detail, g.answered_at"
        " FROM gold_answers g JOIN assignments a ON a.id = g.assignment_id"
        " JOIN items i ON i.id = a.item_id"
        " WHERE g.trainer_id = ? AND g.batch_id = ? AND g.counted = 1"
        " ORDER BY g.answered_at, g.assignment_id",
        (trainer_id, batch_id),
    )
    return [
        GoldAnswer(
            assignment_id=row[0],
            item_id=row[1],
            external_id=row[2],
            correct=bool(row[3]),
            detail={key: tuple(value) for key, value in json.loads(row[4]).items()},
            answered_at=row[5],
        )
        for row in rows
    ]


async def live_pauses(db: Database, trainer_id: int) -> list[PausedBatch]:
    """The batches the trainer is paused in for gold, by batch id."""
    rows = await db.fetchall(
        "SELECT p.batch_id, b.name FROM gold_pauses p JOIN batches b ON b.id = p.batch_id"
        " WHERE p.trainer_id = ? AND p.lifted_at IS NULL ORDER BY p.batch_id",
        (trainer_id,),
    )
    return [PausedBatch(row[0], row[1]) for row in rows]


async def lift_pauses(
    db: Database, trainer_id: int, batch_id: int | None, *, actor_id: int, now: str
) -> list[PausedBatch]:
    """Lift the trainer's live gold pauses (in one batch, or all of them), start their gold
    tally there afresh (earlier answers no longer counted) and audit it, in one transaction.
    The batches lifted; none when there was nothing to lift (a repeated tap changes nothing)."""
    return await db.write(_lift_pauses, trainer_id, batch_id, actor_id, now)


async def _lift_pauses(
    tx: Connection, trainer_id: int, batch_id: int | None, actor_id: int, now: str
) -> list[PausedBatch]:
    pauses = await gold_pauses.live_pauses_in(tx, trainer_id, batch_id)
    for pause in pauses:  # all live: read in this same transaction
        await gold_pauses.lift_live(tx, pause, actor_id=actor_id, now=now)
    return [PausedBatch(pause.batch_id, pause.batch_name) for pause in pauses]
