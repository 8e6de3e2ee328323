"""Numbers and durations in messages are written the reader's way (bot/formatting.py), end to
end through the fake Bot API: a long sitting reads in hours and minutes, and a team list of
twenty thousand groups its page numbers as the coordinator's language does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FakeClock
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi
from tests.test_e2e_panel import joined, submit, write_batch

COORDINATOR = 9000  # a coordinator in the test settings


@pytest.mark.parametrize(
    ("language", "summary"),
    [
        ("en", "This sitting: 3 items reviewed · 0 skipped · 1 hour 5 minutes"),
        ("id", "Sesi ini: 3 item dinilai · 0 dilewati · 1 jam 5 menit"),
    ],
)
async def test_a_long_sitting_says_its_time_in_hours_and_minutes(
    api: FakeBotApi,
    nilai: RunningBot,
    clock: FakeClock,
    tmp_path: Path,
    language: str,
    summary: str,
) -> None:
    """Three items over 65 minutes, never 30 idle: one sitting, "1 hour 5 minutes" (it was
    "65 minutes")."""
    trainer = await joined(api, nilai, language)
    records = [{"prompt": f"Item {n}", "response": str(n)} for n in range(3)]
    await nilai.import_file(write_batch(tmp_path, *records), overlap=1)
    panel = await nilai.next_item(trainer)
    for minutes in (25, 25, 15):
        clock.advance(minutes=minutes)
        since = api.mark()
        await submit(api, nilai, trainer, panel)
        if minutes != 15:
            panel = await nilai.wait_panel(trainer, since)
    done = await trainer.wait_bot_message(since=since, predicate=lambda m: "📋" in m.plain_text())
    assert summary in done.plain_text()


@pytest.mark.parametrize(
    ("language", "header"),
    [("en", "Team: 20,001 · page 1/1,001"), ("id", "Tim: 20.001 orang · halaman 1/1.001")],
)
async def test_the_team_list_groups_its_page_numbers_the_readers_way(
    api: FakeBotApi, nilai: RunningBot, language: str, header: str
) -> None:
    boss = api.user(COORDINATOR, "Boss", language_code=language)
    await boss.send("/start")
    await boss.wait_bot_message()
    async with nilai.database.transaction() as conn:
        await conn.executemany(
            "INSERT INTO trainers (user_id, chat_id, language, role, created_at)"
            " VALUES (?, ?, 'id', 'trainer', '2026-11-25T05:00:00.000000+00:00')",
            [(user_id, user_id) for user_id in range(100_001, 120_001)],
        )
    since = api.mark()
    await boss.send("/trainers")
    listing = await boss.wait_bot_message(since=since)
    assert header in listing.plain_text()
