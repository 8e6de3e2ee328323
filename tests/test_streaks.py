"""Streaks and a trainer's local days (bot/streaks.py), counted from the database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import stamp
from bot.streaks import LONGEST_WINDOW, day_range, days_of, streak_of
from storage import trainers
from storage.database import Database
from tests.factories import make_batch, make_trainer


@pytest.mark.parametrize(
    ("counts", "quota", "streak"),
    [
        ([], 3, 0),
        ([3, 3, 3], 3, 3),  # today met: it counts
        ([3, 3, 1], 3, 2),  # today not met yet: the run up to yesterday stands
        ([3, 0, 3], 3, 1),
        ([3, 3, 0, 2], 3, 0),  # yesterday missed
        ([5, 4, 9], 4, 3),
    ],
)
def test_the_streak_is_the_run_of_met_days_up_to_today(counts, quota, streak) -> None:
    assert streak_of(counts, quota) == streak


async def _submitted(db: Database, trainer_id: int, moments: list[datetime]) -> None:
    """Submitted reviews at these moments (each of another item)."""
    batch = await make_batch(db, f"b{trainer_id}", items=len(moments), overlap=1)
    rows = await db.fetchall("SELECT id FROM items WHERE batch_id = ? ORDER BY id", (batch,))
    async with db.transaction() as conn:
        for row, moment in zip(rows, moments, strict=True):
            await conn.execute(
                "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
                " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
                (row["id"], trainer_id, stamp(moment), stamp(moment), stamp(moment)),
            )


async def test_days_follow_each_trainers_zone(db: Database) -> None:
    """16:30 UTC on Nov 30 is 01:30 on Dec 1 in Jayapura (WIT) but 23:30 in Jakarta (WIB):
    the same reviews fall on different local days."""
    now = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    moments = [datetime(2026, 11, 30, 16, 30, tzinfo=UTC)] * 2 + [
        datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    ] * 2
    people = {}
    for user_id, zone in ((1, "Asia/Jakarta"), (2, "Asia/Jayapura")):
        trainer = await make_trainer(db, user_id)
        await trainers.set_timezone(db, user_id, zone)
        people[zone] = replace(trainer, timezone=zone)
        await _submitted(db, user_id, moments)
    found = await days_of(
        db, list(people.values()), now, default_zone="Asia/Jakarta", quota_of=lambda t: 2
    )
    wib, wit = found[1], found[2]
    assert wib.today == wit.today == date(2026, 12, 1)
    assert wib.week == (0, 0, 0, 0, 2, 2, 0) and wib.streak == 2 and not wib.met_today
    assert wit.week == (0, 0, 0, 0, 2, 0, 2) and wit.streak == 1 and wit.met_today
    assert wit.week_total == 4


async def test_a_long_streak_is_found_beyond_the_first_window(db: Database) -> None:
    trainer = await make_trainer(db, 1)
    now = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    await _submitted(db, 1, [now - timedelta(days=back) for back in range(40)])
    found = await days_of(db, [trainer], now, default_zone="Asia/Jakarta", quota_of=lambda t: 1)
    assert found[1].streak == 40


def test_a_day_across_a_daylight_saving_change_is_25_hours() -> None:
    start, end = day_range(date(2026, 10, 25), "Europe/Amsterdam")
    hours = (datetime.fromisoformat(end) - datetime.fromisoformat(start)) / timedelta(hours=1)
    assert (start, hours) == ("2026-10-24T22:00:00.000000+00:00", 25)
    assert LONGEST_WINDOW > 365


@pytest.mark.parametrize("length", [13, 14, 15, 27, 28, 29, 57])
async def test_a_streak_across_the_widening_windows_is_counted_exactly(
    db: Database, length: int
) -> None:
    """The windows widen 14 -> 28 -> 56 -> ..., each reading only the days not read yet: the
    stitched days must still give the exact run (a missed day just before it)."""
    trainer = await make_trainer(db, 1)
    now = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    await _submitted(db, 1, [now - timedelta(days=back) for back in range(length)])
    found = await days_of(db, [trainer], now, default_zone="Asia/Jakarta", quota_of=lambda t: 1)
    assert found[1].streak == length
    assert found[1].week == (1,) * 7


async def test_today_counts_only_up_to_the_moment_asked_about(db: Database) -> None:
    """The report of 21:00 read again at 23:00 (its CSV) counts what it counted at 21:00."""
    trainer = await make_trainer(db, 1)
    report_moment = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 21:00 WIB
    await _submitted(db, 1, [report_moment, report_moment + timedelta(hours=1)])
    found = await days_of(
        db, [trainer], report_moment, default_zone="Asia/Jakarta", quota_of=lambda t: 2
    )
    assert found[1].done_today == 1  # the one at the moment itself counts, the later one not
    later = await days_of(
        db,
        [trainer],
        report_moment + timedelta(hours=2),
        default_zone="Asia/Jakarta",
        quota_of=lambda t: 2,
    )
    assert later[1].done_today == 2 and later[1].streak == 1
