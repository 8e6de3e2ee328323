"""What the panel keeps in memory: sittings, the batch's progress (cached), the live panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.batch_progress import PROGRESS_TTL, BatchProgress
from bot.config import Settings
from bot.live_panels import LivePanels
from bot.onboarding import Trainer
from bot.review import ReviewService
from bot.sittings import PAUSE, Sittings, SittingSummary
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully


async def test_a_sitting_counts_reviews_and_skips_and_the_time_they_took(clock: FakeClock) -> None:
    sittings = Sittings(clock)
    sittings.active(1)
    clock.advance(minutes=4)
    sittings.reviewed(1, 10)
    clock.advance(minutes=3, seconds=59)
    sittings.skipped(1, 11)
    sittings.reviewed(1, 10)  # submitted again after Undo: still one item
    assert await sittings.finish(1) == SittingSummary(reviewed=1, skipped=1, minutes=7)
    assert await sittings.finish(1) is None  # finished: the next one starts afresh


async def test_a_long_pause_ends_a_sitting_without_a_summary(clock: FakeClock) -> None:
    sittings = Sittings(clock)
    sittings.reviewed(1, 10)
    clock.advance(seconds=PAUSE.total_seconds())
    sittings.reviewed(1, 11)  # a new sitting
    assert await sittings.finish(1) == SittingSummary(reviewed=1, skipped=0, minutes=0)
    sittings.reviewed(1, 12)
    clock.advance(seconds=PAUSE.total_seconds())
    assert await sittings.finish(1) is None  # nobody there to read it


async def test_a_sitting_that_judged_nothing_has_no_summary(clock: FakeClock) -> None:
    sittings = Sittings(clock)
    sittings.active(1)
    assert await sittings.finish(1) is None
    sittings.reviewed(2, 20)
    assert await sittings.finish(1) is None and await sittings.finish(2) is not None


@dataclass
class Process:
    """One bot process over the shared database: its review service and its sittings, told
    what the trainer did as the handlers tell them."""

    review: ReviewService
    sittings: Sittings

    async def show(self, trainer: Trainer) -> int | None:
        view, _ = await self.review.next_item(trainer)
        if view is None:
            return None
        self.sittings.active(trainer.user_id)
        return view.assignment.id

    async def submit(self, trainer: Trainer, assignment_id: int) -> None:
        await review_fully(self.review, trainer, assignment_id)
        self.sittings.reviewed(trainer.user_id, assignment_id)

    async def skip(self, trainer: Trainer, assignment_id: int) -> None:
        await self.review.skip(trainer, assignment_id, "unclear")
        self.sittings.skipped(trainer.user_id, assignment_id)


def process(db: Database, settings: Settings, clock: FakeClock) -> Process:
    return Process(ReviewService(db, settings, clock), Sittings(clock, db))


async def two_processes(
    db: Database, settings: Settings, clock: FakeClock
) -> tuple[Trainer, Process, Process]:
    """One trainer and a batch of three items, seen by two processes (PostgreSQL only)."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite has one bot process: its sittings are all in its memory")
    await make_batch(db, items=3, overlap=1)
    trainer = await make_trainer(db, 1)
    return trainer, process(db, settings, clock), process(db, settings, clock)


async def test_a_sitting_spread_over_two_processes_is_summed_up_whole(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    trainer, a, b = await two_processes(db, settings, clock)
    first = await a.show(trainer)
    clock.advance(minutes=4)
    await b.submit(trainer, first)
    second = await b.show(trainer)
    clock.advance(minutes=3, seconds=59)
    await a.skip(trainer, second)
    third = await a.show(trainer)
    clock.advance(minutes=1, seconds=1)
    await b.submit(trainer, third)
    assert await b.show(trainer) is None  # all done: the summary, wherever it is asked for
    assert await b.sittings.finish(1) == SittingSummary(reviewed=2, skipped=1, minutes=9)


@pytest.mark.parametrize(
    ("pause", "summary"),
    [
        (PAUSE, SittingSummary(reviewed=2, skipped=0, minutes=3)),
        (PAUSE - timedelta(seconds=1), SittingSummary(reviewed=3, skipped=0, minutes=34)),
    ],
)
async def test_a_pause_of_30_minutes_in_the_database_starts_a_new_sitting(
    db: Database, settings: Settings, clock: FakeClock, pause: timedelta, summary: SittingSummary
) -> None:
    trainer, a, b = await two_processes(db, settings, clock)
    first = await a.show(trainer)
    clock.advance(minutes=2)
    await a.submit(trainer, first)
    second = await a.show(trainer)
    clock.advance(seconds=pause.total_seconds())  # the item lay there; then submitted elsewhere
    await b.submit(trainer, second)
    third = await b.show(trainer)
    clock.advance(minutes=3)
    await a.submit(trainer, third)
    assert await a.sittings.finish(1) == summary


async def test_a_summary_said_by_one_process_is_not_said_again_by_another(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    """The quota's summary is said through one process; "nothing left" a moment later reaches
    another, which finds the sitting ended (sitting_ends) and says no second summary. What
    comes after belongs to a new sitting, wherever it is summed up."""
    trainer, a, b = await two_processes(db, settings, clock)
    first = await a.show(trainer)
    clock.advance(minutes=2)
    await a.submit(trainer, first)
    assert await a.sittings.finish(1) == SittingSummary(reviewed=1, skipped=0, minutes=2)
    clock.advance(seconds=5)
    assert await b.sittings.finish(1) is None
    clock.advance(seconds=5)
    second = await b.show(trainer)
    clock.advance(minutes=1)
    await b.submit(trainer, second)
    assert await a.sittings.finish(1) == SittingSummary(reviewed=1, skipped=0, minutes=1)
    # One more on b, whose memory still holds the first item's sitting: only the new one counts.
    clock.advance(seconds=5)
    third = await b.show(trainer)
    clock.advance(minutes=1)
    await b.submit(trainer, third)
    assert await b.sittings.finish(1) == SittingSummary(reviewed=1, skipped=0, minutes=1)


async def test_one_process_sums_up_its_sitting_alike_on_either_database(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    """The database adds nothing this process did not see, and a skip's moment, which only
    this process knows, still ends the sitting's time."""
    await make_batch(db, items=2, overlap=1)
    trainer = await make_trainer(db, 1)
    alone = process(db, settings, clock)
    first = await alone.show(trainer)
    clock.advance(minutes=2)
    await alone.submit(trainer, first)
    second = await alone.show(trainer)
    clock.advance(minutes=1, seconds=30)
    await alone.skip(trainer, second)
    assert await alone.show(trainer) is None
    assert await alone.sittings.finish(1) == SittingSummary(reviewed=1, skipped=1, minutes=3)
    assert await alone.sittings.finish(1) is None  # said once: asking again finds it ended


async def test_batch_progress_is_read_again_only_after_its_time(
    db: Database, clock: FakeClock
) -> None:
    batch_id = await make_batch(db, items=3)
    progress = BatchProgress(db, clock)
    assert await progress.of(batch_id) == (0, 3)
    await db.execute("UPDATE items SET complete = 1 WHERE batch_id = ?", (batch_id,))
    assert await progress.of(batch_id) == (0, 3)  # a tap re-renders from memory
    clock.advance(seconds=PROGRESS_TTL.total_seconds())
    assert await progress.of(batch_id) == (3, 3)
    assert await progress.any_batch()


async def test_no_batch_yet(db: Database) -> None:
    assert not await BatchProgress(db).any_batch()


async def test_the_live_panel_is_the_newest_copy_and_known_after_a_restart(
    db: Database, clock: FakeClock
) -> None:
    await make_trainer(db, 7)
    await make_batch(db, items=1)
    await db.execute(
        "INSERT INTO assignments (item_id, trainer_id, assigned_at, lease_expires_at)"
        " VALUES (1, 7, 'x', 'y')"
    )
    await db.execute(
        "INSERT INTO assignment_messages (chat_id, message_id, assignment_id, kind)"
        " VALUES (7, 10, 1, 'panel'), (7, 12, 1, 'panel'), (7, 11, 1, 'item')"
    )
    restarted = LivePanels(db)  # nothing in memory: read from the database
    assert await restarted.live(1, 7) == 12
    assert await restarted.is_stale(1, 7, 10) and not await restarted.is_stale(1, 7, 12)
    assert not await restarted.is_stale(1, 8, 10)  # another chat: not this trainer's copy
    # A newer copy is sent: its row is stored (as every send stores it) and it is remembered;
    # on PostgreSQL the memory is not trusted (another process may have sent a newer one).
    await db.execute(
        "INSERT INTO assignment_messages (chat_id, message_id, assignment_id, kind)"
        " VALUES (7, 15, 1, 'panel')"
    )
    restarted.remember(1, 7, 15)
    assert await restarted.is_stale(1, 7, 12)
    assert await restarted.live(2, 7) is None
