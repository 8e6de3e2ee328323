"""Telegram's budget: interactive requests at once, bulk sends paced, every 429 honoured per chat.

These drive `TelegramBudget.process_request` with fake Bot API calls and check the order in which
things happen (never how long they took).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.error import RetryAfter

from handlers.sending import BULK, TelegramBudget


class FakeCalls:
    """Bot API calls that record when they ran and can be told to answer 429 first."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.floods: dict[str, list[float]] = {}

    def flood(self, name: str, *retry_after: float) -> None:
        self.floods[name] = list(retry_after)

    def call(self, name: str):
        async def callback() -> str:
            waits = self.floods.get(name)
            if waits:
                self.log.append(f"{name}:429")
                raise RetryAfter(waits.pop(0))
            self.log.append(name)
            return name

        return callback


async def send(
    budget: TelegramBudget, calls: FakeCalls, name: str, chat: int | None, *, bulk: bool = False
) -> Any:
    data: dict[str, Any] = {} if chat is None else {"chat_id": chat}
    return await budget.process_request(
        calls.call(name), (), {}, "sendMessage", data, BULK if bulk else None
    )


async def test_interactive_requests_never_wait_behind_bulk_pacing() -> None:
    budget, calls = TelegramBudget(bulk_rate=1), FakeCalls()
    bulk = [asyncio.create_task(send(budget, calls, f"bulk{n}", n, bulk=True)) for n in range(3)]
    await asyncio.sleep(0)
    taps = [send(budget, calls, f"tap{n}", 100 + n) for n in range(20)]
    assert await asyncio.gather(*taps) == [f"tap{n}" for n in range(20)]
    # The first bulk send had the second's budget; the others still wait their turn.
    assert calls.log[0] == "bulk0" and "bulk1" not in calls.log and "bulk2" not in calls.log
    for task in bulk:
        task.cancel()
    await asyncio.gather(*bulk, return_exceptions=True)


async def test_bulk_sends_share_one_pace() -> None:
    budget, calls = TelegramBudget(bulk_rate=2), FakeCalls()
    tasks = [asyncio.create_task(send(budget, calls, f"b{n}", n, bulk=True)) for n in range(4)]
    await asyncio.sleep(0.05)
    started = len(calls.log)
    assert 1 <= started <= 2  # the limiter's first second's worth, not all four
    assert await asyncio.gather(*tasks) == ["b0", "b1", "b2", "b3"]


async def test_a_429_is_waited_out_and_retried_for_that_chat_only() -> None:
    budget, calls = TelegramBudget(bulk_rate=30), FakeCalls()
    calls.flood("edit-a", 0.3)
    first = asyncio.create_task(send(budget, calls, "edit-a", 1))
    await asyncio.sleep(0.01)
    assert calls.log == ["edit-a:429"]
    # Another chat goes at once; the same chat waits until Telegram's retry_after is over.
    assert await send(budget, calls, "other-chat", 2) == "other-chat"
    same_chat = asyncio.create_task(send(budget, calls, "again-a", 1))
    await asyncio.sleep(0.01)
    assert "again-a" not in calls.log
    assert await first == "edit-a" and await same_chat == "again-a"
    assert calls.log[:2] == ["edit-a:429", "other-chat"]


async def test_a_429_on_a_bulk_send_pauses_the_other_bulk_sends_not_the_taps() -> None:
    budget, calls = TelegramBudget(bulk_rate=100), FakeCalls()
    calls.flood("bulk-1", 0.3)
    first = asyncio.create_task(send(budget, calls, "bulk-1", 1, bulk=True))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(send(budget, calls, "bulk-2", 2, bulk=True))
    assert await send(budget, calls, "tap-2", 2) == "tap-2"
    await asyncio.sleep(0.01)
    assert "bulk-2" not in calls.log  # held: Telegram said the bulk rate was too high
    assert await first == "bulk-1" and await second == "bulk-2"


async def test_a_429_without_a_chat_is_retried_too() -> None:
    budget, calls = TelegramBudget(bulk_rate=30), FakeCalls()
    calls.flood("answer", 0.01)
    assert await send(budget, calls, "answer", None) == "answer"
    assert calls.log == ["answer:429", "answer"]


async def test_retries_are_bounded() -> None:
    budget, calls = TelegramBudget(bulk_rate=30, max_retries=2), FakeCalls()
    calls.flood("stubborn", 0.01, 0.01, 0.01, 0.01)
    with pytest.raises(RetryAfter):
        await send(budget, calls, "stubborn", 7)
    assert calls.log == ["stubborn:429"] * 3


async def test_the_wait_of_a_last_429_still_holds_the_chat() -> None:
    budget, calls = TelegramBudget(bulk_rate=30, max_retries=0), FakeCalls()
    calls.flood("given-up", 0.3)
    with pytest.raises(RetryAfter):
        await send(budget, calls, "given-up", 5)
    later = asyncio.create_task(send(budget, calls, "next-edit", 5))
    await asyncio.sleep(0.05)
    assert "next-edit" not in calls.log  # Telegram's wait for chat 5 is not over yet
    assert await later == "next-edit"
