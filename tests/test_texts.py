"""The texts service (bot/texts.py, storage/texts.py) without Telegram: parts, corrections and
their revisions, and what is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import cycle

import pytest

from bot.config import Settings
from bot.review import ReviewService
from bot.texts import (
    CLIENT_SPLIT,
    MAX_CHARS,
    Mode,
    Refused,
    TextRefused,
    Texts,
    TextTooLong,
    join_parts,
)
from storage import texts as text_store
from storage import updates
from storage.database import Database, current_request
from storage.records import Trainer
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully

CHAT = 1


@pytest.fixture
def review(db: Database, settings: Settings, clock: FakeClock) -> ReviewService:
    return ReviewService(db, settings, clock)


@pytest.fixture
def texts(review: ReviewService) -> Texts:
    return review.texts


async def open_item(
    db: Database, review: ReviewService, user_id: int = CHAT
) -> tuple[Trainer, int]:
    await make_batch(db, items=2, overlap=2)
    trainer = await make_trainer(db, user_id)
    view, _ = await review.next_item(trainer)
    assert view is not None
    return trainer, view.assignment.id


def processes(db: Database, settings: Settings, clock: FakeClock, count: int) -> Iterator[Texts]:
    """`count` texts services on one database, each with its own memory as each bot process
    has; every next message goes to the next one, as webhook updates may."""
    return cycle([Texts(db, settings, clock) for _ in range(count)])


async def revisions(db: Database, assignment: int) -> list[tuple]:
    rows = await db.fetchall(
        "SELECT field, replaced FROM judgment_revisions WHERE assignment_id = ? ORDER BY id",
        (assignment,),
    )
    return [tuple(row) for row in rows]


async def stored(db: Database, assignment: int) -> str | None:
    return await db.fetchval("SELECT rewrite FROM judgments WHERE assignment_id = ?", (assignment,))


def test_parts_cut_at_the_limit_join_exactly_and_others_on_a_new_line() -> None:
    full, short = "a" * 4096, "b" * 10
    assert join_parts([full, full, short]) == full + full + short
    pair_cut = "c" * (CLIENT_SPLIT - 1) + "😀"  # 4095 units + 1: the app stopped before a pair
    assert join_parts(["c" * CLIENT_SPLIT, "d"]) == "c" * CLIENT_SPLIT + "d"
    assert join_parts([pair_cut[:-1], "x"]) == pair_cut[:-1] + "\nx"
    assert join_parts(["One.", "Two."]) == "One.\nTwo."
    assert join_parts([]) == ""


async def test_parts_join_within_three_seconds_and_not_after(
    db: Database, review: ReviewService, texts: Texts, clock: FakeClock
) -> None:
    trainer, assignment = await open_item(db, review)
    target = (assignment, "rewrite")
    first = await texts.receive(trainer, target, "A", chat_id=CHAT, message_id=10)
    clock.advance(seconds=3)
    second = await texts.receive(trainer, None, "B", chat_id=CHAT, message_id=11)
    assert first is not None and second is not None
    assert (first.mode, second.mode, second.result.parts) == (Mode.NEW, Mode.JOIN, 2)
    assert await stored(db, assignment) == "A\nB"
    clock.advance(seconds=3.001)
    assert await texts.receive(trainer, None, "C", chat_id=CHAT, message_id=12) is None
    third = await texts.receive(trainer, target, "D", chat_id=CHAT, message_id=13)
    assert third is not None and third.mode is Mode.NEW and third.result.replaced
    assert await stored(db, assignment) == "D"
    assert await db.fetchval("SELECT COUNT(*) FROM text_parts") == 1


async def test_messages_sent_minutes_apart_are_not_joined_when_handled_at_once(
    db: Database, review: ReviewService, texts: Texts, clock: FakeClock
) -> None:
    """A backlog after a restart is handled within milliseconds: Telegram's dates decide."""
    trainer, assignment = await open_item(db, review)
    target = (assignment, "rewrite")
    sent = clock()
    await texts.receive(trainer, target, "A", chat_id=CHAT, message_id=10, sent_at=sent)
    joined = await texts.receive(
        trainer, target, "B", chat_id=CHAT, message_id=11, sent_at=sent + timedelta(seconds=1)
    )
    assert joined is not None and joined.mode is Mode.JOIN
    later = sent + timedelta(minutes=5)  # typed five minutes later, handled at the same moment
    replacing = await texts.receive(
        trainer, target, "C", chat_id=CHAT, message_id=12, sent_at=later
    )
    assert replacing is not None and replacing.mode is Mode.NEW and replacing.result.replaced
    assert await stored(db, assignment) == "C"


async def test_a_text_continued_across_submit_keeps_one_revision(
    db: Database, review: ReviewService, texts: Texts, clock: FakeClock
) -> None:
    trainer, assignment = await open_item(db, review)
    await texts.receive(trainer, (assignment, "rewrite"), "A", chat_id=CHAT, message_id=10)
    await review_fully(review, trainer, assignment)
    clock.advance(seconds=1)
    joined = await texts.receive(trainer, None, "B", chat_id=CHAT, message_id=11)
    assert joined is not None and joined.result.revised and joined.result.submitted
    more = await texts.receive(trainer, None, "C", chat_id=CHAT, message_id=12)
    assert more is not None and not more.result.revised  # the same correction
    assert await stored(db, assignment) == "A\nB\nC"
    assert await revisions(db, assignment) == [("rewrite", "A")]


async def test_a_correction_begun_after_submit_keeps_the_submitted_text_once(
    db: Database, review: ReviewService, texts: Texts, clock: FakeClock
) -> None:
    trainer, assignment = await open_item(db, review)
    await texts.receive(trainer, (assignment, "rewrite"), "Old", chat_id=CHAT, message_id=10)
    await review_fully(review, trainer, assignment)
    clock.advance(minutes=1)
    await texts.receive(trainer, (assignment, "rewrite"), "New 1", chat_id=CHAT, message_id=20)
    await texts.receive(trainer, None, "New 2", chat_id=CHAT, message_id=21)
    assert await revisions(db, assignment) == [("rewrite", "Old")]
    revised_at = await db.fetchval(
        "SELECT revised_at FROM judgments WHERE assignment_id = ?", (assignment,)
    )
    assert revised_at is not None
    edited = await texts.edit(
        trainer, (assignment, "rewrite"), "New 1, fixed", chat_id=CHAT, message_id=20
    )
    assert edited.result.revised  # an edit is a correction of its own
    assert await revisions(db, assignment) == [("rewrite", "Old"), ("rewrite", "New 1\nNew 2")]


async def test_a_note_added_after_submit_is_a_correction_too(
    db: Database, review: ReviewService, texts: Texts
) -> None:
    trainer, assignment = await open_item(db, review)
    await review_fully(review, trainer, assignment)
    await texts.receive(trainer, (assignment, "note"), "Late note", chat_id=CHAT, message_id=10)
    assert await revisions(db, assignment) == [("note", None)]


async def test_the_window_closes_between_two_parts(
    db: Database, review: ReviewService, texts: Texts, clock: FakeClock, settings: Settings
) -> None:
    trainer, assignment = await open_item(db, review)
    await review_fully(review, trainer, assignment)
    clock.advance(minutes=settings.edit_window_minutes, seconds=-1)
    await texts.receive(trainer, (assignment, "rewrite"), "Just in", chat_id=CHAT, message_id=10)
    clock.advance(seconds=2)
    with pytest.raises(TextRefused) as refused:
        await texts.receive(trainer, None, "Too late", chat_id=CHAT, message_id=11)
    assert refused.value.reason is Refused.CLOSED
    assert await stored(db, assignment) == "Just in"


async def test_skipped_and_foreign_items_take_no_text(
    db: Database, review: ReviewService, texts: Texts
) -> None:
    trainer, assignment = await open_item(db, review)
    other = await make_trainer(db, 2)
    with pytest.raises(TextRefused) as refused:
        await texts.put(other, (assignment, "rewrite"), "Mine?", chat_id=2, message_id=5)
    assert refused.value.reason is Refused.NOT_YOURS
    await review.skip(trainer, assignment, "unsure")
    with pytest.raises(TextRefused) as refused:
        await texts.put(trainer, (assignment, "rewrite"), "After skip", chat_id=CHAT, message_id=6)
    assert refused.value.reason is Refused.SKIPPED
    assert await db.fetchval("SELECT COUNT(*) FROM judgments") == 0


async def test_texts_up_to_the_limit_are_whole_and_a_part_past_it_stops_the_text(
    db: Database, review: ReviewService, texts: Texts
) -> None:
    trainer, assignment = await open_item(db, review)
    target = (assignment, "rewrite")
    await texts.receive(trainer, target, "a" * 4096, chat_id=CHAT, message_id=10)
    for message_id in (11, 12):
        await texts.receive(trainer, None, "a" * 4096, chat_id=CHAT, message_id=message_id)
    last = await texts.receive(trainer, None, "a" * 3712, chat_id=CHAT, message_id=13)
    assert last is not None and last.result.chars == MAX_CHARS
    with pytest.raises(TextTooLong) as too_long:
        await texts.receive(trainer, None, "b", chat_id=CHAT, message_id=14)
    assert too_long.value.first and too_long.value.in_parts
    assert (too_long.value.chars, too_long.value.kept) == (MAX_CHARS + 2, MAX_CHARS)
    with pytest.raises(TextTooLong) as again:
        await texts.receive(trainer, None, "c", chat_id=CHAT, message_id=15)
    assert not again.value.first
    assert await stored(db, assignment) == "a" * MAX_CHARS


async def test_edits_that_change_nothing_or_a_replaced_message_leave_the_text(
    db: Database, review: ReviewService, texts: Texts, clock: FakeClock
) -> None:
    trainer, assignment = await open_item(db, review)
    target = (assignment, "rewrite")
    await texts.receive(trainer, target, "First", chat_id=CHAT, message_id=10)
    same = await texts.edit(trainer, target, "First", chat_id=CHAT, message_id=10)
    assert not same.result.changed
    clock.advance(seconds=10)
    await texts.receive(trainer, target, "Second", chat_id=CHAT, message_id=20)
    old = await texts.edit(trainer, target, "First, edited", chat_id=CHAT, message_id=10)
    assert not old.result.changed
    assert await stored(db, assignment) == "Second"


async def test_a_text_stored_before_parts_existed_is_replaced_by_its_edit(
    db: Database, review: ReviewService, texts: Texts
) -> None:
    trainer, assignment = await open_item(db, review)
    await db.execute(
        "INSERT INTO judgments (assignment_id, rewrite, updated_at) VALUES (?, 'Legacy', 'x')",
        (assignment,),
    )
    await db.execute(
        "INSERT INTO assignment_messages (chat_id, message_id, assignment_id, kind)"
        " VALUES (?, 30, ?, 'rewrite')",
        (CHAT, assignment),
    )
    edited = await texts.edit(
        trainer, (assignment, "rewrite"), "Legacy!", chat_id=CHAT, message_id=30
    )
    assert edited.result.changed and edited.result.parts == 1
    assert await stored(db, assignment) == "Legacy!"


@pytest.mark.parametrize("count", [1, 2])
async def test_telegram_dates_decide_the_join_whichever_process_has_each_part(
    db: Database, review: ReviewService, settings: Settings, clock: FakeClock, count: int
) -> None:
    """A backlog handled at once, its messages spread over processes: still Telegram's dates
    (stored with each part) decide, as on one process."""
    trainer, assignment = await open_item(db, review)
    target, process = (assignment, "rewrite"), processes(db, settings, clock, count)
    sent = clock()
    await next(process).receive(trainer, target, "A", chat_id=CHAT, message_id=10, sent_at=sent)
    joined = await next(process).receive(
        trainer, None, "B", chat_id=CHAT, message_id=11, sent_at=sent + timedelta(seconds=4)
    )
    assert joined is not None and joined.mode is Mode.JOIN  # whole seconds: one more allowed
    replacing = await next(process).receive(
        trainer, target, "C", chat_id=CHAT, message_id=12, sent_at=sent + timedelta(minutes=5)
    )
    assert replacing is not None and replacing.mode is Mode.NEW and replacing.result.replaced
    assert await stored(db, assignment) == "C"


@pytest.mark.parametrize("count", [1, 2])
async def test_the_rest_of_a_text_too_long_is_refused_whichever_process_has_each_part(
    db: Database, review: ReviewService, settings: Settings, clock: FakeClock, count: int
) -> None:
    """17,000 characters in five parts: the fourth passes the limit, and the fifth, handled
    elsewhere, is refused quietly too instead of being glued on after the gap."""
    trainer, assignment = await open_item(db, review)
    target, process = (assignment, "rewrite"), processes(db, settings, clock, count)
    await next(process).receive(trainer, target, "y" * 4096, chat_id=CHAT, message_id=10)
    for message_id in (11, 12):
        await next(process).receive(trainer, None, "y" * 4096, chat_id=CHAT, message_id=message_id)
    with pytest.raises(TextTooLong) as too_long:
        await next(process).receive(trainer, None, "y" * 4096, chat_id=CHAT, message_id=13)
    assert too_long.value.first and too_long.value.in_parts
    clock.advance(seconds=2)
    with pytest.raises(TextTooLong) as rest:
        await next(process).receive(trainer, target, "y" * 616, chat_id=CHAT, message_id=14)
    assert not rest.value.first
    assert (rest.value.chars, rest.value.kept) == (too_long.value.chars, too_long.value.kept)
    clock.advance(seconds=2)  # each refused part keeps the text refused a moment longer
    with pytest.raises(TextTooLong) as again:
        await next(process).receive(trainer, None, "z", chat_id=CHAT, message_id=15)
    assert not again.value.first
    assert await stored(db, assignment) == "y" * 12_288
    clock.advance(seconds=3.001)
    fresh = await next(process).receive(trainer, target, "New", chat_id=CHAT, message_id=16)
    assert fresh is not None and fresh.mode is Mode.NEW and fresh.result.replaced
    assert await stored(db, assignment) == "New"


@pytest.mark.parametrize("count", [1, 2])
async def test_the_rest_of_a_refused_text_is_refused_once_whichever_process_has_each_part(
    db: Database, review: ReviewService, settings: Settings, clock: FakeClock, count: int
) -> None:
    """A text in three replies to an item whose correction window is over: one refusal with
    an answer, the other parts refused quietly, wherever they land."""
    trainer, assignment = await open_item(db, review)
    await review_fully(review, trainer, assignment)
    clock.advance(minutes=settings.edit_window_minutes, seconds=1)
    target, process = (assignment, "rewrite"), processes(db, settings, clock, count)
    answered = []
    for message_id, reply_to in ((10, target), (11, target), (12, None)):
        with pytest.raises(TextRefused) as refused:
            await next(process).receive(
                trainer, reply_to, "x" * 4096, chat_id=CHAT, message_id=message_id
            )
        assert refused.value.reason is Refused.CLOSED
        answered.append(refused.value.first)
    assert answered == [True, False, False]
    assert await db.fetchval("SELECT COUNT(*) FROM text_parts") == 0


@pytest.mark.parametrize("count", [1, 2])
async def test_a_reply_to_another_text_ends_a_refusal_whichever_process_has_each_part(
    db: Database, review: ReviewService, settings: Settings, clock: FakeClock, count: int
) -> None:
    """After a refused rewrite, a reply to the Note prompt is a note of its own, and the plain
    message after it (another process) is the note's next part, not a refused rewrite part."""
    trainer, assignment = await open_item(db, review)
    rewrite, process = (assignment, "rewrite"), processes(db, settings, clock, count)
    await next(process).receive(trainer, rewrite, "a" * MAX_CHARS, chat_id=CHAT, message_id=10)
    with pytest.raises(TextTooLong):
        await next(process).receive(trainer, None, "b", chat_id=CHAT, message_id=11)
    note = await next(process).receive(
        trainer, (assignment, "note"), "Note", chat_id=CHAT, message_id=12
    )
    assert note is not None and note.mode is Mode.NEW
    more = await next(process).receive(trainer, None, "more", chat_id=CHAT, message_id=13)
    assert more is not None and more.key == (assignment, "note") and more.mode is Mode.JOIN
    note_text = "SELECT note FROM judgments WHERE assignment_id = ?"
    assert await db.fetchval(note_text, (assignment,)) == "Note\nmore"


async def test_forgetting_a_refusal_leaves_the_request_mark_to_the_message_s_own_write(
    db: Database,
) -> None:
    """The message that ends a refusal is then stored: that write, not the forgetting before
    it, records the update as handled (else a crash between them loses the text for good)."""
    await db.execute(
        "INSERT INTO text_refusals (trainer_id, assignment_id, field, reason, refused_at)"
        " VALUES (1, 1, 'rewrite', 'closed', '2026-11-25T03:00:00.000000+00:00')"
    )
    mark = updates.begin_update(777, "2026-11-25T03:00:10.000000+00:00")
    try:
        await text_store.forget_refusal(db, 1, "2026-11-25T03:00:00.000000+00:00")
        assert await text_store.refusal(db, 1) is None
        assert not mark.recorded and not await updates.was_processed(db, 777)
    finally:
        current_request.set(None)
