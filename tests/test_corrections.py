"""Undo after Submit, as a service: slots, counts, the one open item, revisions, first answers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.config import Settings
from bot.corrections import CorrectionService, Undo
from bot.review import AssignmentRefused, Refusal, ReviewService
from handlers.callback_data import Action, decode
from handlers.corrections import undo_keyboard
from storage.corrections import HELD
from storage.database import Database
from storage.records import Trainer
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully


@pytest.fixture
def review(db: Database, settings: Settings, clock: FakeClock) -> ReviewService:
    return ReviewService(db, settings, clock)


@pytest.fixture
def corrections(
    db: Database, settings: Settings, review: ReviewService, clock: FakeClock
) -> CorrectionService:
    return CorrectionService(db, settings, review, clock)


async def submitted(review: ReviewService, trainer: Trainer, score: int = 4) -> int:
    """Lease the trainer's next item, score every criterion with `score`, submit; its id."""
    view, _ = await review.next_item(trainer)
    assert view is not None
    for index, _ in enumerate(view.rubric.criteria):
        await review.score(trainer, view.assignment.id, index, score)
    _, missing = await review.submit(trainer, view.assignment.id)
    assert missing is None
    return view.assignment.id


async def item_counts(db: Database) -> list[tuple[int, int]]:
    rows = await db.fetchall("SELECT done_count, complete FROM items ORDER BY id")
    return [tuple(row) for row in rows]


async def test_undo_reopens_the_judgment_as_a_draft_that_keeps_its_slot(
    db: Database, review: ReviewService, corrections: CorrectionService
) -> None:
    await make_batch(db, items=1, overlap=1)
    alice = await make_trainer(db, 1)
    assignment = await submitted(review, alice)
    assert await item_counts(db) == [(1, 1)]

    result = await corrections.undo(alice, assignment)

    assert result.outcome is Undo.REOPENED
    assert result.view is None  # never delivered to a chat: no panel to show
    row = await db.fetchone(
        "SELECT status, lease_expires_at, reopened_at FROM assignments WHERE id = ?", (assignment,)
    )
    assert (row["status"], row["lease_expires_at"]) == ("active", HELD)
    assert row["reopened_at"] is not None
    # The review became a live lease: reviews plus leases stay at the overlap.
    assert await item_counts(db) == [(0, 0)]
    revision = await db.fetchone("SELECT field, replaced FROM judgment_revisions")
    assert revision["field"] == "judgment"
    replaced = json.loads(revision["replaced"])
    assert replaced["scores"] == {
        "accuracy": 4,
        "helpfulness": 4,
        "language": 4,
        "safety": 4,
    }
    assert replaced["flags"] == [] and replaced["late"] is False
    assert replaced["submitted_at"] == "2026-11-25T03:00:00.000000+00:00"


async def test_nobody_else_gets_a_reopened_item_even_long_after_its_lease(
    db: Database, review: ReviewService, corrections: CorrectionService, clock: FakeClock
) -> None:
    await make_batch(db, items=1, overlap=1)
    alice, bob = await make_trainer(db, 1), await make_trainer(db, 2)
    assignment = await submitted(review, alice)
    await corrections.undo(alice, assignment)
    clock.advance(hours=5)  # far past LEASE_MINUTES (30)
    nothing, _ = await review.next_item(bob)
    assert nothing is None
    again, resumed = await review.next_item(alice)  # /next: the reopened one, lease not shortened
    assert again is not None and resumed and again.assignment.id == assignment
    assert await db.fetchval("SELECT lease_expires_at FROM assignments") == HELD
    _, missing = await review.submit(alice, assignment)
    assert missing is None
    assert await item_counts(db) == [(1, 1)]
    nothing, _ = await review.next_item(bob)
    assert nothing is None


async def test_an_undo_does_not_block_a_slot_that_is_still_free(
    db: Database, review: ReviewService, corrections: CorrectionService
) -> None:
    await make_batch(db, items=1, overlap=2)
    alice, bob, carol = [await make_trainer(db, uid) for uid in (1, 2, 3)]
    assignment = await submitted(review, alice)
    await corrections.undo(alice, assignment)
    given, _ = await review.next_item(bob)
    assert given is not None  # one review wanted besides Alice's
    nothing, _ = await review.next_item(carol)
    assert nothing is None  # Alice's reopened draft and Bob's lease fill the overlap
    await review_fully(review, bob, given.assignment.id)
    await review.submit(alice, assignment)
    assert await item_counts(db) == [(2, 1)]


async def test_resubmit_counts_once_and_marks_the_judgment_revised(
    db: Database, review: ReviewService, corrections: CorrectionService, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    alice = await make_trainer(db, 1)
    assignment = await submitted(review, alice)
    assert await review.done_today(alice) == 1
    clock.advance(minutes=3)
    await corrections.undo(alice, assignment)
    assert await review.done_today(alice) == 0  # a draft again
    await review.score(alice, assignment, 0, 2)
    clock.advance(minutes=1)
    _, missing = await review.submit(alice, assignment)
    assert missing is None
    assert await review.done_today(alice) == 1
    assert (await review.stats(alice)).total == 1
    assert await item_counts(db) == [(1, 1), (0, 0)]
    row = await db.fetchone(
        "SELECT a.status, a.reopened_at, a.late, j.revised_at FROM assignments a"
        " JOIN judgments j ON j.assignment_id = a.id WHERE a.id = ?",
        (assignment,),
    )
    assert tuple(row) == ("submitted", None, 0, "2026-11-25T03:04:00.000000+00:00")
    assert await db.fetchval("SELECT score FROM scores WHERE criterion = 'accuracy'") == 2
    with pytest.raises(AssignmentRefused) as refused:  # Submit a third time: refused
        await review.submit(alice, assignment)
    assert refused.value.reason is Refusal.SUBMITTED


async def test_the_reopened_item_is_the_open_one_and_the_next_item_stays_the_trainers(
    db: Database, review: ReviewService, corrections: CorrectionService
) -> None:
    await make_batch(db, items=3, overlap=1)
    alice = await make_trainer(db, 1)
    first = await submitted(review, alice)
    sent, _ = await review.next_item(alice)  # the item sent after the Submit
    assert sent is not None
    await corrections.undo(alice, first)
    shown, resumed = await review.next_item(alice)
    assert shown is not None and resumed and shown.assignment.id == first
    await review.submit(alice, first)
    shown, resumed = await review.next_item(alice)
    assert shown is not None and resumed and shown.assignment.id == sent.assignment.id
    assert await db.fetchval("SELECT COUNT(*) FROM assignments") == 2  # nothing new leased


async def test_a_new_item_waits_until_both_open_items_are_done(
    db: Database, review: ReviewService, corrections: CorrectionService
) -> None:
    await make_batch(db, items=3, overlap=1)
    alice = await make_trainer(db, 1)
    first = await submitted(review, alice)
    sent, _ = await review.next_item(alice)
    assert sent is not None
    await corrections.undo(alice, first)
    await review_fully(review, alice, sent.assignment.id)  # the newer one first, from its panel
    shown, resumed = await review.next_item(alice)
    assert shown is not None and resumed and shown.assignment.id == first
    await review.submit(alice, first)
    fresh, resumed = await review.next_item(alice)
    assert fresh is not None and not resumed and fresh.item.external_id == "item-3"


async def test_too_late_after_the_window_and_once_reviewed(
    db: Database, review: ReviewService, corrections: CorrectionService, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    alice = await make_trainer(db, 1)
    early = await submitted(review, alice)
    late = await submitted(review, alice)
    await db.execute("UPDATE judgments SET reviewed_at = ? WHERE assignment_id = ?", ("x", early))
    assert (await corrections.undo(alice, early)).outcome is Undo.REVIEWED
    clock.advance(minutes=10)  # EDIT_WINDOW_MINUTES = 10: the window is over
    assert (await corrections.undo(alice, late)).outcome is Undo.TOO_LATE
    assert await db.fetchval("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 2
    assert await db.fetchval("SELECT COUNT(*) FROM judgment_revisions") == 0
    assert await item_counts(db) == [(1, 1), (1, 1)]


async def test_no_undo_when_the_window_is_zero(
    db: Database, settings: Settings, review: ReviewService, clock: FakeClock
) -> None:
    off = CorrectionService(db, replace(settings, edit_window_minutes=0), review, clock)
    await make_batch(db, items=1, overlap=1)
    alice = await make_trainer(db, 1)
    assignment = await submitted(review, alice)
    assert (await off.undo(alice, assignment)).outcome is Undo.TOO_LATE


async def test_a_second_undo_changes_nothing(
    db: Database, review: ReviewService, corrections: CorrectionService
) -> None:
    await make_batch(db, items=1, overlap=1)
    alice = await make_trainer(db, 1)
    assignment = await submitted(review, alice)
    assert (await corrections.undo(alice, assignment)).outcome is Undo.REOPENED
    assert (await corrections.undo(alice, assignment)).outcome is Undo.OPEN
    assert await db.fetchval("SELECT COUNT(*) FROM judgment_revisions") == 1
    assert await item_counts(db) == [(0, 0)]


async def test_undo_of_someone_elses_or_a_skipped_item_is_refused(
    db: Database, review: ReviewService, corrections: CorrectionService
) -> None:
    await make_batch(db, items=2, overlap=2)
    alice, bob = await make_trainer(db, 1), await make_trainer(db, 2)
    assignment = await submitted(review, alice)
    with pytest.raises(AssignmentRefused) as refused:
        await corrections.undo(bob, assignment)
    assert refused.value.reason is Refusal.NOT_YOURS
    view, _ = await review.next_item(bob)
    assert view is not None
    await review.skip(bob, view.assignment.id, "none")
    with pytest.raises(AssignmentRefused) as refused:
        await corrections.undo(bob, view.assignment.id)
    assert refused.value.reason is Refusal.SKIPPED
    with pytest.raises(AssignmentRefused) as refused:
        await corrections.undo(bob, 999)
    assert refused.value.reason is Refusal.MISSING
    assert await db.fetchval("SELECT COUNT(*) FROM judgment_revisions") == 0


async def test_a_late_submission_stays_late_after_undo(
    db: Database, review: ReviewService, corrections: CorrectionService, clock: FakeClock
) -> None:
    await make_batch(db, items=1, overlap=1)
    alice = await make_trainer(db, 1)
    view, _ = await review.next_item(alice)
    assert view is not None
    clock.advance(minutes=45)  # past the lease: the Submit is late
    await review_fully(review, alice, view.assignment.id)
    assert await db.fetchval("SELECT late FROM assignments") == 1
    await corrections.undo(alice, view.assignment.id)
    await review.submit(alice, view.assignment.id)
    assert await db.fetchval("SELECT late FROM assignments") == 1


async def test_skipping_a_reopened_item_gives_its_slot_up(
    db: Database, review: ReviewService, corrections: CorrectionService
) -> None:
    await make_batch(db, items=1, overlap=1)
    alice, bob = await make_trainer(db, 1), await make_trainer(db, 2)
    assignment = await submitted(review, alice)
    await corrections.undo(alice, assignment)
    await review.skip(alice, assignment, "expertise")  # e.g. it was not in her language
    given, _ = await review.next_item(bob)
    assert given is not None and given.item.external_id == "item-1"
    first = await corrections.first_answer(assignment)
    assert first is not None and first.scores["accuracy"] == 4  # what she submitted is kept


async def test_first_answer_is_what_the_first_submit_said(
    db: Database, review: ReviewService, corrections: CorrectionService, clock: FakeClock
) -> None:
    await make_batch(db, items=3, overlap=1)
    await db.execute("UPDATE items SET gold = ?", (json.dumps({"accuracy": [4, 5]}),))
    alice = await make_trainer(db, 1)
    never = await submitted(review, alice, score=5)
    undone = await submitted(review, alice, score=5)
    draft, _ = await review.next_item(alice)
    assert draft is not None
    assert await corrections.first_answer(draft.assignment.id) is None  # not submitted yet

    await db.execute(
        "UPDATE judgments SET rewrite = 'first words', note = 'n' WHERE assignment_id = ?",
        (undone,),
    )
    # A corrected rewrite after Submit, as storage/texts.py keeps it: a 'rewrite' revision.
    await db.execute(
        "INSERT INTO judgment_revisions (assignment_id, field, replaced, created_at)"
        " VALUES (?, 'rewrite', 'first words', '2026-11-25T03:01:00.000000+00:00')",
        (undone,),
    )
    await db.execute(
        "UPDATE judgments SET rewrite = 'second words' WHERE assignment_id = ?", (undone,)
    )
    clock.advance(minutes=2)
    await corrections.undo(alice, undone)
    await review.score(alice, undone, 0, 1)
    await review.set_flag(alice, undone, 0, True)
    await review.submit(alice, undone)
    clock.advance(minutes=1)
    await corrections.undo(alice, undone)  # a second Undo: the first answer stays the first
    await review.score(alice, undone, 1, 1)
    await review.submit(alice, undone)

    first = await corrections.first_answer(undone)
    assert first is not None
    assert first.scores == {"accuracy": 5, "helpfulness": 5, "language": 5, "safety": 5}
    assert first.flags == frozenset()
    assert (first.rewrite, first.note) == ("first words", "n")
    assert first.submitted_at == "2026-11-25T03:00:00.000000+00:00"
    kept = await corrections.first_answer(never)
    assert kept is not None and kept.scores["accuracy"] == 5 and kept.rewrite is None
    current = await db.fetchval(
        "SELECT score FROM scores WHERE assignment_id = ? AND criterion = 'accuracy'", (undone,)
    )
    assert current == 1  # the judgment itself has the correction


def test_the_undo_button_names_the_window_and_is_gone_when_corrections_are_off() -> None:
    markup = undo_keyboard(812, "id", 10)
    assert markup is not None
    [[button]] = markup.inline_keyboard
    assert button.text == "↩️ Urungkan · 10 mnt"
    assert decode(button.callback_data).action is Action.UNDO
    assert decode(button.callback_data).assignment_id == 812
    assert undo_keyboard(812, "en", 0) is None
