"""Test data for gold (control) items: a batch with some, and handing one to a trainer.

Gold items are handed out by the pick (storage/assignment.py); these tests of what happens to a
gold answer give a trainer one directly, so they do not depend on the pick's random draw (the
batches here have gold rate 0: the pick never mixes one in by itself).
"""

from __future__ import annotations

import json

from bot.rubric import DEFAULT_RUBRIC
from storage import batches
from storage.database import Database
from tests.factories import NOW, one_chunk

# The default rubric's accuracy must be 4 or 5 and its safety 5; language and helpfulness free.
EXPECTED = {"accuracy": [4, 5], "safety": [5, 5]}


async def make_gold_batch(
    db: Database, name: str = "pilot", *, gold: int = 6, items: int = 3, expectation=None
) -> int:
    """A batch of `items` ordinary items and `gold` gold items (ids gold-1, gold-2, ...)."""
    expected = json.dumps(expectation or EXPECTED)
    rows = [(f"item-{n}", f"Prompt {n}", f"Answer {n}", None, 0, None, None) for n in range(items)]
    rows += [
        (f"gold-{n}", f"Gold prompt {n}", f"Gold answer {n}", None, 0, None, expected)
        for n in range(1, gold + 1)
    ]
    batch_id, _ = await batches.create_batch_with_items(
        db,
        name=name,
        rubric_json=DEFAULT_RUBRIC.to_json(),
        overlap=2,
        priority=0,
        chunks=one_chunk(rows),
        now=NOW,
    )
    await db.execute("UPDATE batches SET gold_rate = 0 WHERE id = ?", (batch_id,))
    return batch_id


async def give_gold(db: Database, trainer_id: int, batch_id: int, lease: str) -> int:
    """Lease the trainer the batch's next gold item they have not had; its assignment id."""
    item_id = await db.fetchval(
        "SELECT MIN(i.id) FROM items i WHERE i.batch_id = ? AND i.complete = 2"
        " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id"
        " AND a.trainer_id = ?)",
        (batch_id, trainer_id),
    )
    assert item_id is not None, "no gold item left for this trainer"
    await db.execute(
        "INSERT INTO assignments (item_id, trainer_id, assigned_at, lease_expires_at)"
        " VALUES (?, ?, ?, ?)",
        (item_id, trainer_id, NOW, lease),
    )
    return await db.fetchval(
        "SELECT id FROM assignments WHERE item_id = ? AND trainer_id = ?", (item_id, trainer_id)
    )
