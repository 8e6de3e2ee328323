"""Gold items out of a batch's progress and completion, and dynamic overlap's extra reviews in
it (issue 9): /progress's and the daily report's counts, /batches, the trainer's panel, the
finish estimate and "batch complete", from stored items in known states."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.batch_events import newly_completed
from bot.config import Settings
from bot.forecast import forecast
from bot.progress import ProgressService
from storage import batch_progress, batches
from storage.batches import LIST_BATCHES_SQL
from storage.database import Database
from storage.gold import GOLD_ITEM
from tests.conftest import FakeClock

NOW = "2026-11-25T03:00:00.000000+00:00"


async def make(
    db: Database,
    items: list[tuple[int, int]],
    *,
    gold: tuple[int, ...] | list[int] = (),
    overlap: int = 2,
    extra_reviews: int = 0,
    name: str = "b",
) -> int:
    """A batch of ordinary items (reviews done, extra reviews given) and gold items (reviews
    done), their `complete` as the review loop would leave it."""
    batch_id = await batches.begin_import(
        db,
        name=name,
        rubric_json="{}",
        overlap=overlap,
        priority=0,
        now=NOW,
        extra_reviews=extra_reviews,
        disagreement=2 if extra_reviews else None,
    )
    rows = [
        (batch_id, f"i{n}", done, extra, int(done >= overlap + extra))
        for n, (done, extra) in enumerate(items)
    ]
    rows += [(batch_id, f"g{n}", done, 0, GOLD_ITEM) for n, done in enumerate(gold)]
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO items (batch_id, external_id, prompt, response, done_count, extra,"
            " complete, gold) VALUES (?, ?, 'P', 'A', ?, ?, ?,"
            " CASE WHEN ? = 2 THEN '{}' END)",
            [(*row, row[-1]) for row in rows],
        )
    await batches.finish_import(db, batch_id, count=len(rows), status="open")
    return batch_id


@pytest.fixture
def progress(db: Database, settings: Settings, clock: FakeClock) -> ProgressService:
    return ProgressService(db, settings, clock)


async def test_gold_items_are_not_counted_in_progress(
    db: Database, progress: ProgressService, clock: FakeClock
) -> None:
    batch_id = await make(db, [(2, 0), (1, 0), (0, 0)], gold=[3, 1, 0, 0])
    (report,) = await progress.report("b")
    assert (report.items, report.complete, report.reviews) == (3, 1, 3)
    assert (report.wanted, report.remaining) == (6, 3)
    assert await batch_progress.batch_progress(db, batch_id) == (1, 3)
    (listed,) = await batches.list_batches(db)
    assert (listed.items, listed.complete, listed.reviews, listed.wanted) == (3, 1, 3, 6)
    assert listed.gold == 4
    estimate = await forecast(db, batch_id, clock(), zone="UTC")
    assert estimate.remaining == 3


async def test_a_batch_whose_ordinary_items_are_complete_is_complete_with_gold_left(
    db: Database, progress: ProgressService, clock: FakeClock
) -> None:
    batch_id = await make(db, [(2, 0), (3, 0)], gold=[0, 1])
    (report,) = await progress.report("b")
    assert report.finished and (report.complete, report.items) == (2, 2)
    assert (await forecast(db, batch_id, clock(), zone="UTC")).complete
    (done,) = await newly_completed(db, clock())
    assert (done.id, done.items, done.reviews) == (batch_id, 2, 5)
    assert await newly_completed(db, clock()) == []  # once


async def test_a_batch_of_gold_items_only_is_never_complete(db: Database) -> None:
    await make(db, [], gold=[1, 0])
    assert await newly_completed(db, datetime.fromisoformat(NOW)) == []


async def test_an_open_ordinary_item_keeps_the_batch_open(db: Database) -> None:
    await make(db, [(2, 0), (1, 0)], gold=[5])
    assert await newly_completed(db, datetime.fromisoformat(NOW)) == []


async def test_extra_reviews_are_wanted_and_late_ones_are_not(
    db: Database, progress: ProgressService, clock: FakeClock
) -> None:
    """Overlap 2: an open item given 1 extra (2 of 3 done), a complete one given 1 (3 of 3),
    a complete one without extras that got a late third review, and an open one (0 done)."""
    batch_id = await make(db, [(2, 1), (3, 1), (3, 0), (0, 0)], gold=[2], extra_reviews=2)
    (report,) = await progress.report("b")
    assert (report.items, report.complete, report.reviews) == (4, 2, 8)
    assert report.wanted == 4 * 2 + 2
    assert report.remaining == 1 + 2  # the extra one still missing, and the untouched item's
    assert (await forecast(db, batch_id, clock(), zone="UTC")).remaining == 3
    (listed,) = await batches.list_batches(db)
    assert (listed.wanted, listed.extra, listed.extra_reviews, listed.disagreement) == (
        10,
        2,
        2,
        2,
    )


async def test_extras_are_not_read_while_dynamic_overlap_is_off(
    db: Database, progress: ProgressService, clock: FakeClock
) -> None:
    """`extra` is only counted for a batch with extra_reviews > 0 (its reads leave the index)."""
    batch_id = await make(db, [(2, 1), (0, 0)], extra_reviews=0)
    (report,) = await progress.report("b")
    assert (report.wanted, report.remaining) == (4, 2)
    assert (await forecast(db, batch_id, clock(), zone="UTC")).remaining == 2


async def test_batches_are_listed_from_the_covering_index(db: Database) -> None:
    """/batches counts gold items apart without reading an item row."""
    if db.dialect != "sqlite":
        pytest.skip("a SQLite query plan")
    plan = " ".join(
        str(row[3]) for row in await db.fetchall(f"EXPLAIN QUERY PLAN {LIST_BATCHES_SQL}")
    )
    assert "COVERING INDEX items_progress" in plan
