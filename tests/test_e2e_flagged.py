"""/flagged end to end: the items trainers flagged, most flagged first with their counts per flag,
a button that opens one (prompt, answer, flags by count), a trainer refused, an unknown batch,
nothing flagged. Both languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.rubric import DEFAULT_RUBRIC
from handlers.callback_data import Action, encode
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

BOSS = 9000  # COORDINATOR_IDS in the test settings
UNSAFE = DEFAULT_RUBRIC.flags.index("unsafe")
BIASED = DEFAULT_RUBRIC.flags.index("biased")


async def import_batch(nilai: RunningBot, tmp_path: Path, items: int = 3) -> None:
    path = tmp_path / "batch.jsonl"
    records = [
        {"id": f"q{n}", "prompt": f"Prompt {n} asks something", "response": f"Answer {n}"}
        for n in range(1, items + 1)
    ]
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    await nilai.import_file(path, overlap=3)


async def boss_in(api: FakeBotApi, language: str) -> FakeUser:
    boss = api.user(BOSS, "Boss", language_code=language)
    await boss.send("/start")
    await boss.wait_bot_message()
    return boss


async def judge(api: FakeBotApi, nilai: RunningBot, user: FakeUser, *flags: int) -> None:
    """The trainer's next item, scored, with those flags, submitted."""
    panel = await nilai.next_item(user)
    for index in range(len(DEFAULT_RUBRIC.criteria)):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)
    for flag in flags:
        await answered(api, await tap_action(user, panel, Action.FLAG, flag, 1))
        await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.05)


async def flagged(api: FakeBotApi, user: FakeUser, text: str = "/flagged") -> FakeMessage:
    since = api.mark()
    await user.send(text)
    return await user.wait_bot_message(since=since)


@pytest.mark.parametrize(
    ("language", "title", "first", "second", "button", "shown"),
    [
        (
            "en",
            "Flagged answers in the open batches: 2 items",
            "1. q2 in pilot · flagged by 2 trainers\nUnsafe or harmful: 2 · Biased or one-sided: 1",
            "2. q1 in pilot · flagged by 1 trainer\nUnsafe or harmful: 1",
            "Open 1: q2",
            [
                "q2 in batch pilot",
                "• Unsafe or harmful: 2 trainers",
                "• Biased or one-sided: 1 trainer",
            ],
        ),
        (
            "id",
            "Jawaban yang ditandai di batch yang terbuka: 2 item",
            "1. q2 di pilot · ditandai 2 trainer\nTidak aman: 2 · Berat sebelah: 1",
            "2. q1 di pilot · ditandai 1 trainer\nTidak aman: 1",
            "Buka 1: q2",
            ["q2 di batch pilot", "• Tidak aman: 2 trainer", "• Berat sebelah: 1 trainer"],
        ),
    ],
)
async def test_the_most_flagged_items_come_first_and_open_from_their_button(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    title: str,
    first: str,
    second: str,
    button: str,
    shown: list[str],
) -> None:
    boss = await boss_in(api, language)
    await import_batch(nilai, tmp_path)
    rina, dewi = api.user(2001, "Rina"), api.user(2002, "Dewi")
    await nilai.onboard(rina)
    await nilai.onboard(dewi)
    await judge(api, nilai, rina, UNSAFE)  # q1
    await judge(api, nilai, rina, UNSAFE)  # q2
    await judge(api, nilai, dewi)  # q1
    await judge(api, nilai, dewi, UNSAFE, BIASED)  # q2

    listing = await flagged(api, boss)
    text = listing.plain_text()
    assert title in text and first in text and second in text
    assert text.index(first) < text.index(second)
    assert "Prompt 2 asks something" in text
    labels = [b["text"] for row in listing.buttons() for b in row]
    assert labels[0] == button and len(labels) == 2

    since = api.mark()
    await answered(api, await boss.tap(listing, button))
    opened = await boss.wait_bot_message(since=since)
    text = opened.plain_text()
    assert all(line in text for line in shown)
    assert "Prompt 2 asks something" in text and "Answer 2" in text
    assert text.index("Prompt 2") < text.index("Answer 2")


@pytest.mark.parametrize(
    ("language", "unknown", "nothing", "toast"),
    [
        (
            "en",
            "No batch is called nope.",
            "No flagged answers in the open batches.",
            "That item isn't there any more.",
        ),
        (
            "id",
            "Tidak ada batch bernama nope.",
            "Belum ada jawaban yang ditandai di batch yang terbuka.",
            "Item itu sudah tidak ada.",
        ),
    ],
)
async def test_an_unknown_batch_nothing_flagged_and_a_forged_item_are_answered_kindly(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    unknown: str,
    nothing: str,
    toast: str,
) -> None:
    boss = await boss_in(api, language)
    await import_batch(nilai, tmp_path)
    assert unknown in (await flagged(api, boss, "/flagged nope")).plain_text()
    reply = await flagged(api, boss)
    assert nothing in reply.plain_text() and reply.buttons() == []
    assert "pilot" in (await flagged(api, boss, "/flagged pilot")).plain_text()

    since = api.mark()
    forged = await boss.tap(reply, data=encode(Action.FLAGGED_ITEM, 999_999))
    assert toast in await answered(api, forged)
    await api.wait_idle(quiet=0.05)
    assert not [c for c in api.calls[since:] if c.method == "sendMessage"]


async def test_a_trainer_is_refused_the_list_and_the_item(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await import_batch(nilai, tmp_path)
    rina = api.user(2001, "Rina")
    await nilai.onboard(rina)
    await judge(api, nilai, rina, UNSAFE)
    reply = await flagged(api, rina)
    assert "coordinator" in reply.plain_text().lower() and reply.buttons() == []

    item_id = await nilai.count("SELECT id FROM items WHERE external_id = 'q1'")
    since = api.mark()
    tap = await rina.tap(reply, data=encode(Action.FLAGGED_ITEM, item_id))
    assert await answered(api, tap)  # the refusal toast
    await api.wait_idle(quiet=0.05)
    assert not [c for c in api.calls[since:] if c.method == "sendMessage"]
