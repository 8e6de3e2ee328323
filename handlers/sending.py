"""Telegram's budget: what is sent at once, what is paced, and how a 429 is honoured.

Telegram asks for pacing only of bulk notifications to many users (its bot FAQ: about 30
messages a second, more with paid broadcasts). A reply to a user's own action (the answer to a
tap, the panel edit, the next item) is not under a global limit, and answerCallbackQuery has no
limit at all; one private chat tolerates about a message a second with short bursts. So:

- interactive requests go out at once, never behind a global limiter;
- bulk sends (broadcasts, announcements, scheduled messages) say so with
  `rate_limit_args=BULK` (see `send_bulk_message`) and share one `aiolimiter.AsyncLimiter` at
  `BROADCAST_RATE` per second; with `PAID_BROADCAST` they carry `allow_paid_broadcast`;
- every 429 is honoured: the request waits `retry_after` and is retried (a bounded number of
  times). The wait holds up later requests to the same chat only, because Telegram's flood wait
  is per chat; a 429 on a bulk send also pauses the other bulk sends, since it says the bot's
  bulk rate is too high. Nobody else waits.

This is PTB's extension point for the purpose (`BaseRateLimiter`), installed by the composition
root; PTB's own `AIORateLimiter` would put every request with a `chat_id`, edits included, under
the 30/s ceiling and so throttle the whole crowd to about five reviews a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, CallbackQuery, Message
from telegram.constants import ParseMode
from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

BULK = "bulk"  # `rate_limit_args` of a bulk send
MAX_RETRIES = 3  # retries after a 429, per request
BURST_SECONDS = 0.1  # bulk sends go out evenly within this
_FORGET_AFTER = 512  # chat flood waits kept before the expired ones are dropped

ApiCallback = Callable[..., Coroutine[Any, Any, Any]]


class TelegramBudget(BaseRateLimiter[str]):
    """Interactive requests at once, bulk sends paced, every 429 honoured per chat."""

    def __init__(self, bulk_rate: float, max_retries: int = MAX_RETRIES) -> None:
        # At most a tenth of a second's worth at once: a bucket of a whole second would let
        # `bulk_rate` go in one burst, which empties Telegram's own bucket and leaves no room
        # for the slightest jitter after it (a 429 a second, each pausing every bulk send).
        self._bulk = AsyncLimiter(max(1.0, bulk_rate * BURST_SECONDS), BURST_SECONDS)
        self._max_retries = max_retries
        self._bulk_resumes_at = 0.0  # monotonic: a 429 on a bulk send pauses all bulk sends
        self._chat_resumes_at: dict[object, float] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: ApiCallback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Any:
        bulk = rate_limit_args == BULK
        chat = data.get("chat_id")
        for attempt in range(self._max_retries + 1):
            await self._wait_for(chat, bulk)
            if bulk:
                await self._bulk.acquire()
                await self._wait_for(chat, bulk)  # a 429 may have paused bulk sends meanwhile
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as flood:
                seconds = retry_after_seconds(flood)
                # Recorded even when giving up: the next request to this chat must wait too.
                resumes_at = time.monotonic() + seconds + 0.05
                if chat is not None:
                    self._hold_chat(chat, resumes_at)
                if bulk:
                    self._bulk_resumes_at = max(self._bulk_resumes_at, resumes_at)
                if attempt == self._max_retries:
                    log.warning("%s to %s: still 429 after %d retries", endpoint, chat, attempt)
                    raise
                log.info("%s to %s: 429, waiting %.1f s as Telegram asks", endpoint, chat, seconds)
                if chat is None:
                    await asyncio.sleep(seconds + 0.05)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _wait_for(self, chat: object, bulk: bool) -> None:
        """Sleep out a flood wait Telegram gave this chat (and, for bulk sends, the bot's)."""
        resumes_at = self._chat_resumes_at.get(chat, 0.0) if chat is not None else 0.0
        if bulk:
            resumes_at = max(resumes_at, self._bulk_resumes_at)
        delay = resumes_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def _hold_chat(self, chat: object, resumes_at: float) -> None:
        if len(self._chat_resumes_at) >= _FORGET_AFTER:
            now = time.monotonic()
            for key, until in list(self._chat_resumes_at.items()):
                if until <= now:
                    del self._chat_resumes_at[key]
        self._chat_resumes_at[chat] = max(self._chat_resumes_at.get(chat, 0.0), resumes_at)


def retry_after_seconds(flood: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds (without PTB 22's int/timedelta warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = flood.retry_after
    return float(wait) if isinstance(wait, int | float) else wait.total_seconds()


async def answer_tap(query: CallbackQuery, text: str | None = None, **kwargs: Any) -> None:
    """Answer a button tap whose effect is already committed.

    If the answer cannot be delivered (the Bot API is down, slow or the query too old), that is
    logged once and the handler goes on: the panel edit and the next item still matter, and a
    repeated tap would only be told "already done".
    """
    try:
        await query.answer(text, **kwargs)
    except TelegramError as error:
        log.warning("tap %s of user %s not answered: %s", query.id, query.from_user.id, error)


async def send_bulk_message(
    bot: Bot, chat_id: int, text: str, *, paid: bool, **kwargs: Any
) -> Message:
    """Send one message of a bulk send (HTML), paced at BROADCAST_RATE with all the others.

    `paid` is `Settings.paid_broadcast`: the message then may go beyond 30/s, for Stars.
    """
    if paid:
        kwargs["allow_paid_broadcast"] = True
    kwargs.setdefault("parse_mode", ParseMode.HTML)
    return await bot.send_message(chat_id, text, rate_limit_args=BULK, **kwargs)


async def send_bulk_photo(
    bot: Bot, chat_id: int, photo: bytes, *, paid: bool, **kwargs: Any
) -> Message:
    """Send one photo of a bulk send (caption in HTML), paced with the bulk messages."""
    if paid:
        kwargs["allow_paid_broadcast"] = True
    if "caption" in kwargs:
        kwargs.setdefault("parse_mode", ParseMode.HTML)
    return await bot.send_photo(chat_id, photo, rate_limit_args=BULK, **kwargs)
