"""Tests for bot/rewrite_review.py and storage/rewrite_reviews.py: which rewrite a reviewer gets
next (unsafe first, then oldest; never their own, a gold item's, a skipped or a decided one, nor
one open with another reviewer), the guarded open and each guarded step of a decision."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.review import ReviewService
from bot.rewrite_review import REASONS, RewriteReviews, UnknownBatch, may_review
from bot.rubric import DEFAULT_RUBRIC
from storage.database import Database
from storage.records import Trainer
from storage.rewrite_reviews import Decision, Step
from tests.conftest import FakeClock
from tests.factories import Settings, make_batch, make_trainer, review_fully

UNSAFE = DEFAULT_RUBRIC.flags.index("unsafe")


@pytest.fixture
def review(db: Database, settings: Settings, clock: FakeClock) -> ReviewService:
    return ReviewService(db, settings, clock)


@pytest.fixture
def reviews(db: Database, settings: Settings, clock: FakeClock) -> RewriteReviews:
    """Rewrites offered as soon as they are submitted (the correction window's test is below)."""
    return RewriteReviews(db, replace(settings, edit_window_minutes=0), clock)


async def write(
    review: ReviewService,
    clock: FakeClock,
    trainer: Trainer,
    rewrite: str | None,
    *flags: int,
) -> int:
    """The trainer's next item, with that rewrite (and flags), submitted a minute later than
    the one before; its assignment id."""
    clock.advance(minutes=1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    assignment = view.assignment.id
    for flag in flags:
        await review.set_flag(trainer, assignment, flag, True)
    if rewrite is not None:
        await review.texts.receive(
            trainer,
            (assignment, "rewrite"),
            rewrite,
            chat_id=trainer.chat_id,
            message_id=assignment,
        )
    await review_fully(review, trainer, assignment)
    return assignment


async def test_unsafe_first_then_oldest_never_own_nor_unrewritten(
    db: Database, review: ReviewService, reviews: RewriteReviews, clock: FakeClock
) -> None:
    await make_batch(db, "pilot", items=3, overlap=3)
    ana, budi = await make_trainer(db, 1), await make_trainer(db, 2)
    boss = await make_trainer(db, 9, role="coordinator")
    first = await write(review, clock, ana, "Better 1")
    await write(review, clock, ana, None)  # no rewrite: nothing to review
    third = await write(review, clock, ana, "Better 3")
    own = await write(review, clock, budi, "Budi's own")  # item-1
    unsafe = await write(review, clock, budi, "Budi on item 2", UNSAFE)  # item-2, flagged unsafe

    shown = await reviews.next_for(ana, None)
    assert shown is not None and shown.assignment_id == unsafe  # unsafe first, not her own
    assert shown.rewrite == "Budi on item 2" and shown.prompt == "Prompt 2"
    order = []
    while (next_one := await reviews.next_for(boss, None)) is not None:
        order.append(next_one.assignment_id)
        assert await reviews.skip(boss, next_one.assignment_id) is Step.DONE
    assert order == [first, third, own]  # the unsafe one is open in Ana's chat; oldest first
    for_budi = await reviews.next_for(budi, None)  # Ana holds the unsafe one; never his own
    assert for_budi is not None and for_budi.assignment_id == first


async def test_a_second_review_shows_the_same_rewrite_again(
    db: Database, review: ReviewService, reviews: RewriteReviews, clock: FakeClock
) -> None:
    await make_batch(db, "pilot", items=2, overlap=2)
    ana, boss = await make_trainer(db, 1), await make_trainer(db, 9, role="coordinator")
    await write(review, clock, ana, "One")
    await write(review, clock, ana, "Two")
    shown = await reviews.next_for(boss, None)
    again = await reviews.next_for(boss, None)
    assert shown is not None and again is not None
    assert again.assignment_id == shown.assignment_id  # one lock per reviewer, not two
    assert await db.fetchval("SELECT COUNT(*) FROM rewrite_reviews") == 1


async def test_the_lock_holds_until_it_runs_out_then_another_reviewer_takes_over(
    db: Database,
    review: ReviewService,
    reviews: RewriteReviews,
    clock: FakeClock,
    settings: Settings,
) -> None:
    await make_batch(db, "pilot", items=1, overlap=1)
    ana = await make_trainer(db, 1)
    boss, rina = await make_trainer(db, 9, role="coordinator"), await make_trainer(db, 2)
    rewrite = await write(review, clock, ana, "Mine")
    assert (await reviews.next_for(boss, None)).assignment_id == rewrite  # type: ignore[union-attr]
    assert await reviews.start_reject(boss, rewrite) is Step.DONE
    clock.advance(minutes=settings.review_lock_minutes - 1)
    assert await reviews.next_for(rina, None) is None
    clock.advance(minutes=1)
    taken = await reviews.next_for(rina, None)
    assert taken is not None and taken.assignment_id == rewrite
    # The first reviewer's buttons are stale now: nothing they tap changes the review.
    assert await reviews.choose_reason(boss, rewrite, 0) is Step.STALE
    assert await reviews.accept(boss, rewrite) is Step.STALE
    assert await reviews.skip(boss, rewrite) is Step.STALE
    row = await db.fetchone("SELECT status, reviewer_id FROM rewrite_reviews")
    assert tuple(row) == ("open", rina.user_id)


async def test_skipped_decided_and_gold_rewrites_are_not_offered(
    db: Database, review: ReviewService, reviews: RewriteReviews, clock: FakeClock
) -> None:
    await make_batch(db, "pilot", items=3, overlap=1)
    ana, boss = await make_trainer(db, 1), await make_trainer(db, 9, role="coordinator")
    rina = await make_trainer(db, 2)
    skipped = await write(review, clock, ana, "Skipped by the boss")
    decided = await write(review, clock, ana, "Accepted by Rina")
    gold = await write(review, clock, ana, "On a gold item")
    await db.execute(
        "UPDATE items SET complete = 2 WHERE id = (SELECT item_id FROM assignments WHERE id = ?)",
        (gold,),
    )
    assert (await reviews.next_for(boss, None)).assignment_id == skipped  # type: ignore[union-attr]
    assert await reviews.skip(boss, skipped) is Step.DONE
    assert await reviews.skip(boss, skipped) is Step.STALE  # a double tap changes nothing
    assert (await reviews.next_for(rina, None)).assignment_id == skipped  # type: ignore[union-attr]
    assert await reviews.skip(rina, skipped) is Step.DONE
    assert (await reviews.next_for(rina, None)).assignment_id == decided  # type: ignore[union-attr]
    assert isinstance(await reviews.accept(rina, decided), Decision)
    assert await reviews.next_for(boss, None) is None  # skipped, decided, gold: nothing left
    assert await db.fetchval("SELECT COUNT(*) FROM rewrite_skips") == 2


async def test_the_batch_filter_and_an_unknown_batch(
    db: Database, review: ReviewService, reviews: RewriteReviews, clock: FakeClock
) -> None:
    await make_batch(db, "first", items=1, overlap=1, priority=1)
    second = await make_batch(db, "second", items=1, overlap=1)
    ana, boss = await make_trainer(db, 1), await make_trainer(db, 9, role="coordinator")
    await write(review, clock, ana, "In first")
    in_second = await write(review, clock, ana, "In second")
    assert await reviews.batch_id("second") == second
    shown = await reviews.next_for(boss, second)
    assert shown is not None and shown.assignment_id == in_second and shown.batch_name == "second"
    with pytest.raises(UnknownBatch):
        await reviews.batch_id("nope")


async def test_two_reviewers_at_once_never_get_the_same_rewrite(
    db: Database, review: ReviewService, reviews: RewriteReviews, clock: FakeClock
) -> None:
    await make_batch(db, "pilot", items=1, overlap=1)
    ana = await make_trainer(db, 1)
    boss, rina = await make_trainer(db, 9, role="coordinator"), await make_trainer(db, 2)
    await write(review, clock, ana, "Only one")
    got = await asyncio.gather(reviews.next_for(boss, None), reviews.next_for(rina, None))
    assert sum(found is not None for found in got) == 1


async def test_reject_with_a_reason_and_a_comment_closes_the_judgment(
    db: Database, review: ReviewService, reviews: RewriteReviews, clock: FakeClock
) -> None:
    await make_batch(db, "pilot", items=1, overlap=1)
    ana = await make_trainer(db, 1, language="id")
    boss = await make_trainer(db, 9, role="coordinator")
    rewrite = await write(review, clock, ana, "Mine")
    await reviews.next_for(boss, None)
    assert await reviews.choose_reason(boss, rewrite, 0) is Step.STALE  # Reject not tapped yet
    assert await reviews.reject(boss, rewrite, "x") is Step.STALE
    assert await reviews.start_reject(boss, rewrite) is Step.DONE
    assert await reviews.choose_reason(boss, rewrite, len(REASONS)) is Step.MISSING  # forged
    assert await reviews.choose_reason(boss, rewrite, 1) is Step.DONE
    assert await reviews.remember_question(boss, rewrite, 555) is Step.DONE
    assert await reviews.asking_comment(boss, 555) == (rewrite, "comment")
    assert await reviews.asking_comment(ana, 555) is None
    decision = await reviews.reject(boss, rewrite, "Cek lagi <faktanya>")
    assert isinstance(decision, Decision)
    assert (decision.accepted, decision.reason, decision.comment) == (
        False,
        REASONS[1],
        "Cek lagi <faktanya>",
    )
    assert (decision.writer_id, decision.writer_language) == (ana.user_id, "id")
    assert await reviews.reject(boss, rewrite, "again") is Step.STALE
    reviewed = await db.fetchval(
        "SELECT reviewed_at FROM judgments WHERE assignment_id = ?", (rewrite,)
    )
    assert reviewed is not None  # the writer can no longer change the text that was judged
    assert await reviews.accept(boss, 999_999) is Step.MISSING


async def test_who_may_review_and_reviewer_changes_are_audited(
    db: Database, reviews: RewriteReviews
) -> None:
    ana = await make_trainer(db, 1)
    boss = await make_trainer(db, 9, role="coordinator")
    assert may_review(boss) and not may_review(ana) and not may_review(None)
    assert await reviews.set_reviewer(ana.user_id, True, actor_id=boss.user_id)
    assert not await reviews.set_reviewer(ana.user_id, True, actor_id=boss.user_id)
    assert may_review(replace(ana, reviewer=True))
    assert await db.fetchval("SELECT reviewer FROM trainers WHERE user_id = 1") == 1
    assert await reviews.set_reviewer(ana.user_id, False, actor_id=boss.user_id)
    rows = await db.fetchall("SELECT actor_id, action, target, detail FROM audit_log")
    assert [tuple(row) for row in rows if row[1] == "trainer.reviewer"] == [
        (9, "trainer.reviewer", "trainer:1", "off -> on"),
        (9, "trainer.reviewer", "trainer:1", "on -> off"),
    ]


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_long_rewrite_is_split_under_telegrams_limit_with_nothing_lost(language: str) -> None:
    from handlers.rewrite_review import render_rewrite
    from handlers.text_split import MESSAGE_LIMIT, visible_len
    from storage.rewrite_reviews import Rewrite

    turn = {"role": "assistant", "content": "Earlier answer " * 50}
    rewrite = Rewrite(
        assignment_id=1,
        writer_id=1,
        batch_name="pilot",
        external_id="q1",
        prompt="Why? " * 900,
        response="Because. " * 600,
        context=(turn,),
        rewrite="Better & <clearer>. " * 300,
        note="A note",
    )
    parts = render_rewrite(rewrite, language)
    assert len(parts) > 1
    assert all(visible_len(part) <= MESSAGE_LIMIT for part in parts)
    shown = "".join(parts)
    assert shown.count("Better &amp; &lt;clearer&gt;.") == 300  # escaped, none cut away
    assert shown.count("Because.") == 600 and "A note" in shown


async def test_a_rewrite_is_offered_only_once_its_writer_can_no_longer_correct_it(
    db: Database, review: ReviewService, clock: FakeClock, settings: Settings
) -> None:
    await make_batch(db, "pilot", items=1, overlap=1)
    ana, boss = await make_trainer(db, 1), await make_trainer(db, 9, role="coordinator")
    reviews = RewriteReviews(db, settings, clock)  # EDIT_WINDOW_MINUTES as set
    rewrite = await write(review, clock, ana, "Still mine to fix")
    clock.advance(minutes=settings.edit_window_minutes, seconds=-1)
    assert await reviews.next_for(boss, None) is None  # she may still correct it
    clock.advance(seconds=1)
    shown = await reviews.next_for(boss, None)
    assert shown is not None and shown.assignment_id == rewrite


async def test_a_decision_on_a_text_corrected_after_the_review_opened_is_stale(
    db: Database, review: ReviewService, reviews: RewriteReviews, clock: FakeClock
) -> None:
    """The review opened at once (no window here), and the writer, still within the texts'
    window, corrected the rewrite: the reviewer never read the new text, so nothing changes."""
    await make_batch(db, "pilot", items=1, overlap=1)
    ana, boss = await make_trainer(db, 1), await make_trainer(db, 9, role="coordinator")
    rewrite = await write(review, clock, ana, "First text")
    shown = await reviews.next_for(boss, None)
    assert shown is not None and shown.rewrite == "First text"
    clock.advance(seconds=5)
    await review.texts.receive(
        ana, (rewrite, "rewrite"), "Second text", chat_id=ana.chat_id, message_id=77
    )
    assert await reviews.accept(boss, rewrite) is Step.STALE
    assert await db.fetchval("SELECT status FROM rewrite_reviews") == "open"
    assert await db.fetchval("SELECT reviewed_at FROM judgments") is None


async def test_a_decision_never_told_is_claimed_once_after_a_minute(
    db: Database, review: ReviewService, reviews: RewriteReviews, clock: FakeClock
) -> None:
    await make_batch(db, "pilot", items=2, overlap=1)
    ana, boss = await make_trainer(db, 1), await make_trainer(db, 9, role="coordinator")
    told = await write(review, clock, ana, "Told at once")
    untold = await write(review, clock, ana, "Never told")
    for assignment in (told, untold):
        assert (await reviews.next_for(boss, None)).assignment_id == assignment  # type: ignore[union-attr]
        assert isinstance(await reviews.accept(boss, assignment), Decision)
    assert await reviews.claim_notice(told) and not await reviews.claim_notice(told)
    clock.advance(seconds=59)
    assert await reviews.claim_untold(clock(), limit=10) == []
    clock.advance(seconds=2)
    (claimed,) = await reviews.claim_untold(clock(), limit=10)
    assert (claimed.assignment_id, claimed.accepted, claimed.writer_id) == (untold, True, 1)
    assert await reviews.claim_untold(clock(), limit=10) == []
    assert not await reviews.claim_notice(untold)
