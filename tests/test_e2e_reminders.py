"""The daily reminder and /reminders end to end: the nudge and its "Start reviewing" button
(through the real Application and the fake Bot API), the checks made at send time, and turning
reminders off and on. The scheduler's own tests cover when it is called."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from telegram.error import Forbidden

from handlers.callback_data import Action, encode
from handlers.context import SERVICES_KEY
from handlers.daily_messages import send_reminder
from tests.conftest import SAMPLES
from tests.daily_days import add_reviews
from tests.e2e import RunningBot, answered
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

NEXT = encode(Action.NEXT)


async def trainer_in(api: FakeBotApi, nilai: RunningBot, language: str = "en") -> FakeUser:
    user = api.user(2401, "Sari", language_code=language)
    await nilai.onboard(user)
    # The sample mixes Indonesian and English items: this trainer reviews both.
    await nilai.database.execute(
        "UPDATE trainers SET review_languages = 'id en' WHERE user_id = ?", (user.user_id,)
    )
    return user


async def remind(nilai: RunningBot, user: FakeUser) -> bool:
    """What the scheduler does for a due reminder: send_reminder with the running bot."""
    services = nilai.app.bot_data[SERVICES_KEY]
    trainer = await services.onboarding.trainer(user.user_id)
    return await send_reminder(nilai.app.bot, services, trainer, nilai.clock())


async def reminder_message(api: FakeBotApi, user: FakeUser, since: int) -> FakeMessage:
    return await user.wait_bot_message(
        lambda m: any(b.get("callback_data") == NEXT for row in m.buttons() for b in row),
        since=since,
    )


@pytest.mark.parametrize(
    ("language", "none_yet", "some", "button"),
    [
        (
            "en",
            "No reviews yet today, and your quota is 5",
            "done 2 of today's 5 reviews: 3 more to go",
            "Start reviewing",
        ),
        (
            "id",
            "belum menilai. Kuota hari ini 5. Ada waktu",
            "sudah 2 dari 5, tinggal 3",
            "Mulai menilai",
        ),
    ],
)
async def test_a_reminder_says_how_far_and_its_button_shows_an_item(
    api: FakeBotApi, nilai: RunningBot, language: str, none_yet: str, some: str, button: str
) -> None:
    user = await trainer_in(api, nilai, language)
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    since = api.mark()
    assert await remind(nilai, user)
    reminder = await reminder_message(api, user, since)
    assert none_yet in reminder.plain_text() and "Sari" in reminder.plain_text()
    assert [[b["text"] for b in row] for row in reminder.buttons()] == [[f"▶️ {button}"]]
    assert (
        len([m for m in api.chat_messages(user.chat_id) if m.message_id >= reminder.message_id])
        == 1
    )

    since = api.mark()
    update = await user.tap(reminder, data=NEXT)
    panel = await nilai.wait_panel(user, since)
    assert await answered(api, update) == ""
    assert "AI" in panel.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'active'") == 1

    # Later that day, with two reviews done: the count says so.
    await add_reviews(nilai.database, user.user_id, [nilai.clock() - timedelta(hours=1)] * 2, "x")
    since = api.mark()
    assert await remind(nilai, user)
    assert some in (await reminder_message(api, user, since)).plain_text()


async def test_the_button_after_the_quota_was_met_meanwhile_still_shows_an_item(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    """The quota is a goal, not a stop: like /next, the button shows the next item."""
    user = await trainer_in(api, nilai)
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    since = api.mark()
    assert await remind(nilai, user)
    reminder = await reminder_message(api, user, since)
    await add_reviews(nilai.database, user.user_id, [nilai.clock()] * 5, "done")  # quota 5 met
    since = api.mark()
    await user.tap(reminder, data=NEXT)
    panel = await nilai.wait_panel(user, since)
    assert "Today 5/5" in panel.plain_text()


async def test_no_reminder_once_the_quota_is_met(api: FakeBotApi, nilai: RunningBot) -> None:
    user = await trainer_in(api, nilai)
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    yesterday = nilai.clock() - timedelta(days=1)
    await add_reviews(nilai.database, user.user_id, [yesterday] * 5 + [nilai.clock()] * 4, "a")
    assert await remind(nilai, user)  # 4 of 5 today (yesterday's 5 do not count)
    await add_reviews(nilai.database, user.user_id, [nilai.clock()], "b")
    since = api.mark()
    assert not await remind(nilai, user)
    await api.wait_idle(quiet=0.1)
    assert [c for c in api.calls[since:] if c.method == "sendMessage"] == []


async def test_no_reminder_when_nothing_is_left_to_review(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    user = await trainer_in(api, nilai)
    since = api.mark()
    assert not await remind(nilai, user)  # no batch yet
    await add_reviews(nilai.database, user.user_id, [nilai.clock()], "mine")  # closed batch
    assert not await remind(nilai, user)
    await api.wait_idle(quiet=0.1)
    assert [c for c in api.calls[since:] if c.method == "sendMessage"] == []


TEXTS = {
    "en": {
        "on": "reminders are on",
        "off": "reminders are off",
        "hint": "I didn't get that",
        "turn_off": "🔕 Turn off",
        "turn_on": "⏰ Turn on",
        "time": "7:00 PM WIB",
        "toast_off": "Reminders off 🔕",
        "toast_on": "Reminders on ⏰",
    },
    "id": {
        "on": "Pengingat harian nyala",
        "off": "Pengingat harian mati",
        "hint": "kurang paham",
        "turn_off": "🔕 Matikan",
        "turn_on": "⏰ Nyalakan",
        "time": "19.00 WIB",
        "toast_off": "Pengingat mati 🔕",
        "toast_on": "Pengingat nyala ⏰",
    },
}


async def stored(nilai: RunningBot, user: FakeUser) -> int:
    return await nilai.count("SELECT reminders FROM trainers WHERE user_id = ?", user.user_id)


@pytest.mark.parametrize("language", ["en", "id"])
async def test_reminders_shows_the_state_and_its_button_switches_it(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    words = TEXTS[language]
    user = await trainer_in(api, nilai, language)
    await user.send("/reminders")
    menu = await user.wait_bot_message()
    assert words["on"].lower() in menu.plain_text().lower() and words["time"] in menu.plain_text()
    assert [b["text"] for row in menu.buttons() for b in row] == [words["turn_off"]]

    update = await user.tap(menu, words["turn_off"])
    assert await answered(api, update) == words["toast_off"]
    await api.wait_idle(quiet=0.05)
    assert await stored(nilai, user) == 0
    edited = api.message(user.chat_id, menu.message_id)
    assert words["off"].lower() in edited.plain_text().lower()
    assert [b["text"] for row in edited.buttons() for b in row] == [words["turn_on"]]

    # A double tap on the old button sets the same state again: nothing breaks.
    again = await user.tap(menu, data=encode(Action.REMINDERS, 0))
    assert await answered(api, again) == words["toast_off"]
    assert await stored(nilai, user) == 0

    update = await user.tap(edited, words["turn_on"])
    assert await answered(api, update) == words["toast_on"]
    assert await stored(nilai, user) == 1


@pytest.mark.parametrize("language", ["en", "id"])
async def test_reminders_off_and_on_by_word_and_a_hint_for_anything_else(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    words = TEXTS[language]
    user = await trainer_in(api, nilai, language)
    await user.send("/reminders off")
    assert words["off"].lower() in (await user.wait_bot_message()).plain_text().lower()
    assert await stored(nilai, user) == 0
    await user.send("/reminders")
    shown = await user.wait_bot_message()
    assert words["off"].lower() in shown.plain_text().lower()
    assert [b["text"] for row in shown.buttons() for b in row] == [words["turn_on"]]
    await user.send("/reminders ON")
    assert words["on"].lower() in (await user.wait_bot_message()).plain_text().lower()
    assert await stored(nilai, user) == 1
    await user.send("/reminders sometimes")
    hint = await user.wait_bot_message()
    assert words["hint"] in hint.plain_text() and "/reminders off" in hint.plain_text()
    assert await stored(nilai, user) == 1


async def test_a_forged_reminders_button_changes_nothing(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    user = await trainer_in(api, nilai)
    await user.send("/reminders")
    menu = await user.wait_bot_message()
    update = await user.tap(menu, data="1m:7")
    assert "no longer valid" in await answered(api, update)
    assert await stored(nilai, user) == 1


@pytest.mark.parametrize("command", ["/reminders", "/reminders off"])
async def test_a_coordinator_is_told_that_reminders_are_for_trainers(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, command: str
) -> None:
    """Reminders go to trainers only: a coordinator is not promised one, nor offered a switch."""
    await coordinator.send(command)
    reply = await coordinator.wait_bot_message()
    assert "reminders are for trainers" in reply.plain_text()
    assert "I'll send you" not in reply.plain_text() and reply.buttons() == []
    assert await stored(nilai, coordinator) == 1


async def test_a_reminder_is_a_bulk_send_and_a_block_reaches_the_scheduler(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    """With PAID_BROADCAST it carries allow_paid_broadcast (only bulk sends do); a trainer who
    blocked the bot raises Forbidden for the engine to record."""
    user = await trainer_in(api, nilai)
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    services = nilai.app.bot_data[SERVICES_KEY]
    paid = replace(services, settings=replace(services.settings, paid_broadcast=True))
    trainer = await services.onboarding.trainer(user.user_id)
    since = api.mark()
    assert await send_reminder(nilai.app.bot, paid, trainer, nilai.clock())
    (call,) = [c for c in api.calls[since:] if c.method == "sendMessage"]
    assert call.params.get("allow_paid_broadcast") in (True, "true")
    api.block(user.chat_id)
    with pytest.raises(Forbidden):
        await send_reminder(nilai.app.bot, services, trainer, nilai.clock())
