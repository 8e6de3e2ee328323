"""Gold answers are no progress (issue 9): the pace and finish estimate (storage/forecast.py),
/progress's recent activity (storage/progress.py) and the agreement figures' read of the most
reviews and of their freshness (storage/agreement.py) count ordinary items' reviews only."""

from __future__ import annotations

import json

from bot.rubric import DEFAULT_RUBRIC
from storage import agreement, forecast, progress
from storage.batches import ItemRow, create_batch_with_items
from storage.database import Database
from tests.factories import NOW, make_trainer, one_chunk

EARLY, HOUR_AGO, LATE = "2026-11-20T00:00:00+00:00", "2026-11-24T23:00:00+00:00", "9999"


async def batch_with_gold(db: Database) -> int:
    """One ordinary item reviewed by trainers 1 and 2, one gold item answered by 1, 3, 4 and 5,
    every review submitted just now."""
    rows: list[ItemRow] = [
        ("o1", "Prompt", "Answer", None, 0, None, None, None),
        ("g1", "Gold", "Answer", None, 0, None, json.dumps({"accuracy": [4, 5]}), None),
    ]
    batch_id, _ = await create_batch_with_items(
        db,
        name="b",
        rubric_json=DEFAULT_RUBRIC.to_json(),
        overlap=2,
        priority=0,
        chunks=one_chunk(rows),
        now=NOW,
    )
    for user_id in range(1, 6):
        await make_trainer(db, user_id)
    reviewed = {"o1": (1, 2), "g1": (1, 3, 4, 5)}
    for external_id, trainers in reviewed.items():
        item_id = await db.fetchval("SELECT id FROM items WHERE external_id = ?", (external_id,))
        for trainer_id in trainers:
            await db.execute(
                "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
                " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
                (item_id, trainer_id, NOW, NOW, NOW),
            )
        await db.execute("UPDATE items SET done_count = ? WHERE id = ?", (len(trainers), item_id))
    return batch_id


async def test_the_pace_counts_ordinary_reviews_only(db: Database) -> None:
    batch_id = await batch_with_gold(db)
    assert await forecast.submitted_between(db, [batch_id], EARLY, LATE) == {batch_id: 2}


async def test_recent_activity_counts_ordinary_reviews_and_their_trainers_only(
    db: Database,
) -> None:
    batch_id = await batch_with_gold(db)
    activity = await progress.recent_activity(
        db, [batch_id], since=EARLY, hour_ago=HOUR_AGO, today=HOUR_AGO
    )
    assert activity == {batch_id: progress.Activity(2, 2, 2, NOW)}


async def test_a_batch_of_gold_answers_only_has_no_pace(db: Database) -> None:
    batch_id = await batch_with_gold(db)
    await db.execute("DELETE FROM assignments WHERE trainer_id = 2")
    await db.execute(
        "DELETE FROM assignments WHERE trainer_id = 1 AND item_id ="
        " (SELECT id FROM items WHERE external_id = 'o1')"
    )
    assert await forecast.submitted_between(db, [batch_id], EARLY, LATE) == {}
    assert (
        await progress.recent_activity(
            db, [batch_id], since=EARLY, hour_ago=HOUR_AGO, today=HOUR_AGO
        )
        == {}
    )


async def test_agreement_reads_leave_gold_items_out(db: Database) -> None:
    batch_id = await batch_with_gold(db)
    assert await agreement.most_reviews(db, batch_id) == 2  # the gold item's 4 left out
    reviews, last_undo = await agreement.freshness(db, batch_id)
    assert reviews == 2
    gold = await db.fetchval("SELECT id FROM items WHERE external_id = 'g1'")
    await db.execute("UPDATE items SET done_count = 9 WHERE id = ?", (gold,))
    assert await agreement.freshness(db, batch_id) == (reviews, last_undo)  # gold: no change
