"""A fast thumb never queues a stream of panel edits: one in flight per panel, the rest folded."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError

from handlers.callback_data import Action
from handlers.panel_edits import PanelEdits, PanelState
from handlers.sending import BULK
from tests.conftest import SAMPLES
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi


class SlowBot:
    """Edits that finish only when the test lets them."""

    def __init__(self) -> None:
        self.edits: list[tuple[int, str | None]] = []
        self.paced: list[str | None] = []  # each text edit's rate_limit_args
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None

    async def edit_message_text(
        self, text: str, *, message_id: int, rate_limit_args: str | None = None, **_: Any
    ) -> None:
        self.edits.append((message_id, text))
        self.paced.append(rate_limit_args)
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with

    async def edit_message_reply_markup(self, *, message_id: int, **_: Any) -> None:
        self.edits.append((message_id, None))
        await self.release.wait()


def panel_edits(bot: SlowBot) -> PanelEdits:
    return PanelEdits(SimpleNamespace(bot=bot, bot_data={}))  # type: ignore[arg-type]


async def test_taps_during_an_edit_in_flight_fold_into_one_follow_up_showing_the_latest() -> None:
    bot = SlowBot()
    edits = panel_edits(bot)
    for score in range(1, 6):
        edits.show(1, 10, PanelState(f"score {score}", None))
        await asyncio.sleep(0)
    assert bot.edits == [(10, "score 1")]  # one in flight, the others wait folded
    bot.release.set()
    await edits.drain()
    assert bot.edits == [(10, "score 1"), (10, "score 5")]


async def test_different_panels_are_edited_side_by_side() -> None:
    bot = SlowBot()
    edits = panel_edits(bot)
    edits.show(1, 10, PanelState("a", None))
    edits.show(2, 20, PanelState("b", None))
    edits.show(1, 11, PanelState(None, None))
    await asyncio.sleep(0)
    assert sorted(bot.edits, key=lambda edit: edit[0]) == [(10, "a"), (11, None), (20, "b")]
    bot.release.set()
    await edits.drain()


async def test_a_failed_edit_is_logged_and_the_next_state_still_goes_out(caplog) -> None:
    bot = SlowBot()
    edits = panel_edits(bot)
    bot.fail_with = NetworkError("connection reset")
    edits.show(1, 10, PanelState("first", None))
    await asyncio.sleep(0)
    edits.show(1, 10, PanelState("second", None))
    bot.release.set()
    await edits.drain()
    assert bot.edits == [(10, "first"), (10, "second")]
    assert sum("not edited" in record.message for record in caplog.records) == 2
    bot.fail_with = BadRequest("Message is not modified")
    edits.show(1, 10, PanelState("second", None))
    await edits.drain()  # a repeated state is not an error worth a warning


async def test_a_quick_trainer_gets_every_tap_answered_and_fewer_edits_than_taps(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    trainer = api.user(2001, "Rina", language_code="en")
    await nilai.onboard(trainer)
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    panel = await nilai.next_item(trainer)
    api.set_delay("editMessageText", 0.3)  # a slow network: each edit takes a while
    since = api.mark()
    # Buttons that stay on the panel, tapped one after the other without waiting for edits.
    taps = [await tap_action(trainer, panel, Action.SCORE, 0, 4)]
    for flag in (0, 1, 2):
        taps.append(await tap_action(trainer, panel, Action.FLAG, flag, 1))
    for tap in taps:
        assert await answered(api, tap)  # every tap at once, not after the edits
    await api.wait_idle(quiet=0.5)
    edits = [call for call in api.calls[since:] if call.method == "editMessageText"]
    assert 1 <= len(edits) < len(taps)
    assert "Accuracy 4" in panel.plain_text()  # the last edit shows the latest state
    buttons = [button["text"] for row in panel.buttons() for button in row]
    assert "☑ Factual error" in buttons and "☑ Unsafe or harmful" in buttons
    assert "☑ Biased or one-sided" in buttons


async def test_a_buttons_only_state_keeps_the_newer_text_waiting_to_be_shown() -> None:
    bot = SlowBot()
    edits = panel_edits(bot)
    edits.show(1, 10, PanelState("score 1", None))
    await asyncio.sleep(0)
    edits.show(1, 10, PanelState("score 2", None))
    edits.show(1, 10, PanelState(None, None))  # the skip menu: new buttons, same text
    bot.release.set()
    await edits.drain()
    assert bot.edits == [(10, "score 1"), (10, "score 2")]  # text and buttons together


def note(text: str | None, log: list[str] | None = None):
    """An unprompted state (the sweeper's note) rendered at its turn; None: no longer true."""

    async def render() -> PanelState | None:
        if log is not None:
            log.append("rendered")
        return None if text is None else PanelState(text, None, bulk=True)

    return render


async def test_an_unprompted_edit_goes_out_paced_and_taps_meanwhile_come_after_it() -> None:
    bot = SlowBot()
    edits = panel_edits(bot)
    sending = asyncio.create_task(edits.unprompted(1, 10, note("time ran out")))
    await asyncio.sleep(0)
    assert bot.edits == [(10, "time ran out")]  # waiting, say, for the bulk budget
    edits.show(1, 10, PanelState("score 1", None))  # a tap meanwhile
    edits.show(1, 10, PanelState("score 2", None))
    bot.release.set()
    assert await sending
    await edits.drain()
    assert bot.edits == [(10, "time ran out"), (10, "score 2")]
    assert bot.paced == [BULK, None]  # the taps' edits are replies, not bulk


async def test_an_unprompted_edit_is_left_out_while_a_taps_edit_is_in_flight() -> None:
    bot = SlowBot()
    edits = panel_edits(bot)
    edits.show(1, 10, PanelState("score 1", None))
    await asyncio.sleep(0)
    rendered: list[str] = []
    assert not await edits.unprompted(1, 10, note("time ran out", rendered))
    assert rendered == []  # never rendered: the trainer is at this panel
    bot.release.set()
    await edits.drain()
    assert bot.edits == [(10, "score 1")]


async def test_an_unprompted_edit_no_longer_true_sends_nothing_and_lets_taps_through() -> None:
    bot = SlowBot()
    edits = panel_edits(bot)
    bot.release.set()

    async def taken_up_meanwhile() -> PanelState | None:
        edits.show(1, 10, PanelState("score 1", None))  # the tap lands while it renders
        await asyncio.sleep(0)
        return None

    assert not await edits.unprompted(1, 10, taken_up_meanwhile)
    await edits.drain()
    assert bot.edits == [(10, "score 1")]


async def test_a_failed_unprompted_edit_reaches_its_caller_and_taps_still_go_out() -> None:
    bot = SlowBot()
    edits = panel_edits(bot)
    bot.fail_with = Forbidden("bot was blocked by the user")
    sending = asyncio.create_task(edits.unprompted(1, 10, note("time ran out")))
    await asyncio.sleep(0)
    edits.show(1, 10, PanelState("score 1", None))
    bot.release.set()
    with pytest.raises(Forbidden):  # the sweeper marks the trainer unreachable
        await sending
    await edits.drain()
    assert bot.edits == [(10, "time ran out"), (10, "score 1")]
