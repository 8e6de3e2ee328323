"""The finish estimate (bot/forecast.py) and deadlines (bot/deadlines.py): the rate, the
finish, late or not, no rate, a complete batch, and which dates a deadline may be."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import stamp
from bot.config import Settings
from bot.deadlines import DeadlineError, deadline_end, parse_deadline
from bot.forecast import Forecast, UnknownBatch, forecast, forecasts
from bot.review import ReviewService
from storage.database import Database
from storage.forecast import MISSING_SQL
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully

JAKARTA = "Asia/Jakarta"


async def set_reviews(db: Database, batch_id: int, done_counts: list[int]) -> None:
    """Give the batch's items these review counts (complete once at the overlap)."""
    rows = await db.fetchall("SELECT id FROM items WHERE batch_id = ? ORDER BY id", (batch_id,))
    overlap = await db.fetchval("SELECT overlap FROM batches WHERE id = ?", (batch_id,))
    for row, done in zip(rows, done_counts, strict=True):
        await db.execute(
            "UPDATE items SET done_count = ?, complete = ? WHERE id = ?",
            (done, int(done >= overlap), row[0]),
        )


async def add_submissions(db: Database, batch_id: int, moments: list[datetime]) -> None:
    """Submitted reviews at these moments, each by its own trainer, on the batch's first item
    (the counts on items are set apart, by `set_reviews`)."""
    item = await db.fetchval("SELECT MIN(id) FROM items WHERE batch_id = ?", (batch_id,))
    start = 1 + (await db.fetchval("SELECT COUNT(*) FROM trainers") or 0)
    for offset, when in enumerate(moments):
        await make_trainer(db, 100 + start + offset)
        await db.execute(
            "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
            " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
            (item, 100 + start + offset, stamp(when), stamp(when), stamp(when)),
        )


async def created(db: Database, batch_id: int, when: datetime) -> None:
    await db.execute("UPDATE batches SET created_at = ? WHERE id = ?", (stamp(when), batch_id))


async def set_deadline(db: Database, batch_id: int, day: str | None) -> None:
    await db.execute("UPDATE batches SET deadline = ? WHERE id = ?", (day, batch_id))


async def test_the_rate_is_the_last_three_days_reviews_a_day_and_gives_the_finish(
    db: Database, clock: FakeClock
) -> None:
    now = clock.now
    batch_id = await make_batch(db, "old", items=10, overlap=3)
    await created(db, batch_id, now - timedelta(days=10))
    await set_reviews(db, batch_id, [3, 3, 4, 2, 1, 0, 0, 0, 0, 0])  # 4: a late extra
    # 30 reviews within the last 3 days, 50 before: only the 30 make the rate.
    recent = [now - timedelta(hours=2 * n + 1) for n in range(30)]
    older = [now - timedelta(days=3, hours=n + 1) for n in range(50)]
    await add_submissions(db, batch_id, recent + older)

    result = await forecast(db, batch_id, now, zone=JAKARTA)
    assert result.remaining == 1 + 2 + 5 * 3  # the extra review does not fill another item
    assert result.per_day == 10.0
    assert result.finish == now + timedelta(days=18 / 10)
    assert (result.deadline, result.late, result.complete) == (None, False, False)


async def test_a_batch_younger_than_three_days_is_measured_over_its_life(
    db: Database, clock: FakeClock
) -> None:
    now = clock.now
    young = await make_batch(db, "young", items=4, overlap=2)
    await created(db, young, now - timedelta(hours=12))
    await add_submissions(db, young, [now - timedelta(hours=n) for n in range(6)])
    assert (await forecast(db, young, now, zone=JAKARTA)).per_day == 12.0  # 6 in half a day

    fresh = await make_batch(db, "fresh", items=4, overlap=2)
    await created(db, fresh, now - timedelta(minutes=10))
    await add_submissions(db, fresh, [now - timedelta(minutes=n) for n in range(2)])
    # Ten minutes old: measured over an hour at least, not 288 a day.
    assert (await forecast(db, fresh, now, zone=JAKARTA)).per_day == 48.0


async def test_the_deadline_ends_with_its_day_in_the_bot_s_time_zone(
    db: Database, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 12, 18, 16, 30, tzinfo=UTC)  # 23:30 WIB on the 18th
    now = clock.now
    batch_id = await make_batch(db, "due", items=1, overlap=2)
    await created(db, batch_id, now - timedelta(days=5))
    await add_submissions(db, batch_id, [now - timedelta(hours=n + 1) for n in range(3)])
    # 2 missing at 1 a day: the finish is 2 days on, 23:30 WIB on the 20th.
    await set_deadline(db, batch_id, "2026-12-20")
    on_time = await forecast(db, batch_id, now, zone=JAKARTA)
    assert on_time.finish == now + timedelta(days=2)
    assert (on_time.deadline, on_time.late) == (date(2026, 12, 20), False)
    # The same finish is 01:30 on the 21st in Jayapura (late), 16:30 on the 20th in London.
    assert (await forecast(db, batch_id, now, zone="Asia/Jayapura")).late
    assert not (await forecast(db, batch_id, now, zone="Europe/London")).late
    await set_deadline(db, batch_id, "2026-12-19")
    assert (await forecast(db, batch_id, now, zone=JAKARTA)).late


async def test_without_a_rate_there_is_no_finish_and_late_only_once_the_deadline_passed(
    db: Database, clock: FakeClock
) -> None:
    now = clock.now  # 2026-11-25 10:00 WIB
    batch_id = await make_batch(db, "quiet", items=2, overlap=2)
    await set_deadline(db, batch_id, "2026-11-25")
    result = await forecast(db, batch_id, now, zone=JAKARTA)
    assert result == Forecast(4, 0.0, None, date(2026, 11, 25), late=False)
    clock.now = deadline_end(date(2026, 11, 25), JAKARTA)  # midnight: the day is over
    assert (await forecast(db, batch_id, clock.now, zone=JAKARTA)).late


async def test_a_complete_batch_has_no_finish_and_is_never_late(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    review = ReviewService(db, settings, clock)
    batch_id = await make_batch(db, "done", items=1, overlap=1)
    await set_deadline(db, batch_id, "2026-11-25")
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    await review_fully(review, trainer, view.assignment.id)
    clock.advance(days=30)
    result = await forecast(db, batch_id, clock.now, zone=JAKARTA)
    assert (result.remaining, result.complete, result.finish, result.late) == (0, True, None, False)
    assert result.per_day == 0.0  # its one review is older than the window now


async def test_forecasts_cover_the_open_batches_and_an_unknown_id_is_refused(
    db: Database, clock: FakeClock
) -> None:
    now = clock.now
    first = await make_batch(db, "first", items=2, overlap=1)
    second = await make_batch(db, "second", items=3, overlap=1)
    paused = await make_batch(db, "paused", items=3, overlap=1)
    await db.execute("UPDATE batches SET status = 'paused' WHERE id = ?", (paused,))
    await add_submissions(db, second, [now - timedelta(minutes=n) for n in range(3)])
    await set_reviews(db, second, [1, 1, 0])
    result = await forecasts(db, now, zone=JAKARTA)
    assert set(result) == {first, second}
    assert (result[first].remaining, result[first].finish) == (2, None)
    assert result[second].remaining == 1
    assert result[second].per_day == 3 * 24  # three in the first hour of a new batch
    assert result[second].finish == now + timedelta(days=1 / 72)
    with pytest.raises(UnknownBatch):
        await forecast(db, 999, now, zone=JAKARTA)


async def test_an_absurdly_slow_pace_still_gives_a_finish(db: Database, clock: FakeClock) -> None:
    now = clock.now
    batch_id = await make_batch(db, "huge", items=1, overlap=1)
    await db.execute("UPDATE batches SET overlap = 100000000 WHERE id = ?", (batch_id,))
    await created(db, batch_id, now - timedelta(days=30))
    await add_submissions(db, batch_id, [now - timedelta(days=1)])
    result = await forecast(db, batch_id, now, zone=JAKARTA)
    assert result.finish is not None and result.finish.year < 9999


async def test_missing_reviews_come_from_a_covering_index(sqlite_db: Database) -> None:
    plan = " ".join(
        str(row[3]) for row in await sqlite_db.fetchall(f"EXPLAIN QUERY PLAN {MISSING_SQL}", (1,))
    )
    assert "COVERING INDEX items_progress" in plan


NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 10:00 WIB


@pytest.mark.parametrize(
    "text", ["2026-13-01", "2026-02-30", "20-12-2026", "2026-2-1", "tomorrow", "", "2026-12-20x"]
)
def test_a_malformed_deadline_is_refused(text: str) -> None:
    with pytest.raises(DeadlineError) as refused:
        parse_deadline(text, NOW, JAKARTA)
    assert refused.value.reason == "malformed"


def test_a_deadline_whose_day_has_ended_is_refused_and_today_is_fine() -> None:
    with pytest.raises(DeadlineError) as refused:
        parse_deadline("2026-11-24", NOW, JAKARTA)
    assert refused.value.reason == "past"
    assert parse_deadline("2026-11-25", NOW, JAKARTA) == date(2026, 11, 25)
    assert parse_deadline(" 2027-01-31 ", NOW, JAKARTA) == date(2027, 1, 31)
    # 10:00 WIB is 16:00 the day before in Pago Pago: there the 24th has not ended.
    assert parse_deadline("2026-11-24", NOW, "Pacific/Pago_Pago") == date(2026, 11, 24)


async def test_a_forecast_at_a_moment_ignores_reviews_after_it(
    db: Database, clock: FakeClock
) -> None:
    """The report's CSV is rebuilt at the report's moment: later reviews do not change the pace."""
    now = clock.now
    batch_id = await make_batch(db, "pilot", items=10, overlap=1)
    await created(db, batch_id, now - timedelta(days=5))
    await add_submissions(db, batch_id, [now - timedelta(hours=1), now])
    before = await forecast(db, batch_id, now, zone=JAKARTA)
    await add_submissions(db, batch_id, [now + timedelta(hours=n + 1) for n in range(6)])
    assert await forecast(db, batch_id, now, zone=JAKARTA) == before
    assert before.per_day == pytest.approx(2 / 3)
