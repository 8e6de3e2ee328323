"""Privacy through Telegram: a stranger learns their id, a trainer agrees to the notice before
their first item, coordinators replace the notice, /mydata sends a file, /deleteme forgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.exports import export_batch
from handlers.callback_data import Action, encode
from tests.conftest import SAMPLES
from tests.e2e import RunningBot, answered, consent_data, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

AGREE = {"en": "I agree", "id": "Aku setuju"}
NOTICE_TITLE = {"en": "Your privacy on Nilai", "id": "Privasimu di Nilai"}


async def ask(api: FakeBotApi, user: FakeUser, text: str) -> FakeMessage:
    since = api.mark()
    await user.send(text)
    return await user.wait_bot_message(since=since)


def code_entities(message: FakeMessage) -> list[str]:
    """The texts Telegram shows as tap-to-copy code in the message (offsets in UTF-16)."""
    units = (message.api_text or "").encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.entities
        if e["type"] == "code"
    ]


async def assignments(nilai: RunningBot) -> int:
    return await nilai.count("SELECT COUNT(*) FROM assignments")


# -- strangers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"), [("en", "send it to your coordinator"), ("id", "Kirim ke koordinatormu")]
)
async def test_a_stranger_is_told_their_telegram_id_to_copy(
    api: FakeBotApi, nilai: RunningBot, language: str, words: str
) -> None:
    stranger = api.user(123456789, "Nina", language_code=language)
    reply = await ask(api, stranger, "/start")
    assert words in reply.plain_text() and "COORDINATOR_IDS" in reply.plain_text()
    assert "123456789" in code_entities(reply)  # whole, not grouped as 123,456,789
    hello = await ask(api, stranger, "hello")
    assert "123456789" in code_entities(hello)
    assert await nilai.count("SELECT COUNT(*) FROM trainers") == 0


@pytest.mark.parametrize(("language", "words"), [("en", "not valid"), ("id", "tidak berlaku")])
async def test_an_invalid_invite_says_so_and_gives_the_id_too(
    api: FakeBotApi, nilai: RunningBot, language: str, words: str
) -> None:
    stranger = api.user(5550001, language_code=language)
    reply = await ask(api, stranger, "/start not-a-code")
    assert words in reply.plain_text()
    assert code_entities(reply) == ["5550001"]


# -- consent before the first item ------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_new_trainer_agrees_to_the_notice_before_the_first_item(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.csv")
    siti = api.user(2001, "Siti", language_code=language)
    welcome = await nilai.onboard(siti, agree=False)
    assert NOTICE_TITLE[language] in welcome.plain_text()
    assert "/deleteme" in welcome.plain_text() and "/mydata" in welcome.plain_text()
    assert [b["text"] for row in welcome.buttons() for b in row] == [f"✅ {AGREE[language]}"]

    notice = await ask(api, siti, "/next")  # asked again, politely; no item
    assert NOTICE_TITLE[language] in notice.plain_text() and notice.button(AGREE[language])
    assert await assignments(nilai) == 0

    since = api.mark()
    update = await siti.tap(welcome, AGREE[language])
    assert await answered(api, update) in ("Thank you! ✓", "Makasih! ✓")
    await api.wait_for_call("editMessageText", lambda c: c.chat_id == siti.chat_id, since=since)
    agreed = api.message(siti.chat_id, welcome.message_id)
    assert welcome.plain_text().startswith(("👋 Welcome", "👋 Selamat datang"))
    date = {"en": "Nov 25, 2026, 10:00 AM WIB", "id": "25 Nov 2026 10.00 WIB"}[language]
    said = {"en": "✅ You agreed on", "id": "✅ Kamu setuju pada"}[language]
    assert f"{said} {date}" in agreed.plain_text()
    assert agreed.button("Next" if language == "en" else "Berikutnya")
    row = await nilai.database.fetchone(
        "SELECT privacy_version, privacy_agreed_at FROM trainers WHERE user_id = 2001"
    )
    assert tuple(row) == (1, "2026-11-25T03:00:00.000000+00:00")
    audit = await nilai.database.fetchall(
        "SELECT actor_id, action, target, detail FROM audit_log WHERE action = 'privacy.agree'"
    )
    assert [tuple(r) for r in audit] == [(2001, "privacy.agree", "trainer:2001", "version 1")]

    panel = await nilai.next_item(siti)
    assert assignment_buttons(panel)
    again = await siti.tap(notice, AGREE[language])  # the other copy: already agreed
    assert await answered(api, again)
    assert await nilai.count("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.agree'") == 1


def assignment_buttons(panel: FakeMessage) -> list[str]:
    return [b["callback_data"] for row in panel.buttons() for b in row]


async def test_a_trainer_who_never_agreed_gets_the_notice_instead_of_any_item_action(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    """A trainer from before the notice existed, with an item open: /next, Next and the
    item's buttons all show the notice, and nothing is stored until they agree."""
    await nilai.import_file(SAMPLES / "batch_small.csv")
    rudi = api.user(2002, "Rudi", language_code="en")
    await nilai.onboard(rudi)
    panel = await nilai.next_item(rudi)
    await nilai.database.execute("UPDATE trainers SET privacy_version = NULL WHERE user_id = 2002")
    await nilai.restart()  # the bot forgets who agreed: the database says who did

    since = api.mark()
    tap = await tap_action(rudi, panel, Action.SCORE, 0, 4)
    assert await answered(api, tap) == "Please read the privacy notice below and agree first."
    notice = await rudi.wait_bot_message(since=since)
    assert "before your next item" in notice.plain_text()
    next_tap = await rudi.tap(panel, data=encode(Action.NEXT))
    assert "privacy notice" in await answered(api, next_tap)
    assert "One thing before" in (await ask(api, rudi, "/next")).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM scores") == 0

    await rudi.tap(notice, "I agree")
    await api.wait_for_call(
        "editMessageText", lambda c: c.params.get("message_id") == notice.message_id
    )
    score = await tap_action(rudi, panel, Action.SCORE, 0, 4)
    assert await answered(api, score) == "Accuracy: 4"
    assert await nilai.count("SELECT COUNT(*) FROM scores") == 1


async def test_a_coordinator_who_reviews_agrees_too(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.csv")
    notice = await ask(api, coordinator, "/next")
    assert "Your privacy on Nilai" in notice.plain_text()
    assert await assignments(nilai) == 0
    await nilai.agree(coordinator, notice)
    assert await nilai.next_item(coordinator)


# -- the organisation's own notice ------------------------------------------------------------


async def test_a_coordinator_replaces_the_notice_and_everyone_agrees_again(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.csv")
    dewi = api.user(2003, "Dewi", language_code="id")
    await nilai.onboard(dewi)
    shown = await ask(api, coordinator, "/privacy")
    assert "Version 1: Nilai's own text" in shown.plain_text()
    assert "You haven't agreed" in shown.plain_text()
    already = await ask(api, coordinator, "/privacy reset")
    assert "nothing changed" in already.plain_text()
    await nilai.agree(coordinator, shown)
    agreed = api.message(coordinator.chat_id, shown.message_id).plain_text()
    assert "Version 1" in agreed and "You agreed on" in agreed and "haven't" not in agreed

    refused = await ask(api, dewi, "/privacy set <b>Ours</b>")
    assert "koordinator" in refused.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM privacy_notices") == 0  # the reset too

    done = await ask(api, coordinator, "/privacy set PT Data Baik keeps your data for a year.")
    assert "version 2" in done.plain_text()
    notice = await ask(api, dewi, "/next")
    assert "ada yang berubah" in notice.plain_text()
    assert "PT Data Baik keeps your data for a year." in notice.plain_text()
    assert "Privasimu di Nilai" not in notice.plain_text()  # one text, for both languages
    assert consent_data(notice) == "1a:2"

    source = await coordinator.send("PT Lain keeps reviews for six months.")
    await coordinator.wait_bot_message()  # the bot's hint about a plain message
    since = api.mark()
    await coordinator.reply(source, "/privacy set")
    assert "version 3" in (await coordinator.wait_bot_message(since=since)).plain_text()
    since = api.mark()
    stale = await dewi.tap(notice, "Aku setuju")  # version 2's button
    assert "berubah" in await answered(api, stale)
    newest = await dewi.wait_bot_message(since=since)
    assert "PT Lain" in newest.plain_text() and consent_data(newest) == "1a:3"
    await nilai.agree(dewi, newest)
    assert await nilai.next_item(dewi)

    reset = await ask(api, coordinator, "/privacy reset")
    assert "version 4" in reset.plain_text()
    back = await ask(api, dewi, "/next")
    assert "Privasimu di Nilai" in back.plain_text()
    actions = await nilai.database.fetchall(
        "SELECT actor_id, action, target FROM audit_log WHERE action LIKE 'privacy.notice%'"
        " ORDER BY id"
    )
    assert [tuple(row) for row in actions] == [
        (9000, "privacy.notice_set", "privacy_notice:2"),
        (9000, "privacy.notice_set", "privacy_notice:3"),
        (9000, "privacy.notice_reset", "privacy_notice:4"),
    ]
    stored = await nilai.database.fetchval("SELECT text FROM privacy_notices WHERE version = 3")
    assert stored == "PT Lain keeps reviews for six months."


async def test_a_notice_too_long_for_one_message_is_refused(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    reply = await ask(api, coordinator, "/privacy set " + "x" * 3600)
    assert "3600 characters" in reply.plain_text().replace(",", "")
    missing = await ask(api, coordinator, "/privacy set")
    assert "/privacy set" in missing.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM privacy_notices") == 0


# -- /mydata and /deleteme --------------------------------------------------------------------


async def review_one(api: FakeBotApi, nilai: RunningBot, user: FakeUser, rewrite: str) -> None:
    panel = await nilai.next_item(user)
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)  # the panel moves on to the next criterion
    since = api.mark()
    await user.reply(panel, rewrite)
    await user.wait_bot_message(since=since)
    await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.05)


@pytest.mark.parametrize(("language", "words"), [("en", "Everything Nilai"), ("id", "Semua data")])
async def test_mydata_sends_everything_stored_as_a_json_file(
    api: FakeBotApi, nilai: RunningBot, language: str, words: str
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.csv")
    ana = api.user(2004, "Ana", language_code=language, username="ana_l")
    await nilai.onboard(ana)
    await review_one(api, nilai, ana, "A much better answer.")
    document = await ask(api, ana, "/mydata")
    assert document.document is not None
    assert document.document["file_name"] == "nilai-mydata-2026-11-25.json"
    assert words in document.plain_text()
    data = json.loads(api.file_content(document.document["file_id"]))
    assert (data["profile"]["name"], data["profile"]["username"]) == ("Ana", "ana_l")
    assert data["pseudonym_in_exports"] in document.plain_text()
    [review] = [r for r in data["reviews"] if r["status"] == "submitted"]
    assert len(review["scores"]) == 4 and review["judgment"]["rewrite"] == "A much better answer."
    assert [entry["action"] for entry in data["audit"]] == ["privacy.agree"]
    assert await nilai.count("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.mydata'") == 1


@pytest.mark.parametrize("language", ["en", "id"])
async def test_deleteme_forgets_the_trainer_and_keeps_their_judgments_under_the_pseudonym(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.csv", overlap=1)
    budi = api.user(2005, "Budi Santoso", language_code=language, username="budi_s")
    await nilai.onboard(budi)
    await review_one(api, nilai, budi, "Budi's better answer.")
    before = await export_raw(nilai, tmp_path / "before.jsonl")
    assert "Budi's better answer." in before

    question = await ask(api, budi, "/deleteme")
    assert "/mydata" in question.plain_text()
    since = api.mark()
    cancel = await budi.tap(question, data=encode(Action.DELETE_ME, 0))
    await answered(api, cancel)
    await api.wait_for_call("editMessageText", lambda c: c.chat_id == budi.chat_id, since=since)
    assert "👍" in api.message(budi.chat_id, question.message_id).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM trainers WHERE user_id = 2005") == 1

    question = await ask(api, budi, "/deleteme")
    since = api.mark()
    confirm = await budi.tap(question, "🗑")
    await answered(api, confirm)
    await api.wait_for_call("editMessageText", lambda c: c.chat_id == budi.chat_id, since=since)
    done = api.message(budi.chat_id, question.message_id)
    assert done.plain_text().startswith("✅") and not done.buttons()

    assert await nilai.count("SELECT COUNT(*) FROM trainers WHERE user_id = 2005") == 0
    assert (
        await nilai.count(
            "SELECT COUNT(*) FROM trainers WHERE name LIKE '%Budi%' OR username = 'budi_s'"
        )
        == 0
    )
    assert await export_raw(nilai, tmp_path / "after.jsonl") == before
    stranger = await ask(api, budi, "/next")  # the bot no longer knows him
    assert "2005" in code_entities(stranger)
    again = await ask(api, budi, "/start")
    assert "2005" in code_entities(again)
    entry = await nilai.database.fetchone(
        "SELECT actor_id, target, detail FROM audit_log WHERE action = 'privacy.delete'"
    )
    assert entry["actor_id"] < 0 and entry["detail"] is None


async def export_raw(nilai: RunningBot, path: Path) -> str:
    summary = await export_batch(nilai.database, nilai.settings, "pilot", "raw", path)
    return summary.path.read_text("utf-8")


async def test_a_removed_trainer_can_still_get_their_data_and_delete_it(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    sari = api.user(2006, "Sari", language_code="en")
    await nilai.onboard(sari)
    await nilai.database.execute("UPDATE trainers SET status = 'blocked' WHERE user_id = 2006")
    assert "no longer part" in (await ask(api, sari, "/next")).plain_text()
    assert (await ask(api, sari, "/mydata")).document is not None
    question = await ask(api, sari, "/deleteme")
    since = api.mark()
    await answered(api, await sari.tap(question, "🗑"))
    await api.wait_for_call("editMessageText", lambda c: c.chat_id == sari.chat_id, since=since)
    assert await nilai.count("SELECT COUNT(*) FROM trainers WHERE user_id = 2006") == 0
