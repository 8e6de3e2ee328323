"""Dynamic overlap (issue 9): an item that is not settled (on some criterion no `overlap` of its
submitted reviews lie less than the batch's `disagreement` points apart) when a review brings it
exactly to what it wants gets one more review, up to `extra_reviews` more, before it is
complete; an extra review that sides with the others settles it; it comes back into the queue
at once, also for trainers who passed it; a late review beyond what it wants never reopens it;
gold items are never extended; Undo keeps `complete` and `extra` consistent."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.clock import stamp
from bot.rubric import DEFAULT_RUBRIC
from storage import corrections, leases, reviews
from storage.assignment import UNDATED, assign_next_item
from storage.batches import ItemRow, create_batch_with_items
from storage.database import Database, Transaction
from storage.gold import GOLD_ITEM
from tests.conftest import FakeClock
from tests.factories import NOW, make_batch, make_trainer, one_chunk

LEASE = timedelta(minutes=30)


async def dynamic(
    db: Database, *, items: int = 1, overlap: int = 2, extra: int = 2, spread: int | None = 2
) -> int:
    batch_id = await make_batch(db, items=items, overlap=overlap)
    await db.execute(
        "UPDATE batches SET extra_reviews = ?, disagreement = ?, gold_rate = 0 WHERE id = ?",
        (extra, spread, batch_id),
    )
    return batch_id


async def review(
    db: Database, clock: FakeClock, trainer_id: int, accuracy: int, *, others: int = 3
) -> tuple[int, str] | None:
    """The trainer takes their next item, scores accuracy `accuracy` (the other criteria
    `others`) and submits: (assignment id, item external id), or None if nothing came."""
    now = stamp(clock.now)
    leased = await assign_next_item(db, trainer_id, now, stamp(clock.now + LEASE))
    if leased is None:
        return None
    for n, criterion in enumerate(DEFAULT_RUBRIC.criteria):
        score = accuracy if criterion == "accuracy" else others
        await reviews.set_score(db, leased.id, criterion, score, n + 1, now)
    assert await reviews.submit_assignment(db, leased.id, now)
    external = await db.fetchval("SELECT external_id FROM items WHERE id = ?", (leased.item_id,))
    return leased.id, external


async def state(db: Database, external_id: str = "item-1") -> tuple[int, int, int]:
    row = await db.fetchone(
        "SELECT done_count, complete, extra FROM items WHERE external_id = ?", (external_id,)
    )
    return tuple(row)


async def test_disagreement_adds_reviews_up_to_the_cap(db: Database, clock: FakeClock) -> None:
    await dynamic(db, overlap=2, extra=2, spread=2)
    for user_id in range(1, 6):
        await make_trainer(db, user_id)
    await review(db, clock, 1, 1)
    assert await state(db) == (1, 0, 0)  # below the overlap: nothing decided yet
    await review(db, clock, 2, 3)  # 1 and 3: two points apart
    assert await state(db) == (2, 0, 1)
    assert await review(db, clock, 3, 5) is not None
    assert await state(db) == (3, 0, 2)
    await review(db, clock, 4, 1)
    assert await state(db) == (4, 1, 2)  # the cap reached: complete, disagreement or not
    assert await review(db, clock, 5, 3) is None


async def test_an_extra_review_siding_with_one_settles_the_item_before_the_cap(
    db: Database, clock: FakeClock
) -> None:
    await dynamic(db, overlap=2, extra=3, spread=2)
    for user_id in range(1, 5):
        await make_trainer(db, user_id)
    await review(db, clock, 1, 1)
    await review(db, clock, 2, 3)  # 1 and 3: two points apart
    assert await state(db) == (2, 0, 1)
    await review(db, clock, 3, 3)  # 3 and 3 agree: max - min is still 2, but it is settled
    assert await state(db) == (3, 1, 1)
    assert await review(db, clock, 4, 3) is None


async def test_reviews_that_keep_disagreeing_get_every_extra_review(
    db: Database, clock: FakeClock
) -> None:
    await dynamic(db, overlap=2, extra=3, spread=1)  # settled only by two equal scores
    for user_id in range(1, 7):
        await make_trainer(db, user_id)
    for user_id, score in zip(range(1, 5), (1, 2, 3, 4), strict=True):
        await review(db, clock, user_id, score)
        assert await state(db) == (user_id, 0, user_id - 1)
    await review(db, clock, 5, 5)
    assert await state(db) == (5, 1, 3)  # the cap reached: complete, unsettled or not
    assert await review(db, clock, 6, 5) is None


async def test_settled_means_every_criterion(db: Database, clock: FakeClock) -> None:
    await dynamic(db, overlap=2, extra=2, spread=2)
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
    await review(db, clock, 1, 3, others=1)
    await review(db, clock, 2, 3, others=5)  # accuracy agrees, the others do not
    assert await state(db) == (2, 0, 1)


async def late_review(db: Database, clock: FakeClock, trainer_id: int) -> int:
    """The trainer takes item-1 and lets the lease run out (swept): the id of the assignment."""
    leased = await assign_next_item(db, trainer_id, stamp(clock.now), stamp(clock.now + LEASE))
    assert leased is not None
    clock.advance(minutes=31)
    await reviews.expire_assignment(db, leased.id)
    return leased.id


async def submit(db: Database, clock: FakeClock, assignment_id: int, accuracy: int) -> None:
    now = stamp(clock.now)
    for n, criterion in enumerate(DEFAULT_RUBRIC.criteria):
        score = accuracy if criterion == "accuracy" else 3
        await reviews.set_score(db, assignment_id, criterion, score, n + 1, now)
    assert await reviews.submit_assignment(db, assignment_id, now)


async def test_a_late_disagreeing_review_leaves_a_complete_item_complete(
    db: Database, clock: FakeClock
) -> None:
    await dynamic(db, overlap=2, extra=2, spread=2)
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
    late = await late_review(db, clock, 1)
    await review(db, clock, 2, 3)
    await review(db, clock, 3, 3)
    assert await state(db) == (2, 1, 0)
    await submit(db, clock, late, 1)  # late, two points from the others
    assert await state(db) == (3, 1, 0)


async def test_a_resubmit_beyond_what_the_item_wants_never_reopens_it(
    db: Database, clock: FakeClock
) -> None:
    """A review counted beyond what the item wants (here a late one made it three of two, then
    an Undo and a disagreeing resubmit) completes it: it never asks for an extra it could not
    get (the item would want four reviews, have four, and stay open for good)."""
    await dynamic(db, overlap=2, extra=2, spread=2)
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
    late = await late_review(db, clock, 1)
    await review(db, clock, 2, 3)
    third, _ = await review(db, clock, 3, 3)
    await submit(db, clock, late, 1)
    assert await state(db) == (3, 1, 0)
    submitted_at = await db.fetchval("SELECT submitted_at FROM assignments WHERE id = ?", (third,))
    assert await corrections.reopen(db, third, submitted_at, stamp(clock.now))
    assert await state(db) == (2, 1, 0)  # still as many reviews as it wants
    await submit(db, clock, third, 5)  # 1, 3 and 5: unsettled
    assert await state(db) == (3, 1, 0)


async def test_agreement_completes_at_the_overlap(db: Database, clock: FakeClock) -> None:
    await dynamic(db, overlap=2, extra=2, spread=2)
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
    await review(db, clock, 1, 4, others=1)
    await review(db, clock, 2, 5, others=1)  # one point apart: below the spread
    assert await state(db) == (2, 1, 0)
    assert await review(db, clock, 3, 4) is None


async def test_without_a_disagreement_threshold_nothing_is_extended(
    db: Database, clock: FakeClock
) -> None:
    await dynamic(db, overlap=2, extra=2, spread=None)
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
    await review(db, clock, 1, 1)
    await review(db, clock, 2, 5)
    assert await state(db) == (2, 1, 0)
    assert await review(db, clock, 3, 3) is None


async def test_an_extended_item_comes_back_for_a_trainer_who_passed_it(
    db: Database, clock: FakeClock
) -> None:
    await dynamic(db, items=3, overlap=2, extra=1, spread=3)
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
    held = await assign_next_item(db, 1, stamp(clock.now), stamp(clock.now + LEASE))
    assert held is not None  # trainer 1 holds item-1
    assert (await review(db, clock, 2, 5))[1] == "item-1"  # full now: a review and a lease
    # Trainer 3 passes item-1 while it is full: their queue position moves beyond it.
    assert [(await review(db, clock, 3, 3))[1] for _ in range(2)] == ["item-2", "item-3"]
    now = stamp(clock.now)
    for n, criterion in enumerate(DEFAULT_RUBRIC.criteria):
        await reviews.set_score(db, held.id, criterion, 1, n + 1, now)
    assert await reviews.submit_assignment(db, held.id, now)  # 5 and 1: four points apart
    assert await state(db) == (2, 0, 1)
    assert (await review(db, clock, 3, 3))[1] == "item-1"
    assert await state(db) == (3, 1, 1)


async def test_gold_items_are_never_extended(db: Database, clock: FakeClock) -> None:
    rows: list[ItemRow] = [
        ("o1", "Prompt", "Answer", None, 0, None, None, None),
        ("g1", "Gold", "Answer", None, 0, None, json.dumps({"accuracy": [1, 5]}), None),
    ]
    batch_id, _ = await create_batch_with_items(
        db,
        name="gold",
        rubric_json=DEFAULT_RUBRIC.to_json(),
        overlap=2,
        priority=0,
        chunks=one_chunk(rows),
        now=NOW,
    )
    await db.execute(
        "UPDATE batches SET extra_reviews = 3, disagreement = 1, gold_rate = 1 WHERE id = ?",
        (batch_id,),
    )
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
        assert (await review(db, clock, user_id, user_id))[1] == "g1"
    assert await state(db, "g1") == (3, GOLD_ITEM, 0)


async def test_undo_reopens_an_item_and_the_resubmit_looks_again(
    db: Database, clock: FakeClock
) -> None:
    await dynamic(db, overlap=2, extra=1, spread=2)
    for user_id in (1, 2, 3):
        await make_trainer(db, user_id)
    await review(db, clock, 1, 2)
    second, _ = await review(db, clock, 2, 2)
    assert await state(db) == (2, 1, 0)  # agreed: complete
    submitted_at = await db.fetchval("SELECT submitted_at FROM assignments WHERE id = ?", (second,))
    assert await corrections.reopen(db, second, submitted_at, stamp(clock.now))
    assert await state(db) == (1, 0, 0)  # its review is a held lease again
    assert await review(db, clock, 3, 2) is None  # the held lease keeps the slot
    now = stamp(clock.now)
    await reviews.set_score(db, second, "accuracy", 5, 1, now)  # now three points apart
    assert await reviews.submit_assignment(db, second, now)
    assert await state(db) == (2, 0, 1)
    assert (await review(db, clock, 3, 4))[1] == "item-1"
    assert await state(db) == (3, 1, 1)
    third = await db.fetchval("SELECT MAX(id) FROM assignments")
    submitted_at = await db.fetchval("SELECT submitted_at FROM assignments WHERE id = ?", (third,))
    assert await corrections.reopen(db, third, submitted_at, stamp(clock.now))
    assert await state(db) == (2, 0, 1)  # incomplete again; `extra` never goes down


async def test_the_wanted_reviews_hold_in_the_lease_guards(db: Database, clock: FakeClock) -> None:
    """An extended item's room (overlap + extra) counts when a swept lease is taken up."""
    await dynamic(db, overlap=1, extra=1, spread=None)
    await db.execute("UPDATE items SET extra = 1")  # as if extended once
    for user_id in (1, 2):
        await make_trainer(db, user_id)
    first = await assign_next_item(db, 1, stamp(clock.now), stamp(clock.now + LEASE))
    assert first is not None
    assert (await review(db, clock, 2, 3))[1] == "item-1"  # room for two
    assert await state(db) == (1, 0, 1)
    clock.advance(minutes=31)
    await reviews.expire_assignment(db, first.id)
    now = stamp(clock.now)
    renewed = await leases.renew_swept(db, first.id, now, stamp(clock.now + LEASE))
    assert renewed is not None  # one review of two: room left for trainer 1


async def test_one_more_review_committed_after_a_pick_passed_the_item_still_finds_that_trainer(
    db: Database, clock: FakeClock
) -> None:
    """On PostgreSQL a Submit runs outside the pick's turn, in a snapshot taken before picks
    that move queue positions past the item it gives one more review: the item must still
    come back for those trainers (storage/assignment.py, UNDATED)."""
    if not db.shared:
        pytest.skip("SQLite runs one write at a time: no pick runs inside a Submit")
    await dynamic(db, items=3, overlap=2, extra=1, spread=3)
    for user_id in (1, 2, 3, 4):
        await make_trainer(db, user_id)
    now, lease = stamp(clock.now), stamp(clock.now + LEASE)
    held = await assign_next_item(db, 1, now, lease)
    assert held is not None  # trainer 1 holds item-1
    assert (await review(db, clock, 2, 5))[1] == "item-1"  # full now: a review and a lease
    for n, criterion in enumerate(DEFAULT_RUBRIC.criteria):
        await reviews.set_score(db, held.id, criterion, 1, n + 1, now)  # 5 and 1: unsettled
    snapshot_taken, picked = asyncio.Event(), asyncio.Event()

    async def submit_in_an_old_snapshot(tx: Transaction) -> object:
        await tx.fetchval("SELECT COUNT(*) FROM assignments")  # the snapshot starts here
        snapshot_taken.set()
        await picked.wait()
        return await reviews._submit(tx, held.id, now)

    async def others_pick() -> None:
        await snapshot_taken.wait()
        # A new assignment after the snapshot, then trainer 3 passes item-1 while it is full:
        # their queue position moves past it, with a sequence the snapshot never saw.
        assert await assign_next_item(db, 4, now, lease) is not None
        third = await assign_next_item(db, 3, now, lease)
        assert third is not None and third.item_id != held.item_id
        picked.set()

    await asyncio.gather(db.write(submit_in_an_old_snapshot), others_pick())
    assert await state(db) == (2, 0, 1)  # item-1 wants one more review
    third_held = await reviews.get_active_assignment(db, 3)
    assert await reviews.skip_assignment(db, third_held.id, None)
    again = await assign_next_item(db, 3, now, lease)
    assert again is not None and again.item_id == held.item_id
    # The pick's turn dated the items given back (item-1, and item-2 by the skip).
    assert await db.fetchval("SELECT COUNT(*) FROM items WHERE reopened_seq = ?", (UNDATED,)) == 0
