"""/timezone end to end: the three Indonesian zones as buttons, any IANA name typed, a clear
hint for a wrong one, and "today" counted in the trainer's own zone."""

from __future__ import annotations

import pytest

from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeUser

TEXTS = {
    "en": {"current": "Your time zone", "set": "your time zone is", "unknown": "I don't know"},
    "id": {"current": "Zona waktumu", "set": "zona waktumu sekarang", "unknown": "tidak kenal"},
}


async def trainer_in(api: FakeBotApi, nilai: RunningBot, language: str) -> FakeUser:
    user = api.user(2301, "Wulan", language_code=language)
    await nilai.onboard(user)
    return user


async def stored_zone(nilai: RunningBot, user: FakeUser) -> str | None:
    return await nilai.database.fetchval(
        "SELECT timezone FROM trainers WHERE user_id = ?", (user.user_id,)
    )


@pytest.mark.parametrize("language", ["en", "id"])
async def test_the_three_zones_are_buttons_and_a_tap_sets_one(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    user = await trainer_in(api, nilai, language)
    await user.send("/timezone")
    menu = await user.wait_bot_message()
    assert TEXTS[language]["current"] in menu.plain_text()
    assert "WIB (Asia/Jakarta)" in menu.plain_text()  # the default, TIMEZONE
    assert [b["text"] for row in menu.buttons() for b in row] == ["WIB", "WITA", "WIT"]
    await user.tap(menu, "WITA")
    await api.wait_idle(quiet=0.05)
    assert await stored_zone(nilai, user) == "Asia/Makassar"
    edited = api.message(user.chat_id, menu.message_id).plain_text()
    assert TEXTS[language]["set"] in edited and "WITA (Asia/Makassar)" in edited


@pytest.mark.parametrize("language", ["en", "id"])
async def test_any_iana_name_can_be_typed_and_a_wrong_one_gets_a_hint(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    user = await trainer_in(api, nilai, language)
    await user.send("/timezone europe/amsterdam")  # case does not matter
    assert "Europe/Amsterdam" in (await user.wait_bot_message()).plain_text()
    assert await stored_zone(nilai, user) == "Europe/Amsterdam"
    await user.send("/timezone Mars/Olympus")
    hint = await user.wait_bot_message()
    assert TEXTS[language]["unknown"] in hint.plain_text() and "Asia/Jakarta" in hint.plain_text()
    assert await stored_zone(nilai, user) == "Europe/Amsterdam"  # nothing changed
    await user.send("/timezone wit")
    await user.wait_bot_message()
    assert await stored_zone(nilai, user) == "Asia/Jayapura"


async def test_a_forged_zone_button_changes_nothing(api: FakeBotApi, nilai: RunningBot) -> None:
    user = await trainer_in(api, nilai, "en")
    await user.send("/timezone")
    menu = await user.wait_bot_message()
    update = await user.tap(menu, data="1T:7")
    call = await api.wait_for_call(
        "answerCallbackQuery",
        lambda c: c.params.get("callback_query_id") == update["callback_query"]["id"],
    )
    assert "no longer valid" in call.params.get("text", "")
    assert await stored_zone(nilai, user) is None
