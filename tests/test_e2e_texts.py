"""Rewrites and notes as text, end to end: corrections after Submit, texts in several parts,
and the copy of the AI's answer behind Rewrite, in English and Indonesian."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.exports import export_batch
from handlers.callback_data import Action
from tests.conftest import FakeClock
from tests.e2e import RunningBot, answered, assignment_of, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser, utf16_len

WORDS = {
    "en": {
        "saved": "Rewrite saved",
        "updated": "Rewrite updated",
        "corrected": "already submitted this item",
        "closed": "This item is closed",
        "minutes": "10 minutes after Submit",
        "reviewed": "already been reviewed",
        "replaced": "replaces your earlier rewrite",
        "parts": "10,000 characters in 3 parts",
        "adopted": "You had just tapped Rewrite",
        "hint": "Your rewrite is saved",
        "generic": "reply to the item",
        "copy": "Tap the AI's answer above to copy it",
        "note_adopted": "You had just tapped Note",
        "too_long": "kept the first 12,288",
    },
    "id": {
        "saved": "Jawaban perbaikan tersimpan",
        "updated": "Jawaban perbaikan diperbarui",
        "corrected": "sudah kamu kirim",
        "closed": "Item ini sudah ditutup",
        "minutes": "10 menit setelah dikirim",
        "reviewed": "sudah diperiksa",
        "replaced": "menggantikan jawaban perbaikanmu",
        "parts": "10.000 karakter dalam 3 bagian",
        "adopted": "Kamu baru saja mengetuk Perbaiki jawaban",
        "hint": "Jawaban perbaikanmu sudah tersimpan",
        "generic": "Balas pesan itemnya",
        "copy": "Ketuk jawaban AI di atas",
        "note_adopted": "Kamu baru saja mengetuk Catatan",
        "too_long": "12.288 karakter pertama",
    },
}
LANGUAGES = pytest.mark.parametrize("language", ["en", "id"])


def write_batch(tmp_path: Path, *records: dict) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    return path


async def trainer_in(api: FakeBotApi, nilai: RunningBot, language: str) -> FakeUser:
    user = api.user(2001 if language == "en" else 2002, "Rina", language_code=language)
    await nilai.onboard(user)
    return user


async def item_for(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str, response: str = "1"
) -> tuple[FakeUser, FakeMessage]:
    await nilai.import_file(write_batch(tmp_path, {"prompt": "One", "response": response}))
    user = await trainer_in(api, nilai, language)
    return user, await nilai.next_item(user)


async def reply(
    api: FakeBotApi, user: FakeUser, to: FakeMessage, text: str
) -> tuple[FakeMessage, str]:
    """The trainer's reply, and the bot's answer to it."""
    since = api.mark()
    sent = await user.reply(to, text)
    return sent, (await user.wait_bot_message(since=since)).plain_text()


async def edit(api: FakeBotApi, user: FakeUser, msg: FakeMessage, text: str) -> str:
    since = api.mark()
    await user.edit(msg, text)
    return (await user.wait_bot_message(since=since)).plain_text()


async def submit(api: FakeBotApi, user: FakeUser, panel: FakeMessage) -> None:
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.05)


async def judgment(nilai: RunningBot, assignment: int) -> tuple:
    row = await nilai.database.fetchone(
        "SELECT rewrite, note, revised_at FROM judgments WHERE assignment_id = ?", (assignment,)
    )
    return tuple(row)


async def revisions(nilai: RunningBot, assignment: int) -> list[tuple]:
    rows = await nilai.database.fetchall(
        "SELECT field, replaced FROM judgment_revisions WHERE assignment_id = ? ORDER BY id",
        (assignment,),
    )
    return [tuple(row) for row in rows]


async def raw_lines(nilai: RunningBot, tmp_path: Path) -> list[dict]:
    path = tmp_path / "raw.jsonl"
    await export_batch(nilai.database, nilai.settings, "pilot", "raw", path)
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


# -- 1. corrections after Submit: one rule for edits and fresh replies ---------------------------


@LANGUAGES
async def test_an_edit_after_submit_within_the_window_is_kept_as_a_revision(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    words = WORDS[language]
    user, panel = await item_for(api, nilai, tmp_path, language)
    assignment = assignment_of(panel)
    rewrite, answer = await reply(api, user, panel, "First try.")
    assert words["saved"] in answer
    await submit(api, user, panel)
    clock.advance(minutes=9)
    answer = await edit(api, user, rewrite, "Second, better try.")
    rewrite_now, _, revised_at = await judgment(nilai, assignment)
    assert rewrite_now == "Second, better try." and revised_at is not None
    assert await revisions(nilai, assignment) == [("rewrite", "First try.")]  # nothing lost
    (line,) = await raw_lines(nilai, tmp_path)
    assert line["rewrite"] == "Second, better try."
    assert line["revised"] is True and line["revised_at"] == revised_at
    assert words["updated"] in answer and words["corrected"] in answer


@LANGUAGES
async def test_a_fresh_reply_after_submit_within_the_window_corrects_the_same_way(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    words = WORDS[language]
    user, panel = await item_for(api, nilai, tmp_path, language)
    assignment = assignment_of(panel)
    await reply(api, user, panel, "First try.")
    await submit(api, user, panel)
    clock.advance(minutes=2)
    _, answer = await reply(api, user, panel, "A fresh reply.")
    assert words["saved"] in answer and words["corrected"] in answer
    assert (await judgment(nilai, assignment))[0] == "A fresh reply."
    assert await revisions(nilai, assignment) == [("rewrite", "First try.")]
    clock.advance(minutes=1)
    _, answer = await reply(api, user, panel, "Another fresh reply.")
    assert await revisions(nilai, assignment) == [
        ("rewrite", "First try."),
        ("rewrite", "A fresh reply."),
    ]


@LANGUAGES
async def test_after_the_window_an_edit_and_a_reply_both_say_the_item_is_closed(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    words = WORDS[language]
    user, panel = await item_for(api, nilai, tmp_path, language)
    assignment = assignment_of(panel)
    rewrite, _ = await reply(api, user, panel, "Final answer.")
    await submit(api, user, panel)
    clock.advance(minutes=10)
    answer = await edit(api, user, rewrite, "Too late to change.")
    assert words["closed"] in answer and words["minutes"] in answer
    _, answer = await reply(api, user, panel, "Also too late.")
    assert words["closed"] in answer and words["minutes"] in answer
    clock.advance(seconds=5)
    since = api.mark()
    await user.send_long("z" * 9_000, reply_to=panel, every_part_replies=False)
    await api.wait_idle(quiet=0.1)
    answers = [
        c for c in api.calls_to("sendMessage") if c.index >= since and c.chat_id == user.chat_id
    ]
    assert len(answers) == 1  # one answer for the whole split text
    assert (
        words["closed"] in api.message(user.chat_id, answers[0].result["message_id"]).plain_text()
    )
    assert await judgment(nilai, assignment) == ("Final answer.", None, None)
    assert await revisions(nilai, assignment) == []
    (line,) = await raw_lines(nilai, tmp_path)
    assert line["rewrite"] == "Final answer." and line["revised"] is False
    assert line["revised_at"] is None


@LANGUAGES
async def test_once_its_rewrite_was_reviewed_the_item_is_closed_at_once(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    words = WORDS[language]
    user, panel = await item_for(api, nilai, tmp_path, language)
    assignment = assignment_of(panel)
    rewrite, _ = await reply(api, user, panel, "Reviewed answer.")
    await submit(api, user, panel)
    await nilai.database.execute(
        "UPDATE judgments SET reviewed_at = '2026-11-25T03:01:00+00:00' WHERE assignment_id = ?",
        (assignment,),
    )
    assert words["reviewed"] in await edit(api, user, rewrite, "Changed after review.")
    assert words["reviewed"] in (await reply(api, user, panel, "A reply after review."))[1]
    assert (await judgment(nilai, assignment))[0] == "Reviewed answer."
    assert await revisions(nilai, assignment) == []


async def test_before_submit_an_edit_updates_the_draft_and_keeps_no_revision(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    user, panel = await item_for(api, nilai, tmp_path, "en")
    assignment = assignment_of(panel)
    rewrite, _ = await reply(api, user, panel, "Draft.")
    clock.advance(seconds=5)
    answer = await edit(api, user, rewrite, "Better draft.")
    assert answer == "✅ Rewrite updated (13 characters)."
    assert await judgment(nilai, assignment) == ("Better draft.", None, None)
    assert await revisions(nilai, assignment) == []
    since = api.mark()
    await user.edit(rewrite, "Better draft.")  # Telegram reports edits that change nothing
    await api.wait_idle(quiet=0.1)
    assert [c for c in api.calls_to("sendMessage") if c.index >= since] == []


# -- 2. a long rewrite in several messages ---------------------------------------------------------


@LANGUAGES
@pytest.mark.parametrize("every_part_replies", [True, False])
async def test_a_long_rewrite_split_by_the_app_is_stored_whole_with_one_confirmation(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    every_part_replies: bool,
) -> None:
    user, panel = await item_for(api, nilai, tmp_path, language)
    assignment = assignment_of(panel)
    text = ("Kalimat yang panjang sekali, dengan 😀 di dalamnya. " * 400)[:10_000]
    since = api.mark()
    parts = await user.send_long(text, reply_to=panel, every_part_replies=every_part_replies)
    assert len(parts) == 3 and all(utf16_len(part.text or "") <= 4096 for part in parts)
    await api.wait_idle(quiet=0.1)
    assert (await judgment(nilai, assignment))[0] == text  # intact, in message order
    sent = [
        c for c in api.calls_to("sendMessage") if c.index >= since and c.chat_id == user.chat_id
    ]
    assert len(sent) == 1  # one confirmation, edited as the parts arrived
    confirmation = api.message(user.chat_id, sent[0].result["message_id"])
    assert WORDS[language]["saved"] in confirmation.plain_text()
    assert WORDS[language]["parts"] in confirmation.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM text_parts") == 3


async def test_sixteen_thousand_characters_are_kept_and_more_are_refused_politely(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    user, panel = await item_for(api, nilai, tmp_path, "en")
    assignment = assignment_of(panel)
    longest = "x" * 16_000
    await user.send_long(longest, reply_to=panel)
    await api.wait_idle(quiet=0.1)
    assert (await judgment(nilai, assignment))[0] == longest
    clock.advance(seconds=10)
    since = api.mark()
    await user.send_long("y" * 17_000, reply_to=panel)  # five parts: the fourth passes 16,000
    await api.wait_idle(quiet=0.1)
    answers = [
        api.message(user.chat_id, c.result["message_id"]).plain_text()
        for c in api.calls_to("sendMessage")
        if c.index >= since and c.chat_id == user.chat_id
    ]
    assert len(answers) == 2 and "replaces your earlier rewrite" in answers[0]
    assert WORDS["en"]["too_long"] in answers[1]  # once, not once per refused part
    assert (await judgment(nilai, assignment))[0] == "y" * 12_288  # never part 5 after part 3


@LANGUAGES
async def test_a_reply_after_the_pause_replaces_the_earlier_rewrite_and_says_so(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    user, panel = await item_for(api, nilai, tmp_path, language)
    assignment = assignment_of(panel)
    await reply(api, user, panel, "One.")
    clock.advance(seconds=3.5)
    _, answer = await reply(api, user, panel, "Two.")
    assert WORDS[language]["replaced"] in answer
    assert (await judgment(nilai, assignment))[0] == "Two."


async def test_a_quick_second_message_joins_on_a_new_line_and_an_edit_rejoins(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    user, panel = await item_for(api, nilai, tmp_path, "en")
    assignment = assignment_of(panel)
    first, answer = await reply(api, user, panel, "First paragraph.")
    confirmation = user.last_bot_message()
    clock.advance(seconds=2.5)
    second = await user.send("Second paragraph.")  # not a reply: within 3 s, the next part
    await api.wait_idle(quiet=0.1)
    assert (await judgment(nilai, assignment))[0] == "First paragraph.\nSecond paragraph."
    assert "34 characters in 2 parts" in confirmation.plain_text()
    assert "edit any of its parts" in confirmation.plain_text()
    clock.advance(minutes=1)
    answer = await edit(api, user, first, "First, edited.")
    assert answer == "✅ Rewrite updated (32 characters in 2 parts)."
    assert (await judgment(nilai, assignment))[0] == "First, edited.\nSecond paragraph."
    assert second.text == "Second paragraph."


async def test_a_reply_to_the_note_prompt_right_after_a_rewrite_part_is_the_note(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    user, panel = await item_for(api, nilai, tmp_path, "en")
    assignment = assignment_of(panel)
    await reply(api, user, panel, "My rewrite.")
    since = api.mark()
    await user.tap(panel, "Note")
    prompt = await user.wait_bot_message(since=since)
    _, answer = await reply(api, user, prompt, "My note.")  # within 3 s, but about the note
    assert "Note saved" in answer
    assert (await judgment(nilai, assignment))[:2] == ("My rewrite.", "My note.")


# -- 3. Rewrite on a phone: the answer to copy, and plain text right after ------------------------


@LANGUAGES
async def test_rewrite_sends_the_answer_to_copy_then_the_prompt(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    answer = ("Jawaban <AI> & panjang. " * 500)[:9_000]
    user, panel = await item_for(api, nilai, tmp_path, language, response=answer)
    since = api.mark()
    await answered(api, await tap_action(user, panel, Action.REWRITE))
    sent = [c for c in api.calls_to("sendMessage") if c.index >= since and c.ok]
    blocks, prompt = sent[:-1], sent[-1]
    assert len(blocks) == 3
    for call in blocks:
        message = api.message(user.chat_id, call.result["message_id"])
        assert [e["type"] for e in message.entities] == ["pre"]  # Telegram copies it on tap
        assert utf16_len(message.plain_text()) <= 4096
    shown = "".join(api.message(user.chat_id, c.result["message_id"]).plain_text() for c in blocks)
    assert shown.replace("\n", "").replace(" ", "") == answer.replace(" ", "")
    prompt_message = api.message(user.chat_id, prompt.result["message_id"])
    assert WORDS[language]["copy"] in prompt_message.plain_text()
    assert prompt_message.reply_markup and prompt_message.reply_markup.get("force_reply")
    block = api.message(user.chat_id, blocks[0].result["message_id"])
    _, confirmed = await reply(api, user, block, "Edited copy.")  # a reply to a block counts
    assert WORDS[language]["saved"] in confirmed
    assert (await judgment(nilai, assignment_of(panel)))[0] == "Edited copy."


@LANGUAGES
async def test_plain_text_right_after_rewrite_or_note_is_taken_as_that_text(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    words = WORDS[language]
    user, panel = await item_for(api, nilai, tmp_path, language)
    assignment = assignment_of(panel)
    await answered(api, await tap_action(user, panel, Action.REWRITE))
    since = api.mark()
    await user.send("Typed without replying.")
    answer = (await user.wait_bot_message(since=since)).plain_text()
    assert words["saved"] in answer and words["adopted"] in answer
    clock.advance(seconds=5)
    since = api.mark()
    await user.send("Something else, later.")  # the rewrite is given: a hint about it
    hint = (await user.wait_bot_message(since=since)).plain_text()
    assert words["hint"] in hint
    await answered(api, await tap_action(user, panel, Action.NOTE))
    since = api.mark()
    await user.send("A note typed without replying.")
    assert words["note_adopted"] in (await user.wait_bot_message(since=since)).plain_text()
    assert await judgment(nilai, assignment) == (
        "Typed without replying.",
        "A note typed without replying.",
        None,
    )


@LANGUAGES
async def test_plain_text_with_no_prompt_before_it_gets_the_general_hint(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    user, _ = await item_for(api, nilai, tmp_path, language)
    since = api.mark()
    await user.send("Hello?")
    assert WORDS[language]["generic"] in (await user.wait_bot_message(since=since)).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM judgments") == 0


@LANGUAGES
async def test_a_rewrite_of_only_spaces_is_refused_and_nothing_is_stored(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    """Telegram keeps no-break spaces: a message of nothing else is no rewrite, so it is never
    offered for review nor counted (and an edit to only spaces keeps the text it had)."""
    user, item = await item_for(api, nilai, tmp_path, language)
    _, answer = await reply(api, user, item, "\u00a0 \u00a0")
    assert ("only spaces" if language == "en" else "cuma berisi spasi") in answer
    assert await nilai.count("SELECT COUNT(*) FROM judgments WHERE rewrite IS NOT NULL") == 0
    assert await nilai.count("SELECT COUNT(*) FROM text_parts") == 0
    sent, answer = await reply(api, user, item, "A better answer")
    assert WORDS[language]["saved"] in answer
    since = api.mark()
    await user.edit(sent, "\u00a0")
    edited = (await user.wait_bot_message(since=since)).plain_text()
    assert ("only spaces" if language == "en" else "cuma berisi spasi") in edited
    assert await nilai.count("SELECT COUNT(*) FROM text_parts WHERE text = 'A better answer'") == 1
