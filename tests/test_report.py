"""The daily report's figures (bot/report.py) for a scripted day, checked against the database;
the message's limits (handlers/report_message.py) and the CSV table (bot/report_table.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import stamp
from bot.config import Settings
from bot.forecast import Forecast
from bot.report import BatchFigures, Report, TrainerFigures, build_report, reviewing_seconds
from bot.report_table import COLUMNS, report_csv
from bot.streaks import Days, day_range
from handlers import reports
from handlers.report_message import render_report
from handlers.text_split import MESSAGE_LIMIT, visible_len
from storage import trainers
from storage.database import Database
from storage.records import Trainer
from tests.factories import make_batch, make_trainer

# 21:30 in Jakarta (WIB) on Tuesday Dec 1; 23:30 in Jayapura (WIT), two hours ahead.
NOW = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
WIB, WIT = "Asia/Jakarta", "Asia/Jayapura"


class Script:
    """Reviews written straight into the tables, each of the next item of one batch."""

    def __init__(self, db: Database, batch_id: int):
        self.db, self.batch_id, self.next_item = db, batch_id, 0

    async def item(self) -> int:
        rows = await self.db.fetchall(
            "SELECT id FROM items WHERE batch_id = ? ORDER BY id", (self.batch_id,)
        )
        self.next_item += 1
        return rows[self.next_item - 1]["id"]

    async def review(
        self, trainer_id: int, handed: datetime, minutes: float = 5, *, counted: bool = True
    ) -> None:
        """A review handed out at `handed` and submitted `minutes` later (`counted`: on its
        item's count of reviews too)."""
        item = await self.item()
        submitted = handed + timedelta(minutes=minutes)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
                " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
                (item, trainer_id, stamp(handed), stamp(submitted), stamp(submitted)),
            )
            if counted:
                await conn.execute(
                    "UPDATE items SET done_count = done_count + 1 WHERE id = ?", (item,)
                )

    async def skip(self, trainer_id: int, handed: datetime) -> None:
        item = await self.item()
        await self.db.execute(
            "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
            " lease_expires_at) VALUES (?, ?, 'skipped', ?, ?)",
            (item, trainer_id, stamp(handed), stamp(handed)),
        )


async def trainer(db: Database, user_id: int, name: str, zone: str, **kw: object) -> Trainer:
    made = await make_trainer(db, user_id)
    await trainers.update_profile(db, user_id, name, kw.get("username"))  # type: ignore[arg-type]
    await trainers.set_timezone(db, user_id, zone)
    return replace(made, name=name, timezone=zone)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11 if day > 20 else 12, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def scripted(db: Database, settings: Settings) -> Script:
    """Ani (WIB, quota 5) meets it; Budi (WIT) reviews after his local midnight; Citra (WIB)
    did nothing today; the coordinator and a paused trainer are not in the report."""
    await trainer(db, 1, "Ani", WIB, username="ani")
    await trainer(db, 2, "Budi", WIT)
    await trainer(db, 3, "Citra", WIB)
    await make_trainer(db, 4, role="coordinator")
    await make_trainer(db, 5)
    await db.execute("UPDATE trainers SET status = 'paused' WHERE user_id = 5")
    script = Script(db, await make_batch(db, "pilot", items=40, overlap=1))
    # Ani: 5 in one sitting from 17:00 WIB (10:00 UTC), 25 minutes; then one more at 19:00 WIB
    # after a long pause (5 minutes more); a skip today; and 2 yesterday (her local day).
    for n in range(5):
        await script.review(1, at(1, 10, 5 * n))
    await script.review(1, at(1, 12))
    await script.skip(1, at(1, 12, 10))
    await script.review(1, at(30, 9))
    await script.review(1, at(30, 9, 5))
    # Budi: 16:00 UTC on Nov 30 is 01:00 on Dec 1 in WIT (his today) but Nov 30 in WIB.
    await script.review(2, at(30, 16))
    await script.review(2, at(30, 16, 5))
    await script.review(2, at(30, 14))  # 23:00 WIT on Nov 30: his yesterday
    await script.review(5, at(1, 10))  # the paused trainer's review counts for the batch only
    return script


async def test_figures_of_a_scripted_day_follow_each_trainers_zone(
    db: Database, settings: Settings, scripted: Script
) -> None:
    report = await build_report(db, settings, NOW)
    by_name = {f.trainer.name: f for f in report.trainers}
    assert list(by_name) == ["Ani", "Budi", "Citra"]  # active trainers only, by name
    ani, budi, citra = by_name["Ani"], by_name["Budi"], by_name["Citra"]
    for figures, zone in ((ani, WIB), (budi, WIT), (citra, WIB)):
        assert figures.days.done_today == await submitted_on(db, figures.trainer, zone)
    assert (ani.days.done_today, budi.days.done_today, citra.days.done_today) == (6, 2, 0)
    assert ani.days.today.day == 1 and budi.days.today.day == 1
    assert ani.days.week[-2:] == (2, 6) and budi.days.week[-2:] == (1, 2)
    assert ani.days.met_today and ani.days.streak == 1 and not budi.days.met_today
    assert (report.reviews_today, report.active_today) == (8, 2)
    assert [f.trainer.name for f in report.met] == ["Ani"]
    assert [f.trainer.name for f in report.missed] == ["Citra", "Budi"]  # furthest behind first
    assert report.team_week[-2:] == (3, 8)
    assert ani.skipped_week == 1 and ani.skip_rate == pytest.approx(1 / 9)
    assert budi.skip_rate == 0 and citra.skip_rate is None
    # 25 minutes in one sitting and 5 in another; yesterday's 10 minutes only in the week
    assert (ani.seconds_today / 60, ani.seconds_week / 60) == (30, 40)
    (pilot,) = report.batches
    assert pilot.name == "pilot" and pilot.reviews_today == 6 + 2 + 1
    assert (pilot.done, pilot.wanted) == (12, 40)
    assert pilot.forecast is not None and pilot.forecast.remaining == 28


async def submitted_on(db: Database, trainer: Trainer, zone: str) -> int:
    """Straight from the table: the trainer's reviews on their local Dec 1."""
    start, end = day_range(NOW.astimezone(UTC).date(), zone)
    return await db.fetchval(
        "SELECT COUNT(*) FROM assignments WHERE trainer_id = ? AND status = 'submitted'"
        " AND submitted_at >= ? AND submitted_at < ?",
        (trainer.user_id, start, end),
    )


async def test_the_csv_has_a_row_per_trainer_matching_the_figures(
    db: Database, settings: Settings, scripted: Script
) -> None:
    report = await build_report(db, settings, NOW)
    rows = list(csv.DictReader(io.StringIO(report_csv(report, WIB).decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    assert [row["name"] for row in rows] == ["Ani", "Budi", "Citra"]
    ani = rows[0]
    assert ani["username"] == "ani"
    assert (ani["today"], ani["quota"], ani["met"], ani["week_total"]) == ("6", "5", "1", "8")
    assert (ani["skip_rate_week"], ani["streak"]) == ("0.111", "1")
    assert (ani["minutes_today"], ani["minutes_week"]) == ("30", "40")
    assert ani["last_seen"] == "2026-11-25T10:00+07:00"  # in the reader's zone
    assert rows[2]["skip_rate_week"] == ""  # nothing finished this week


async def test_a_report_rebuilt_later_for_its_csv_counts_nothing_after_its_moment(
    db: Database, settings: Settings, scripted: Script
) -> None:
    """The CSV button rebuilds the report at its moment: reviews and skips after it (the same
    local day, for Ani in WIB and Budi in WIT) change neither the CSV nor the message. (A
    batch's progress is its items' counts as of now; those are left as they were here.)"""
    sent = await build_report(db, settings, NOW)
    message, table = render_report(sent, "en", WIB), report_csv(sent, WIB)
    for minutes in (5, 15, 25):  # 21:35-21:55 WIB, 23:35-23:55 WIT: still everyone's Dec 1
        for user_id in (1, 2, 3):
            await scripted.review(user_id, NOW + timedelta(minutes=minutes), counted=False)
    await scripted.skip(1, NOW + timedelta(minutes=30))
    rebuilt = await build_report(db, settings, NOW)
    assert report_csv(rebuilt, WIB) == table
    assert render_report(rebuilt, "en", WIB) == message


def test_a_name_that_looks_like_a_formula_stays_text() -> None:
    report = fake_report([figures(1, "=HYPERLINK(1)")])
    text = report_csv(report, WIB).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


@pytest.mark.parametrize(
    ("minutes", "today", "week"),
    [
        ([(0, 5), (5, 10)], 10, 10),  # one sitting
        ([(0, 5), (60, 65)], 10, 10),  # a long pause between: each item's own 5 minutes
        ([(-30, -25)], 0, 5),  # before today: the week only
        ([(-5, 5)], 5, 10),  # across midnight: split
    ],
)
def test_reviewing_time_counts_sittings_not_pauses(minutes, today, week) -> None:
    midnight = datetime(2026, 12, 1, tzinfo=UTC)
    reviews = [
        (stamp(midnight + timedelta(minutes=a)), stamp(midnight + timedelta(minutes=b)))
        for a, b in minutes
    ]
    spent = reviewing_seconds(reviews, midnight, midnight - timedelta(days=6))
    assert (spent[0] / 60, spent[1] / 60) == (today, week)


def figures(user_id: int, name: str, done: int = 0, quota: int = 5) -> TrainerFigures:
    trainer = Trainer(user_id, user_id, name, None, "en", None, None, "trainer", "active", True)
    days = Days(NOW.date(), quota, (0, 0, 0, 0, 0, 0, done), 0)
    return TrainerFigures(trainer, days, 0, 0.0, 0.0, None)


def fake_report(people: list[TrainerFigures]) -> Report:
    return Report(NOW, tuple(people), (), (0,) * 7)


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_long_team_is_listed_as_far_as_it_fits_and_says_so(language: str) -> None:
    people = [figures(n, f"Trainer with a long name {n}", done=n % 9) for n in range(1, 1001)]
    text = render_report(fake_report(people), language, WIB)
    assert visible_len(text) <= MESSAGE_LIMIT
    notes = re.findall(r"<i>([\d.,]+) (?:of|dari) ([\d.,]+) ", text)
    met = sum(1 for f in people if f.days.met_today)
    totals = [f"{met:,}", f"{1000 - met:,}"]
    if language == "id":
        totals = [total.replace(",", ".") for total in totals]
    assert [total for _, total in notes] == totals
    shown = sum(int(count.replace(",", "").replace(".", "")) for count, _ in notes)
    listed = [n for n in range(1, 1001) if re.search(rf"long name {n}\b", text)]
    assert len(listed) == shown and shown > 50


def test_a_small_team_is_listed_whole_without_a_note() -> None:
    people = [figures(1, "Ani", done=5), figures(2, "Budi", done=1)]
    text = render_report(fake_report(people), "en", WIB)
    assert "Ani" in text and "Budi 1/5" in text and "listed" not in text


def test_no_trainers_and_no_batches_say_so() -> None:
    text = render_report(fake_report([]), "en", WIB)
    assert "No active trainers yet" in text and "No open batches" in text


@pytest.mark.parametrize(
    ("language", "finish", "deadline"),
    [
        ("en", "Estimated finish Jan 5, 2028, 9:30 PM WIB", "(Fri, Jan 1, 2027)"),
        ("id", "Perkiraan selesai 5 Jan 2028 21.30 WIB", "(Jumat, 1 Jan 2027)"),
    ],
)
def test_a_finish_or_deadline_in_another_year_says_its_year(
    language: str, finish: str, deadline: str
) -> None:
    far = Forecast(100, 0.25, NOW + timedelta(days=400), datetime(2027, 1, 1).date(), late=True)
    batch = BatchFigures(1, "pilot", 0, 10, 110, far)
    text = render_report(Report(NOW, (), (batch,), (0,) * 7), language, WIB)
    assert finish in text and deadline in text


def test_the_indonesian_report_says_penilaian_as_the_other_messages_do() -> None:
    batch = BatchFigures(1, "pilot", 3, 10, 110, None)
    report = Report(NOW, (figures(1, "Ani", done=3),), (batch,), (0,) * 7)
    text = render_report(report, "id", WIB)
    assert "<b>3</b> penilaian" in text and "1 dari 1 trainer sudah menilai" in text
    assert "10 dari 110 penilaian" in text and "review" not in text.lower()


@pytest.mark.parametrize(
    ("language", "zone", "shown"),
    [
        ("en", WIB, "Estimated finish: Dec 2, 9:30 PM WIB"),
        ("id", WIB, "Perkiraan selesai: 2 Des 21.30 WIB"),
        ("en", WIT, "Estimated finish: Dec 2, 11:30 PM WIT"),
    ],
)
def test_an_estimated_finish_says_its_zone(language: str, zone: str, shown: str) -> None:
    soon = Forecast(100, 4.0, NOW + timedelta(days=1), None, late=False)
    batch = BatchFigures(1, "pilot", 0, 10, 110, soon)
    text = render_report(Report(NOW, (), (batch,), (0,) * 7), language, zone)
    assert shown in text


@pytest.mark.parametrize(
    ("reviews", "done", "shown"),
    [
        (1, 1, "Today: <b>1</b> review · 1 of 1 trainer reviewed · 0 met their quota"),
        (3, 3, "Today: <b>3</b> reviews · 1 of 1 trainer reviewed · 0 met their quota"),
    ],
)
def test_the_team_line_counts_reviews_and_trainers_each_in_its_own_plural(
    reviews: int, done: int, shown: str
) -> None:
    report = Report(NOW, (figures(1, "Ani", done=done),), (), (0,) * 7)
    assert report.reviews_today == reviews
    assert shown in render_report(report, "en", WIB)


def test_the_team_line_says_trainers_for_a_team_of_two() -> None:
    people = [figures(1, "Ani", done=5), figures(2, "Budi", done=0)]
    text = render_report(Report(NOW, tuple(people), (), (0,) * 7), "en", WIB)
    assert "1 of 2 trainers reviewed · 1 met their quota" in text


async def test_reports_of_different_moments_are_built_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each build is about a second of SQLite on the one reader thread at a thousand
    trainers: two at once would only hold up the taps that need that thread."""
    running, most = 0, 0

    async def build(services, moment):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return moment

    monkeypatch.setattr(reports, "_build", build)
    cache = reports.ReportCache()
    moments = [datetime(2026, 12, 1, 14, minute, tzinfo=UTC) for minute in range(3)]
    built = await asyncio.gather(*(cache.report(None, moment) for moment in moments))
    assert built == moments and most == 1


async def test_a_batch_line_wants_the_extra_reviews_and_leaves_gold_items_out(
    db: Database, settings: Settings
) -> None:
    """Dynamic overlap: an item given 2 extra reviews wants 3, so 6 useful reviews of 5 items
    at overlap 1 are 6 of 7 (not 6 of 5, 120%); a gold item's review is not one of the batch's
    reviews today (gold items are not part of its progress)."""
    for user_id in (1, 2, 3):
        await trainer(db, user_id, f"T{user_id}", WIB)
    batch = await make_batch(db, "dyn", items=6, overlap=1)
    await db.execute(
        "UPDATE batches SET extra_reviews = 2, disagreement = 2 WHERE id = ?", (batch,)
    )
    items = [
        row["id"]
        for row in await db.fetchall(
            "SELECT id FROM items WHERE batch_id = ? ORDER BY id", (batch,)
        )
    ]
    await db.execute(
        "UPDATE items SET complete = 2, gold = '{\"accuracy\": [4, 5]}' WHERE id = ?", (items[5],)
    )
    await db.execute("UPDATE items SET extra = 2 WHERE id = ?", (items[0],))
    reviews = [(items[0], 1), (items[0], 2), (items[0], 3), (items[1], 1), (items[2], 1)]
    reviews += [(items[3], 2), (items[5], 1)]  # the last: the gold item
    handed = stamp(NOW - timedelta(minutes=30))
    for item, user_id in reviews:
        await db.execute(
            "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
            " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
            (item, user_id, handed, handed, handed),
        )
        await db.execute("UPDATE items SET done_count = done_count + 1 WHERE id = ?", (item,))
    report = await build_report(db, settings, NOW)
    (dyn,) = report.batches
    assert (dyn.done, dyn.wanted, dyn.reviews_today) == (6, 7, 6)
    assert "6 of 7 reviews (85.7%)" in render_report(report, "en", WIB)
