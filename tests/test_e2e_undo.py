"""Undo after Submit, end to end: the button on the finished panel, reopening, resubmitting,
too-late taps, double taps, the slot an undone item keeps, and the first answer of gold items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.i18n import t_plain
from bot.services import Services
from handlers.callback_data import Action, encode
from handlers.context import SERVICES_KEY
from tests.conftest import FakeClock
from tests.e2e import RunningBot, answered, assignment_of, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

LANGUAGES = pytest.mark.parametrize("language", ["en", "id"])


def write_batch(tmp_path: Path, count: int, gold: dict | None = None) -> Path:
    path = tmp_path / "batch.jsonl"
    records = [{"prompt": f"Prompt {n}", "response": f"Answer {n}"} for n in range(1, count + 1)]
    if gold is not None:
        records[0]["gold"] = gold
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    return path


def services(nilai: RunningBot) -> Services:
    return nilai.app.bot_data[SERVICES_KEY]


async def trainer_in(
    api: FakeBotApi, nilai: RunningBot, language: str, uid: int = 2001
) -> FakeUser:
    user = api.user(uid, f"Trainer {uid}", language_code=language)
    await nilai.onboard(user)
    return user


async def score_all(api: FakeBotApi, user: FakeUser, panel: FakeMessage, score: int = 4) -> None:
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, score))
        await api.wait_idle(quiet=0.05)


async def submit(api: FakeBotApi, user: FakeUser, panel: FakeMessage) -> None:
    """Tap Submit and wait until the finished panel and whatever follows have arrived."""
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.1)


async def tap_undo(api: FakeBotApi, user: FakeUser, panel: FakeMessage) -> tuple[str, bool]:
    """Tap the panel's Undo button; (the answer's text, whether it was an alert)."""
    update = await tap_action(user, panel, Action.UNDO)
    query_id = update["callback_query"]["id"]
    call = await api.wait_for_call(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id
    )
    await api.wait_idle(quiet=0.1)
    return call.params.get("text", ""), bool(call.params.get("show_alert"))


def labels(message: FakeMessage) -> list[str]:
    return [button["text"] for row in message.buttons() for button in row]


@LANGUAGES
async def test_undo_reopens_the_panel_and_a_second_submit_counts_once(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    await nilai.import_file(write_batch(tmp_path, 3), overlap=1)
    user = await trainer_in(api, nilai, language)
    panel = await nilai.next_item(user)
    first = assignment_of(panel)
    await score_all(api, user, panel)
    since = api.mark()
    await submit(api, user, panel)
    following = assignment_of(await nilai.wait_panel(user, since))  # sent after the Submit

    assert labels(panel) == [t_plain(language, "button.undo", minutes=10)]
    text, alert = await tap_undo(api, user, panel)
    assert (text, alert) == (t_plain(language, "toast.undo_reopened"), False)
    # The same message is the live panel again: its rating buttons, what was given.
    assert assignment_of(panel) == first
    assert encode(Action.SUBMIT, first) in [b["callback_data"] for r in panel.buttons() for b in r]
    trainer = await services(nilai).onboarding.trainer(user.user_id)
    assert trainer is not None
    assert await services(nilai).review.done_today(trainer) == 0  # a draft again

    await answered(api, await tap_action(user, panel, Action.CRITERION, 0))
    await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SCORE, 0, 2))
    await api.wait_idle(quiet=0.05)
    since = api.mark()
    await submit(api, user, panel)
    shown_again = await nilai.wait_panel(user, since)

    assert assignment_of(shown_again) == following  # still theirs, shown again; nothing new
    assert labels(panel) == [t_plain(language, "button.undo", minutes=10)]
    assert await services(nilai).review.done_today(trainer) == 1
    assert await nilai.count("SELECT COUNT(*) FROM assignments") == 2
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 1
    assert await nilai.count("SELECT done_count FROM items WHERE id = 1") == 1
    assert await nilai.count("SELECT complete FROM items WHERE id = 1") == 1
    assert await nilai.count("SELECT COUNT(*) FROM judgments WHERE revised_at IS NOT NULL") == 1
    assert await nilai.count("SELECT COUNT(*) FROM judgment_revisions") == 1
    assert (
        await nilai.count(
            "SELECT score FROM scores WHERE assignment_id = ? AND criterion = 'accuracy'", first
        )
        == 2
    )


@LANGUAGES
async def test_a_tap_after_the_window_is_too_late_and_removes_the_button(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    await nilai.import_file(write_batch(tmp_path, 1), overlap=1)
    user = await trainer_in(api, nilai, language)
    panel = await nilai.next_item(user)
    await score_all(api, user, panel)
    await submit(api, user, panel)
    clock.advance(minutes=10, seconds=1)

    text, alert = await tap_undo(api, user, panel)

    assert (text, alert) == (t_plain(language, "toast.undo_too_late", count=10), True)
    assert panel.buttons() == []
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 1
    assert await nilai.count("SELECT done_count FROM items") == 1
    assert await nilai.count("SELECT COUNT(*) FROM judgment_revisions") == 0


@LANGUAGES
async def test_a_tap_after_the_rewrite_was_reviewed_is_too_late(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    await nilai.import_file(write_batch(tmp_path, 1), overlap=1)
    user = await trainer_in(api, nilai, language)
    panel = await nilai.next_item(user)
    await score_all(api, user, panel)
    await submit(api, user, panel)
    await nilai.database.execute("UPDATE judgments SET reviewed_at = '2026-11-25T03:01:00+00:00'")

    text, alert = await tap_undo(api, user, panel)

    assert (text, alert) == (t_plain(language, "toast.undo_reviewed"), True)
    assert panel.buttons() == []
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 1


async def test_a_double_tap_and_a_redelivered_tap_change_nothing_twice(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, 1), overlap=1)
    user = await trainer_in(api, nilai, "en")
    panel = await nilai.next_item(user)
    await score_all(api, user, panel)
    await submit(api, user, panel)
    data = encode(Action.UNDO, assignment_of(panel))

    first = await user.tap(panel, data=data)
    second = await user.tap(panel, data=data)  # the old keyboard, tapped again at once
    assert await answered(api, first) == t_plain("en", "toast.undo_reopened")
    assert await answered(api, second) == t_plain("en", "toast.undo_open")
    api.redeliver(first)  # Telegram sends the first tap again
    await api.wait_idle(quiet=0.1)

    assert await nilai.count("SELECT COUNT(*) FROM judgment_revisions") == 1
    assert await nilai.count("SELECT done_count FROM items") == 0
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'active'") == 1
    assert encode(Action.SUBMIT, assignment_of(panel)) in [
        b["callback_data"] for row in panel.buttons() for b in row
    ]


async def test_an_undone_item_keeps_its_slot_while_the_trainer_takes_their_time(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, 1), overlap=1)
    rina = await trainer_in(api, nilai, "en", 2001)
    budi = await trainer_in(api, nilai, "id", 2002)
    panel = await nilai.next_item(rina)
    await score_all(api, rina, panel)
    await submit(api, rina, panel)
    await tap_undo(api, rina, panel)
    clock.advance(hours=3)  # far past LEASE_MINUTES

    since = api.mark()
    await budi.send("/next")
    await budi.wait_bot_message(since=since)
    await api.wait_idle(quiet=0.1)
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE trainer_id = 2002") == 0

    reopened = await nilai.next_item(rina)  # /next shows her reopened item
    assert assignment_of(reopened) == assignment_of(panel)
    await submit(api, rina, reopened)
    assert await nilai.count("SELECT done_count FROM items") == 1
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE trainer_id = 2002") == 0


async def test_for_a_gold_item_the_first_answer_counts(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, 2, gold={"accuracy": [4, 5]}), overlap=1)
    # Gold is mixed into ordinary work (never served alone): at rate 1 the gold item comes first.
    await nilai.database.execute("UPDATE batches SET gold_rate = 1")
    user = await trainer_in(api, nilai, "id")
    panel = await nilai.next_item(user)
    gold = assignment_of(panel)
    await score_all(api, user, panel, score=5)
    await submit(api, user, panel)
    await tap_undo(api, user, panel)  # Undo works on gold items too: the trainer fixes a slip
    await answered(api, await tap_action(user, panel, Action.CRITERION, 0))
    await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SCORE, 0, 1))
    await api.wait_idle(quiet=0.05)
    await submit(api, user, panel)

    first = await services(nilai).corrections.first_answer(gold)
    assert first is not None
    assert first.scores == {"accuracy": 5, "helpfulness": 5, "language": 5, "safety": 5}
    assert (
        await nilai.count(
            "SELECT score FROM scores WHERE assignment_id = ? AND criterion = 'accuracy'", gold
        )
        == 1
    )


async def test_reaching_the_quota_again_after_undo_is_not_announced_twice(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, 3), overlap=1)
    user = await trainer_in(api, nilai, "en")
    await nilai.database.execute(
        "UPDATE trainers SET daily_quota = 1 WHERE user_id = ?", (user.user_id,)
    )

    def announced() -> int:
        return sum("reached today's quota" in m.text for m in user.bot_messages())

    panel = await nilai.next_item(user)
    await score_all(api, user, panel)
    await submit(api, user, panel)
    assert announced() == 1
    await tap_undo(api, user, panel)
    await submit(api, user, panel)  # the same review again: counted and announced once
    assert announced() == 1
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 1
