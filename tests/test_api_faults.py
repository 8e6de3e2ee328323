"""The Bot API fails while a trainer reviews: 5xx, timeouts, connection resets.

Every tap reaches the bot (getUpdates works), but its answers, panel edits or messages fail.
Nothing the trainer did is lost, the trainer sees an answer once the API is back (/next shows
the item with everything saved), and each failed request is logged once, not in a storm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from handlers.callback_data import Action, encode
from tests.conftest import SAMPLES
from tests.crash_load import shown_scores
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeUser
from tests.test_e2e_review import ONE_AND_TWO, score_all, write_batch

READ_TIMEOUT = 5.0  # PTB's default read timeout, which the bot keeps
METHODS = ("answerCallbackQuery", "editMessageText", "sendMessage")


def bad_gateway(api: FakeBotApi, method: str, chat_id: int) -> None:
    api.fail_next(method, status=502, description="Bad Gateway", chat_id=chat_id, times=1000)


def server_error(api: FakeBotApi, method: str, chat_id: int) -> None:
    api.fail_next(method, status=500, chat_id=chat_id, times=1000)


def connection_reset(api: FakeBotApi, method: str, chat_id: int) -> None:
    api.drop_next(method, chat_id=chat_id, times=1000)


def answer_lost(api: FakeBotApi, method: str, chat_id: int) -> None:
    """The request took effect; only the answer is lost on a reset connection."""
    api.drop_next(method, chat_id=chat_id, times=1000, after_effect=True)


def timeout(api: FakeBotApi, method: str, chat_id: int) -> None:
    """One answer slower than the bot waits (each one costs the read timeout)."""
    api.delay_next(method, READ_TIMEOUT + 1, chat_id=chat_id)


Fault = Callable[[FakeBotApi, str, int], None]


async def review_through_a_fault(
    api: FakeBotApi,
    nilai: RunningBot,
    trainer: FakeUser,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    method: str,
) -> None:
    panel = await nilai.next_item(trainer)
    await answered(api, await tap_action(trainer, panel, Action.SCORE, 0, 3))
    await api.wait_idle(quiet=0.05)

    # The API fails for this trainer's chat; the trainer goes on scoring, writes a rewrite
    # and flags the item, as a person would while the toasts stay away.
    caplog.clear()
    since = api.mark()
    fault(api, method, trainer.chat_id)
    # (The panel may not show the next criterion's buttons: its edit failed. The taps are
    # the ones the trainer would see after a successful edit.)
    for criterion, score in ((1, 4), (2, 5)):
        await trainer.tap(panel, data=encode(Action.SCORE, 1, criterion, score))
        await api.wait_idle(quiet=0.1, timeout=3 * READ_TIMEOUT)
    await trainer.reply(panel, "Jawaban yang lebih baik.")
    await api.wait_idle(quiet=0.1, timeout=3 * READ_TIMEOUT)
    await trainer.tap(panel, data=encode(Action.SCORE, 1, 3, 2))
    await trainer.tap(panel, data=encode(Action.FLAG, 1, 0, 1))
    await api.wait_idle(quiet=0.1, timeout=3 * READ_TIMEOUT)
    await trainer.send("/next")  # nothing seems to happen: where is my item?
    await api.wait_idle(quiet=0.1, timeout=3 * READ_TIMEOUT)
    failed = [c for c in api.calls[since:] if not c.ok and c.method == method]
    assert failed, f"the fault never hit a {method} call"
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert 1 <= len(problems) <= len(failed), [r.getMessage() for r in problems]
    assert all(api.token.split(":")[1] not in r.getMessage() for r in problems)

    # The API is back: /next shows the item again with everything that was saved.
    api.clear_faults()
    caplog.clear()
    again = await nilai.next_item(trainer)
    assert shown_scores(again) == {0: 3, 1: 4, 2: 5, 3: 2}
    assert "Rewrite: ✓" in again.plain_text() and "Flags: Factual error" in again.plain_text()
    since = api.mark()
    submit = await tap_action(trainer, again, Action.SUBMIT)
    assert "thank you" in await answered(api, submit)
    following = await nilai.wait_panel(trainer, since)
    assert following.message_id > again.message_id
    await api.wait_idle(quiet=0.05)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

    stored = await nilai.database.fetchall(
        "SELECT a.status, j.rewrite, s.criterion, s.score, f.flag FROM assignments a"
        " JOIN judgments j ON j.assignment_id = a.id JOIN scores s ON s.assignment_id = a.id"
        " LEFT JOIN flags f ON f.assignment_id = a.id WHERE a.id = 1 ORDER BY s.criterion"
    )
    assert [tuple(row) for row in stored] == [
        ("submitted", "Jawaban yang lebih baik.", key, score, "factual_error")
        for key, score in (("accuracy", 3), ("helpfulness", 2), ("language", 4), ("safety", 5))
    ]


@pytest.fixture
async def trainer(api: FakeBotApi, nilai: RunningBot, tmp_path) -> FakeUser:
    await nilai.import_file(write_batch(tmp_path, *ONE_AND_TWO))
    user = api.user(2601, "Sari", language_code="en")
    await nilai.onboard(user)
    return user


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fault", [bad_gateway, connection_reset])
async def test_a_failing_bot_api_loses_nothing_and_the_trainer_sees_it_all_again(
    api: FakeBotApi,
    nilai: RunningBot,
    trainer: FakeUser,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    method: str,
) -> None:
    await review_through_a_fault(api, nilai, trainer, caplog, fault, method)


async def test_a_timed_out_next_item_comes_with_next(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, caplog: pytest.LogCaptureFixture
) -> None:
    await review_through_a_fault(api, nilai, trainer, caplog, timeout, "sendMessage")


# A lost answer to answerCallbackQuery is left out: the fake cannot tell such a query answered.
EVERY_FAULT = [
    (fault, method)
    for fault in (server_error, answer_lost, timeout)
    for method in METHODS
    if (fault, method) != (answer_lost, "answerCallbackQuery")
]


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "method"), EVERY_FAULT)
async def test_every_bot_api_fault_on_every_kind_of_request(
    api: FakeBotApi,
    nilai: RunningBot,
    trainer: FakeUser,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    method: str,
) -> None:
    await review_through_a_fault(api, nilai, trainer, caplog, fault, method)


async def test_a_next_tap_whose_item_never_arrived_brings_it_on_the_next_tap(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser
) -> None:
    welcome = trainer.last_bot_message()  # with its Next button
    api.fail_next("sendMessage", status=502, description="Bad Gateway")
    await trainer.tap(welcome, "Next")  # the item is leased, but it never reaches the chat
    await api.wait_idle(quiet=0.1)
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'active'") == 1
    since = api.mark()
    again = await trainer.tap(welcome, "Next")  # the API is back
    panel = await nilai.wait_panel(trainer, since)  # not "your open item is just above"
    assert "Pertanyaan" in panel.plain_text() or panel.buttons()
    assert await answered(api, again) == ""


async def test_a_submit_whose_answer_fails_still_shows_the_summary_and_the_next_item(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    """The effect is committed before the answer: a lost answer must not cost the next item."""
    trainer = api.user(2101, "Dewi", language_code="en")
    await nilai.onboard(trainer)
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    panel = await nilai.next_item(trainer)
    await score_all(api, trainer, panel, 3)
    since = api.mark()
    api.fail_next("answerCallbackQuery", status=502, description="Bad Gateway")
    await trainer.tap(panel, "Submit")
    following = await nilai.wait_panel(trainer, since)
    assert following.message_id != panel.message_id
    await api.wait_idle(quiet=0.2)
    # the summary replaced the rating buttons; only Undo is left
    assert [b["callback_data"][:3] for row in panel.buttons() for b in row] == ["1z:"]
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 1
