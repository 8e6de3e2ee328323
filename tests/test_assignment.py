"""Which item a trainer gets next: queue order, overlap with live leases, expiry, skips, paused
and closed batches, never twice, and trainers asking at the same moment."""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.batches import change_batch
from bot.clock import stamp
from storage import languages, leases, reviews, team
from storage.assignment import (
    _CANDIDATES_SQL,
    _CLAIM_SQL,
    DATE_GIVEN_BACK_SQL,
    _candidates_sql,
    assign_next_item,
    item_still_wanted,
)
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer

LEASE = timedelta(minutes=30)

# The rules as one plain query (the pick before indexes): the oracle the indexed pick must match.
# An item wants its overlap plus its extra reviews (dynamic overlap); a trainer paused in a batch
# for failing its gold items gets nothing from it.
FIRST_BY_THE_RULES = """
SELECT i.id FROM batches b
JOIN items i ON i.batch_id = b.id AND i.complete = 0
WHERE b.status = 'open'
  AND NOT EXISTS (SELECT 1 FROM assignments mine WHERE mine.item_id = i.id AND mine.trainer_id = ?)
  AND i.done_count + (
        SELECT COUNT(*) FROM assignments held
        WHERE held.item_id = i.id AND held.status = 'active' AND held.lease_expires_at > ?
      ) < b.overlap + i.extra
  AND NOT EXISTS (SELECT 1 FROM gold_pauses g WHERE g.trainer_id = ? AND g.batch_id = b.id
                  AND g.lifted_at IS NULL)
  AND (i.lang IS NULL OR ' ' || (SELECT COALESCE(review_languages, language) FROM trainers
                                 WHERE user_id = ?) || ' ' LIKE '% ' || i.lang || ' %')
ORDER BY b.priority DESC, b.id, i.id
LIMIT 1
"""


async def ask(db: Database, clock: FakeClock, trainer_id: int) -> str | None:
    """The trainer asks for an item: the external id of the item leased, or None."""
    leased = await assign_next_item(db, trainer_id, stamp(clock.now), stamp(clock.now + LEASE))
    if leased is None:
        return None
    assert (leased.trainer_id, leased.status) == (trainer_id, "active")
    return await db.fetchval("SELECT external_id FROM items WHERE id = ?", (leased.item_id,))


async def held_by(db: Database, trainer_id: int) -> int:
    active = await reviews.get_active_assignment(db, trainer_id)
    assert active is not None
    return active.id


async def submit(db: Database, clock: FakeClock, trainer_id: int) -> None:
    assert await reviews.submit_assignment(db, await held_by(db, trainer_id), stamp(clock.now))


async def batch_of_held_item(db: Database, trainer_id: int) -> int:
    return await db.fetchval(
        "SELECT i.batch_id FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE a.trainer_id = ? AND a.status = 'active'",
        (trainer_id,),
    )


async def trainers(db: Database, *user_ids: int) -> None:
    for user_id in user_ids:
        await make_trainer(db, user_id)


async def test_higher_priority_first_then_older_batch_then_item_order(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, "low", items=1, overlap=1, priority=0)
    await make_batch(db, "urgent-a", items=2, overlap=1, priority=5)
    await make_batch(db, "urgent-b", items=1, overlap=1, priority=5)
    await trainers(db, *range(1, 6))
    got = [await ask(db, clock, uid) for uid in range(1, 6)]
    names = await db.fetchall(
        "SELECT b.name, i.external_id FROM assignments a JOIN items i ON i.id = a.item_id"
        " JOIN batches b ON b.id = i.batch_id ORDER BY a.id"
    )
    assert [tuple(row) for row in names] == [
        ("urgent-a", "item-1"),
        ("urgent-a", "item-2"),
        ("urgent-b", "item-1"),
        ("low", "item-1"),
    ]
    assert got[-1] is None


async def test_an_item_goes_out_only_while_reviews_and_live_leases_leave_room(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=1, overlap=2)
    await trainers(db, 1, 2, 3)
    assert await ask(db, clock, 1) == "item-1"
    assert await ask(db, clock, 2) == "item-1"
    assert await ask(db, clock, 3) is None  # two leases fill an overlap of 2
    await submit(db, clock, 1)
    assert await ask(db, clock, 3) is None  # one review and one live lease still fill it
    clock.advance(minutes=31)  # trainer 2's lease ends
    assert await ask(db, clock, 3) == "item-1"
    assert await ask(db, clock, 1) is None  # trainer 1 reviewed it already


async def test_a_lease_that_ends_puts_its_item_first_again(db: Database, clock: FakeClock) -> None:
    await make_batch(db, items=5, overlap=1)
    await trainers(db, *range(1, 7))
    assert [await ask(db, clock, uid) for uid in (1, 2, 3)] == ["item-1", "item-2", "item-3"]
    clock.advance(minutes=31)  # all three walked away
    assert [await ask(db, clock, uid) for uid in (4, 5, 6)] == ["item-1", "item-2", "item-3"]


async def test_a_trainer_who_passed_a_leased_item_gets_it_when_the_lease_ends(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=4, overlap=1)
    await trainers(db, 1, 2)
    assert await ask(db, clock, 1) == "item-1"
    assert await ask(db, clock, 2) == "item-2"  # item 1 was leased: trainer 2 went past it
    await submit(db, clock, 2)
    clock.advance(minutes=31)  # trainer 1 walked away
    assert await ask(db, clock, 2) == "item-1"
    await submit(db, clock, 2)
    assert await ask(db, clock, 2) == "item-3"


async def test_a_skipped_item_goes_to_the_next_trainer_at_once(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    await trainers(db, 1, 2, 3)
    assert await ask(db, clock, 1) == "item-1"
    assert await ask(db, clock, 2) == "item-2"
    assert await reviews.skip_assignment(db, await held_by(db, 1), "expertise")
    assert await ask(db, clock, 3) == "item-1"
    assert await ask(db, clock, 1) is None  # never the skipped item again; item 2 is held


async def test_a_removed_trainers_item_goes_back_to_the_queue_at_once(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=1, overlap=1)
    await trainers(db, 1, 2)
    assert await ask(db, clock, 1) == "item-1"
    assert await ask(db, clock, 2) is None
    await team.set_status(
        db,
        1,
        "blocked",
        action="trainer.remove",
        actor_id=9000,
        now=stamp(clock.now),
        release_items=True,
    )
    assert await ask(db, clock, 2) == "item-1"


async def test_paused_and_closed_batches_hand_out_nothing(db: Database, clock: FakeClock) -> None:
    urgent = await make_batch(db, "urgent", items=3, overlap=1, priority=9)
    await make_batch(db, "later", items=3, overlap=1, priority=0)
    await trainers(db, 1, 2, 3)
    await change_batch(db, urgent, "pause", actor_id=9000)
    assert await ask(db, clock, 1) == "item-1"
    assert await batch_of_held_item(db, 1) != urgent
    await change_batch(db, urgent, "close", actor_id=9000)
    assert await ask(db, clock, 2) == "item-2"
    await change_batch(db, urgent, "resume", actor_id=9000)
    assert await ask(db, clock, 3) == "item-1"
    assert await batch_of_held_item(db, 3) == urgent


async def test_a_trainer_never_gets_an_item_twice_submitted_skipped_or_expired(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=3, overlap=3)
    await trainers(db, 1)
    assert await ask(db, clock, 1) == "item-1"
    await submit(db, clock, 1)
    assert await ask(db, clock, 1) == "item-2"
    assert await reviews.skip_assignment(db, await held_by(db, 1), "none")
    assert await ask(db, clock, 1) == "item-3"
    clock.advance(minutes=31)
    await reviews.expire_assignment(db, await held_by(db, 1))
    assert await ask(db, clock, 1) is None


async def test_a_trainer_holding_an_item_gets_no_second_one(db: Database, clock: FakeClock) -> None:
    await make_batch(db, items=3, overlap=1)
    await trainers(db, 1)
    assert await ask(db, clock, 1) == "item-1"
    assert await ask(db, clock, 1) is None
    assert await db.fetchval("SELECT COUNT(*) FROM assignments") == 1


async def test_a_trainer_who_had_everything_in_a_batch_finds_what_comes_back_there(
    db: Database, clock: FakeClock
) -> None:
    urgent = await make_batch(db, "urgent", items=2, overlap=2, priority=9)
    await make_batch(db, "later", items=3, overlap=1)
    await trainers(db, 1, 2, 3)
    for _ in range(2):  # trainer 1 reviews all of urgent
        await ask(db, clock, 1)
        await submit(db, clock, 1)
    assert await ask(db, clock, 2) == "item-1"  # urgent item 1, second review
    assert await ask(db, clock, 3) == "item-2"  # urgent item 2, second review
    await submit(db, clock, 3)
    assert await ask(db, clock, 1) == "item-1"  # later item 1: urgent has nothing for trainer 1
    await submit(db, clock, 1)
    assert await ask(db, clock, 3) == "item-2"  # later item 2 (item 1 reviewed by trainer 1)
    assert await reviews.skip_assignment(db, await held_by(db, 2), "none")  # urgent item 1 back
    assert await ask(db, clock, 1) == "item-3"  # trainer 1 had urgent item 1 already
    await submit(db, clock, 3)
    assert await ask(db, clock, 3) == "item-1"
    assert await batch_of_held_item(db, 3) == urgent


async def test_an_item_filled_by_reviews_alone_is_passed_over_for_good(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    await trainers(db, 1, 2, 3)
    # Reviews written by other means: the item is full, but nobody marked it complete.
    await db.execute("UPDATE items SET done_count = 1 WHERE external_id = 'item-1'")
    assert await ask(db, clock, 1) == "item-2"
    assert await ask(db, clock, 2) is None
    clock.advance(minutes=31)  # trainer 1's lease ends: item 2 is free again, item 1 is not
    assert await ask(db, clock, 3) == "item-2"
    assert await ask(db, clock, 2) is None


async def test_leases_and_history_from_before_the_queue_hints_are_still_respected(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=4, overlap=1)
    await trainers(db, 1, 2, 3, 4)
    assert [await ask(db, clock, uid) for uid in (1, 2)] == ["item-1", "item-2"]
    await submit(db, clock, 2)
    # As migration 0005 finds a database: no hints on leased items, no queue positions.
    await db.execute("UPDATE items SET full_until = NULL, reopened_seq = NULL")
    await db.execute("DELETE FROM queue_positions")
    assert await ask(db, clock, 3) == "item-3"  # item 1 is leased, item 2 reviewed
    assert await ask(db, clock, 2) == "item-4"


async def test_trainers_asking_at_once_get_distinct_items_when_overlap_is_one(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=25, overlap=1)
    await trainers(db, *range(1, 41))
    got = await asyncio.gather(*(ask(db, clock, uid) for uid in range(1, 41)))
    handed = [item for item in got if item is not None]
    assert len(handed) == 25
    assert sorted(handed) == sorted(f"item-{n}" for n in range(1, 26))


async def test_trainers_asking_at_once_never_exceed_the_overlap(
    db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=4, overlap=3)
    await trainers(db, *range(1, 21))
    got = await asyncio.gather(*(ask(db, clock, uid) for uid in range(1, 21)))
    assert len([item for item in got if item is not None]) == 12
    counts = await db.fetchall("SELECT COUNT(*) FROM assignments GROUP BY item_id")
    assert [row[0] for row in counts] == [3, 3, 3, 3]


async def test_swept_leases_taken_up_while_others_ask_never_exceed_the_overlap(
    db: Database, clock: FakeClock
) -> None:
    """Taking a swept lease up again takes room as a pick does (storage/leases.py): run at once
    with other trainers' picks and skips, each item still has one live lease at most."""
    await make_batch(db, items=24, overlap=1)
    await trainers(db, *range(1, 61))
    now, lease = stamp(clock.now), stamp(clock.now + LEASE)
    swept = [await assign_next_item(db, uid, now, lease) for uid in range(1, 21)]
    clock.advance(minutes=31)
    assert len(await leases.expire_ended(db, stamp(clock.now), 100)) == 20
    now, lease = stamp(clock.now), stamp(clock.now + LEASE)
    held = [await assign_next_item(db, uid, now, lease) for uid in range(21, 25)]

    async def skip_then_ask(assignment: Any) -> None:
        await reviews.skip_assignment(db, assignment.id, None)
        await ask(db, clock, assignment.trainer_id)

    async def take_up(assignment: Any, after: float) -> None:
        await asyncio.sleep(after)  # spread over the picks, so some meet one on their item
        await leases.renew_swept(db, assignment.id, now, lease)

    await asyncio.gather(
        *(take_up(a, n * 0.005) for n, a in enumerate(swept)),
        *(skip_then_ask(a) for a in held if a is not None),
        *(ask(db, clock, uid) for uid in range(25, 61)),
    )
    rows = await db.fetchall(
        "SELECT item_id, COUNT(*) FROM assignments WHERE status = 'active' GROUP BY item_id"
    )
    assert len(rows) == 24  # every item leased again...
    assert all(count == 1 for _, count in rows)  # ...once


async def items_in(db: Database, *codes: str | None) -> None:
    """One batch (overlap 1) whose items item-1, item-2, ... are in these languages."""
    await make_batch(db, items=len(codes), overlap=1)
    for n, code in enumerate(codes, start=1):
        await db.execute("UPDATE items SET lang = ? WHERE external_id = ?", (code, f"item-{n}"))


async def review_all(db: Database, clock: FakeClock, trainer_id: int) -> list[str]:
    """Ask and submit until nothing is left: the items, in the order given."""
    got = []
    while (item := await ask(db, clock, trainer_id)) is not None:
        got.append(item)
        await submit(db, clock, trainer_id)
    return got


async def test_a_trainer_gets_items_in_their_languages_or_without_one(
    db: Database, clock: FakeClock
) -> None:
    await items_in(db, "id", "jv", None, "en", "jv", "id")
    await make_trainer(db, 1, language="en")  # reviews in their interface language
    await make_trainer(db, 2, language="id")
    assert await review_all(db, clock, 1) == ["item-3", "item-4"]
    assert await review_all(db, clock, 2) == ["item-1", "item-6"]
    assert (await languages.set_language(db, 2, "jv", True)).languages == ("id", "jv")
    assert await review_all(db, clock, 2) == ["item-2", "item-5"]


async def test_a_language_turned_on_later_finds_the_items_passed_before(
    db: Database, clock: FakeClock
) -> None:
    await items_in(db, "jv", "en", "en", "jv")
    await make_trainer(db, 1, language="en")
    assert await ask(db, clock, 1) == "item-2"  # the queue position moves past item-1
    await submit(db, clock, 1)
    await languages.set_language(db, 1, "jv", True)
    assert await review_all(db, clock, 1) == ["item-1", "item-3", "item-4"]


async def test_switching_the_interface_switches_the_languages_that_follow_it(
    db: Database, clock: FakeClock
) -> None:
    await items_in(db, "id", "en", "en")
    await make_trainer(db, 1, language="en")
    assert await ask(db, clock, 1) == "item-2"  # the queue position moves past item-1
    await submit(db, clock, 1)
    await languages.set_interface_language(db, 1, "id")
    assert await review_all(db, clock, 1) == ["item-1"]
    await languages.set_language(db, 1, "en", True)  # chosen now: the interface no longer counts
    await languages.set_interface_language(db, 1, "en")
    assert await languages.languages_of(db, 1) == ("id", "en")
    assert await review_all(db, clock, 1) == ["item-3"]


async def test_items_that_come_back_go_only_to_trainers_of_their_language(
    db: Database, clock: FakeClock
) -> None:
    await items_in(db, "jv", "en")
    await make_trainer(db, 1, language="en")
    await make_trainer(db, 2, language="id")
    await languages.set_language(db, 2, "jv", True)
    await make_trainer(db, 3, language="id")
    await languages.set_language(db, 3, "jv", True)
    assert await ask(db, clock, 2) == "item-1"  # item-1 is full: it leaves items_open
    assert await ask(db, clock, 1) == "item-2"
    await submit(db, clock, 1)
    assert await reviews.skip_assignment(db, await held_by(db, 2), "none")  # item-1 comes back
    assert await ask(db, clock, 1) is None
    assert await ask(db, clock, 3) == "item-1"


async def test_an_expired_lease_is_wanted_only_in_the_trainers_languages(
    db: Database, clock: FakeClock
) -> None:
    await items_in(db, "jv")
    await make_trainer(db, 1, language="id")
    await languages.set_language(db, 1, "jv", True)
    leased = await assign_next_item(db, 1, stamp(clock.now), stamp(clock.now + LEASE))
    assert leased is not None
    clock.advance(minutes=31)
    assert await item_still_wanted(db, leased, stamp(clock.now))
    await languages.set_language(db, 1, "jv", False)
    assert not await item_still_wanted(db, leased, stamp(clock.now))


async def test_the_last_language_cannot_be_turned_off(db: Database) -> None:
    await make_trainer(db, 1, language="en")
    assert await languages.languages_of(db, 1) == ("en",)
    refused = await languages.set_language(db, 1, "en", False)
    assert refused == languages.LanguageChange(("en",), refused_last=True)
    assert (await languages.set_language(db, 1, "su", True)).languages == ("en", "su")
    assert (await languages.set_language(db, 1, "su", True)).languages == ("en", "su")
    assert (await languages.set_language(db, 1, "en", False)).languages == ("su",)
    assert await languages.languages_of(db, 1) == ("su",)


async def test_the_pick_reads_indexes_only(sqlite_db: Database) -> None:
    params = {"trainer": 1, "batch": 1, "position": 10, "seq": 0, "limit": 16, "now": "x"}
    params.update({"l0": "id", "l1": "jv"})
    plans = {
        "candidates": await sqlite_db.fetchall("EXPLAIN QUERY PLAN " + _CANDIDATES_SQL, params),
        "candidates, two languages": await sqlite_db.fetchall(
            "EXPLAIN QUERY PLAN " + _candidates_sql(2), params
        ),
        "claim": await sqlite_db.fetchall(
            "EXPLAIN QUERY PLAN " + _CLAIM_SQL.format(ids=":c0, :c1"),
            {**params, "lease": "y", "c0": 1, "c1": 2},
        ),
    }
    text = {name: "\n".join(row["detail"] for row in rows) for name, rows in plans.items()}
    assert "items_open" in text["candidates"] and "items_reopened" in text["candidates"]
    tables = re.compile(r"^SCAN (i|items|assignments|mine|live|held)\b", re.M)
    for name, detail in text.items():
        assert not tables.search(detail), (name, detail)
    for name in ("candidates", "candidates, two languages"):
        # Languages come from the index entries: no candidate read touches an item row, and
        # every id range is read in index order (no sort of a batch's open items).
        assert "COVERING INDEX items_reopened" in text[name], text[name]
        ranges = re.findall(r"COVERING INDEX items_open \((.*)\)", text[name])
        assert len(ranges) == 1 + name.count("two") + 1, text[name]
        assert all("lang" in found and "id>?" in found for found in ranges), ranges
    # Every turn of the pick begins by dating the items given back: it reads those alone.
    dating = await sqlite_db.fetchall("EXPLAIN QUERY PLAN " + DATE_GIVEN_BACK_SQL)
    assert [row["detail"] for row in dating] == [
        "SCAN items USING INDEX items_undated",
        "SCALAR SUBQUERY 1",
        "SEARCH assignments",
    ]


# -- against the rules written as one plain query -----------------------------------------

TRAINER_ACTIONS = st.sampled_from(["ask", "ask", "ask", "ask", "submit", "submit", "skip"])
# Trainers' own actions are weighted up (three of the branches), so that examples ask often.
ACTING = st.tuples(TRAINER_ACTIONS, st.integers(1, 4))
OPERATIONS = st.lists(
    st.one_of(
        ACTING,
        ACTING,
        ACTING,
        st.tuples(st.just("wait"), st.sampled_from([5, 20, 31])),
        st.tuples(st.sampled_from(["pause", "resume"]), st.integers(0, 2)),
        # A trainer turns a language on or off: value = trainer - 1 + 4 * (code + 3 * off).
        st.tuples(st.just("language"), st.integers(0, 23)),
        # A trainer submits with accuracy 1 (value < 4) or 5: value = trainer - 1 (+ 4).
        st.tuples(st.just("score"), st.integers(0, 7)),
        # A trainer's gold pause in a batch put on, or lifted: value = trainer - 1 + 4 * batch.
        st.tuples(st.just("gold pause"), st.integers(0, 11)),
    ),
    min_size=20,
    max_size=60,
)
ITEM_LANGUAGES = st.lists(st.sampled_from([None, "id", "en", "jv"]), min_size=1, max_size=12)
CODES = ("id", "en", "jv")
BATCHES = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 3), st.integers(1, 4)),  # priority, overlap, items
    min_size=1,
    max_size=3,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=BATCHES,
    operations=OPERATIONS,
    item_languages=ITEM_LANGUAGES,
    extra_reviews=st.integers(0, 2),
)
async def test_every_pick_is_the_first_item_the_rules_allow(
    batches: list[tuple[int, int, int]],
    operations: list[tuple[str, int]],
    item_languages: list[str | None],
    extra_reviews: int,
) -> None:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "nilai.db")
        try:
            batch_ids = [
                await make_batch(db, f"b{n}", items=items, overlap=overlap, priority=priority)
                for n, (priority, overlap, items) in enumerate(batches)
            ]
            for item_id in range(1, sum(items for _, _, items in batches) + 1):
                language = item_languages[(item_id - 1) % len(item_languages)]
                await db.execute("UPDATE items SET lang = ? WHERE id = ?", (language, item_id))
            await db.execute(  # dynamic overlap: scores 2 points apart ask for more reviews
                "UPDATE batches SET extra_reviews = ?, disagreement = 2", (extra_reviews,)
            )
            await trainers(db, 1, 2, 3, 4)
            for operation, value in operations:
                await apply(db, clock, batch_ids, operation, value)
        finally:
            await db.close()


async def apply(
    db: Database, clock: FakeClock, batch_ids: list[int], operation: str, value: int
) -> None:
    now = stamp(clock.now)
    if operation == "wait":
        clock.advance(minutes=value)
    elif operation == "language":
        code, off = CODES[value // 4 % 3], value >= 12
        await languages.set_language(db, value % 4 + 1, code, not off)
    elif operation in ("pause", "resume"):
        await change_batch(db, batch_ids[value % len(batch_ids)], operation, actor_id=9000)
    elif operation == "gold pause":
        await gold_pause(db, value % 4 + 1, batch_ids[value // 4 % len(batch_ids)], now)
    elif operation == "score":
        if (active := await reviews.get_active_assignment(db, value % 4 + 1)) is not None:
            await reviews.set_score(db, active.id, "accuracy", 1 if value < 4 else 5, 1, now)
            await reviews.submit_assignment(db, active.id, now)
    elif (active := await reviews.get_active_assignment(db, value)) is None:
        if operation == "ask":
            expected = await db.fetchval(FIRST_BY_THE_RULES, (value, now, value, value))
            leased = await assign_next_item(db, value, now, stamp(clock.now + LEASE))
            assert (None if leased is None else leased.item_id) == expected
    elif operation == "submit":
        await reviews.submit_assignment(db, active.id, now)
    elif operation == "skip":
        await reviews.skip_assignment(db, active.id, "none")
    elif active.lease_expires_at <= now:  # asks again after the lease ended: given up
        await reviews.expire_assignment(db, active.id)


async def gold_pause(db: Database, trainer_id: int, batch_id: int, now: str) -> None:
    """Pause the trainer in the batch for failing its gold items, or lift their live pause."""
    lifted = await db.execute(
        "UPDATE gold_pauses SET lifted_at = ? WHERE trainer_id = ? AND batch_id = ?"
        " AND lifted_at IS NULL",
        (now, trainer_id, batch_id),
    )
    if not lifted:
        await db.execute(
            "INSERT INTO gold_pauses (trainer_id, batch_id, paused_at) VALUES (?, ?, ?)",
            (trainer_id, batch_id, now),
        )
