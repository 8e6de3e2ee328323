"""The evening summary and /stats's streak end to end, over scripted days with the FakeClock:
the summary's text in both languages (a streak of 0 and a growing one), none after a day
without reviews, and the same streak in /stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.context import SERVICES_KEY
from handlers.daily_messages import send_summary
from tests.conftest import FakeClock
from tests.daily_days import add_reviews
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeUser

EVENING = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # 21:00 in Jakarta (WIB)


async def trainer_in(api: FakeBotApi, nilai: RunningBot, language: str) -> FakeUser:
    user = api.user(2501, "Dewi", language_code=language)
    await nilai.onboard(user)
    return user


async def summarise(nilai: RunningBot, user: FakeUser) -> bool:
    """What the scheduler does for a due summary: send_summary with the running bot."""
    services = nilai.app.bot_data[SERVICES_KEY]
    trainer = await services.onboarding.trainer(user.user_id)
    return await send_summary(nilai.app.bot, services, trainer, nilai.clock())


async def days_ago(nilai: RunningBot, user: FakeUser, back: int, reviews: int) -> None:
    """`reviews` submitted that many local days before today, in the morning."""
    moment = EVENING - timedelta(days=back, hours=8)
    await add_reviews(nilai.database, user.user_id, [moment] * reviews, f"day-{back}")


SUMMARIES = {
    "en": {
        "title": "Your day on Nilai",
        "today": "Today: 6 / 5",
        "streak": "Streak: 3 days in a row",
        "total": "Total: 18 reviews",
        "cheer": "Your streak keeps growing",
        "zero_today": "Today: 2 / 5",
        "zero": "Streak: 0 days. That's okay",
        "zero_total": "Total: 2 reviews",
        "zero_cheer": "Tomorrow is a fresh start",
    },
    "id": {
        "title": "Rekap harianmu di Nilai",
        "today": "Hari ini: 6 / 5",
        "streak": "Streak: 3 hari berturut-turut",
        "total": "Total: 18 penilaian",
        "cheer": "Streak-mu terus bertambah",
        "zero_today": "Hari ini: 2 / 5",
        "zero": "Streak: 0 hari. Tidak apa-apa",
        "zero_total": "Total: 2 penilaian",
        "zero_cheer": "Besok kita mulai lagi",
    },
}


@pytest.mark.parametrize("language", ["en", "id"])
async def test_the_summary_of_a_growing_streak(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, language: str
) -> None:
    words = SUMMARIES[language]
    user = await trainer_in(api, nilai, language)
    for back, reviews in ((3, 2), (2, 5), (1, 5), (0, 6)):  # met the last three days
        await days_ago(nilai, user, back, reviews)
    clock.now = EVENING
    since = api.mark()
    assert await summarise(nilai, user)
    text = (await user.wait_bot_message(since=since)).plain_text()
    for part in ("title", "today", "streak", "total", "cheer"):
        assert words[part] in text, (part, text)


@pytest.mark.parametrize("language", ["en", "id"])
async def test_the_summary_states_a_streak_of_zero_kindly(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, language: str
) -> None:
    words = SUMMARIES[language]
    user = await trainer_in(api, nilai, language)
    await days_ago(nilai, user, 0, 2)
    clock.now = EVENING
    since = api.mark()
    assert await summarise(nilai, user)
    text = (await user.wait_bot_message(since=since)).plain_text()
    for part in ("zero_today", "zero", "zero_total", "zero_cheer"):
        assert words[part] in text, (part, text)


async def test_no_summary_after_a_day_without_reviews(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock
) -> None:
    user = await trainer_in(api, nilai, "en")
    await days_ago(nilai, user, 1, 5)  # yesterday only
    clock.now = EVENING
    since = api.mark()
    assert not await summarise(nilai, user)
    await api.wait_idle(quiet=0.1)
    assert [c for c in api.calls[since:] if c.method == "sendMessage"] == []
    # Just after local midnight (17:00 UTC is 00:00 in Jakarta) the new day has none either.
    clock.now = EVENING + timedelta(hours=3)
    assert not await summarise(nilai, user)


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", ["Today: 1 / 5", "Streak: 2 days"]), ("id", ["Hari ini: 1 / 5", "Streak: 2 hari"])],
)
async def test_stats_shows_the_streak(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, language: str, shown: list[str]
) -> None:
    """Today not met yet: the run up to yesterday stands (the summary's rule)."""
    user = await trainer_in(api, nilai, language)
    for back, reviews in ((2, 5), (1, 7), (0, 1)):
        await days_ago(nilai, user, back, reviews)
    clock.now = EVENING
    since = api.mark()
    await user.send("/stats")
    text = (await user.wait_bot_message(since=since)).plain_text()
    assert all(part in text for part in shown), text


async def test_stats_says_a_streak_of_one_day_in_the_singular(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock
) -> None:
    user = await trainer_in(api, nilai, "en")
    await days_ago(nilai, user, 0, 5)
    clock.now = EVENING
    since = api.mark()
    await user.send("/stats")
    assert "Streak: 1 day\n" in (await user.wait_bot_message(since=since)).plain_text()
