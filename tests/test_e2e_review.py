"""A trainer's review loop through Telegram, end to end, including everything that goes wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.callback_data import Action
from tests.conftest import SAMPLES
from tests.e2e import RunningBot, answered, assignment_of, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser, utf16_len

ONE_AND_TWO = ({"prompt": "One", "response": "1"}, {"prompt": "Two", "response": "2"})


def write_batch(tmp_path: Path, *records: dict) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    return path


@pytest.fixture
async def trainer(api: FakeBotApi, nilai: RunningBot) -> FakeUser:
    user = api.user(2001, "Rina", language_code="en")
    await nilai.onboard(user)
    return user


async def score_all(api: FakeBotApi, user: FakeUser, panel: FakeMessage, score: int = 4) -> None:
    for index in range(4):
        update = await tap_action(user, panel, Action.SCORE, index, score)
        await answered(api, update)
        await api.wait_idle(quiet=0.05)


async def test_a_full_review_is_stored_and_the_next_item_arrives(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    # The sample mixes Indonesian and English items; this English-speaking trainer reviews both.
    await nilai.database.execute(
        "UPDATE trainers SET review_languages = 'id en' WHERE user_id = ?", (trainer.user_id,)
    )
    panel = await nilai.next_item(trainer)
    text = panel.plain_text()
    assert "pilot" in text and "Today 0/5" in text and "Prompt" in text and "AI answer" in text
    assert "Teori Relativitas" in text

    update = await tap_action(trainer, panel, Action.SCORE, 0, 2)
    assert await answered(api, update) == "Accuracy: 2"
    await api.wait_idle(quiet=0.05)
    assert "Accuracy 2" in panel.plain_text()  # the score shows in the message itself
    assert "Now scoring: Natural & warm" in panel.plain_text()
    await tap_action(trainer, panel, Action.CRITERION, 0)  # back to change the first score
    await api.wait_idle(quiet=0.05)
    await tap_action(trainer, panel, Action.SCORE, 0, 3)
    await api.wait_idle(quiet=0.05)
    assert "Accuracy 3" in panel.plain_text()
    for index, score in ((1, 4), (2, 5), (3, 1)):
        await tap_action(trainer, panel, Action.SCORE, index, score)
        await api.wait_idle(quiet=0.05)
    flag = await tap_action(trainer, panel, Action.FLAG, 0, 1)
    assert "Factual error" in await answered(api, flag)
    await api.wait_idle(quiet=0.05)
    assert "☑ Factual error" in [b["text"] for row in panel.buttons() for b in row]

    since = api.mark()
    rewrite = await trainer.reply(panel, "Teori Relativitas menjelaskan bahwa waktu bisa melambat.")
    confirm = await trainer.wait_bot_message(since=since)
    assert "Rewrite saved" in confirm.plain_text()
    since = api.mark()
    await trainer.edit(rewrite, "Relativitas: ruang dan waktu itu relatif.")
    assert "Rewrite updated" in (await trainer.wait_bot_message(since=since)).plain_text()

    since = api.mark()
    await trainer.tap(panel, "Note")
    prompt = await trainer.wait_bot_message(since=since)
    assert prompt.reply_markup and prompt.reply_markup.get("force_reply")
    since = api.mark()
    await trainer.reply(prompt, "Terlalu rumit untuk anak 10 tahun.")
    assert "Note saved" in (await trainer.wait_bot_message(since=since)).plain_text()
    await api.wait_idle(quiet=0.05)

    since = api.mark()
    submit = await trainer.tap(panel, "Submit")
    assert "thank you" in await answered(api, submit)
    following = await nilai.wait_panel(trainer, since)
    assert "Gimana cara menghibur" in following.plain_text()
    await api.wait_idle(quiet=0.05)  # the old panel's edit travels beside the new item
    assert "Submitted" in panel.plain_text()
    assert [b["text"] for row in panel.buttons() for b in row] == ["↩️ Undo · 10 min"]

    row = await nilai.database.fetchone(
        "SELECT a.status, j.rewrite, j.note FROM assignments a JOIN judgments j"
        " ON j.assignment_id = a.id WHERE a.id = ?",
        (assignment_of_message(following) - 1,),
    )
    assert tuple(row) == (
        "submitted",
        "Relativitas: ruang dan waktu itu relatif.",
        "Terlalu rumit untuk anak 10 tahun.",
    )
    scores = await nilai.database.fetchall("SELECT criterion, score FROM scores ORDER BY criterion")
    assert dict(scores) == {"accuracy": 3, "helpfulness": 1, "language": 4, "safety": 5}
    assert await nilai.count("SELECT COUNT(*) FROM flags") == 1


def assignment_of_message(panel: FakeMessage) -> int:
    return assignment_of(panel)


async def test_submit_before_every_score_asks_for_the_missing_one(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, {"prompt": "Hi", "response": "Hello"}))
    panel = await nilai.next_item(trainer)
    await tap_action(trainer, panel, Action.SCORE, 0, 5)
    submit = await trainer.tap(panel, "Submit")
    assert "Natural & warm" in await answered(api, submit)
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 0


async def test_the_tap_is_answered_only_after_the_score_is_on_disk(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, {"prompt": "Hi", "response": "Hello"}))
    panel = await nilai.next_item(trainer)
    api.set_delay("answerCallbackQuery", 0.3)
    since = api.mark()  # after the tap on "I agree" when the trainer joined
    update = await tap_action(trainer, panel, Action.SCORE, 0, 5)
    await api.wait_for_call("answerCallbackQuery", since=since, timeout=5)  # it has arrived
    assert await nilai.count("SELECT COUNT(*) FROM scores") == 1
    record = api.callback(update["callback_query"]["id"])
    await answered(api, update)
    assert record.answered and not record.answered_twice


async def test_skip_with_a_reason_never_shows_the_item_again(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, *ONE_AND_TWO))
    panel = await nilai.next_item(trainer)
    await trainer.tap(panel, "Skip")
    await api.wait_idle(quiet=0.05)
    since = api.mark()
    await trainer.tap(panel, "Not my expertise")
    following = await nilai.wait_panel(trainer, since)
    assert "Two" in following.plain_text()
    await api.wait_idle(quiet=0.05)  # the old panel's edit travels beside the new item
    assert "Skipped" in panel.plain_text()
    row = await nilai.database.fetchone("SELECT status, skip_reason FROM assignments WHERE id = 1")
    assert tuple(row) == ("skipped", "expertise")
    since = api.mark()
    await trainer.tap(following, "Skip")
    await api.wait_idle(quiet=0.05)
    await trainer.tap(following, "No reason")
    done = await trainer.wait_bot_message(
        since=since, predicate=lambda m: "All done" in m.plain_text()
    )
    assert "All done for now" in done.plain_text()


async def test_nothing_is_ready_before_the_first_batch(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser
) -> None:
    since = api.mark()
    await trainer.send("/next")
    text = (await trainer.wait_bot_message(since=since)).plain_text()
    assert "Nothing to review yet" in text and "All done" not in text


async def test_double_tap_and_redelivered_update_change_nothing(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, *ONE_AND_TWO))
    panel = await nilai.next_item(trainer)
    await score_all(api, trainer, panel)
    flag = await tap_action(trainer, panel, Action.FLAG, 1, 1)
    # A double tap on the old keyboard: still "on".
    again = await trainer.tap(panel, data=flag["callback_query"]["data"])
    await answered(api, flag)
    await answered(api, again)
    assert await nilai.count("SELECT COUNT(*) FROM flags") == 1

    since = api.mark()
    first = await trainer.tap(panel, "Submit")
    second = await trainer.tap(panel, data=first["callback_query"]["data"])  # double tap
    await nilai.wait_panel(trainer, since)
    assert "already submitted" in await answered(api, second)
    api.redeliver(first)  # Telegram sends the same update again
    await api.wait_idle(quiet=0.1)
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 1
    assert await nilai.count("SELECT done_count FROM items WHERE external_id = 'line-1'") == 1
    panels = [m for m in trainer.bot_messages() if "Two" in m.plain_text()]
    assert len(panels) == 1  # the next item was sent once


async def test_forged_and_foreign_callback_data_are_refused(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, {"prompt": "One", "response": "1"}), overlap=2)
    other = api.user(2002, "Other", language_code="en")
    await nilai.onboard(other)
    mine = await nilai.next_item(trainer)
    theirs = await nilai.next_item(other)
    their_id = assignment_of(theirs)
    for data in ("garbage", "2s:1:0:4", f"1s:{their_id}:0:9", "1s:999999:0:4", "1s:1", "1z:1"):
        update = await trainer.tap(mine, data=data)
        await answered(api, update)
    foreign = await trainer.tap(mine, data=f"1u:{their_id}")
    assert "isn't for you" in await answered(api, foreign)
    foreign_score = await trainer.tap(mine, data=f"1s:{their_id}:0:1")
    assert "isn't for you" in await answered(api, foreign_score)
    assert await nilai.count("SELECT COUNT(*) FROM scores") == 0
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status != 'active'") == 0


async def test_a_ten_thousand_character_item_is_split_with_buttons_last(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    words = " ".join(f"kata{n}" for n in range(2000))[:10_000]
    await nilai.import_file(write_batch(tmp_path, {"prompt": "Tulis panjang", "response": words}))
    since = api.mark()
    panel = await nilai.next_item(trainer)
    parts = [c for c in api.calls_to("sendMessage") if c.index >= since and c.ok]
    assert len(parts) >= 3
    assert all(
        utf16_len(api.message(trainer.chat_id, c.result["message_id"]).plain_text()) <= 4096
        for c in parts
    )
    assert [bool(c.params.get("reply_markup")) for c in parts] == [False] * (len(parts) - 1) + [
        True
    ]
    shown = "".join(
        api.message(trainer.chat_id, c.result["message_id"]).plain_text() for c in parts
    )
    assert "kata0" in shown and "kata1999"[: len(words.split()[-1])] in shown
    await score_all(api, trainer, panel)  # re-rendering the last part keeps within limits
    first_part = api.message(trainer.chat_id, parts[0].result["message_id"])
    since = api.mark()
    await trainer.reply(first_part, "Lebih pendek.")  # a reply to any part is the rewrite
    assert "Rewrite saved" in (await trainer.wait_bot_message(since=since)).plain_text()


async def test_html_characters_and_emoji_arrive_intact(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    nasty = "<b>not bold</b> & <script>alert(1)</script> 😀👍🏽 a<b && c>d " * 80
    await nilai.import_file(write_batch(tmp_path, {"prompt": "<i>?</i> & 🙂", "response": nasty}))
    panel = await nilai.next_item(trainer)
    shown = "".join(m.plain_text() for m in trainer.bot_messages())
    assert (
        "<b>not bold</b> & <script>alert(1)</script> 😀👍🏽" in shown and "<i>?</i> & 🙂" in shown
    )
    await score_all(api, trainer, panel)
    assert "Accuracy 4" in panel.plain_text()


async def test_stickers_and_photos_get_a_hint_and_change_nothing(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, {"prompt": "One", "response": "1"}))
    panel = await nilai.next_item(trainer)
    since = api.mark()
    await trainer.send_sticker(reply_to=panel)
    assert "send text" in (await trainer.wait_bot_message(since=since)).plain_text()
    since = api.mark()
    await trainer.send_photo(reply_to=panel, caption="my answer")
    assert "send text" in (await trainer.wait_bot_message(since=since)).plain_text()
    since = api.mark()
    await trainer.send("just some text, not a reply")
    assert "reply to the item" in (await trainer.wait_bot_message(since=since)).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM judgments") == 0


async def test_a_restart_in_the_middle_of_an_item_continues_where_the_trainer_was(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, *ONE_AND_TWO))
    panel = await nilai.next_item(trainer)
    await tap_action(trainer, panel, Action.SCORE, 0, 2)
    await api.wait_idle(quiet=0.05)
    await tap_action(trainer, panel, Action.SCORE, 1, 3)
    await api.wait_idle(quiet=0.05)
    await nilai.restart()
    # the old buttons still work after the restart
    for index in (2, 3):
        update = await tap_action(trainer, panel, Action.SCORE, index, 4)
        await answered(api, update)
        await api.wait_idle(quiet=0.05)
    assert "Accuracy 2" in panel.plain_text() and "Helpfulness 4" in panel.plain_text()
    since = api.mark()
    await trainer.tap(panel, "Submit")
    following = await nilai.wait_panel(trainer, since)
    assert "Two" in following.plain_text()
    await nilai.restart()
    resumed = await nilai.next_item(trainer)  # /next after a restart shows the open item again
    assert assignment_of(resumed) == assignment_of(following)


async def test_stats_show_today_against_the_quota(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, *ONE_AND_TWO))
    panel = await nilai.next_item(trainer)
    await score_all(api, trainer, panel)
    since = api.mark()
    await trainer.tap(panel, "Submit")
    await nilai.wait_panel(trainer, since)
    since = api.mark()
    await trainer.send("/stats")
    stats = (await trainer.wait_bot_message(since=since)).plain_text()
    assert "Today: 1 / 5" in stats and "Total: 1" in stats


async def test_a_trainer_who_blocks_the_bot_is_marked_unreachable(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser
) -> None:
    await trainer.block_bot()
    await api.wait_idle(quiet=0.1)
    assert (
        await nilai.count("SELECT reachable FROM trainers WHERE user_id = ?", trainer.user_id) == 0
    )
    await trainer.unblock_bot()
    await api.wait_idle(quiet=0.1)
    assert (
        await nilai.count("SELECT reachable FROM trainers WHERE user_id = ?", trainer.user_id) == 1
    )


async def test_a_double_tap_on_next_shows_the_item_once(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, {"prompt": "One", "response": "1"}))
    welcome = next(m for m in trainer.bot_messages() if m.buttons())
    first = await trainer.tap(welcome, "Next")
    second = await trainer.tap(welcome, data=first["callback_query"]["data"])
    assert "just above" in await answered(api, second)
    await api.wait_idle(quiet=0.1)
    panels = [m for m in trainer.bot_messages() if "One" in m.plain_text()]
    assert len(panels) == 1
    since = api.mark()
    await trainer.send("/next")  # asked for explicitly: shown again
    again = await nilai.wait_panel(trainer, since)
    assert assignment_of(again) == assignment_of(panels[0])


async def test_an_update_redelivered_after_a_restart_changes_nothing(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, {"prompt": "One", "response": "1"}))
    panel = await nilai.next_item(trainer)
    flag_on = await tap_action(trainer, panel, Action.FLAG, 2, 1)
    await answered(api, flag_on)
    await api.wait_idle(quiet=0.05)
    flag_off = await tap_action(trainer, panel, Action.FLAG, 2, 0)  # changed their mind
    await answered(api, flag_off)
    await api.wait_idle(quiet=0.05)
    # the flag write and "update handled" were one transaction
    assert (
        await nilai.count(
            "SELECT COUNT(*) FROM processed_updates WHERE update_id IN (?, ?)",
            flag_on["update_id"],
            flag_off["update_id"],
        )
        == 2
    )
    await nilai.restart()
    api.redeliver(flag_on)  # Telegram resends the old "flag on" after the crash
    await api.wait_idle(quiet=0.1)
    assert await nilai.count("SELECT COUNT(*) FROM flags") == 0
