"""Rows of the quality tables (migration 0016) written straight in, as the rewrite review and
the gold items would leave them: the figures' tests read them without running those features."""

from __future__ import annotations

import json

from storage.database import Database, Transaction
from storage.gold import GOLD_ITEM
from tests.factories import make_batch, make_trainer

REVIEWER = 9100
# When the rows happened: an hour before the tests' clock (tests.factories.NOW), so a report at
# the clock's moment counts them.
AT = "2026-11-25T02:00:00.000000+00:00"
RINA, BUDI = 2001, 2002


class QualityRows:
    """Submitted reviews of one batch's items, each on the next item not yet used."""

    def __init__(self, db: Database, batch_id: int):
        self.db, self.batch_id, self.used = db, batch_id, 0

    async def _item(self, *, gold: bool = False) -> int:
        rows = await self.db.fetchall(
            "SELECT id FROM items WHERE batch_id = ? ORDER BY id", (self.batch_id,)
        )
        item = rows[self.used]["id"]
        self.used += 1
        if gold:
            await self.db.execute(
                "UPDATE items SET complete = ?, gold = ? WHERE id = ?",
                (GOLD_ITEM, json.dumps({"accuracy": [4, 5]}), item),
            )
        return item

    async def _submitted(self, trainer_id: int, *, gold: bool = False) -> int:
        item = await self._item(gold=gold)

        async def insert(tx: Transaction) -> int:
            return await tx.fetchval(
                "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
                " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)"
                " RETURNING id",
                (item, trainer_id, AT, AT, AT),
            )

        return await self.db.write(insert)

    async def rewrite(
        self,
        trainer_id: int,
        status: str | None = None,
        *,
        reviewer_id: int = 9000,
        gold: bool = False,
    ) -> int:
        """A submitted rewrite; `status` its review's (None: nobody opened it)."""
        assignment = await self._submitted(trainer_id, gold=gold)
        await self.db.execute(
            "INSERT INTO judgments (assignment_id, rewrite, updated_at) VALUES (?, ?, ?)",
            (assignment, f"A better answer {assignment}", AT),
        )
        if status is not None:
            decided = AT if status in ("accepted", "rejected") else None
            await self.db.execute(
                "INSERT INTO rewrite_reviews (assignment_id, status, reviewer_id, opened_at,"
                " locked_until, decided_at) VALUES (?, ?, ?, ?, ?, ?)",
                (assignment, status, reviewer_id, AT, AT, decided),
            )
        return assignment

    async def gold_answer(
        self, trainer_id: int, detail: dict[str, tuple[int, int, int]], *, counted: bool = True
    ) -> int:
        """A gold answer: `detail` criterion -> (given, low, high); right when every given
        score is inside its range."""
        assignment = await self._submitted(trainer_id, gold=True)
        correct = all(low <= given <= high for given, low, high in detail.values())
        await self.db.execute(
            "INSERT INTO gold_answers (assignment_id, trainer_id, batch_id, correct, detail,"
            " counted, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                assignment,
                trainer_id,
                self.batch_id,
                int(correct),
                json.dumps({key: list(value) for key, value in detail.items()}),
                int(counted),
                AT,
            ),
        )
        return assignment

    async def gold_pause(self, trainer_id: int, *, lifted: bool = False) -> None:
        await self.db.execute(
            "INSERT INTO gold_pauses (trainer_id, batch_id, paused_at, lifted_at, lifted_by)"
            " VALUES (?, ?, ?, ?, ?)",
            (trainer_id, self.batch_id, AT, AT if lifted else None, 9000 if lifted else None),
        )


RIGHT = {"accuracy": (4, 4, 5), "safety": (5, 4, 5)}
WRONG_ACCURACY = {"accuracy": (2, 4, 5), "safety": (5, 4, 5)}


async def quality_rows(db: Database) -> QualityRows:
    """A reviewer (REVIEWER) and a batch "pilot" of 30 items for the rows."""
    await make_trainer(db, REVIEWER)
    return QualityRows(db, await make_batch(db, "pilot", items=30))


async def rinas_record(rows: QualityRows) -> None:
    """Rina: 3 of 4 rewrites accepted (one more waits), gold 4 of 5 right, paused by gold in
    pilot; Budi: one rewrite waiting, nothing decided."""
    for status in ("accepted", "rejected", "accepted", "accepted", "open"):
        await rows.rewrite(RINA, status, reviewer_id=REVIEWER)
    for detail in (RIGHT, RIGHT, WRONG_ACCURACY, RIGHT, RIGHT):
        await rows.gold_answer(RINA, detail)
    await rows.gold_pause(RINA)
    await rows.rewrite(BUDI, reviewer_id=REVIEWER)
