"""Gold items in the pick and gold pauses (issue 9): gold mixed in at the batch's rate from the
batch the next item comes from, never twice, in the trainer's languages, whatever the overlap,
never alone; a trainer paused in a batch gets nothing more from it while other batches serve
them, and every question about work left agrees."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.clock import stamp
from bot.rubric import DEFAULT_RUBRIC
from storage import assignment, languages, leases, reviews
from storage.assignment import GOLD_DRAW, anyone_can_take, assign_next_item, item_still_wanted
from storage.batches import ItemRow, create_batch_with_items
from storage.database import Database
from storage.gold import GOLD_ITEM
from storage.work_left import could_take_new_item
from tests.conftest import FakeClock
from tests.factories import NOW, make_trainer, one_chunk

LEASE = timedelta(minutes=30)
EXPECTED = json.dumps({"accuracy": [4, 5]})


async def gold_batch(
    db: Database,
    name: str = "batch",
    *,
    ordinary: int = 3,
    gold: int = 2,
    overlap: int = 1,
    priority: int = 0,
    gold_rate: float = 1.0,
    gold_languages: tuple[str | None, ...] = (None,),
) -> int:
    """A batch of `ordinary` items o1.. then `gold` gold items g1.. (languages in turn)."""
    rows: list[ItemRow] = [
        (f"o{n}", f"Prompt {n}", f"Answer {n}", None, 0, None, None, None)
        for n in range(1, ordinary + 1)
    ]
    for n in range(1, gold + 1):
        language = gold_languages[(n - 1) % len(gold_languages)]
        rows.append((f"g{n}", f"Gold {n}", f"Answer {n}", None, 0, None, EXPECTED, language))
    batch_id, _ = await create_batch_with_items(
        db,
        name=name,
        rubric_json=DEFAULT_RUBRIC.to_json(),
        overlap=overlap,
        priority=priority,
        chunks=one_chunk(rows),
        now=NOW,
    )
    await db.execute("UPDATE batches SET gold_rate = ? WHERE id = ?", (gold_rate, batch_id))
    return batch_id


async def ask(db: Database, clock: FakeClock, trainer_id: int) -> str | None:
    """The trainer asks; the external id of the item leased (then submitted at once), or None."""
    leased = await assign_next_item(db, trainer_id, stamp(clock.now), stamp(clock.now + LEASE))
    if leased is None:
        return None
    assert await reviews.submit_assignment(db, leased.id, stamp(clock.now))
    return await db.fetchval("SELECT external_id FROM items WHERE id = ?", (leased.item_id,))


async def everything(db: Database, clock: FakeClock, trainer_id: int) -> list[str]:
    got: list[str] = []
    while (external := await ask(db, clock, trainer_id)) is not None:
        got.append(external)
    return got


async def pause(db: Database, trainer_id: int, batch_id: int) -> None:
    await db.execute(
        "INSERT INTO gold_pauses (trainer_id, batch_id, paused_at) VALUES (?, ?, ?)",
        (trainer_id, batch_id, NOW),
    )


@pytest.fixture(autouse=True)
def seeded() -> None:
    GOLD_DRAW.seed(9)


async def test_at_rate_zero_no_gold_item_is_ever_given(db: Database, clock: FakeClock) -> None:
    await gold_batch(db, gold_rate=0.0)
    await make_trainer(db, 1)
    assert await everything(db, clock, 1) == ["o1", "o2", "o3"]


async def test_at_rate_one_gold_comes_while_unseen_gold_remains_never_twice(
    db: Database, clock: FakeClock
) -> None:
    await gold_batch(db, ordinary=3, gold=2)
    await make_trainer(db, 1)
    assert await everything(db, clock, 1) == ["g1", "g2", "o1", "o2", "o3"]
    gold = await db.fetchall(
        "SELECT complete, done_count, full_until, reopened_seq FROM items WHERE gold IS NOT NULL"
    )
    # Gold stays gold, out of the queue's hints.
    assert [tuple(row) for row in gold] == [(GOLD_ITEM, 1, None, None)] * 2


async def test_gold_is_mixed_into_work_never_served_alone(db: Database, clock: FakeClock) -> None:
    batch_id = await gold_batch(db, ordinary=1, gold=2, gold_rate=0.0)
    await make_trainer(db, 1)
    assert await everything(db, clock, 1) == ["o1"]
    await db.execute("UPDATE batches SET gold_rate = 1 WHERE id = ?", (batch_id,))
    assert await ask(db, clock, 1) is None  # unseen gold, but no ordinary item left


async def test_gold_comes_from_the_batch_the_next_item_comes_from(
    db: Database, clock: FakeClock
) -> None:
    await gold_batch(db, "first", ordinary=1, gold=1, priority=5, gold_rate=0.0)
    await gold_batch(db, "second", ordinary=1, gold=1, priority=0, gold_rate=1.0)
    await make_trainer(db, 1)
    assert await ask(db, clock, 1) == "o1"  # from "first", whose rate is 0
    got = await db.fetchval(
        "SELECT b.name FROM assignments a JOIN items i ON i.id = a.item_id"
        " JOIN batches b ON b.id = i.batch_id ORDER BY a.id DESC LIMIT 1"
    )
    assert got == "first"
    assert await everything(db, clock, 1) == ["g1", "o1"]  # now "second": its gold first


async def test_gold_ignores_the_overlap_every_trainer_gets_each_once(
    db: Database, clock: FakeClock
) -> None:
    await gold_batch(db, ordinary=3, gold=1, overlap=1)
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
    assert [await ask(db, clock, user_id) for user_id in (1, 2, 3)] == ["g1", "g1", "g1"]
    assert [await ask(db, clock, user_id) for user_id in (1, 2, 3)] == ["o1", "o2", "o3"]


async def test_gold_items_go_only_to_trainers_of_their_language(
    db: Database, clock: FakeClock
) -> None:
    await gold_batch(db, ordinary=2, gold=3, overlap=2, gold_languages=("jv", None))
    await make_trainer(db, 1, language="id")
    await make_trainer(db, 2, language="id")
    await languages.set_language(db, 2, "jv", True)
    # g1 and g3 are Javanese, g2 has no language.
    assert await everything(db, clock, 1) == ["g2", "o1", "o2"]
    assert await everything(db, clock, 2) == ["g1", "g2", "g3", "o1", "o2"]


async def test_each_pick_follows_its_own_draw_against_the_rate(
    db: Database, clock: FakeClock
) -> None:
    await gold_batch(db, ordinary=40, gold=40, gold_rate=0.5)
    await make_trainer(db, 1)
    GOLD_DRAW.seed(4)
    draws = [GOLD_DRAW.random() < 0.5 for _ in range(40)]
    GOLD_DRAW.seed(4)
    got = [(await ask(db, clock, 1) or "")[0] for _ in range(40)]
    assert got == ["g" if drawn else "o" for drawn in draws]
    assert 0 < got.count("g") < 40


async def test_gold_comes_at_about_the_batch_s_rate(db: Database, clock: FakeClock) -> None:
    """Over 400 picks at rate 0.25 (a seeded draw: the same picks every run), a quarter or so
    are gold."""
    await gold_batch(db, ordinary=400, gold=200, gold_rate=0.25)
    await make_trainer(db, 1)
    GOLD_DRAW.seed(9)
    got = [(await ask(db, clock, 1) or "")[0] for _ in range(400)]
    assert 0.15 * 400 <= got.count("g") <= 0.35 * 400
    assert got.count("g") + got.count("o") == 400


async def test_a_trainer_holding_an_item_gets_no_gold_item_either(
    db: Database, clock: FakeClock
) -> None:
    await gold_batch(db)
    await make_trainer(db, 1)
    assert await assign_next_item(db, 1, stamp(clock.now), stamp(clock.now + LEASE)) is not None
    assert await assign_next_item(db, 1, stamp(clock.now), stamp(clock.now + LEASE)) is None
    assert await db.fetchval("SELECT COUNT(*) FROM assignments") == 1


async def test_an_expired_gold_lease_is_still_its_trainers_unless_paused(
    db: Database, clock: FakeClock
) -> None:
    batch_id = await gold_batch(db, overlap=1)
    await make_trainer(db, 1)
    await make_trainer(db, 2)
    leased = await assign_next_item(db, 1, stamp(clock.now), stamp(clock.now + LEASE))
    assert leased is not None and await ask(db, clock, 2) == "g1"  # the same gold item
    clock.advance(minutes=31)
    swept = await leases.expire_ended(db, stamp(clock.now), limit=10)
    assert [lease.assignment.id for lease in swept] == [leased.id]
    assert await db.fetchval("SELECT full_until FROM items WHERE id = ?", (leased.item_id,)) is None
    assert await item_still_wanted(db, swept[0].assignment, stamp(clock.now))
    await pause(db, 1, batch_id)
    assert not await item_still_wanted(db, swept[0].assignment, stamp(clock.now))
    lease_end = stamp(clock.now + LEASE)
    assert await leases.renew_swept(db, leased.id, stamp(clock.now), lease_end) is None
    await db.execute("UPDATE gold_pauses SET lifted_at = ?", (stamp(clock.now),))
    renewed = await leases.renew_swept(db, leased.id, stamp(clock.now), lease_end)
    assert renewed is not None and renewed.status == "active"


async def test_a_paused_batch_is_skipped_while_other_batches_still_serve(
    db: Database, clock: FakeClock
) -> None:
    paused = await gold_batch(db, "paused", ordinary=2, gold=1, priority=5)
    await gold_batch(db, "other", ordinary=1, gold=1, priority=0, gold_rate=0.0)
    await make_trainer(db, 1)
    await make_trainer(db, 2)
    await pause(db, 1, paused)
    now = stamp(clock.now)
    assert await could_take_new_item(db, 1, now)  # "other" still has work for them
    assert await everything(db, clock, 1) == ["o1"]  # from "other", no gold of "paused"
    assert not await could_take_new_item(db, 1, now)
    assert await could_take_new_item(db, 2, now)
    assert await ask(db, clock, 2) == "g1"  # trainer 2 is not paused there


async def test_a_pause_counts_in_anyone_can_take(db: Database, clock: FakeClock) -> None:
    batch_id = await gold_batch(db, ordinary=1, gold=0)
    await make_trainer(db, 1)
    sets = await languages.active_language_sets(db)
    now = stamp(clock.now)
    assert await anyone_can_take(db, batch_id, sets, now)
    await pause(db, 1, batch_id)
    assert not await anyone_can_take(db, batch_id, sets, now)
    await db.execute("UPDATE gold_pauses SET lifted_at = ?", (now,))
    assert await anyone_can_take(db, batch_id, sets, now)
    assert await ask(db, clock, 1) == "o1"


async def test_a_lifted_pause_serves_the_batch_again(db: Database, clock: FakeClock) -> None:
    batch_id = await gold_batch(db, ordinary=2, gold=1)
    await make_trainer(db, 1)
    assert await ask(db, clock, 1) == "g1"
    await pause(db, 1, batch_id)
    assert await ask(db, clock, 1) is None
    await db.execute("UPDATE gold_pauses SET lifted_at = ?, lifted_by = 9000", (NOW,))
    assert await everything(db, clock, 1) == ["o1", "o2"]


async def test_the_gold_claim_reads_indexes_only(sqlite_db: Database) -> None:
    params = {"trainer": 1, "batch": 1, "now": "x", "lease": "y", "l0": "id"}
    rows = await sqlite_db.fetchall("EXPLAIN QUERY PLAN " + assignment._gold_claim_sql(1), params)
    detail = "\n".join(row["detail"] for row in rows)
    # The gold items' languages come from the index entries, never from the rows.
    assert "SEARCH i USING COVERING INDEX items_progress (batch_id=? AND complete=?)" in detail
    assert "SCAN" not in detail, detail
