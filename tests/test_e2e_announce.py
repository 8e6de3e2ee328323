"""/announce shows a preview with Send / Cancel before anything goes out, end to end through the
fake Bot API: the draft survives a restart, Send twice or a redelivered tap sends once, Cancel
sends nothing, and only the coordinator who wrote it can decide."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace

import pytest

from bot.config import Settings
from handlers.broadcasts import MAX_ANNOUNCEMENT
from handlers.callback_data import Action, decode, encode
from tests.conftest import FakeClock
from tests.e2e import RunningBot, answered
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser
from tests.test_e2e_broadcasts import add_trainers

BOSS, OTHER_BOSS = 9000, 9001
TRAINERS = (10_001, 10_002, 10_003)  # 10_002 speaks Indonesian (every third id does)
FINISHED = {"en": "Broadcast finished", "id": "Siaran selesai"}
SEND = {"en": "Send", "id": "Kirim"}
CANCEL = {"en": "Cancel", "id": "Batal"}


@pytest.fixture
async def nilai(api: FakeBotApi, settings: Settings, clock: FakeClock) -> AsyncIterator[RunningBot]:
    """The bot with two coordinators and a fast broadcast rate (the fake has no flood limit)."""
    both = replace(settings, coordinator_ids=frozenset({BOSS, OTHER_BOSS}), broadcast_rate=1000)
    bot = RunningBot(api, both, clock)
    await bot.start()
    try:
        await add_trainers(bot.database, api, TRAINERS)
        yield bot
    finally:
        await bot.stop()


async def coordinator(api: FakeBotApi, user_id: int = BOSS, language: str = "en") -> FakeUser:
    user = api.user(user_id, f"Boss {user_id}", language_code=language)
    await user.send("/start")
    await user.wait_bot_message()
    return user


async def preview_of(boss: FakeUser, text: str) -> FakeMessage:
    await boss.send(f"/announce {text}")
    return await boss.wait_bot_message()


def draft_of(preview: FakeMessage) -> int:
    return decode(preview.buttons()[0][0]["callback_data"]).args[0]


def received(api: FakeBotApi, chats: Iterable[int] = TRAINERS) -> Counter[int]:
    wanted = set(chats)
    return Counter(c.chat_id for c in api.calls_to("sendMessage") if c.ok and c.chat_id in wanted)


async def final_report(boss: FakeUser, since: int, language: str = "en") -> FakeMessage:
    words = FINISHED[language]
    call = await boss.server.wait_for_call(
        ("editMessageText", "sendMessage"),
        lambda c: c.ok and c.chat_id == boss.chat_id and words in c.params["text"],
        since=since,
        timeout=20,
    )
    return boss.server.message(boss.chat_id, call.result["message_id"])


async def tap_toast(api: FakeBotApi, user: FakeUser, message: FakeMessage, **how: str) -> str:
    update = await user.tap(message, how.get("label"), data=how.get("data"))
    return await answered(api, update)


async def nothing_sent(api: FakeBotApi, nilai: RunningBot) -> bool:
    await api.wait_idle(quiet=0.1)
    return not received(api) and await nilai.count("SELECT COUNT(*) FROM broadcasts") == 0


@pytest.mark.parametrize("language", ["en", "id"])
async def test_the_preview_shows_what_trainers_will_see_and_send_sends_it_once_to_each(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    boss = await coordinator(api, language=language)
    preview = await preview_of(boss, "Rapat jam 3 <b>penting</b>")

    text = preview.plain_text()
    header = {"en": "📣 Message from your coordinator", "id": "📣 Pesan dari koordinatormu"}
    assert f"{header[language]}\nRapat jam 3 <b>penting</b>" in text  # escaped, as trainers see it
    goes = {"en": "It goes to 3 active trainers.", "id": "dikirim ke 3 trainer aktif"}
    assert goes[language] in text
    assert [b["text"] for b in preview.buttons()[0]] == [
        f"✅ {SEND[language]}",
        f"✖️ {CANCEL[language]}",
    ]
    assert await nothing_sent(api, nilai)
    assert await nilai.count("SELECT status FROM announcement_drafts") == "draft"

    since = api.mark()
    toast = await tap_toast(api, boss, preview, label=SEND[language])
    assert toast == {"en": "Sending it now 📣", "id": "Lagi dikirim 📣"}[language]
    report = await final_report(boss, since, language)
    assert set(received(api).values()) == {1} and set(received(api)) == set(TRAINERS)
    assert {"en": "Received: 3 of 3", "id": "Diterima: 3 dari 3"}[language] in report.plain_text()
    sent = {"en": "✅ Sent: it is on its way", "id": "✅ Terkirim: pesannya sedang dikirim"}
    assert preview.plain_text().startswith(sent[language])
    assert "Rapat jam 3 <b>penting</b>" in preview.plain_text()  # what went out stays in view
    assert preview.buttons() == []
    assert await nilai.count("SELECT status FROM announcement_drafts") == "sent"


async def test_cancel_sends_nothing_and_a_later_send_is_refused(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    boss = await coordinator(api)
    preview = await preview_of(boss, "Libur besok")
    draft = draft_of(preview)

    assert await tap_toast(api, boss, preview, label="Cancel") == "Cancelled. Nothing was sent."
    await api.wait_idle(quiet=0.1)
    assert preview.plain_text().startswith("✖️ Cancelled: nothing was sent.")
    assert preview.buttons() == []
    # Send from an old copy of the buttons (a second phone, a slow client): still nothing.
    late = await tap_toast(api, boss, preview, data=encode(Action.ANNOUNCE, draft, 1))
    assert late.startswith("This one was cancelled, so it was not sent.")
    assert await nothing_sent(api, nilai)
    assert await nilai.count("SELECT status FROM announcement_drafts") == "cancelled"


async def test_send_tapped_twice_and_a_redelivered_tap_send_once(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    boss = await coordinator(api)
    preview = await preview_of(boss, "Sekali saja")
    data = preview.button("Send")["callback_data"]

    since = api.mark()
    first = await boss.tap(preview, data=data)
    second = await boss.tap(preview, data=data)  # before the first is answered
    api.redeliver(first)  # Telegram sends the first again: its confirmation was lost
    toasts = {await answered(api, first), await answered(api, second)}
    await final_report(boss, since)
    await api.wait_idle(quiet=0.2)

    assert toasts == {"Sending it now 📣", "Already sent: it goes out only once."}
    assert received(api) == Counter(dict.fromkeys(TRAINERS, 1))
    assert await nilai.count("SELECT COUNT(*) FROM broadcasts") == 1
    assert await nilai.count("SELECT COUNT(*) FROM deliveries") == len(TRAINERS)


async def test_a_draft_survives_a_restart(api: FakeBotApi, nilai: RunningBot) -> None:
    boss = await coordinator(api)
    preview = await preview_of(boss, "Setelah restart")
    await nilai.restart()

    since = api.mark()
    assert await tap_toast(api, boss, preview, label="Send") == "Sending it now 📣"
    report = await final_report(boss, since)
    assert "Received: 3 of 3" in report.plain_text()
    assert set(received(api).values()) == {1}


async def test_only_the_coordinator_who_wrote_it_can_send_or_cancel_it(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    boss = await coordinator(api)
    other = await coordinator(api, OTHER_BOSS)
    preview = await preview_of(boss, "Punya saya")
    draft = draft_of(preview)

    for choice in (1, 0):
        update = await other.tap(
            other.last_bot_message(), data=encode(Action.ANNOUNCE, draft, choice)
        )
        toast = await answered(api, update)
        assert toast == "Only the coordinator who wrote this message can send or cancel it."
        assert api.callback(update["callback_query"]["id"]).answer.params["show_alert"] is True
    trainer = api.user(TRAINERS[0])
    update = await trainer.tap(preview, data=encode(Action.ANNOUNCE, draft, 1))
    assert await answered(api, update) == "This button is for coordinators only."
    assert await nothing_sent(api, nilai)
    assert await nilai.count("SELECT status FROM announcement_drafts") == "draft"
    assert preview.buttons()  # still waiting for its author

    since = api.mark()
    await tap_toast(api, boss, preview, label="Send")
    await final_report(boss, since)
    assert set(received(api).values()) == {1}


@pytest.mark.parametrize("language", ["en", "id"])
async def test_the_longest_announcement_fits_its_preview_and_goes_out_whole(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    await nilai.database.execute(
        "UPDATE trainers SET status = 'paused' WHERE user_id <> ?", (10_001,)
    )
    boss = await coordinator(api, language=language)
    words = ("Kata " * MAX_ANNOUNCEMENT)[: MAX_ANNOUNCEMENT - 1] + "!"
    preview = await preview_of(boss, words)
    goes = {"en": "It goes to 1 active trainer.", "id": "dikirim ke 1 trainer aktif"}
    assert goes[language] in preview.plain_text()  # one trainer, said in the singular

    since = api.mark()
    await tap_toast(api, boss, preview, label=SEND[language])
    await final_report(boss, since, language)
    assert words in preview.plain_text()  # the edited preview still fits one message
    (announcement,) = [m for m in api.chat_messages(10_001) if m.from_bot]
    assert announcement.plain_text().endswith(words)
    assert not [c for c in api.calls[since:] if not c.ok]
