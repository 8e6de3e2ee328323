"""Tests for bot/flagged.py and storage/flagged.py: which items /flagged lists, in which order,
with which counts, and what one item shows (its flags by count, the flaggers' notes)."""

from __future__ import annotations

import pytest

from bot.flagged import FlaggedService, UnknownBatch
from bot.review import ReviewService
from bot.rubric import DEFAULT_RUBRIC
from storage.database import Database
from storage.records import Trainer
from tests.conftest import FakeClock
from tests.factories import Settings, make_batch, make_trainer, review_fully

UNSAFE = DEFAULT_RUBRIC.flags.index("unsafe")
BIASED = DEFAULT_RUBRIC.flags.index("biased")
PERSONAL = DEFAULT_RUBRIC.flags.index("personal_data")


@pytest.fixture
def review(db: Database, settings: Settings, clock: FakeClock) -> ReviewService:
    return ReviewService(db, settings, clock)


async def judge(
    review: ReviewService,
    trainer: Trainer,
    *flags: int,
    note: str | None = None,
    submit: bool = True,
) -> str:
    """The trainer's next item, with those flags (and note), submitted unless told not to."""
    view, _ = await review.next_item(trainer)
    assert view is not None
    assignment = view.assignment.id
    for flag in flags:
        await review.set_flag(trainer, assignment, flag, True)
    if note is not None:
        await review.texts.receive(
            trainer, (assignment, "note"), note, chat_id=trainer.user_id, message_id=assignment
        )
    if submit:
        await review_fully(review, trainer, assignment)
    return view.item.external_id


async def crowd(db: Database, review: ReviewService) -> None:
    """item-1: one trainer flags it; item-2: two do (unsafe twice, biased once); item-3: one
    flags it, and a draft flag on it that was never submitted does not count."""
    await make_batch(db, "pilot", items=3, overlap=3)
    ana, budi, citra = [await make_trainer(db, n) for n in (1, 2, 3)]
    await judge(review, ana, UNSAFE, note="Tells how to pick a lock")
    await judge(review, ana, UNSAFE, BIASED, note="Only one side")
    await judge(review, ana)
    await judge(review, budi)
    await judge(review, budi, UNSAFE)
    await judge(review, budi, PERSONAL, note="A phone number")
    await judge(review, citra)
    await judge(review, citra, note="Fine by me")  # a note without a flag: not a flagger's
    await judge(review, citra, BIASED, submit=False)


async def test_items_are_ordered_by_how_many_trainers_flagged_them(
    db: Database, review: ReviewService
) -> None:
    await crowd(db, review)
    listing = await FlaggedService(db).listing()
    assert listing.total == 3
    assert [(i.external_id, i.raisers) for i in listing.items] == [
        ("item-2", 2),
        ("item-1", 1),  # ties by item id
        ("item-3", 1),  # citra's unsubmitted "biased" is not counted
    ]
    assert [i.flags for i in listing.items] == [
        (("unsafe", 2), ("biased", 1)),
        (("unsafe", 1),),
        (("personal_data", 1),),
    ]
    assert listing.items[0].prompt_start == "Prompt 2"
    assert listing.batch_name is None and listing.batch_names == {1: "pilot"}


async def test_a_limited_list_still_says_how_many_are_flagged(
    db: Database, review: ReviewService
) -> None:
    await crowd(db, review)
    listing = await FlaggedService(db).listing(limit=1)
    assert [i.external_id for i in listing.items] == ["item-2"]
    assert listing.total == 3


async def test_a_named_batch_only_and_an_unknown_name_refused(
    db: Database, review: ReviewService
) -> None:
    await crowd(db, review)
    await make_batch(db, "quiet", items=2)
    assert (await FlaggedService(db).listing("quiet")).items == ()
    named = await FlaggedService(db).listing(" pilot ")
    assert named.batch_name == "pilot" and named.total == 3
    with pytest.raises(UnknownBatch):
        await FlaggedService(db).listing("nope")


async def test_closed_batches_are_left_out_unless_named(
    db: Database, review: ReviewService
) -> None:
    await crowd(db, review)
    await db.execute("UPDATE batches SET status = 'closed' WHERE name = 'pilot'")
    assert (await FlaggedService(db).listing()).total == 0
    assert (await FlaggedService(db).listing("pilot")).total == 3


async def test_one_item_shows_its_flags_by_count_and_the_flaggers_notes(
    db: Database, review: ReviewService
) -> None:
    await crowd(db, review)
    listing = await FlaggedService(db).listing()
    found = await FlaggedService(db).item(listing.items[0].item_id)
    assert found is not None
    item, rubric = found
    assert (item.external_id, item.batch_name) == ("item-2", "pilot")
    assert (item.prompt, item.response) == ("Prompt 2", "Answer 2")
    assert item.flags == (("unsafe", 2), ("biased", 1))
    assert item.notes == ("Only one side",)  # citra's note on it raised no flag
    assert rubric.flags == DEFAULT_RUBRIC.flags
    assert await FlaggedService(db).item(999_999) is None
