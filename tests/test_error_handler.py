"""When something unexpected breaks: the log gets it once, the user a short apology in their
language, and coordinators one short alert per distinct error per hour (PTB's errorhandlerbot)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.i18n import t, t_plain
from bot.onboarding import Onboarding
from bot.review import ReviewService
from tests.conftest import FakeClock
from tests.e2e import RunningBot
from tests.fakebot import ApiCall, FakeBotApi, FakeUser

SECRET = "Rina's private rewrite text"  # what an exception message may carry: never in an alert
BOSS = 9000  # the coordinator from settings


class Boom(RuntimeError):
    pass


async def broken_stats(self: ReviewService, trainer: Any) -> None:
    raise Boom(SECRET)


async def broken_language(self: Onboarding, trainer: Any, language: str) -> None:
    raise KeyError(SECRET)


def alerts_to(api: FakeBotApi, chat_id: int, since: int = 0) -> list[ApiCall]:
    return [
        call
        for call in api.calls_to("sendMessage")[since:]
        if call.ok and call.chat_id == chat_id and "⚠️" in call.params["text"]
    ]


def last_update_id(api: FakeBotApi) -> int:
    delivered = [call for call in api.calls_to("getUpdates") if call.ok and call.result]
    return delivered[-1].result[-1]["update_id"]


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
async def rina(api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser) -> FakeUser:
    user = api.user(2001, "Rina", language_code="en")
    await nilai.onboard(user)
    return user


async def test_an_error_in_a_command_is_logged_once_with_its_update_id_and_rina_gets_an_apology(
    api: FakeBotApi,
    nilai: RunningBot,
    rina: FakeUser,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(ReviewService, "stats", broken_stats)
    caplog.clear()
    await rina.send("/stats")
    apology = await rina.wait_bot_message()
    assert apology.plain_text() == t_plain("en", "error.generic")
    await api.wait_idle(quiet=0.05)

    records = error_records(caplog)
    assert len(records) == 1
    record = records[0]
    assert record.getMessage().startswith(
        f"update {last_update_id(api)} (user 2001) failed: Boom at handlers/trainer.py:"
    )
    assert record.exc_info is not None and record.exc_info[0] is Boom


async def test_an_indonesian_trainer_is_apologised_to_in_indonesian_on_the_tapped_button(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    budi = api.user(2002, "Budi", language_code="id")
    await nilai.onboard(budi)
    await budi.send("/lang")
    menu = await budi.wait_bot_message()
    monkeypatch.setattr(Onboarding, "set_language", broken_language)
    tap = await budi.tap(menu, data="1l:en")
    call = await api.wait_for_call(
        "answerCallbackQuery",
        lambda c: c.params.get("callback_query_id") == tap["callback_query"]["id"],
    )
    assert call.params["text"] == t_plain("id", "error.generic")
    assert call.params.get("show_alert") is True


async def test_coordinators_get_one_short_alert_per_distinct_error_per_hour(
    api: FakeBotApi,
    nilai: RunningBot,
    rina: FakeUser,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ReviewService, "stats", broken_stats)
    start = len(api.calls_to("sendMessage"))
    for _ in range(3):  # the same error three times in a row: one alert
        await rina.send("/stats")
        await rina.wait_bot_message()
        await api.wait_idle(quiet=0.05)
    alerts = alerts_to(api, BOSS, start)
    assert len(alerts) == 1
    text = alerts[0].params["text"]
    assert "Boom" in text and "handlers/trainer.py:" in text and "user 2001" in text
    assert SECRET not in text and "Rina" not in text  # ids only, never the error's message
    assert "Traceback" not in text and api.token not in text
    assert len(text) < 400

    clock.advance(minutes=59)
    await rina.send("/stats")
    await rina.wait_bot_message()
    await api.wait_idle(quiet=0.05)
    assert len(alerts_to(api, BOSS, start)) == 1

    clock.advance(minutes=2)  # an hour after the alert: the error is reported again
    await rina.send("/stats")
    await rina.wait_bot_message()
    await api.wait_idle(quiet=0.05)
    assert len(alerts_to(api, BOSS, start)) == 2


async def test_another_error_gets_its_own_alert_and_the_repeats_log_one_line_each(
    api: FakeBotApi,
    nilai: RunningBot,
    rina: FakeUser,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(ReviewService, "stats", broken_stats)
    monkeypatch.setattr(Onboarding, "set_language", broken_language)
    start = len(api.calls_to("sendMessage"))
    caplog.clear()
    await rina.send("/stats")
    await rina.wait_bot_message()
    await rina.send("/stats")
    await rina.wait_bot_message()
    await rina.send("/lang")
    menu = await rina.wait_bot_message()
    await rina.tap(menu, data="1l:id")
    await api.wait_for_call(  # the second alert, whenever the busy machine gets to it
        "sendMessage", lambda call: call.chat_id == BOSS and "KeyError" in call.params["text"]
    )
    await api.wait_idle(quiet=0.1)

    alerts = [call.params["text"] for call in alerts_to(api, BOSS, start)]
    assert len(alerts) == 2
    assert "Boom" in alerts[0] and "KeyError" in alerts[1]
    records = error_records(caplog)
    assert len(records) == 3  # one per failed update
    with_traceback = [r for r in records if r.exc_info]
    assert [r.exc_info[0] for r in with_traceback] == [Boom, KeyError]  # type: ignore[index]
    assert "failed again: Boom" in records[1].getMessage()
    assert all(SECRET not in r.getMessage() for r in records)


async def test_an_invited_coordinator_is_alerted_in_their_own_language(
    api: FakeBotApi,
    nilai: RunningBot,
    rina: FakeUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sari = api.user(3001, "Sari", language_code="id")
    code = await nilai.invite(role="coordinator")
    await sari.send(f"/start {code}")
    await sari.wait_bot_message()
    monkeypatch.setattr(ReviewService, "stats", broken_stats)
    start = len(api.calls_to("sendMessage"))
    await rina.send("/stats")
    await rina.wait_bot_message()
    await api.wait_idle(quiet=0.05)
    [to_boss] = alerts_to(api, BOSS, start)
    [to_sari] = alerts_to(api, 3001, start)
    assert "Unexpected error" in to_boss.params["text"]
    assert "Error tak terduga" in to_sari.params["text"]
    assert alerts_to(api, rina.chat_id, start) == []  # the trainer only gets the apology


async def test_a_failing_job_is_logged_with_its_name_and_reported_to_coordinators(
    api: FakeBotApi,
    nilai: RunningBot,
    coordinator: FakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def housekeeping(context: Any) -> None:
        raise Boom(SECRET)

    start = len(api.calls_to("sendMessage"))
    caplog.clear()
    nilai.app.job_queue.run_once(housekeeping, when=0, name="test-housekeeping")
    alert = await api.wait_for_call(
        "sendMessage", lambda c: c.chat_id == BOSS and "⚠️" in c.params["text"], since=0
    )
    assert "test-housekeeping" in alert.params["text"] and "Boom" in alert.params["text"]
    assert SECRET not in alert.params["text"]
    [record] = error_records(caplog)
    assert record.getMessage().startswith("job test-housekeeping failed: Boom")
    assert len(alerts_to(api, BOSS, start)) == 1


def test_alert_texts_name_the_error_in_both_languages() -> None:
    for language in ("id", "en"):
        text = t(
            language, "error.alert_update", error="Boom", place="x.py:1", update_id=7, user_id=8
        )
        assert "Boom" in text and "x.py:1" in text and "7" in text and "8" in text
