"""The coordinators' daily report end to end: /report brings the chart (a real PNG, as the fake
Bot API received it) and the figures with a CSV button; the CSV has every trainer's row as the
database has it; a trainer's /report is refused; the daily engine's `send_report` sends the
same as bulk sends; a forged or old CSV button is answered politely."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import struct
from dataclasses import replace
from datetime import timedelta

import pytest
from telegram.error import Forbidden

from bot.report_chart import HEIGHT, WIDTH
from handlers.callback_data import Action, encode
from handlers.context import SERVICES_KEY
from handlers.reports import send_report
from storage import trainers
from tests.conftest import FakeClock
from tests.e2e import RunningBot, answered
from tests.factories import make_batch
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser
from tests.fakebot.models import ApiCall
from tests.test_report import Script

TEXTS = {
    "en": {"title": "Daily report", "met": "Met their quota: 1", "below": "Below their quota: 1"},
    "id": {
        "title": "Laporan harian",
        "met": "Sudah capai kuota: 1",
        "below": "Belum capai kuota: 1",
    },
}
CHART_WAIT = 30.0  # the first chart of a process loads Matplotlib's fonts


@pytest.fixture
async def day(api: FakeBotApi, nilai: RunningBot, clock: FakeClock) -> RunningBot:
    """Ani (WIB) met her quota of 5 today; Budi (WIT) did 2 after his local midnight (the
    report is at 21:00 WIB, 23:00 WIT)."""
    clock.now = clock.now.replace(month=12, day=1, hour=14, minute=0)
    ani = api.user(2001, "Ani", username="ani_r")
    budi = api.user(2002, "Budi")
    for user in (ani, budi):
        await nilai.onboard(user)
    await trainers.set_timezone(nilai.database, budi.user_id, "Asia/Jayapura")
    script = Script(nilai.database, await make_batch(nilai.database, "pilot", items=20, overlap=1))
    for n in range(5):
        await script.review(ani.user_id, clock.now - timedelta(hours=2, minutes=5 * n))
    # 16:00 UTC on Nov 30: 01:00 on Dec 1 in WIT (Budi's today), still Nov 30 in WIB
    await script.review(budi.user_id, clock.now - timedelta(hours=22))
    await script.review(budi.user_id, clock.now - timedelta(hours=21, minutes=50))
    return nilai


async def boss_in(api: FakeBotApi, language: str) -> FakeUser:
    """The coordinator from settings (user 9000), welcomed in `language`."""
    boss = api.user(9000, "Boss", language_code=language)
    await boss.send("/start")
    await boss.wait_bot_message()
    return boss


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


async def report_of(api: FakeBotApi, boss: FakeUser, since: int) -> tuple[ApiCall, FakeMessage]:
    """The chart's sendPhoto and the figures' message that follow `since`."""
    photo = await api.wait_for_call(
        "sendPhoto", lambda c: c.ok and c.chat_id == boss.chat_id, since=since, timeout=CHART_WAIT
    )
    text = await boss.wait_bot_message(since=photo.index, timeout=CHART_WAIT)
    return photo, text


@pytest.mark.parametrize("language", ["en", "id"])
async def test_report_brings_the_chart_and_the_figures(
    api: FakeBotApi, day: RunningBot, language: str
) -> None:
    boss = await boss_in(api, language)
    since = api.mark()
    await boss.send("/report")
    photo, message = await report_of(api, boss, since)
    assert png_size(photo.params["photo"].content) == (WIDTH, HEIGHT)
    assert photo.result["photo"][0]["width"] == WIDTH
    shown = message.plain_text()
    assert TEXTS[language]["title"] in shown
    assert TEXTS[language]["met"] in shown and "Ani (@ani_r)" in shown
    assert TEXTS[language]["below"] in shown and "Budi 2/5" in shown
    assert "pilot: 7 " in shown  # 5 + 2 reviews today, each by their trainer's own day
    assert [b["text"] for row in message.buttons() for b in row] == ["CSV"]


async def test_the_csv_button_sends_everyone_as_the_database_has_them(
    api: FakeBotApi, day: RunningBot
) -> None:
    boss = await boss_in(api, "en")
    since = api.mark()
    await boss.send("/report")
    _, message = await report_of(api, boss, since)
    await boss.tap(message, "CSV")
    document = await boss.wait_bot_message(lambda m: m.document is not None, timeout=CHART_WAIT)
    assert document.document is not None and document.document["file_name"].endswith(".csv")
    content = api.file_content(document.document["file_id"]).decode("utf-8-sig")
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(content))}
    assert set(rows) == {"Ani", "Budi"}  # trainers only: not the coordinator
    for name, row in rows.items():
        user_id = 2001 if name == "Ani" else 2002
        total = await day.count(
            "SELECT COUNT(*) FROM assignments WHERE trainer_id = ? AND status = 'submitted'",
            user_id,
        )
        assert row["today"] == row["week_total"] == str(total)
    assert (rows["Ani"]["met"], rows["Ani"]["streak"], rows["Ani"]["username"]) == (
        "1",
        "1",
        "ani_r",
    )
    assert (rows["Budi"]["met"], rows["Budi"]["quota"]) == ("0", "5")
    assert rows["Ani"]["minutes_today"] == "25"  # five reviews back to back, 5 minutes each
    assert "2 trainers" in document.plain_text()


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_trainer_is_refused_politely(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    user = api.user(2100, "Wulan", language_code=language)
    await nilai.onboard(user)
    since = api.mark()
    await user.send("/report")
    refusal = await user.wait_bot_message()
    assert {"en": "for coordinators", "id": "khusus koordinator"}[language] in refusal.plain_text()
    await api.wait_idle(quiet=0.1)
    assert not [c for c in api.calls[since:] if c.method == "sendPhoto"]


async def test_send_report_sends_the_chart_and_the_figures_as_bulk_sends(
    api: FakeBotApi, day: RunningBot, clock: FakeClock
) -> None:
    boss = await boss_in(api, "id")
    me = await trainers.get_trainer(day.database, boss.user_id)
    assert me is not None
    since = api.mark()
    services = day.app.bot_data[SERVICES_KEY]
    assert await send_report(day.app.bot, services, me, clock.now) is True
    photo, message = await report_of(api, boss, since)
    assert png_size(photo.params["photo"].content) == (WIDTH, HEIGHT)
    assert "Laporan harian" in message.plain_text() and "Selasa, 1 Des, 21.00 WIB" in (
        message.plain_text()
    )
    seconds = int(clock.now.timestamp())
    assert message.button("CSV")["callback_data"] == encode(Action.REPORT_CSV, seconds)


@pytest.mark.parametrize("age", [timedelta(days=9), timedelta(minutes=-5)])
async def test_an_old_or_forged_csv_button_is_answered_politely(
    api: FakeBotApi, day: RunningBot, clock: FakeClock, age: timedelta
) -> None:
    boss = await boss_in(api, "en")
    since = api.mark()
    await boss.send("/report")
    _, message = await report_of(api, boss, since)
    seconds = int((clock.now - age).timestamp())
    update = await boss.tap(message, data=encode(Action.REPORT_CSV, seconds))
    assert "no longer valid" in await answered(api, update)
    await api.wait_idle(quiet=0.1)
    assert not [c for c in api.calls[since:] if c.method == "sendDocument"]


async def test_a_trainer_cannot_use_a_csv_button(
    api: FakeBotApi, day: RunningBot, clock: FakeClock
) -> None:
    user = api.user(2001, "Ani")
    since = api.mark()
    await user.send("/stats")
    stats = await user.wait_bot_message(since=since)
    update = await user.tap(stats, data=encode(Action.REPORT_CSV, int(clock.now.timestamp())))
    assert "coordinators only" in await answered(api, update)
    await api.wait_idle(quiet=0.1)
    assert not [c for c in api.calls[since:] if c.method == "sendDocument"]


async def test_send_report_lets_a_blocked_coordinator_reach_the_engine(
    api: FakeBotApi, day: RunningBot, clock: FakeClock
) -> None:
    """The engine records blocked and marks the coordinator unreachable: send_report does
    not swallow the 403."""
    boss = await boss_in(api, "en")
    me = await trainers.get_trainer(day.database, boss.user_id)
    assert me is not None
    await boss.block_bot()
    with pytest.raises(Forbidden):
        await send_report(day.app.bot, day.app.bot_data[SERVICES_KEY], me, clock.now)


async def test_coordinators_reports_at_one_moment_build_the_figures_once(
    api: FakeBotApi, day: RunningBot, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Reports go out to up to ten coordinators at once: one build of the figures for all, one
    chart per language and zone, and the CSV button under them finds the same report."""
    boss = await boss_in(api, "id")
    me = await trainers.get_trainer(day.database, boss.user_id)
    assert me is not None
    services = day.app.bot_data[SERVICES_KEY]
    readers = [me, replace(me, language="en"), me]  # three coordinators, two languages
    caplog.set_level(logging.DEBUG, logger="handlers.reports")
    since = api.mark()
    await asyncio.gather(*(send_report(day.app.bot, services, r, clock.now) for r in readers))
    built = [r for r in caplog.records if "built" in r.getMessage()]
    drawn = [r for r in caplog.records if "drawn" in r.getMessage()]
    assert (len(built), len(drawn)) == (1, 2)
    photos = [c for c in api.calls[since:] if c.method == "sendPhoto" and c.ok]
    assert len(photos) == 3 and all(png_size(p.params["photo"].content) for p in photos)

    _, message = await report_of(api, boss, since)
    update = await boss.tap(message, "CSV")
    await answered(api, update)
    await api.wait_for_call("sendDocument", lambda c: c.ok, since=since, timeout=CHART_WAIT)
    assert len([r for r in caplog.records if "built" in r.getMessage()]) == 1
