"""A trainer's day as the daily messages read it (bot/trainer_days.py, storage/work_left.py) and
the summary's wording (handlers/daily_messages.py), without Telegram."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.review import ReviewService
from bot.trainer_days import DaySummary, Reminder, TrainerDays
from handlers.daily_messages import render_summary
from storage.database import Database
from tests.daily_days import add_reviews
from tests.factories import make_batch, make_trainer, review_fully

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 19:00 in Jakarta


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def review(db: Database, settings: Settings) -> ReviewService:
    return ReviewService(db, settings, Clock())


async def test_a_reminder_counts_today_in_the_trainers_zone(
    db: Database, review: ReviewService
) -> None:
    trainer = await make_trainer(db, 1)
    await make_batch(db, "open", items=3)
    # 16:30 UTC yesterday is 23:30 yesterday in Jakarta but 01:30 today in Jayapura.
    await add_reviews(db, 1, [datetime(2026, 11, 24, 16, 30, tzinfo=UTC)] * 2, "early")
    days = TrainerDays(review)
    assert await days.reminder(trainer, NOW) == Reminder(done=0, quota=5)
    east = replace(trainer, timezone="Asia/Jayapura")
    assert await days.reminder(east, NOW) == Reminder(done=2, quota=5)


async def test_no_reminder_once_the_quota_is_met(db: Database, review: ReviewService) -> None:
    trainer = replace(await make_trainer(db, 1), daily_quota=2)
    await make_batch(db, "open", items=3)
    await add_reviews(db, 1, [NOW - timedelta(hours=1)], "one")
    assert await TrainerDays(review).reminder(trainer, NOW) == Reminder(done=1, quota=2)
    await add_reviews(db, 1, [NOW - timedelta(minutes=1)], "two")
    assert await TrainerDays(review).reminder(trainer, NOW) is None


async def test_work_left_follows_the_rules_of_the_pick(
    db: Database, review: ReviewService, settings: Settings
) -> None:
    """Nothing is leased by asking; items in another language, already had, or held by others'
    live leases up to the overlap are not work left; a held item is."""
    me = await make_trainer(db, 1)
    other = await make_trainer(db, 2)
    days = TrainerDays(review)
    assert not await days.has_work(me, NOW)  # no batch at all
    batch = await make_batch(db, "one", items=1, overlap=1)
    assert await days.has_work(me, NOW)
    assert await db.fetchval("SELECT COUNT(*) FROM assignments") == 0

    await db.execute("UPDATE items SET lang = 'id' WHERE batch_id = ?", (batch,))
    assert not await days.has_work(me, NOW)  # an English-only trainer
    await db.execute("UPDATE trainers SET review_languages = 'en id'")
    assert await days.has_work(me, NOW)

    view, _ = await review.next_item(other)  # the other trainer holds the only slot
    assert view is not None
    assert not await days.has_work(me, NOW)
    assert await days.has_work(other, NOW)  # their open item
    later = NOW + timedelta(minutes=settings.lease_minutes + 1)
    assert await days.has_work(me, later)  # their lease ended: the pick would look again
    await review_fully(review, other, view.assignment.id)
    assert not await days.has_work(me, NOW)  # complete
    assert not await days.has_work(other, NOW)  # had it


async def test_a_held_item_whose_lease_ended_is_work_while_the_item_still_needs_it(
    db: Database, review: ReviewService, settings: Settings
) -> None:
    me = await make_trainer(db, 1)
    await make_batch(db, "one", items=1, overlap=1)
    view, _ = await review.next_item(me)
    assert view is not None
    later = NOW + timedelta(minutes=settings.lease_minutes + 1)
    assert await TrainerDays(review).has_work(me, later)
    await db.execute("UPDATE batches SET status = 'paused'")
    assert not await TrainerDays(review).has_work(me, later)


async def test_the_summary_needs_a_review_today(db: Database, review: ReviewService) -> None:
    trainer = await make_trainer(db, 1)
    await add_reviews(db, 1, [NOW - timedelta(days=1)] * 5, "yesterday")
    assert await TrainerDays(review).summary(trainer, NOW) is None
    await add_reviews(db, 1, [NOW - timedelta(hours=2)] * 3, "today")
    found = await TrainerDays(review).summary(trainer, NOW)
    assert found == DaySummary(done=3, quota=5, streak=1, total=8)
    assert not found.met


@pytest.mark.parametrize(
    ("summary", "cheer"),
    [
        (DaySummary(done=6, quota=5, streak=3, total=40), "keeps growing"),
        (DaySummary(done=5, quota=5, streak=1, total=5), "day one of a new streak"),
        (DaySummary(done=4, quota=5, streak=2, total=30), "1 more review today and your streak"),
        (DaySummary(done=2, quota=5, streak=2, total=30), "3 more reviews today and your streak"),
        (DaySummary(done=1, quota=5, streak=0, total=1), "Tomorrow is a fresh start"),
    ],
)
def test_the_summary_cheers_for_the_situation(summary: DaySummary, cheer: str) -> None:
    assert cheer in render_summary(summary, "en")


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_summary_ticks_today_only_when_the_quota_is_met(language: str) -> None:
    met = render_summary(DaySummary(done=5, quota=5, streak=1, total=5), language)
    below = render_summary(DaySummary(done=4, quota=5, streak=0, total=4), language)
    assert "✅" in met and "4 / 5" in below and "✅" not in below


def test_the_summary_always_states_the_streak_kindly_at_zero() -> None:
    text = render_summary(DaySummary(done=1, quota=5, streak=0, total=1_250), "en")
    assert "Streak: 0 days. That's okay" in text and "Total: 1,250 reviews" in text
    text = render_summary(DaySummary(done=1, quota=5, streak=0, total=1_250), "id")
    assert "Streak: 0 hari. Tidak apa-apa" in text and "Total: 1.250 penilaian" in text
    assert "Streak: 1 day in a row" in render_summary(DaySummary(5, 5, 1, 5), "en")


async def test_a_swept_item_that_next_would_offer_back_is_work(
    db: Database, review: ReviewService, settings: Settings
) -> None:
    """After the sweep expired the trainer's lease, /next gives the item back while it still
    needs them (bot/leases.py): so a reminder is still worth sending."""
    me = await make_trainer(db, 1)
    await make_batch(db, "one", items=1, overlap=1)
    view, _ = await review.next_item(me)
    assert view is not None
    later = NOW + timedelta(minutes=settings.lease_minutes + 1)
    review.clock.now = later  # type: ignore[attr-defined]
    assert len(await review.leases.sweep_page()) == 1
    assert await TrainerDays(review).has_work(me, later)
    await db.execute("UPDATE batches SET status = 'paused'")
    assert not await TrainerDays(review).has_work(me, later)
