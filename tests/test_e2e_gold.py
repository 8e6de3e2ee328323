"""Gold (control) items end to end through the fake Bot API: a trainer who misses them is paused
in the batch after the fifth answer with a kind message, the coordinators get the evidence, and
/resume or the evidence's Resume button lifts it; a trainer cannot."""

from __future__ import annotations

import re

import pytest

from bot.clock import after, stamp
from handlers.callback_data import Action, encode
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser
from tests.gold_items import give_gold, make_gold_batch

BOSS = 9000
WRONG = (3, 5, 5, 5)  # accuracy 3 (expected 4-5), then language, safety (5, as expected), help
RIGHT = (4, 1, 5, 1)

PAUSED = {
    "en": ("A short break from pilot", "especially Accuracy"),
    "id": ("Istirahat sebentar dari pilot", "terutama bagian Akurasi"),
}
GUIDELINES = {"en": "Guidelines · pilot", "id": "Panduan · pilot"}
EVIDENCE = {
    "en": (
        "Rina (@rina_r) is paused in pilot for gold items: 0 of 5 right (0%), below the 70%",
        "❌ gold-{n}: Accuracy 3 (expected 4–5) · Ethics & safety 5 (expected 5)",
    ),
    "id": (
        "Rina (@rina_r) dijeda di pilot karena item gold: benar 0 dari 5 (0%), di bawah batas 70%",
        "❌ gold-{n}: Akurasi 3 (seharusnya 4–5) · Etika & keamanan 5 (seharusnya 5)",
    ),
}
ORDINARY = re.compile(r"\nAnswer \d")  # an ordinary item's answer (gold ones: "Gold answer")
RESUMED = {"en": "reopened pilot for you", "id": "membuka lagi pilot untukmu"}


@pytest.fixture
async def boss(api: FakeBotApi, nilai: RunningBot) -> FakeUser:
    user = api.user(BOSS, "Boss", language_code="en")
    await user.send("/start")
    await user.wait_bot_message()
    return user


async def rina_in(api: FakeBotApi, nilai: RunningBot, language: str) -> FakeUser:
    user = api.user(2001, "Rina", language_code=language, username="rina_r")
    await nilai.onboard(user)
    return user


async def answer_gold(
    api: FakeBotApi, nilai: RunningBot, user: FakeUser, batch_id: int, scores: tuple[int, ...]
) -> FakeMessage:
    """Lease the trainer a gold item, open it with /next, score it and submit; the panel."""
    lease = stamp(after(nilai.clock(), 30))
    await give_gold(nilai.database, user.user_id, batch_id, lease)
    panel = await nilai.next_item(user)
    assert "Gold prompt" in panel.plain_text()
    for index, score in enumerate(scores):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, score))
        await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.3)
    return panel


async def fail_five(api: FakeBotApi, nilai: RunningBot, user: FakeUser, batch_id: int) -> int:
    """Four wrong gold answers (no pause yet), then a fifth; the mark before the fifth."""
    for _ in range(4):
        await answer_gold(api, nilai, user, batch_id, WRONG)
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses") == 0
    since = api.mark()
    await answer_gold(api, nilai, user, batch_id, WRONG)
    return since


def texts_to(api: FakeBotApi, chat_id: int, since: int) -> list[str]:
    return [
        api.message(chat_id, call.result["message_id"]).plain_text()
        for call in api.calls[since:]
        if call.method == "sendMessage" and call.ok and call.chat_id == chat_id
    ]


async def evidence_message(api: FakeBotApi, since: int) -> FakeMessage:
    call = await api.wait_for_call(
        "sendMessage",
        lambda c: c.ok and c.chat_id == BOSS and "gold" in c.params["text"],
        since=since,
    )
    return api.message(BOSS, call.result["message_id"])


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_trainer_missing_gold_items_is_paused_kindly_and_coordinators_get_evidence(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    boss = api.user(BOSS, "Boss", language_code=language)
    await boss.send("/start")
    await boss.wait_bot_message()
    rina = await rina_in(api, nilai, language)
    batch_id = await make_gold_batch(nilai.database)
    since = await fail_five(api, nilai, rina, batch_id)

    told = texts_to(api, rina.chat_id, since)
    headline, missed = PAUSED[language]
    [pause_at] = [n for n, text in enumerate(told) if headline in text]
    assert missed in told[pause_at]
    assert GUIDELINES[language] in told[pause_at + 1]  # what to read again follows at once
    # Said before anything the Submit sends next (an item of another batch, or one held).
    assert not any(ORDINARY.search(text) for text in told[:pause_at])
    pause = await nilai.database.fetchone("SELECT trainer_id, batch_id, lifted_at FROM gold_pauses")
    assert tuple(pause) == (rina.user_id, batch_id, None)

    evidence = (await evidence_message(api, since)).plain_text()
    headline, line = EVIDENCE[language]
    assert headline in evidence
    for n in range(1, 6):
        assert line.format(n=n) in evidence
    assert "/resume @rina_r pilot" in evidence


async def test_every_coordinator_gets_the_evidence_and_one_who_blocked_the_bot_is_marked(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    code = await nilai.invite(role="coordinator", uses=2)
    ayu, bayu = api.user(9101, "Ayu", language_code="id"), api.user(9102, "Bayu")
    for coordinator in (ayu, bayu):
        await coordinator.send(f"/start {code}")
        await coordinator.wait_bot_message()
    api.block(bayu.chat_id)
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database)
    since = await fail_five(api, nilai, rina, batch_id)

    for chat_id, headline in ((BOSS, EVIDENCE["en"][0]), (ayu.chat_id, EVIDENCE["id"][0])):
        call = await api.wait_for_call(
            "sendMessage",
            lambda c, chat_id=chat_id: c.ok and c.chat_id == chat_id and "gold" in c.params["text"],
            since=since,
        )
        assert headline in api.message(chat_id, call.result["message_id"]).plain_text()
    await api.wait_idle(quiet=0.3)
    assert await nilai.count("SELECT reachable FROM trainers WHERE user_id = 9102") == 0


async def test_no_pause_while_the_accuracy_holds(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database, gold=5)
    since = api.mark()
    for scores in (RIGHT, RIGHT, WRONG, RIGHT, RIGHT):  # 4 of 5: 80%
        await answer_gold(api, nilai, rina, batch_id, scores)
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses") == 0
    assert await nilai.count("SELECT COUNT(*) FROM gold_answers WHERE correct = 1") == 4
    assert not any("gold items" in text for text in texts_to(api, BOSS, since))


@pytest.mark.parametrize("language", ["en", "id"])
async def test_resume_lifts_the_pause_afresh_and_the_trainer_gets_items_again(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser, language: str
) -> None:
    rina = await rina_in(api, nilai, language)
    batch_id = await make_gold_batch(nilai.database)
    await make_gold_batch(nilai.database, "other", items=0, gold=0)
    await fail_five(api, nilai, rina, batch_id)
    since = api.mark()
    await rina.send("/next")  # paused: nothing more from pilot, not even the item she held
    assert "pilot" not in (await rina.wait_bot_message(since=since)).plain_text()

    await boss.send("/resume @rina_r nosuch")
    assert "There is no batch called nosuch" in (await boss.wait_bot_message()).plain_text()
    await boss.send("/resume @rina_r other")
    assert "Rina has no gold pause in other" in (await boss.wait_bot_message()).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses WHERE lifted_at IS NULL") == 1

    since = api.mark()
    await boss.send("/resume @rina_r pilot")
    done = (await boss.wait_bot_message()).plain_text()
    assert "Rina can review pilot again; their gold tally there starts afresh" in done
    told = await rina.wait_bot_message(since=since)
    assert RESUMED[language] in told.plain_text()
    row = await nilai.database.fetchone("SELECT lifted_at, lifted_by FROM gold_pauses")
    assert row[0] is not None and row[1] == BOSS
    assert await nilai.count("SELECT COUNT(*) FROM gold_answers WHERE counted = 1") == 0
    assert await nilai.count("SELECT COUNT(*) FROM audit_log WHERE action = 'gold.resume'") == 1

    assert told.buttons()[0][0]["callback_data"] == encode(Action.NEXT)  # Start reviewing
    panel = await nilai.next_item(rina)
    assert "pilot" in panel.plain_text() and ORDINARY.search(panel.plain_text())

    # Once lifted, a second /resume finds no gold pause: it is about her status, as before.
    await boss.send("/resume @rina_r")
    assert "Rina is already active" in (await boss.wait_bot_message()).plain_text()


async def test_resume_without_a_batch_lifts_every_gold_pause_in_the_coordinators_language(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    boss = api.user(BOSS, "Bos", language_code="id")
    await boss.send("/start")
    await boss.wait_bot_message()
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database)
    await fail_five(api, nilai, rina, batch_id)

    since = api.mark()
    await boss.send("/resume @rina_r")
    done = (await boss.wait_bot_message()).plain_text()
    assert "Rina bisa menilai pilot lagi; hitungan gold-nya di sana mulai dari awal" in done
    assert RESUMED["en"] in (await rina.wait_bot_message(since=since)).plain_text()
    await api.wait_idle(quiet=0.2)
    assert len(texts_to(api, BOSS, since)) == 1  # she was active: no status line besides
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses WHERE lifted_at IS NULL") == 0

    await boss.send("/resume @rina_r pilot")
    said = (await boss.wait_bot_message()).plain_text()
    assert "Rina tidak sedang dijeda karena gold di pilot" in said
    await boss.send("/resume @rina_r nosuch")
    assert "Tidak ada batch bernama nosuch" in (await boss.wait_bot_message()).plain_text()


async def test_the_resume_button_lifts_once_and_a_second_tap_says_so(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database)
    since = await fail_five(api, nilai, rina, batch_id)
    evidence = await evidence_message(api, since)

    since = api.mark()
    tap = await boss.tap(evidence, "Resume")
    assert await answered(api, tap) == "Lifted: they can go on"
    told = await rina.wait_bot_message(since=since)
    assert RESUMED["en"] in told.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses WHERE lifted_at IS NULL") == 0
    assert await nilai.count("SELECT COUNT(*) FROM gold_answers WHERE counted = 1") == 0

    pause_id = await nilai.count("SELECT id FROM gold_pauses")
    again = await boss.tap(evidence, data=encode(Action.GOLD_RESUME, rina.user_id, pause_id))
    assert await answered(api, again) == "That pause was lifted already"
    await api.wait_idle(quiet=0.2)
    assert await nilai.count("SELECT COUNT(*) FROM audit_log WHERE action = 'gold.resume'") == 1
    assert len(texts_to(api, rina.chat_id, since)) == 1  # told once


async def test_a_trainer_cannot_resume_anyone(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database)
    since = await fail_five(api, nilai, rina, batch_id)
    evidence = await evidence_message(api, since)
    data = evidence.buttons()[0][0]["callback_data"]

    await rina.send("/resume @rina_r pilot")
    assert "This command is for coordinators" in (await rina.wait_bot_message()).plain_text()
    forged = await rina.tap(await rina.wait_bot_message(since=0), data=data)
    assert "coordinators" in await answered(api, forged)
    await api.wait_idle(quiet=0.2)
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses WHERE lifted_at IS NULL") == 1
    assert await nilai.count("SELECT COUNT(*) FROM gold_answers WHERE counted = 1") == 5
