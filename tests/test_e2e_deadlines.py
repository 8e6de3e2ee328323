"""Batch deadlines end to end: `deadline=` in an upload's caption (shown in the summary,
/batches and /progress, in both languages), a malformed or past one refused, /progress warning
when the batch falls behind, and the CLI's `import --deadline`."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.batches import import_batch_file
from bot.clock import stamp
from bot.deadlines import deadline_end
from handlers.callback_data import Action
from tests.cli_runner import run_cli
from tests.conftest import SAMPLES
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeUser
from tests.test_e2e_batches import start_coordinator, upload

CSV = (SAMPLES / "batch_small.csv").read_bytes()  # 23 items
SHOWN = {
    "en": ("Deadline: Sun, Dec 20", "📅 due Sun, Dec 20", "Open quietly"),
    "id": ("Tenggat: Minggu, 20 Des", "📅 tenggat Minggu, 20 Des", "Buka tanpa umumkan"),
}
NO_PACE = {
    "en": "📅 Deadline: Sun, Dec 20 · no reviews in the last few days",
    "id": "📅 Tenggat: Minggu, 20 Des · beberapa hari ini belum ada penilaian",
}


async def ask(api: FakeBotApi, user: FakeUser, text: str) -> str:
    since = api.mark()
    await user.send(text)
    return (await user.wait_bot_message(since=since)).plain_text()


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_deadline_in_the_caption_is_kept_and_shown_in_batches_and_progress(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    boss = await start_coordinator(api, language)
    summary, listed, open_quietly = SHOWN[language]
    status = await upload(api, boss, "small.csv", CSV, caption="pilot deadline=2026-12-20")
    assert summary in status.plain_text()
    await boss.tap(status, open_quietly)
    await api.wait_idle(quiet=0.1)
    assert await nilai.database.fetchval("SELECT deadline FROM batches") == "2026-12-20"

    assert listed in await ask(api, boss, "/batches")
    assert NO_PACE[language] in await ask(api, boss, "/progress")


async def review_one(api: FakeBotApi, nilai: RunningBot, user: FakeUser) -> None:
    panel = await nilai.next_item(user)
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.05)


async def test_progress_says_on_track_then_late_then_passed(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    await import_batch_file(
        nilai.database,
        nilai.settings,
        SAMPLES / "batch_small.csv",
        name="pilot",
        overlap=2,
        deadline=date(2026, 12, 20),
        clock=nilai.clock,
    )
    rina = api.user(2001, "Rina", language_code="en")
    await nilai.onboard(rina)
    for _ in range(3):
        await review_one(api, nilai, rina)
    # Three reviews in the batch's first hour: 72 a day, the 43 left take well under a day.
    text = await ask(api, coordinator, "/progress")
    assert "📅 Deadline: Sun, Dec 20 · on track at 72 reviews a day" in text

    # The same three reviews, had the batch been open for three days: one a day, 43 days.
    created = stamp(nilai.clock.now - timedelta(days=3))
    await nilai.database.execute("UPDATE batches SET created_at = ?", (created,))
    text = await ask(api, coordinator, "/progress")
    assert (
        "⚠️ Deadline: Sun, Dec 20. At 1 review a day it would finish around Thu, Jan 7, 2027:"
        " too late." in text
    )
    assert "Estimated finish:" in text  # the last hour's estimate stays beside it

    nilai.clock.now = deadline_end(date(2026, 12, 20), nilai.settings.timezone)
    text = await ask(api, coordinator, "/progress")
    assert "⚠️ The deadline, Sun, Dec 20, has passed and 43 reviews are still wanted." in text


@pytest.mark.parametrize(
    ("language", "caption", "said"),
    [
        ("en", "pilot deadline=2026-13-45", "I couldn't read the deadline 2026-13-45"),
        ("en", "pilot deadline=20-12-2026", "Write it as year-month-day"),
        ("en", "pilot deadline=9999-12-31", "I couldn't read the deadline 9999-12-31"),  # overflow
        ("en", "pilot deadline=2026-11-24", "The deadline 2026-11-24 has already passed"),
        ("id", "pilot deadline=besok", "Tenggat besok tidak bisa kubaca"),
        ("id", "pilot deadline=2026-11-24", "Tenggat 2026-11-24 sudah lewat"),
    ],
)
async def test_a_malformed_or_past_deadline_is_refused_and_nothing_is_kept(
    api: FakeBotApi, nilai: RunningBot, language: str, caption: str, said: str
) -> None:
    boss = await start_coordinator(api, language)
    status = await upload(api, boss, "small.csv", CSV, caption=caption)
    assert said in status.plain_text()
    assert status.buttons() == []
    assert await nilai.count("SELECT COUNT(*) FROM uploads") == 0
    assert not list((nilai.settings.data_dir / "uploads").glob("*"))  # not even downloaded


async def test_today_is_still_a_deadline_one_can_give(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    status = await upload(api, coordinator, "small.csv", CSV, caption="pilot deadline=2026-11-25")
    assert "Deadline: Wed, Nov 25" in status.plain_text()
    await coordinator.tap(status, "Open quietly")
    await api.wait_idle(quiet=0.1)
    assert await nilai.database.fetchval("SELECT deadline FROM batches") == "2026-11-25"


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "pilot's deadline, Wed, Nov 25, passed before you tapped Open"),
        ("id", "Tenggat pilot, Rabu, 25 Nov, sudah lewat sebelum kamu ketuk Buka"),
    ],
)
async def test_an_upload_opened_after_its_deadline_passed_is_refused(
    api: FakeBotApi, nilai: RunningBot, language: str, said: str
) -> None:
    boss = await start_coordinator(api, language)
    status = await upload(api, boss, "small.csv", CSV, caption="pilot deadline=2026-11-25")
    nilai.clock.now = deadline_end(date(2026, 11, 25), nilai.settings.timezone)
    await boss.tap(status, SHOWN[language][2])
    await api.wait_idle(quiet=0.1)
    assert said in api.message(boss.chat_id, status.message_id).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM batches") == 0
    assert await nilai.database.fetchval("SELECT status FROM uploads") == "discarded"
    assert not list((nilai.settings.data_dir / "uploads").glob("*"))


@pytest.mark.parametrize(
    ("language", "summary", "listed"),
    [
        ("en", "Deadline: Thu, Jan 7, 2027", "📅 due Thu, Jan 7, 2027"),
        ("id", "Tenggat: Kamis, 7 Jan 2027", "📅 tenggat Kamis, 7 Jan 2027"),
    ],
)
async def test_a_deadline_next_year_is_shown_with_its_year(
    api: FakeBotApi, nilai: RunningBot, language: str, summary: str, listed: str
) -> None:
    boss = await start_coordinator(api, language)
    status = await upload(api, boss, "small.csv", CSV, caption="pilot deadline=2027-01-07")
    assert summary in status.plain_text()
    await boss.tap(status, SHOWN[language][2])
    await api.wait_idle(quiet=0.1)
    assert listed in await ask(api, boss, "/batches")
    assert summary.replace(":", "", 1).split(" ", 1)[1] in await ask(api, boss, "/progress")


def batches_in(database: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT name, deadline FROM batches").fetchall()


def test_the_cli_imports_with_a_deadline_and_refuses_a_bad_one(tmp_path: Path) -> None:
    database = tmp_path / "data" / "nilai.db"
    sample = str(SAMPLES / "batch_small.csv")
    for bad, said in (
        ("2020-01-01", "error: --deadline 2020-01-01 has passed already"),
        ("31-12-2999", "error: --deadline must be a date written YYYY-MM-DD"),
        ("9999-12-31", "error: --deadline must be a date written YYYY-MM-DD"),  # overflows
    ):
        refused = run_cli(tmp_path, "import", sample, "--batch", "b", "--deadline", bad)
        assert refused.returncode == 2
        assert refused.stderr.strip().startswith(said), refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert "nothing was imported" in refused.stderr
    assert not database.exists() or batches_in(database) == []

    done = run_cli(tmp_path, "import", sample, "--batch", "b", "--deadline", "2999-12-31")
    assert done.returncode == 0, done.stderr
    assert "deadline: 2999-12-31 (the end of that day, Asia/Jakarta)" in done.stdout
    assert batches_in(database) == [("b", "2999-12-31")]
