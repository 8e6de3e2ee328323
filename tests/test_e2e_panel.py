"""The item panel end to end: one live panel per open item, where the trainer stands, the skip
reasons, "nothing ready yet", and the summary at the end of a sitting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.i18n import t_plain
from handlers.callback_data import Action, encode
from handlers.render import SKIP_REASONS
from tests.conftest import FakeClock
from tests.e2e import RunningBot, answered, assignment_of, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser
from tests.fakebot.users import command_entities

ITEMS = ({"prompt": "One", "response": "1"}, {"prompt": "Two", "response": "2"})
MOVED = {"en": "This item moved below", "id": "Item ini pindah ke bawah"}


def write_batch(tmp_path: Path, *records: dict) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    return path


async def joined(api: FakeBotApi, nilai: RunningBot, language: str) -> FakeUser:
    user = api.user(2001 if language == "en" else 2002, "Rina", language_code=language)
    await nilai.onboard(user)
    return user


def send_together(user: FakeUser, *texts: str) -> None:
    """Queue several messages before the bot can poll: one getUpdates delivers them all."""
    for text in texts:
        message = user._new_message(text=text, api_text=text, entities=command_entities(text))
        user.server.enqueue({"message": message.to_api()})


def copies_of(user: FakeUser, prompt: str) -> list[FakeMessage]:
    """Every message the bot sent that shows the item with `prompt` (oldest first)."""
    return [m for m in user.bot_messages() if f"\n{prompt}\n" in m.plain_text()]


def labels(message: FakeMessage) -> list[str]:
    return [button["text"] for row in message.buttons() for button in row]


async def score_all(api: FakeBotApi, user: FakeUser, panel: FakeMessage) -> None:
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)


async def submit(api: FakeBotApi, nilai: RunningBot, user: FakeUser, panel: FakeMessage) -> None:
    await score_all(api, user, panel)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.1)


# -- one live panel per open item ----------------------------------------------------------------


async def test_two_next_at_once_leave_exactly_one_live_panel(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    """The defect: both copies kept their keyboards, and taps on each showed other scores."""
    trainer = await joined(api, nilai, "en")
    await nilai.import_file(write_batch(tmp_path, *ITEMS))
    send_together(trainer, "/next", "/next")
    await api.wait_idle(quiet=0.2)
    old, live = copies_of(trainer, "One")  # the same open item, shown twice
    assert old.buttons() == [] and MOVED["en"] in old.plain_text()
    assert any("Submit" in label for label in labels(live))
    assert await nilai.count("SELECT COUNT(*) FROM assignments") == 1

    aid = assignment_of(live)
    stale = await trainer.tap(old, data=encode(Action.SCORE, aid, 0, 2))  # a slow phone's tap
    assert "moved below" in await answered(api, stale)
    assert await nilai.count("SELECT COUNT(*) FROM scores") == 0
    update = await tap_action(trainer, live, Action.SCORE, 0, 5)
    assert await answered(api, update) == "Accuracy: 5"
    await api.wait_idle(quiet=0.05)
    assert "Accuracy 5" in live.plain_text() and old.buttons() == []


@pytest.mark.parametrize("language", ["en", "id"])
async def test_next_twice_in_a_row_moves_the_item_below(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    trainer = await joined(api, nilai, language)
    await nilai.import_file(write_batch(tmp_path, *ITEMS))
    first = await nilai.next_item(trainer)
    aid = assignment_of(first)
    await tap_action(trainer, first, Action.SCORE, 0, 3)
    await api.wait_idle(quiet=0.05)
    second = await nilai.next_item(trainer)
    await api.wait_idle(quiet=0.1)
    assert assignment_of(second) == aid
    assert first.buttons() == [] and MOVED[language] in first.plain_text()
    assert second.buttons() and "3" in second.plain_text()  # the live copy has the score
    third = await nilai.next_item(trainer)
    await api.wait_idle(quiet=0.1)
    assert second.buttons() == [] and MOVED[language] in second.plain_text()
    assert [bool(m.buttons()) for m in copies_of(trainer, "One")] == [False, False, True]
    assert third.buttons()


async def test_an_old_copy_is_refused_after_a_restart_too(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    trainer = await joined(api, nilai, "en")
    await nilai.import_file(write_batch(tmp_path, *ITEMS))
    old = await nilai.next_item(trainer)
    data = encode(Action.FLAG, assignment_of(old), 0, 1)
    live = await nilai.next_item(trainer)
    await api.wait_idle(quiet=0.1)
    await nilai.restart()  # the live panels are known again from the database
    stale = await trainer.tap(old, data=data)
    assert "moved below" in await answered(api, stale)
    assert await nilai.count("SELECT COUNT(*) FROM flags") == 0
    flag = await tap_action(trainer, live, Action.FLAG, 0, 1)
    assert "Factual error" in await answered(api, flag)
    assert await nilai.count("SELECT COUNT(*) FROM flags") == 1


# -- what the panel says -------------------------------------------------------------------------


async def test_the_panel_shows_today_against_the_quota_and_the_batch_progress(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    trainer = await joined(api, nilai, "en")
    await nilai.import_file(write_batch(tmp_path, *ITEMS), overlap=1)
    panel = await nilai.next_item(trainer)
    assert "Today 0/5 · batch 0/2 done" in panel.plain_text()
    await tap_action(trainer, panel, Action.SCORE, 0, 4)
    await api.wait_idle(quiet=0.05)
    assert "Today 0/5 · batch 0/2 done" in panel.plain_text()  # kept on every re-render
    clock.advance(seconds=31)  # the batch's figures are cached for 30 seconds
    since = api.mark()
    for index in (1, 2, 3):
        await tap_action(trainer, panel, Action.SCORE, index, 4)
        await api.wait_idle(quiet=0.05)
    await trainer.tap(panel, "Submit")
    following = await nilai.wait_panel(trainer, since)
    assert "Today 1/5" in following.plain_text()
    clock.advance(seconds=31)
    since = api.mark()
    await trainer.send("/next")
    assert "Today 1/5 · batch 1/2 done" in (await nilai.wait_panel(trainer, since)).plain_text()


@pytest.mark.parametrize(
    ("language", "question"),
    [("en", "Why are you skipping this item?"), ("id", "Kenapa item ini mau dilewati?")],
)
async def test_the_skip_menu_lists_its_reasons_in_the_message(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str, question: str
) -> None:
    trainer = await joined(api, nilai, language)
    await nilai.import_file(write_batch(tmp_path, *ITEMS))
    panel = await nilai.next_item(trainer)
    menu = await tap_action(trainer, panel, Action.SKIP_MENU)
    await answered(api, menu)
    await api.wait_idle(quiet=0.05)
    text = panel.plain_text()
    assert question in text and "\nOne\n" in text  # the item stays, the status is the menu
    reasons = [t_plain(language, f"skip_reason.{reason}") for reason in SKIP_REASONS]
    assert all(f"• {reason}" in text for reason in reasons), text
    assert set(reasons) <= set(labels(panel))  # and they are the buttons
    await tap_action(trainer, panel, Action.BACK)
    await api.wait_idle(quiet=0.05)
    assert question not in panel.plain_text()


async def test_nothing_ready_yet_before_the_first_batch_then_all_done(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    trainer = await joined(api, nilai, "id")
    since = api.mark()
    await trainer.send("/next")
    text = (await trainer.wait_bot_message(since=since)).plain_text()
    assert "Belum ada yang bisa dinilai" in text
    await nilai.import_file(write_batch(tmp_path, ITEMS[0]), overlap=1)
    panel = await nilai.next_item(trainer)
    await tap_action(trainer, panel, Action.SKIP_MENU)
    await api.wait_idle(quiet=0.05)
    since = api.mark()
    await tap_action(trainer, panel, Action.SKIP, 3)
    done = await trainer.wait_bot_message(since=since, predicate=lambda m: "📋" in m.plain_text())
    assert "Belum ada yang bisa dinilai" not in done.plain_text() and "🎉" in done.plain_text()


# -- the end of a sitting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "summary"),
    [
        ("en", "This sitting: 1 item reviewed · 1 skipped · 3 minutes"),
        ("id", "Sesi ini: 1 item dinilai · 1 dilewati · 3 menit"),
    ],
)
async def test_all_done_ends_the_sitting_with_its_summary(
    api: FakeBotApi,
    nilai: RunningBot,
    clock: FakeClock,
    tmp_path: Path,
    language: str,
    summary: str,
) -> None:
    trainer = await joined(api, nilai, language)
    await nilai.import_file(write_batch(tmp_path, *ITEMS), overlap=1)
    panel = await nilai.next_item(trainer)
    clock.advance(minutes=2)
    since = api.mark()
    await submit(api, nilai, trainer, panel)
    following = await nilai.wait_panel(trainer, since)
    clock.advance(minutes=1, seconds=30)
    await tap_action(trainer, following, Action.SKIP_MENU)
    await api.wait_idle(quiet=0.05)
    since = api.mark()
    await tap_action(trainer, following, Action.SKIP, 0)
    done = await trainer.wait_bot_message(since=since, predicate=lambda m: "📋" in m.plain_text())
    assert summary in done.plain_text()
    assert "🎉" in done.plain_text()  # said with "all done", in one message


async def test_reaching_the_quota_ends_the_sitting_and_a_long_pause_starts_a_new_one(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    trainer = await joined(api, nilai, "en")
    await nilai.database.execute(
        "UPDATE trainers SET daily_quota = 2 WHERE user_id = ?", (trainer.user_id,)
    )
    records = [{"prompt": f"Item {n}", "response": str(n)} for n in range(4)]
    await nilai.import_file(write_batch(tmp_path, *records), overlap=1)
    panel = await nilai.next_item(trainer)
    await submit(api, nilai, trainer, panel)  # a sitting of one item, then a long pause
    clock.advance(minutes=45)
    since = api.mark()
    await trainer.send("/next")
    panel = await nilai.wait_panel(trainer, since)
    clock.advance(minutes=5)
    since = api.mark()
    await submit(api, nilai, trainer, panel)
    quota = await trainer.wait_bot_message(since=since, predicate=lambda m: "🎯" in m.plain_text())
    assert "This sitting: 1 item reviewed · 0 skipped · 5 minutes" in quota.plain_text()
