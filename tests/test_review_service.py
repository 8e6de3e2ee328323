"""The review service: who gets which item, leases, and what a trainer's actions store."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.review import AssignmentRefused, Refusal, ReviewService
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully


@pytest.fixture
def review(db: Database, settings: Settings, clock: FakeClock) -> ReviewService:
    return ReviewService(db, settings, clock)


async def test_an_item_leaves_the_queue_after_overlap_reviews(
    review: ReviewService, db: Database
) -> None:
    await make_batch(db, items=1, overlap=2)
    alice, bob, carol = [await make_trainer(db, uid) for uid in (1, 2, 3)]
    for trainer in (alice, bob):
        view, _ = await review.next_item(trainer)
        assert view is not None and view.item.external_id == "item-1"
        await review_fully(review, trainer, view.assignment.id)
    view, _ = await review.next_item(carol)
    assert view is None
    assert await db.fetchval("SELECT complete FROM items") == 1


async def test_a_trainer_never_gets_the_same_item_twice(
    review: ReviewService, db: Database
) -> None:
    await make_batch(db, items=3, overlap=3)
    trainer = await make_trainer(db, 1)
    seen = []
    while True:
        view, _ = await review.next_item(trainer)
        if view is None:
            break
        seen.append(view.item.external_id)
        await review_fully(review, trainer, view.assignment.id)
    assert seen == ["item-1", "item-2", "item-3"]


async def test_one_active_item_at_a_time(review: ReviewService, db: Database) -> None:
    await make_batch(db, items=3)
    trainer = await make_trainer(db, 1)
    first, resumed = await review.next_item(trainer)
    again, resumed_again = await review.next_item(trainer)
    assert first is not None and again is not None
    assert (resumed, resumed_again) == (False, True)
    assert again.assignment.id == first.assignment.id


async def test_a_held_item_is_not_handed_to_more_trainers_than_overlap(
    review: ReviewService, db: Database
) -> None:
    await make_batch(db, items=2, overlap=1)
    alice, bob, carol = [await make_trainer(db, uid) for uid in (1, 2, 3)]
    a, _ = await review.next_item(alice)
    b, _ = await review.next_item(bob)
    c, _ = await review.next_item(carol)
    assert a is not None and b is not None
    assert a.item.external_id != b.item.external_id
    assert c is None


async def test_an_expired_lease_frees_the_slot_and_a_late_submit_is_kept(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=1, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    held, _ = await review.next_item(slow)
    assert held is not None
    nothing, _ = await review.next_item(fast)
    assert nothing is None
    clock.advance(minutes=31)
    taken, _ = await review.next_item(fast)
    assert taken is not None and taken.item.id == held.item.id
    await review_fully(review, fast, taken.assignment.id)
    await review_fully(review, slow, held.assignment.id)  # late, after the lease: still kept
    rows = await db.fetchall("SELECT trainer_id, status, late FROM assignments ORDER BY trainer_id")
    assert [tuple(row) for row in rows] == [(1, "submitted", 1), (2, "submitted", 0)]
    assert await db.fetchval("SELECT done_count FROM items") == 2


async def test_an_expired_lease_is_renewed_when_the_item_still_needs_the_trainer(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    trainer = await make_trainer(db, 1)
    first, _ = await review.next_item(trainer)
    clock.advance(hours=2)
    again, resumed = await review.next_item(trainer)
    assert first is not None and again is not None and resumed
    assert again.assignment.id == first.assignment.id


async def test_skipped_items_never_come_back(review: ReviewService, db: Database) -> None:
    await make_batch(db, items=2, overlap=1)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    await review.skip(trainer, view.assignment.id, "expertise")
    after, _ = await review.next_item(trainer)
    assert after is not None and after.item.external_id == "item-2"
    await review.skip(trainer, after.assignment.id, "none")
    done, _ = await review.next_item(trainer)
    assert done is None
    with pytest.raises(AssignmentRefused) as refused:
        await review.skip(trainer, view.assignment.id, "none")
    assert refused.value.reason is Refusal.SKIPPED


async def test_scores_flags_and_texts_make_one_judgment(
    review: ReviewService, db: Database
) -> None:
    await make_batch(db, items=1)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    aid = view.assignment.id
    await review.score(trainer, aid, 0, 2)
    await review.score(trainer, aid, 0, 3)  # changed their mind
    view, flag = await review.set_flag(trainer, aid, 0, True)
    await review.set_flag(trainer, aid, 0, True)  # double tap: same state
    await review.set_text(trainer, aid, "rewrite", "Better", chat_id=1, message_id=50)
    await review.set_text(trainer, aid, "note", "Too short", chat_id=1, message_id=51)
    assert view.draft.scores == {"accuracy": 3} and flag == "factual_error"
    _, missing = await review.submit(trainer, aid)
    assert missing == "language"
    for index in (1, 2, 3):
        await review.score(trainer, aid, index, 5)
    final, missing = await review.submit(trainer, aid)
    assert missing is None
    assert final.draft.scores == {"accuracy": 3, "language": 5, "safety": 5, "helpfulness": 5}
    assert final.draft.flags == {"factual_error"}
    assert (final.draft.rewrite, final.draft.note) == ("Better", "Too short")
    with pytest.raises(AssignmentRefused) as refused:
        await review.submit(trainer, aid)
    assert refused.value.reason is Refusal.SUBMITTED
    assert await db.fetchval("SELECT done_count FROM items") == 1


async def test_scoring_moves_on_to_the_next_unscored_criterion(
    review: ReviewService, db: Database
) -> None:
    await make_batch(db, items=1)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None and view.criterion == "accuracy"
    view = await review.score(trainer, view.assignment.id, 0, 4)
    assert view.criterion == "language"
    view = await review.choose_criterion(trainer, view.assignment.id, 0)
    assert view.criterion == "accuracy"
    for index in (0, 1, 2, 3):
        view = await review.score(trainer, view.assignment.id, index, 5)
    assert view.criterion is None


async def test_another_trainers_assignment_is_refused(review: ReviewService, db: Database) -> None:
    await make_batch(db, items=1)
    owner, intruder = await make_trainer(db, 1), await make_trainer(db, 2)
    view, _ = await review.next_item(owner)
    assert view is not None
    with pytest.raises(AssignmentRefused) as refused:
        await review.score(intruder, view.assignment.id, 0, 1)
    assert refused.value.reason is Refusal.NOT_YOURS
    assert await db.fetchval("SELECT COUNT(*) FROM scores") == 0


async def test_out_of_range_scores_are_refused(review: ReviewService, db: Database) -> None:
    await make_batch(db, items=1)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    for criterion, score in ((0, 0), (0, 6), (9, 3)):
        with pytest.raises(AssignmentRefused):
            await review.score(trainer, view.assignment.id, criterion, score)
    assert await db.fetchval("SELECT COUNT(*) FROM scores") == 0


async def test_higher_priority_batches_come_first(review: ReviewService, db: Database) -> None:
    await make_batch(db, "low", items=1, priority=0)
    await make_batch(db, "high", items=1, priority=5)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None and view.item.batch_name == "high"


async def test_stats_count_today_and_total(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=3, overlap=1)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    await review_fully(review, trainer, view.assignment.id)
    clock.advance(days=1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    await review_fully(review, trainer, view.assignment.id)
    stats = await review.stats(trainer)
    assert (stats.today, stats.total, stats.quota) == (1, 2, 5)


async def test_a_paused_or_closed_batch_hands_out_nothing_but_held_items_still_submit(
    review: ReviewService, db: Database
) -> None:
    from bot.batches import change_batch

    batch_id = await make_batch(db, items=3, overlap=1)
    holder, newcomer = await make_trainer(db, 1), await make_trainer(db, 2)
    held, _ = await review.next_item(holder)
    assert held is not None
    for operation in ("pause", "close"):
        await change_batch(db, batch_id, operation, actor_id=9000)
        nothing, _ = await review.next_item(newcomer)
        assert nothing is None
    await review_fully(review, holder, held.assignment.id)
    assert await db.fetchval(
        "SELECT status FROM assignments WHERE id = ?", (held.assignment.id,)
    ) == ("submitted")
    await change_batch(db, batch_id, "resume", actor_id=9000)
    again, _ = await review.next_item(newcomer)
    assert again is not None


async def test_a_renewed_lease_never_over_assigns_an_item(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    held, _ = await review.next_item(slow)
    assert held is not None
    clock.advance(minutes=31)
    taken, _ = await review.next_item(fast)  # the expired lease freed the slot
    assert taken is not None and taken.item.id == held.item.id
    back, resumed = await review.next_item(slow)  # the item is taken now: a different one
    assert back is not None and not resumed and back.item.id != held.item.id
    statuses = await db.fetchall(
        "SELECT status FROM assignments WHERE item_id = ?", (held.item.id,)
    )
    assert sorted(row[0] for row in statuses) == ["active", "expired"]
