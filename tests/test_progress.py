"""Batch progress for /progress: the figures, the pace, the finish estimate, and a big batch."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.clock import stamp
from bot.config import Settings
from bot.progress import BatchReport, ProgressService, UnknownBatch
from bot.review import ReviewService
from storage.database import Database
from storage.progress import ITEM_COUNTS_SQL
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully


@pytest.fixture
def progress(db: Database, settings: Settings, clock: FakeClock) -> ProgressService:
    return ProgressService(db, settings, clock)


async def add_items(db: Database, batch_id: int, done_counts: list[int], overlap: int) -> None:
    """Items with review counts already set, inserted in one executemany (fast at 100,000)."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO items (batch_id, external_id, prompt, response, done_count, complete)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                (batch_id, f"x{n}", "Prompt", "Answer", done, int(done >= overlap))
                for n, done in enumerate(done_counts)
            ),
        )
        await conn.execute(
            "UPDATE batches SET item_count = item_count + ? WHERE id = ?",
            (len(done_counts), batch_id),
        )


async def add_submissions(db: Database, batch_id: int, times: list[tuple[int, datetime]]) -> None:
    """Submitted assignments (trainer, when) on distinct items of the batch."""
    item_ids = [
        row[0]
        for row in await db.fetchall(
            "SELECT id FROM items WHERE batch_id = ? ORDER BY id LIMIT ?", (batch_id, len(times))
        )
    ]
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
            " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
            [
                (item_id, trainer_id, stamp(when), stamp(when), stamp(when))
                for item_id, (trainer_id, when) in zip(item_ids, times, strict=True)
            ],
        )


async def only(reports: list[BatchReport]) -> BatchReport:
    assert len(reports) == 1
    return reports[0]


async def test_a_batch_of_100000_items_is_reported_from_sql_aggregates(
    progress: ProgressService, db: Database, clock: FakeClock
) -> None:
    batch_id = await make_batch(db, "big", items=0, overlap=3)
    other_id = await make_batch(db, "other", items=0, overlap=3)
    # 20,000 items each with 0, 1, 2, 3 and 4 reviews (4: a late extra beyond the overlap).
    await add_items(db, batch_id, [n % 5 for n in range(100_000)], overlap=3)
    await add_items(db, other_id, [0] * 100, overlap=3)
    for user_id in range(1, 11):
        await make_trainer(db, user_id)
    now = clock.now
    await add_submissions(
        db,
        batch_id,
        [(1 + n % 3, now - timedelta(minutes=n % 59)) for n in range(60)]  # last hour: 3 people
        + [(4 + n % 3, now - timedelta(hours=2, minutes=n)) for n in range(100)]  # earlier today
        + [(7 + n % 4, now - timedelta(hours=30, minutes=n)) for n in range(200)],  # yesterday
    )
    await add_submissions(db, other_id, [(10, now - timedelta(minutes=5))])  # not counted

    report = await only(await progress.report("big"))
    assert (report.items, report.complete) == (100_000, 40_000)
    assert (report.reviews, report.wanted) == (200_000, 300_000)
    assert report.remaining == 300_000 - 180_000  # the late extras do not count towards it
    assert (report.trainers_today, report.last_hour) == (6, 60)
    assert report.per_hour == 60.0
    assert report.finish_at == now + timedelta(hours=120_000 / 60)
    assert not report.finished


async def test_the_item_figures_come_from_a_covering_index(db: Database) -> None:
    plan = " ".join(
        str(row[3]) for row in await db.fetchall(f"EXPLAIN QUERY PLAN {ITEM_COUNTS_SQL}", (1,))
    )
    assert "COVERING INDEX items_progress" in plan


async def test_real_reviews_are_counted(
    progress: ProgressService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    review = ReviewService(db, settings, clock)
    await make_batch(db, "pilot", items=3, overlap=2)
    for user_id in (1, 2):
        trainer = await make_trainer(db, user_id)
        for _ in range(2):
            view, _ = await review.next_item(trainer)
            assert view is not None
            await review_fully(review, trainer, view.assignment.id)
    report = await only(await progress.report())
    assert (report.name, report.status) == ("pilot", "open")
    assert (report.items, report.complete, report.reviews, report.wanted) == (3, 2, 4, 6)
    assert (report.trainers_today, report.last_hour, report.remaining) == (2, 4, 2)
    assert report.per_hour is None and report.finish_at is None  # 4 reviews: not enough data


async def test_a_slow_hour_falls_back_to_the_pace_of_the_day(
    progress: ProgressService, db: Database, clock: FakeClock
) -> None:
    batch_id = await make_batch(db, "slow", items=20, overlap=1)
    await make_trainer(db, 1)
    now = clock.now
    hours_ago = [5, 4, 3, 3, 2, 2]
    await add_submissions(db, batch_id, [(1, now - timedelta(hours=h)) for h in hours_ago])
    async with db.transaction() as conn:  # keep items consistent with the assignments above
        await conn.execute(
            "UPDATE items SET done_count = 1, complete = 1 WHERE id IN"
            " (SELECT item_id FROM assignments)"
        )
    report = await only(await progress.report("slow"))
    assert report.last_hour == 0
    assert report.per_hour == pytest.approx(6 / 5)  # 6 reviews since the first, 5 hours ago
    assert report.remaining == 14
    assert report.finish_at == now + timedelta(hours=14 / (6 / 5))


async def test_one_quick_burst_does_not_promise_too_much(
    progress: ProgressService, db: Database, clock: FakeClock
) -> None:
    batch_id = await make_batch(db, "burst", items=20, overlap=1)
    await make_trainer(db, 1)
    now = clock.now
    times = [now - timedelta(hours=3, minutes=m) for m in range(6)]  # 6 in a few minutes
    await add_submissions(db, batch_id, [(1, when) for when in times])
    report = await only(await progress.report("burst"))
    assert report.per_hour == pytest.approx(6 / (3 + 5 / 60))


async def test_a_finished_batch_says_so(progress: ProgressService, db: Database) -> None:
    batch_id = await make_batch(db, "done", items=0, overlap=2)
    await add_items(db, batch_id, [2, 3, 2], overlap=2)
    report = await only(await progress.report("done"))
    assert report.finished and report.remaining == 0 and report.finish_at is None
    assert (report.complete, report.items, report.reviews, report.wanted) == (3, 3, 7, 6)


async def test_without_a_name_every_open_batch_by_priority_and_by_name_any_batch(
    progress: ProgressService, db: Database
) -> None:
    await make_batch(db, "low", items=1, priority=0)
    await make_batch(db, "high", items=1, priority=5)
    paused = await make_batch(db, "held back", items=2)
    async with db.transaction() as conn:
        await conn.execute("UPDATE batches SET status = 'paused' WHERE id = ?", (paused,))
    assert [report.name for report in await progress.report()] == ["high", "low"]
    named = await only(await progress.report(" held back "))
    assert (named.status, named.items) == ("paused", 2)
    with pytest.raises(UnknownBatch):
        await progress.report("nope")


async def test_no_open_batch_is_an_empty_report(progress: ProgressService) -> None:
    assert await progress.report() == []


async def test_today_is_the_coordinators_day(
    progress: ProgressService, db: Database, clock: FakeClock
) -> None:
    # 25 Nov 03:00 UTC is 10:00 in Jakarta; 24 Nov 18:00 UTC is today there, yesterday in UTC.
    batch_id = await make_batch(db, "zones", items=5, overlap=1)
    await make_trainer(db, 1)
    await add_submissions(db, batch_id, [(1, clock.now - timedelta(hours=9))])
    jakarta = await only(await progress.report("zones", timezone="Asia/Jakarta"))
    utc = await only(await progress.report("zones", timezone="UTC"))
    assert (jakarta.trainers_today, utc.trainers_today) == (1, 0)
