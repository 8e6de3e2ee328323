"""Anomalies and agreement where coordinators look, end to end through the fake Bot API: in
/trainers each trainer's distance from the others' scores and their anomalies with the numbers
behind them; in the daily report (/report) an agreement line per open batch and the anomalies
section. Both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeUser
from tests.test_agreement import ordinal_alpha_by_formula
from tests.test_e2e_agreement import review_with
from tests.test_e2e_progress_needs import batch_file, person
from tests.test_e2e_report import report_of

BOSS = 9000  # COORDINATOR_IDS in the test settings


async def reply_to(api: FakeBotApi, boss: FakeUser, command: str) -> str:
    """The bot's answer to a coordinator's command, as the reader sees it."""
    since = api.mark()
    await boss.send(command)
    return (await boss.wait_bot_message(since=since)).plain_text()


async def scripted_team(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> FakeUser:
    """Rina clicks 5 on every criterion of 10 items at once (the fake clock stands still: no
    time to read them); Budi gives 3s on the first 3 of them."""
    boss = await person(api, nilai, BOSS, language)
    await nilai.import_file(batch_file(tmp_path, *[None] * 10), overlap=2)
    rina = await person(api, nilai, 2001, "en")
    budi = await person(api, nilai, 2002, "id")
    for round_ in range(10):
        await review_with(api, nilai, rina, 5)
        if round_ < 3:
            await review_with(api, nilai, budi, 3)
    return boss


@pytest.mark.parametrize(
    ("language", "distance", "fast", "same"),
    [
        ("en", "🎯 2.00 from others", "⚡ fast 10/10", "🟰 one score on all 10/10"),
        ("id", "🎯 2,00 dari yang lain", "⚡ cepat 10/10", "🟰 skor sama 10/10"),
    ],
)
async def test_trainers_shows_distance_and_anomalies(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    distance: str,
    fast: str,
    same: str,
) -> None:
    boss = await scripted_team(api, nilai, tmp_path, language)
    text = await reply_to(api, boss, "/trainers")
    rina, budi = text.index("User 2001"), text.index("User 2002")
    assert rina < budi
    rina_part, budi_part = text[rina:budi], text[budi:]
    assert f"{distance} · {fast} · {same}" in rina_part, text
    assert distance in budi_part
    assert fast not in budi_part  # 3 reviews: too few to tell


@pytest.mark.parametrize(
    ("language", "agreement", "title", "fast"),
    [
        ("en", "🤝 Agreement: Accuracy", "⚠️ Anomalies, last 7 days: 1", "fast: 10 of 10 reviews"),
        ("id", "🤝 Kesepakatan: Akurasi", "⚠️ Anomali, 7 hari terakhir: 1", "cepat: 10 dari 10"),
    ],
)
async def test_the_daily_report_shows_agreement_and_anomalies(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    agreement: str,
    title: str,
    fast: str,
) -> None:
    boss = await scripted_team(api, nilai, tmp_path, language)
    since = api.mark()
    await boss.send("/report")
    _, message = await report_of(api, boss, since)
    shown = message.plain_text()
    alpha = f"{ordinal_alpha_by_formula([[5, 3]] * 3):.2f}"
    alpha = alpha.replace(".", ",") if language == "id" else alpha
    assert f"{agreement} {alpha} · " in shown, shown
    assert title in shown
    entry = next(line for line in shown.splitlines() if line.startswith("User 2001: "))
    assert fast in entry and "10/10" not in entry
    assert "User 2002:" not in shown
