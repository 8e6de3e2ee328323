"""The languages a trainer reviews in, end to end: /lang's toggles in both languages, the last
language kept on, the languages of open batches offered, and items handed out by language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e import RunningBot, answered
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser


def labels(message: FakeMessage) -> list[str]:
    return [button["text"] for row in message.buttons() for button in row]


async def open_menu(api: FakeBotApi, user: FakeUser) -> FakeMessage:
    since = api.mark()
    await user.send("/lang")
    return await user.wait_bot_message(since=since)


async def toggle(api: FakeBotApi, user: FakeUser, menu: FakeMessage, label: str) -> dict:
    """Tap a toggle; returns the answerCallbackQuery parameters once the menu is redrawn."""
    since = api.mark()
    update = await user.tap(menu, label)
    query_id = update["callback_query"]["id"]
    call = await api.wait_for_call(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id, since=since
    )
    await api.wait_idle(quiet=0.05)
    return call.params


async def stored_languages(nilai: RunningBot, user: FakeUser) -> str | None:
    return await nilai.database.fetchval(
        "SELECT review_languages FROM trainers WHERE user_id = ?", (user.user_id,)
    )


def batch_file(tmp_path: Path, *languages: str | None) -> Path:
    """Items q1, q2, ... in these languages (`metadata.lang`; no metadata for None)."""
    path = tmp_path / "batch.jsonl"
    records = []
    for n, code in enumerate(languages, start=1):
        record: dict = {"id": f"q{n}", "prompt": f"Prompt {n}", "response": f"Answer {n}"}
        if code is not None:
            record["metadata"] = {"lang": code}
        records.append(record)
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    return path


async def import_with_languages(nilai: RunningBot, tmp_path: Path, *languages: str | None) -> None:
    """Through the real import, which stores `metadata.lang` in items.lang."""
    await nilai.import_file(batch_file(tmp_path, *languages), overlap=1)
    stored = await nilai.database.fetchall("SELECT lang FROM items ORDER BY id")
    assert [row[0] for row in stored] == list(languages)


async def item_given(api: FakeBotApi, nilai: RunningBot, user: FakeUser) -> str | None:
    """/next; the external id of the item the trainer now holds (None: nothing given)."""
    since = api.mark()
    await user.send("/next")
    await user.wait_bot_message(since=since)
    await api.wait_idle(quiet=0.05)
    return await nilai.database.fetchval(
        "SELECT i.external_id FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE a.trainer_id = ? AND a.status = 'active'",
        (user.user_id,),
    )


async def skip_held(nilai: RunningBot, user: FakeUser) -> None:
    await nilai.database.execute(
        "UPDATE assignments SET status = 'skipped' WHERE trainer_id = ? AND status = 'active'",
        (user.user_id,),
    )


@pytest.mark.parametrize(
    ("language_code", "shown", "on", "off", "toast"),
    [
        (
            "en",
            "You review items in: English",
            "✅ English",
            ["⬜ Indonesian", "⬜ Javanese", "⬜ Sundanese"],
            "You'll get items in Javanese too.",
        ),
        (
            "id",
            "Kamu menilai item berbahasa: Indonesia",
            "✅ Indonesia",
            ["⬜ Inggris", "⬜ Jawa", "⬜ Sunda"],
            "Sip, kamu juga dapat item bahasa Jawa.",
        ),
    ],
)
async def test_lang_shows_review_languages_as_toggles_below_the_interface_language(
    api: FakeBotApi,
    nilai: RunningBot,
    language_code: str,
    shown: str,
    on: str,
    off: list[str],
    toast: str,
) -> None:
    user = api.user(3001, "Ayu", language_code=language_code)
    await nilai.onboard(user)
    menu = await open_menu(api, user)
    assert shown in menu.plain_text()
    assert labels(menu)[:2] == ["🇮🇩 Bahasa Indonesia", "🇬🇧 English"]
    assert sorted(labels(menu)[2:]) == sorted([on, *off])
    assert (await toggle(api, user, menu, off[1]))["text"] == toast
    redrawn = api.message(user.chat_id, menu.message_id)
    assert f"{shown}, {off[1][2:]}" in redrawn.plain_text()
    assert off[1].replace("⬜", "✅") in labels(redrawn)
    assert await stored_languages(nilai, user) == f"{language_code} jv"


@pytest.mark.parametrize(
    ("language_code", "polite"),
    [("en", "at least one language"), ("id", "minimal satu bahasa")],
)
async def test_the_last_language_stays_on_and_the_trainer_is_told_why(
    api: FakeBotApi, nilai: RunningBot, language_code: str, polite: str
) -> None:
    user = api.user(3002, "Dedi", language_code=language_code)
    await nilai.onboard(user)
    menu = await open_menu(api, user)
    answer = await toggle(api, user, menu, "✅")
    assert polite in answer["text"] and answer.get("show_alert") is True
    assert await stored_languages(nilai, user) is None  # still "my interface language"
    assert [label for label in labels(menu) if label.startswith("✅")]  # one still on


async def test_a_toggle_tapped_twice_changes_nothing_more(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    user = api.user(3003, "Sam", language_code="en")
    await nilai.onboard(user)
    menu = await open_menu(api, user)
    stale = menu.button("Sundanese")["callback_data"]
    await toggle(api, user, menu, "Sundanese")
    again = await user.tap(menu, data=stale)  # the old "turn on" button, from before the redraw
    assert "Sundanese" in await answered(api, again)
    assert await stored_languages(nilai, user) == "en su"


async def test_languages_of_open_batches_are_offered_too(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await import_with_languages(nilai, tmp_path, "ms", "id", None)
    user = api.user(3004, "Sam", language_code="en")
    await nilai.onboard(user)
    assert "⬜ Malay" in labels(await open_menu(api, user))


async def test_a_trainer_gets_only_items_in_their_languages_or_without_one(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await import_with_languages(nilai, tmp_path, "jv", "id", None, "jv")
    user = api.user(3005, "Sari", language_code="id")
    await nilai.onboard(user)
    assert await item_given(api, nilai, user) == "q2"
    await skip_held(nilai, user)
    assert await item_given(api, nilai, user) == "q3"
    await skip_held(nilai, user)
    assert await item_given(api, nilai, user) is None  # the Javanese items are not for her
    await toggle(api, user, await open_menu(api, user), "Jawa")
    assert await item_given(api, nilai, user) == "q1"  # passed before, found once she reviews jv
    await skip_held(nilai, user)
    assert await item_given(api, nilai, user) == "q4"


async def test_switching_the_interface_redraws_the_menu_in_the_new_language(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    user = api.user(3006, "Budi", language_code="en")
    await nilai.onboard(user)
    menu = await open_menu(api, user)
    await toggle(api, user, menu, "Javanese")
    await toggle(api, user, menu, "Bahasa Indonesia")
    redrawn = api.message(user.chat_id, menu.message_id)
    assert "Kamu menilai item berbahasa: Inggris, Jawa" in redrawn.plain_text()
    assert {"✅ Inggris", "✅ Jawa", "⬜ Indonesia", "⬜ Sunda"} <= set(labels(redrawn))


async def test_an_ended_lease_in_a_language_turned_off_is_not_renewed(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await import_with_languages(nilai, tmp_path, "jv", None)
    user = api.user(3007, "Sari", language_code="id")
    await nilai.onboard(user)
    await toggle(api, user, await open_menu(api, user), "Jawa")
    assert await item_given(api, nilai, user) == "q1"
    nilai.clock.advance(minutes=nilai.settings.lease_minutes + 1)
    await toggle(api, user, await open_menu(api, user), "✅ Jawa")
    assert await item_given(api, nilai, user) == "q2"  # q1 is given up, not renewed
    status = await nilai.database.fetchval(
        "SELECT a.status FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE i.external_id = 'q1'"
    )
    assert status == "expired"
