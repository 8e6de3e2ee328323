"""What the panel keeps in memory: sittings, the batch's progress (cached), the live panel."""

from __future__ import annotations

from bot.batch_progress import PROGRESS_TTL, BatchProgress
from bot.live_panels import LivePanels
from bot.sittings import PAUSE, Sittings, SittingSummary
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer


def test_a_sitting_counts_reviews_and_skips_and_the_time_they_took(clock: FakeClock) -> None:
    sittings = Sittings(clock)
    sittings.active(1)
    clock.advance(minutes=4)
    sittings.reviewed(1, 10)
    clock.advance(minutes=3, seconds=59)
    sittings.skipped(1, 11)
    sittings.reviewed(1, 10)  # submitted again after Undo: still one item
    assert sittings.finish(1) == SittingSummary(reviewed=1, skipped=1, minutes=7)
    assert sittings.finish(1) is None  # finished: the next one starts afresh


def test_a_long_pause_ends_a_sitting_without_a_summary(clock: FakeClock) -> None:
    sittings = Sittings(clock)
    sittings.reviewed(1, 10)
    clock.advance(seconds=PAUSE.total_seconds())
    sittings.reviewed(1, 11)  # a new sitting
    assert sittings.finish(1) == SittingSummary(reviewed=1, skipped=0, minutes=0)
    sittings.reviewed(1, 12)
    clock.advance(seconds=PAUSE.total_seconds())
    assert sittings.finish(1) is None  # nobody there to read it


def test_a_sitting_that_judged_nothing_has_no_summary(clock: FakeClock) -> None:
    sittings = Sittings(clock)
    sittings.active(1)
    assert sittings.finish(1) is None
    sittings.reviewed(2, 20)
    assert sittings.finish(1) is None and sittings.finish(2) is not None


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
