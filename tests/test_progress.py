"""Batch progress for /progress: the figures, the pace, the finish estimate, and a big batch."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from bot.clock import stamp
from bot.config import Settings
from bot.progress import BatchReport, ProgressService, UnknownBatch
from bot.review import ReviewService
from storage import languages
from storage.assignment import _can_take_sql
from storage.database import Database
from storage.progress import ITEM_COUNTS_SQL
from storage.records import Trainer
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully


@pytest.fixture
def progress(db: Database, settings: Settings, clock: FakeClock) -> ProgressService:
    return ProgressService(db, settings, clock)


async def add_items(db: Database, batch_id: int, done_counts: list[int], overlap: int) -> None:
    """Items with review counts already set, inserted at once (COPY on PostgreSQL: fast at
    100,000)."""
    async with db.transaction() as conn:
        await conn.insert_many(
            "items",
            ("batch_id", "external_id", "prompt", "response", "done_count", "complete"),
            [
                (batch_id, f"x{n}", "Prompt", "Answer", done, int(done >= overlap))
                for n, done in enumerate(done_counts)
            ],
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


async def test_the_item_figures_come_from_a_covering_index(sqlite_db: Database) -> None:
    plan = " ".join(
        str(row[3])
        for row in await sqlite_db.fetchall(f"EXPLAIN QUERY PLAN {ITEM_COUNTS_SQL}", (1,))
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


# -- what holds a batch up -----------------------------------------------------------------


async def set_languages(db: Database, codes: dict[str, str | None]) -> None:
    """Items by external id -> language."""
    for external_id, code in codes.items():
        await db.execute("UPDATE items SET lang = ? WHERE external_id = ?", (code, external_id))


async def review_everything(review: ReviewService, trainer: Trainer) -> int:
    """The trainer reviews until nothing is left for them; how many they reviewed."""
    done = 0
    while (view := (await review.next_item(trainer))[0]) is not None:
        await review_fully(review, trainer, view.assignment.id)
        done += 1
    return done


async def test_a_batch_every_trainer_has_finished_needs_more_trainers(
    progress: ProgressService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    review = ReviewService(db, settings, clock)
    await make_batch(db, "pilot", items=6, overlap=2)
    assert await review_everything(review, await make_trainer(db, 1)) == 6
    report = await only(await progress.report())
    assert report.needs_trainers and report.remaining == 6
    assert report.per_hour == 6.0 and report.finish_at is None  # no estimate: nobody can go on
    await make_trainer(db, 2)  # a new trainer could take every item
    assert not (await only(await progress.report())).needs_trainers


async def test_skipped_and_expired_items_count_as_had(
    progress: ProgressService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    review = ReviewService(db, settings, clock)
    await make_batch(db, "pilot", items=2, overlap=1)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    await review.skip(trainer, view.assignment.id, "none")
    assert not (await only(await progress.report())).needs_trainers
    view, _ = await review.next_item(trainer)
    assert view is not None  # holds the last item: the batch still moves
    assert not (await only(await progress.report())).needs_trainers
    clock.advance(minutes=settings.lease_minutes + 1)
    await db.execute("UPDATE assignments SET status = 'expired' WHERE status = 'active'")
    assert (await only(await progress.report())).needs_trainers


async def test_a_live_lease_of_someone_else_keeps_the_batch_moving(
    progress: ProgressService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    review = ReviewService(db, settings, clock)
    await make_batch(db, "pilot", items=1, overlap=1)
    coordinator = await make_trainer(db, 9, role="coordinator")
    await make_trainer(db, 1)
    assert (await review.next_item(coordinator))[0] is not None  # the only item is full now
    assert not (await only(await progress.report())).needs_trainers


async def test_paused_trainers_and_coordinators_are_not_counted(
    progress: ProgressService, db: Database
) -> None:
    await make_batch(db, "pilot", items=2, overlap=1)
    await make_trainer(db, 9, role="coordinator")
    await make_trainer(db, 1)
    await db.execute("UPDATE trainers SET status = 'paused' WHERE user_id = 1")
    assert (await only(await progress.report())).needs_trainers
    await db.execute("UPDATE trainers SET status = 'active' WHERE user_id = 1")
    assert not (await only(await progress.report())).needs_trainers


async def test_items_in_a_language_nobody_reviews_are_reported(
    progress: ProgressService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    await make_batch(db, "pilot", items=6, overlap=1)
    await set_languages(db, {"item-1": "jv", "item-2": "jv", "item-3": "su", "item-4": "id"})
    await make_trainer(db, 1, language="id")
    report = await only(await progress.report())
    assert report.unreviewed_languages == (("jv", 2), ("su", 1))
    assert not report.needs_trainers  # item-4, item-5 and item-6 are hers to take
    review = ReviewService(db, settings, clock)
    assert await review_everything(review, await make_trainer(db, 2, language="id")) == 3
    report = await only(await progress.report())
    assert report.needs_trainers and report.remaining == 3  # only Javanese and Sundanese left
    assert report.unreviewed_languages == (("jv", 2), ("su", 1))


async def test_a_trainer_of_the_language_is_enough(progress: ProgressService, db: Database) -> None:
    await make_batch(db, "pilot", items=2, overlap=1)
    await set_languages(db, {"item-1": "jv", "item-2": "jv"})
    await make_trainer(db, 1, language="en")
    assert (await only(await progress.report())).needs_trainers
    await languages.set_language(db, 1, "jv", True)
    report = await only(await progress.report())
    assert not report.needs_trainers and report.unreviewed_languages == ()


async def test_asking_whether_anyone_can_take_reads_indexes_only(sqlite_db: Database) -> None:
    params = {"batch": 1, "languages": "id jv", "l0": "id", "l1": "jv"}
    plan = "\n".join(
        row["detail"]
        for row in await sqlite_db.fetchall("EXPLAIN QUERY PLAN " + _can_take_sql(2), params)
    )
    assert "SCAN t" in plan  # the trainers (a few thousand rows at most)
    assert not re.search(r"^SCAN (i|items|mine|p)\b", plan, re.M), plan
    assert plan.count("COVERING INDEX items_open") == 3 and "COVERING INDEX items_reopened" in plan


async def test_a_big_batch_with_a_busy_team_is_still_cheap_to_ask_about(
    progress: ProgressService, db: Database, clock: FakeClock
) -> None:
    batch_id = await make_batch(db, "big", items=0, overlap=3)
    await add_items(db, batch_id, [n % 3 for n in range(100_000)], overlap=3)
    for user_id in range(1, 201):
        await make_trainer(db, user_id, language="id" if user_id % 2 else "en")
    # Every trainer had the first 400 items: their queue positions say so, as the pick leaves
    # them, so the question reads a few index entries per trainer, not their history.
    async with db.transaction() as conn:
        await conn.insert_many(
            "assignments",
            ("item_id", "trainer_id", "status", "assigned_at", "lease_expires_at", "submitted_at"),
            [
                (item, user, "submitted", "x", "x", "x")
                for user in range(1, 201)
                for item in range(1, 401)
            ],
        )
        await conn.executemany(
            "INSERT INTO queue_positions (trainer_id, batch_id, item_id, seq)"
            " VALUES (?, ?, 400, ?)",
            [(user, batch_id, 80_000) for user in range(1, 201)],
        )
        await conn.execute("UPDATE items SET lang = 'jv' WHERE id > 400")
    for table in ("items", "assignments", "queue_positions"):  # as an import does
        await db.refresh_statistics(table)
    report = await only(await progress.report("big"))
    assert report.needs_trainers  # nobody reviews Javanese: everything else they had
    assert report.unreviewed_languages == (("jv", 99_600),)
