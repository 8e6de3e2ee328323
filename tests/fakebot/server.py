"""A fake Telegram Bot API server, so the real PTB Application can run in end-to-end tests.

It speaks HTTP on 127.0.0.1 exactly where PTB expects Telegram (``base_url``/``base_file_url``),
keeps chats and messages in memory, validates requests the way Telegram does (same status codes
and descriptions, so PTB raises the same exceptions), records every call, and lets tests play
users, inject failures and wait for the bot without sleeping.

Updates reach the bot as on Telegram: answered to getUpdates, or, once the bot called
setWebhook, POSTed to the webhook URL with the ``X-Telegram-Bot-Api-Secret-Token`` header (one
at a time, in order, retried while the bot does not answer 2xx; getUpdates then answers 409).
The fake accepts an ``http://`` webhook, which Telegram does not, since the bots under test
serve plain HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import math
import os
import re
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from tests.fakebot.models import ApiCall, CallbackRecord, FakeFile, FakeMessage, UploadedFile
from tests.fakebot.users import FakeUser
from tests.fakebot.validation import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    ApiError,
    bad_request,
    format_text,
    utf16_len,
    validate_reply_markup,
)

_ROOT = Path(__file__).resolve().parents[2]  # the repository, for PYTHONPATH
DEFAULT_TOKEN = "123456:TEST-TOKEN"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"

# Parameters that are plain strings on the wire; every other form value is JSON (PTB json.dumps
# everything that is not a str), so "123" -> 123, "true" -> True, '{"inline_keyboard":..}' -> dict.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "file_id",
        "action",
        "url",
        "description",
        "short_description",
        "name",
        "language_code",
        "business_connection_id",
        "inline_message_id",
        "message_effect_id",
        "document",
        "photo",
        "sticker",
        "thumbnail",
        "emoji",
        "title",
        "secret_token",
        "ip_address",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass
class _Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


@dataclass
class _Drop:
    method: str
    chat_id: int | None
    times: int
    after_effect: bool
    seconds: float = 0.0  # a delay_next() instead of a reset
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _FloodBucket:
    """A token bucket: holds `per_second` messages, refilled at `per_second` a second."""

    per_second: float
    tokens: float
    refilled_at: float

    def take(self, now: float) -> int | None:
        """Take one message's token; None if there was one, else Telegram's whole-second
        retry_after (at least 1) until there is."""
        self.tokens = min(self.per_second, self.tokens + (now - self.refilled_at) * self.per_second)
        self.refilled_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.per_second))


@dataclass
class _FloodLimit:
    free: _FloodBucket
    paid: _FloodBucket
    reply_seconds: float


@dataclass
class WebhookDelivery:
    """One POST of an update to the bot's webhook, and how the bot answered it."""

    update_id: int
    url: str
    status: int | None  # None: no HTTP answer (connection refused, reset, timeout)


@dataclass
class _Chat:
    user: FakeUser
    messages: dict[int, FakeMessage] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False


def _decode_param(name: str, value: Any) -> Any:
    """Turn a wire value back into what the bot meant (see _STRING_PARAMS)."""
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _update_chat_id(update: dict[str, Any]) -> int | None:
    """The chat an update comes from (its user's private chat for a tap)."""
    for kind in ("message", "edited_message", "my_chat_member"):
        if kind in update:
            return update[kind].get("chat", {}).get("id")
    if "callback_query" in update:
        query = update["callback_query"]
        return query.get("message", {}).get("chat", {}).get("id") or query["from"]["id"]
    return None


def _inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Normalise for "not modified" checks: only inline keyboards stick to a message."""
    if not markup or not markup.get("inline_keyboard"):
        return None
    return markup


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def fast_request(*, get_updates: bool = False, **kwargs: Any) -> HTTPXRequest:
    """An HTTPXRequest for talking to the fake, ~40 ms cheaper to create than PTB's default.

    httpx builds a fresh SSL context (loading the CA bundle) for every client and PTB makes two
    clients per Bot; sharing one context keeps many short tests fast. ``trust_env=False`` keeps
    proxy variables from rerouting 127.0.0.1. Pool sizes default to ApplicationBuilder's.
    """
    kwargs.setdefault("connection_pool_size", 1 if get_updates else 256)
    httpx_kwargs = {"verify": _ssl_context(), "trust_env": False, **kwargs.pop("httpx_kwargs", {})}
    return HTTPXRequest(httpx_kwargs=httpx_kwargs, **kwargs)


class FakeBotApi:
    """In-memory Telegram Bot API on a random local port. See tests/fakebot/__init__.py."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_first_name: str = "Nilai",
        bot_username: str = "nilai_test_bot",
        strict_entities: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(prefix) if prefix.isdigit() else 123456,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.strict_entities = strict_entities
        self.host = host
        self.base_url = ""
        self.file_url = ""
        self.port = 0
        self.calls: list[ApiCall] = []
        self.files: dict[str, FakeFile] = {}
        self.callback_queries: dict[str, CallbackRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.bot_settings: dict[str, Any] = {}
        self.downloads: list[str] = []
        self.allowed_updates: list[str] | None = None
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters while one is set
        self.webhook_targets: list[str] | None = None  # deliver here round robin, not to its URL
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._webhook_held = False
        self._next_target = 0
        self._webhook_task: asyncio.Task[None] | None = None
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, _Chat] = {}
        self._pending: list[dict[str, Any]] = []
        self._redeliver: list[dict[str, Any]] = []
        self._delivered: set[int] = set()
        self._next_update_id = 1000
        self._next_file = 1
        self._next_callback = 1
        self._failures: list[_Failure] = []
        self._drops: list[_Drop] = []
        self._slow: list[_Drop] = []
        self._delays: dict[str, float] = {}
        self._inflight = 0
        # Bots running in this event loop say here whether they are still handling something
        # (tests/e2e.py RunningBot): idle then also means "nothing left to do", not only "quiet
        # on the wire", which a loaded machine can make a bot for longer than `quiet`.
        self.busy_probes: list[Callable[[], bool]] = []
        self._flood: _FloodLimit | None = None
        self._user_active_at: dict[int, float] = {}  # chat id -> monotonic time of its update
        self._last_activity = 0.0
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda p: self.bot_user,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": lambda p: self._set_setting("description", p),
            "setMyShortDescription": lambda p: self._set_setting("short_description", p),
            "setMyName": lambda p: self._set_setting("name", p),
            "getMyDescription": lambda p: self._get_setting("description", p),
            "getMyShortDescription": lambda p: self._get_setting("short_description", p),
            "getMyName": lambda p: self._get_setting("name", p),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
        }
        self._canonical = {name.lower(): name for name in [*self._methods, "getUpdates"]}

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on ``host`` at a free port; fills ``base_url``/``file_url``."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        # Cancel handlers whose client went away, so an abandoned long poll takes no updates.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        root = f"http://{self.host}:{self.port}"
        self.base_url = f"{root}/bot"
        self.file_url = f"{root}/file/bot"
        self._webhook_task = asyncio.create_task(self._deliver_to_webhook())

    async def stop(self) -> None:
        """Release pending long polls (they answer []) and shut the server down."""
        self._closing = True
        self._notify()
        if self._webhook_task is not None:
            task, self._webhook_task = self._webhook_task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- clients -------------------------------------------------------------------------------

    def bot(self, **kwargs: Any) -> Bot:
        """A PTB Bot pointed at this fake (use ``async with``)."""
        kwargs.setdefault("request", fast_request())
        kwargs.setdefault("get_updates_request", fast_request(get_updates=True))
        return Bot(self.token, base_url=self.base_url, base_file_url=self.file_url, **kwargs)

    def bot_environment(self, database_path: Path, **settings: str) -> dict[str, str]:
        """The environment for `python -m bot run` (or any CLI command) against this server.

        The machine's environment without proxies (nothing may route 127.0.0.1 elsewhere) and
        without Nilai's own settings, then this server's token and URLs, the database, a one
        second long poll, and `settings` (e.g. COORDINATOR_IDS="4242").
        """
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.upper().endswith("_PROXY")
            and not key.startswith(
                ("TELEGRAM_", "DATABASE_", "PSEUDONYM_", "BACKUP_", "REMINDER_", "SUMMARY_")
            )
            and not key.startswith(("REPORT_", "QUIET_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=self.token,
            TELEGRAM_API_BASE_URL=self.base_url,
            DATABASE_PATH=str(database_path),
            BACKUP_DIR=str(database_path.parent / "backups"),
            POLL_TIMEOUT="1",
            PYTHONPATH=str(_ROOT),
        )
        env.update(settings)
        return env

    def application_builder(self) -> ApplicationBuilder:
        """Application.builder() with token, URLs and fast requests set for this fake.

        Because ``request``/``get_updates_request`` are set, PTB refuses pool-size/timeout
        builder options; pass them to ``fast_request()`` and set the request yourself instead.
        """
        return (
            Application.builder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.file_url)
            .request(fast_request())
            .get_updates_request(fast_request(get_updates=True))
        )

    # -- public helpers ------------------------------------------------------------------------

    def now(self) -> int:
        """Unix time, as Telegram's ``date`` fields."""
        return int(time.time())

    def mark(self) -> int:
        """Index of the next call, to pass as ``since``."""
        return len(self.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """All recorded calls of one method, in order."""
        return [call for call in self.calls if call.method == method]

    def user(
        self,
        user_id: int,
        first_name: str = "Tester",
        *,
        language_code: str | None = "en",
        username: str | None = None,
    ) -> FakeUser:
        """The user (and their private chat with the bot); the same object on repeat calls."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        fake = FakeUser(self, user_id, first_name, language_code=language_code, username=username)
        self._users[user_id] = fake
        self._chats[fake.chat_id] = _Chat(user=fake)
        return fake

    def chat_messages(self, chat_id: int) -> list[FakeMessage]:
        """Messages of the chat still present (user's and bot's), in order.

        The objects are live: edits by the bot show up in them.
        """
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if not m.deleted]

    def message(self, chat_id: int, message_id: int) -> FakeMessage:
        """A message by id (also a deleted one, with ``deleted=True``)."""
        chat = self._chats.get(chat_id)
        if chat is None or message_id not in chat.messages:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return chat.messages[message_id]

    def file_content(self, file_id: str) -> bytes:
        """Bytes of a file the bot uploaded or a user sent."""
        return self.files[file_id].content

    def callback(self, query_id: str) -> CallbackRecord:
        """The record of a callback query (answers, timing)."""
        return self.callback_queries[query_id]

    def my_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands set via setMyCommands for a scope/language ([] when unset)."""
        return self.commands.get(self._commands_key(scope, language_code), [])

    # -- failure injection ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` if given) fail.

        A failed call has no effect. For 429 the answer carries ``retry_after`` (default 1) and
        Telegram's "Too Many Requests: retry after N" description, so PTB raises RetryAfter.
        """
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            if description == "Internal Server Error":
                description = f"Too Many Requests: retry after {retry_after}"
        self._failures.append(_Failure(method, status, description, retry_after, chat_id, times))

    def drop_next(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        times: int = 1,
        after_effect: bool = False,
    ) -> None:
        """Reset the connection of the next ``times`` calls of ``method`` (to ``chat_id``).

        The bot gets no answer, only a TCP reset. By default the call has no effect (lost on
        the way in); with ``after_effect`` it takes effect first and only the answer is lost,
        so the bot cannot know that, say, its message was sent. Recorded with ``ok=False``,
        no ``error_code`` and the description "connection reset".
        """
        self._drops.append(_Drop(method, chat_id, times, after_effect))

    def block(self, chat_id: int) -> None:
        """From now on sends/edits/chat actions to this chat answer 403 (user blocked the bot)."""
        self._require_chat(chat_id).blocked = True

    def unblock(self, chat_id: int) -> None:
        """Undo block()."""
        self._require_chat(chat_id).blocked = False

    def limit_bulk_messages(
        self,
        per_second: int | None,
        *,
        reply_seconds: float = 5.0,
        paid_per_second: int = 1000,
    ) -> None:
        """Enforce Telegram's flood limit on bulk messages (off by default; None turns it off).

        The rule: a sendMessage is a *reply* when the chat's user sent an update (a message,
        an edit, a tap, a member change) within the last ``reply_seconds``; replies are never
        limited, since Telegram puts its ~30/s only on notifications to many users. Every
        other sendMessage is *bulk*, whatever its outcome (a blocked chat's 403 counts too):
        bulk messages across all chats pass a token bucket that holds ``per_second`` messages
        and refills at ``per_second`` a second (starting full: a burst of ``per_second``, then
        ``per_second`` a second). One that finds it empty is answered 429 "Too Many Requests:
        retry after N" with ``parameters.retry_after`` N, the whole seconds (at least 1) until
        the bucket has a message again, and has no effect. A message with
        ``allow_paid_broadcast`` is counted in a bucket of its own at ``paid_per_second``
        (Telegram's paid broadcasts, up to 1000 a second). Edits and other methods are free.
        """
        if per_second is None:
            self._flood = None
            return
        now = time.monotonic()
        self._flood = _FloodLimit(
            free=_FloodBucket(per_second, per_second, now),
            paid=_FloodBucket(paid_per_second, paid_per_second, now),
            reply_seconds=reply_seconds,
        )

    def set_delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` only after ``seconds`` (0 removes the delay)."""
        if seconds > 0:
            self._delays[method] = seconds
        else:
            self._delays.pop(method, None)

    def delay_next(
        self, method: str, seconds: float, *, chat_id: int | None = None, times: int = 1
    ) -> asyncio.Event:
        """Answer only the next ``times`` calls of ``method`` (to ``chat_id``) after ``seconds``.

        Beyond the bot's read timeout this is a timeout: the bot gives up, closes the
        connection, and the call has no effect (its handler here is cancelled before it acts).
        Returns an event set when such a call arrives, to act while it is held (a crash test
        kills the bot right then).
        """
        slow = _Drop(method, chat_id, times, False, seconds)
        self._slow.append(slow)
        return slow.arrived

    def clear_faults(self) -> None:
        """The Bot API is well again: forget pending fail_next/drop_next/delays."""
        self._failures.clear()
        self._drops.clear()
        self._slow.clear()
        self._delays.clear()

    # -- updates -------------------------------------------------------------------------------

    def enqueue(self, update_body: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (assigning the next update_id) and wake the long poll."""
        update = {"update_id": self._next_update_id, **copy.deepcopy(update_body)}
        self._next_update_id += 1
        chat_id = _update_chat_id(update)
        if chat_id is not None:
            self._user_active_at[chat_id] = time.monotonic()
        self._pending.append(update)
        self._notify()
        return update

    def redeliver(self, update: dict[str, Any]) -> None:
        """Return this exact update again on the next getUpdates, whatever its offset says.

        Simulates Telegram re-sending an update whose confirmation it did not get.
        """
        self._redeliver.append(copy.deepcopy(update))
        self._notify()

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by an offset (plus pending redeliveries)."""
        return len(self._pending) + len(self._redeliver)

    # -- waiting -------------------------------------------------------------------------------

    async def wait_for_call(
        self,
        method: str | Iterable[str],
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline, not cancellation
    ) -> ApiCall:
        """First call of ``method`` (or any of several) at index >= since matching ``predicate``.

        Failed calls count too; filter on ``call.ok`` in the predicate if needed.
        """
        methods = {method} if isinstance(method, str) else set(method)
        checked = since
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self._changed
            for call in self.calls[checked:]:
                if call.method in methods and (predicate is None or predicate(call)):
                    return call
            checked = max(checked, len(self.calls))
            if not await self._wait_changed(changed, deadline):
                wanted = "/".join(sorted(methods))
                raise TimeoutError(
                    f"no matching {wanted} call since #{since} within {timeout}s; "
                    f"{self._describe_recent()}"
                )

    async def wait_idle(
        self,
        quiet: float = 0.2,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline, not cancellation
        *,
        handled: bool = True,
    ) -> None:
        """Return once every queued update was fetched, no bot in this loop is still handling
        one (`busy_probes`; not asked with ``handled=False``, for a test whose bot is made to
        wait), and the bot made no call for ``quiet`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            wake_at = deadline
            if handled and any(busy() for busy in self.busy_probes):
                wake_at = min(deadline, loop.time() + 0.01)  # a probe does not notify: look again
            elif not self._has_undelivered() and not self._inflight:
                idle_for = loop.time() - self._last_activity
                if idle_for >= quiet:
                    return
                wake_at = min(deadline, loop.time() + quiet - idle_for)
            await self._wait_changed(changed, wake_at)
            if loop.time() >= deadline:
                raise TimeoutError(
                    f"bot not idle after {timeout}s: {self._undelivered_count()} update(s) not "
                    f"fetched by getUpdates, {self._inflight} call(s) in flight; "
                    f"{self._describe_recent()}"
                )

    async def _wait_changed(self, changed: asyncio.Event, deadline: float) -> bool:
        """Wait for ``changed`` until the loop-time ``deadline``; False when it passed."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), remaining)
        return True

    def _notify(self) -> None:
        """Wake every waiter; each re-checks its own condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _describe_recent(self, limit: int = 15) -> str:
        recent = [c for c in self.calls if c.method != "getUpdates"][-limit:]
        if not recent:
            return "the bot made no calls besides getUpdates"
        lines = "\n  ".join(str(call) for call in recent)
        return f"last calls besides getUpdates:\n  {lines}"

    def _has_undelivered(self) -> bool:
        return self._undelivered_count() > 0

    def _undelivered_count(self) -> int:
        fresh = sum(1 for u in self._pending if u["update_id"] not in self._delivered)
        return fresh + len(self._redeliver)

    # -- HTTP ----------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        method = self._canonical.get(raw_method.lower(), raw_method)
        polling = method == "getUpdates"
        if not polling:
            self._inflight += 1
            self._touch()
        try:
            params: dict[str, Any] = {}
            try:
                params = await self._read_params(request)
                if request.match_info["token"] != self.token:
                    raise ApiError(401, "Unauthorized")
                delay = self._delays.get(method)
                if delay:
                    await asyncio.sleep(delay)
                slow = self._take_drop(method, params, self._slow)
                if slow is not None:
                    slow.arrived.set()
                    try:
                        await asyncio.sleep(slow.seconds)
                    except asyncio.CancelledError:  # the client gave up: a timeout
                        self._record(method, params, False, None, None, "client gave up")
                        raise
                drop = self._take_drop(method, params)
                if drop is not None and not drop.after_effect:
                    await self._reset_connection(request, method, params)
                self._maybe_fail(method, params)
                if method == "sendMessage":
                    self._check_flood(params)
                if polling:
                    result = await self._get_updates(params)
                else:
                    handler = self._methods.get(method)
                    if handler is None:
                        raise ApiError(404, "Not Found")
                    result = handler(params)
                if drop is not None:
                    await self._reset_connection(request, method, params)
            except ApiError as exc:
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": exc.status,
                    "description": exc.description,
                }
                if exc.parameters:
                    body["parameters"] = exc.parameters
                self._record(method, params, False, None, exc.status, exc.description)
                return web.json_response(body, status=exc.status)
            self._record(method, params, True, result, None, None)
            return web.json_response({"ok": True, "result": result})
        finally:
            if not polling:
                self._inflight -= 1
                self._touch()
            self._notify()

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        self.downloads.append(path)
        for file in self.files.values():
            if file.file_path == path:
                return web.Response(body=file.content, content_type="application/octet-stream")
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Accept query string, form-encoded, multipart (PTB's choices) and JSON bodies."""
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise bad_request("can't parse JSON object") from exc
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON object")
                raw.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[key] = UploadedFile(
                            filename=value.filename,
                            content=value.file.read(),
                            content_type=value.content_type,
                        )
                    else:
                        raw[key] = value
        params = {key: _decode_param(key, value) for key, value in raw.items()}
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("attach://"):
                attached = params.get(value.removeprefix("attach://"))
                if isinstance(attached, UploadedFile):
                    params[key] = attached
        return params

    def _touch(self) -> None:
        self._last_activity = asyncio.get_running_loop().time()

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        ok: bool,
        result: Any,
        error_code: int | None,
        description: str | None,
    ) -> ApiCall:
        call = ApiCall(
            method=method,
            params=params,
            ok=ok,
            result=result,
            error_code=error_code,
            description=description,
            chat_id=self._call_chat_id(method, params),
            index=len(self.calls),
            time=asyncio.get_running_loop().time(),
        )
        self.calls.append(call)
        if method == "answerCallbackQuery":
            record = self.callback_queries.get(str(params.get("callback_query_id", "")))
            if record is not None:
                record.answers.append(call)
        return call

    def _call_chat_id(self, method: str, params: dict[str, Any]) -> int | None:
        if method == "answerCallbackQuery":
            record = self.callback_queries.get(str(params.get("callback_query_id", "")))
            return record.chat_id if record is not None else None
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            return chat_id
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            return int(chat_id)
        return None

    def _maybe_fail(self, method: str, params: dict[str, Any]) -> None:
        chat_id = self._call_chat_id(method, params)
        for failure in self._failures:
            if failure.method != method:
                continue
            if failure.chat_id is not None and failure.chat_id != chat_id:
                continue
            failure.times -= 1
            if failure.times <= 0:
                self._failures.remove(failure)
            parameters = None
            if failure.retry_after is not None:
                parameters = {"retry_after": failure.retry_after}
            raise ApiError(failure.status, failure.description, parameters)

    def _check_flood(self, params: dict[str, Any]) -> None:
        """429 for a bulk message beyond the flood limit (see limit_bulk_messages)."""
        flood = self._flood
        if flood is None:
            return
        now = time.monotonic()
        chat_id = self._call_chat_id("sendMessage", params)
        active_at = self._user_active_at.get(chat_id) if chat_id is not None else None
        if active_at is not None and now - active_at <= flood.reply_seconds:
            return
        bucket = flood.paid if params.get("allow_paid_broadcast") is True else flood.free
        retry_after = bucket.take(now)
        if retry_after is not None:
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )

    def _take_drop(
        self, method: str, params: dict[str, Any], faults: list[_Drop] | None = None
    ) -> _Drop | None:
        faults = self._drops if faults is None else faults
        chat_id = self._call_chat_id(method, params)
        for drop in faults:
            if drop.method == method and drop.chat_id in (None, chat_id):
                drop.times -= 1
                if drop.times <= 0:
                    faults.remove(drop)
                return drop
        return None

    async def _reset_connection(
        self, request: web.Request, method: str, params: dict[str, Any]
    ) -> None:
        """Abort the TCP connection with a reset (SO_LINGER 0) and never answer."""
        self._record(method, params, False, None, None, "connection reset")
        transport = request.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await asyncio.Event().wait()  # aiohttp cancels this handler: its client is gone

    # -- getUpdates ----------------------------------------------------------------------------

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long poll like Telegram: offset confirms, wait up to ``timeout`` for something new."""
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = params["allowed_updates"] or None
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting gets 409 Conflict, as on Telegram
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self._changed
            batch = self._take_updates(limit)
            if batch or self._closing:
                break
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            if not await self._wait_changed(changed, deadline):
                break
        if batch:
            self._delivered.update(u["update_id"] for u in batch)
            self._touch()
        return batch

    def _take_updates(self, limit: int) -> list[dict[str, Any]]:
        batch = self._redeliver[:limit]
        del self._redeliver[:limit]
        allowed = self.allowed_updates
        for update in self._pending:
            if len(batch) >= limit:
                break
            if allowed is not None and not any(kind in update for kind in allowed):
                self._delivered.add(update["update_id"])  # Telegram never sends these
                continue
            batch.append(copy.deepcopy(update))
        return batch

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._delivered.update(u["update_id"] for u in self._pending)
            self._pending.clear()
        self.webhook = None
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        """Push updates to ``url`` from now on (an empty one removes the webhook, as on
        Telegram); the call is recorded like any other, so tests count them."""
        url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._delete_webhook({"drop_pending_updates": True})
        if not url:
            self.webhook = None
            return True
        if not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = params["allowed_updates"] or None
        self.webhook = {"url": url, "secret_token": secret}
        self._notify()  # wakes the delivery
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": self._undelivered_count(),
        }

    # -- webhook delivery ----------------------------------------------------------------------

    async def _deliver_to_webhook(self) -> None:
        """While a webhook is set, POST each undelivered update to it, oldest first; one the
        bot does not take (no answer, or not 2xx) is tried again shortly, as Telegram does."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while not self._closing:
                changed = self._changed
                update = self._next_for_webhook() if self.webhook is not None else None
                if update is None:
                    await changed.wait()
                    continue
                if not await self._post_to_webhook(session, update):
                    await asyncio.sleep(0.05)

    @property
    def webhook_held(self) -> bool:
        """While True the webhook gets nothing in order: a test posts the queued updates
        itself, several at once, with deliver_at_once (then sets it back to False)."""
        return self._webhook_held

    @webhook_held.setter
    def webhook_held(self, held: bool) -> None:
        self._webhook_held = held
        self._notify()

    async def deliver_at_once(
        self, routes: Sequence[tuple[dict[str, Any], str]]
    ) -> list[int | None]:
        """POST each queued update to the URL given with it, all at the same moment (as
        Telegram may post a user's two updates to two processes behind one address); each
        HTTP status, None without an answer. One taken (2xx) is delivered; one that is not stays
        queued for the ordinary, one-at-a-time delivery. Hold that first (`webhook_held`), or
        it may post the same updates meanwhile."""
        assert self.webhook is not None, "no webhook is set"
        headers = {}
        if self.webhook["secret_token"] is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])

        async def post(session: aiohttp.ClientSession, update: dict[str, Any], url: str) -> Any:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with session.post(url, json=update, headers=headers) as answer:
                    return answer.status
            return None

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            statuses = await asyncio.gather(*(post(session, u, url) for u, url in routes))
        for (update, url), status in zip(routes, statuses, strict=True):
            self.webhook_deliveries.append(WebhookDelivery(update["update_id"], url, status))
            if status is not None and 200 <= status < 300:
                self._delivered.add(update["update_id"])
                self._pending = [u for u in self._pending if u["update_id"] != update["update_id"]]
        self._touch()
        self._notify()
        return list(statuses)

    def _next_for_webhook(self) -> dict[str, Any] | None:
        if self.webhook_held:
            return None
        if self._redeliver:
            return self._redeliver[0]
        for update in list(self._pending):
            if update["update_id"] in self._delivered:
                continue
            allowed = self.allowed_updates
            if allowed is not None and not any(kind in update for kind in allowed):
                self._delivered.add(update["update_id"])  # Telegram never sends these
                self._pending.remove(update)
                continue
            return update
        return None

    async def _post_to_webhook(
        self, session: aiohttp.ClientSession, update: dict[str, Any]
    ) -> bool:
        assert self.webhook is not None
        url = self.webhook["url"]
        if self.webhook_targets:
            url = self.webhook_targets[self._next_target % len(self.webhook_targets)]
            self._next_target += 1
        headers = {}
        if self.webhook["secret_token"] is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
        status: int | None = None
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
            async with session.post(url, json=update, headers=headers) as answer:
                status = answer.status
        self.webhook_deliveries.append(WebhookDelivery(update["update_id"], url, status))
        taken = status is not None and 200 <= status < 300
        if taken:
            if self._redeliver and self._redeliver[0] is update:
                self._redeliver.pop(0)
            else:
                self._delivered.add(update["update_id"])
                self._pending = [u for u in self._pending if u is not update]
            self._touch()
        self._notify()
        return taken

    # -- commands & settings -------------------------------------------------------------------

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand")
            if not _COMMAND_NAME_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return self.commands.get(key, [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self.commands.pop(key, None)
        return True

    def _set_setting(self, name: str, params: dict[str, Any]) -> bool:
        self.bot_settings[f"{name}:{params.get('language_code') or ''}"] = params.get(name) or ""
        return True

    def _get_setting(self, name: str, params: dict[str, Any]) -> dict[str, str]:
        value = self.bot_settings.get(f"{name}:{params.get('language_code') or ''}", "")
        return {name: value}

    # -- chats & messages ----------------------------------------------------------------------

    def _require_chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"chat {chat_id} unknown: create it with server.user({chat_id})")
        return chat

    def _target_chat(self, params: dict[str, Any], *, check_blocked: bool = True) -> _Chat:
        """The chat a request addresses; 400 if never started, 403 if the user blocked us."""
        if params.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        chat_id = self._call_chat_id("", params)
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        if check_blocked and chat.blocked:
            raise ApiError(403, BLOCKED)
        return chat

    def _new_message(self, chat: _Chat, *, from_bot: bool, **fields: Any) -> FakeMessage:
        msg = FakeMessage(
            chat_id=chat.user.chat_id,
            message_id=chat.next_message_id,
            from_bot=from_bot,
            date=self.now(),
            sender=self._bot_sender() if from_bot else chat.user.to_api(),
            chat=chat.user.chat_api(),
            **fields,
        )
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        return msg

    def _bot_sender(self) -> dict[str, Any]:
        """The bot as the ``from`` of its messages (Telegram omits the getMe-only flags)."""
        keys = ("id", "is_bot", "first_name", "username")
        return {key: self.bot_user[key] for key in keys}

    def _add_user_message(
        self, user: FakeUser, *, reply_to: FakeMessage | None, **fields: Any
    ) -> FakeMessage:
        """Called by FakeUser: store a message the user sends."""
        chat = self._require_chat(user.chat_id)
        return self._new_message(
            chat,
            from_bot=False,
            reply_to=reply_to,
            reply_to_message_id=reply_to.message_id if reply_to else None,
            **fields,
        )

    def _new_file(
        self,
        content: bytes,
        folder: str,
        suffix: str,
        file_name: str | None,
        mime_type: str | None,
    ) -> FakeFile:
        number = self._next_file
        self._next_file += 1
        file = FakeFile(
            file_id=f"BQACAgIAAxkBFAKE{number:06d}",
            file_unique_id=f"AgADFAKE{number:04d}",
            content=content,
            file_path=f"{folder}/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[file.file_id] = file
        return file

    def _new_callback_id(self) -> str:
        number = self._next_callback
        self._next_callback += 1
        return f"{4_000_000_000_000 + number}"

    def _reply_target(self, chat: _Chat, params: dict[str, Any]) -> FakeMessage | None:
        reply = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply"))
        message_id: Any = None
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply", allow))
            other_chat = reply.get("chat_id")
            if other_chat not in (None, chat.user.chat_id):
                raise bad_request("message to be replied not found")
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
        if message_id is None:
            return None
        target = chat.messages.get(int(message_id))
        if target is None or target.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return target

    def _format(
        self, text: str, params: dict[str, Any], entities_key: str
    ) -> tuple[str, list[dict[str, Any]]]:
        return format_text(
            text,
            params.get("parse_mode"),
            params.get(entities_key),
            strict_entities=self.strict_entities,
        )

    def _checked_text(self, params: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
        text = params.get("text")
        if text is None or str(text) == "":
            raise bad_request("message text is empty")
        plain, entities = self._format(str(text), params, "entities")
        if not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return str(text), plain, entities

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        text, plain, entities = self._checked_text(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        msg = self._new_message(
            chat,
            from_bot=True,
            text=text,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to.message_id if reply_to else None,
            reply_to=reply_to,
            api_text=plain,
            entities=entities,
        )
        return msg.to_api()

    def _editable(self, params: dict[str, Any]) -> FakeMessage:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        msg = chat.messages.get(int(message_id)) if message_id is not None else None
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(params)
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        text, plain, entities = self._checked_text(params)
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = _inline_markup(validate_reply_markup(params.get("reply_markup")))
        if (
            plain == msg.api_text
            and entities == msg.entities
            and markup == _inline_markup(msg.reply_markup)
        ):
            raise bad_request(NOT_MODIFIED)
        if text != msg.text:
            msg.edit_history.append(msg.text)
        msg.text = text
        msg.parse_mode = params.get("parse_mode")
        msg.api_text = plain
        msg.entities = entities
        msg.reply_markup = markup
        msg.edit_date = self.now()
        return msg.to_api()

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(params)
        markup = _inline_markup(validate_reply_markup(params.get("reply_markup")))
        if markup == _inline_markup(msg.reply_markup):
            raise bad_request(NOT_MODIFIED)
        msg.reply_markup = markup
        msg.edit_date = self.now()
        return msg.to_api()

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params, check_blocked=False)
        message_id = params.get("message_id")
        msg = chat.messages.get(int(message_id)) if message_id is not None else None
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        msg.deleted = True
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        record = self.callback_queries.get(str(params.get("callback_query_id", "")))
        if record is None or record.answered:
            raise bad_request(QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        return True

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        document = params.get("document")
        if isinstance(document, UploadedFile):
            if not document.content:
                raise bad_request("file must be non-empty")
            name = document.filename or "document"
            suffix = "." + name.rsplit(".", 1)[1] if "." in name else ""
            file = self._new_file(
                document.content, "documents", suffix, name, document.content_type
            )
        elif isinstance(document, str) and document in self.files:
            file = self.files[document]
        elif document in (None, ""):
            raise bad_request("there is no document in the request")
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        caption = params.get("caption")
        plain_caption: str | None = None
        caption_entities: list[dict[str, Any]] = []
        if caption not in (None, ""):
            caption = str(caption)
            plain_caption, caption_entities = self._format(caption, params, "caption_entities")
            if utf16_len(plain_caption) > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
        else:
            caption = None
        markup = validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        doc_api: dict[str, Any] = {
            "file_name": file.file_name,
            "mime_type": file.mime_type or "application/octet-stream",
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(file.content),
        }
        msg = self._new_message(
            chat,
            from_bot=True,
            text=None,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to.message_id if reply_to else None,
            reply_to=reply_to,
            document=doc_api,
            caption=caption,
            api_caption=plain_caption,
            caption_entities=caption_entities,
        )
        return msg.to_api()

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        """An uploaded PNG or JPEG (Telegram refuses what is not an image); the bytes are kept
        in ``files`` and the message's ``photo`` has the size read from the image."""
        chat = self._target_chat(params)
        photo = params.get("photo")
        if not isinstance(photo, UploadedFile) or not photo.content:
            raise bad_request("there is no photo in the request")
        width, height = _image_size(photo.content)
        file = self._new_file(photo.content, "photos", ".jpg", None, "image/jpeg")
        caption = params.get("caption")
        plain_caption, caption_entities = None, []
        if caption not in (None, ""):
            caption = str(caption)
            plain_caption, caption_entities = self._format(caption, params, "caption_entities")
            if utf16_len(plain_caption) > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
        else:
            caption = None
        size = {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(file.content),
            "width": width,
            "height": height,
        }
        msg = self._new_message(
            chat,
            from_bot=True,
            text=None,
            parse_mode=params.get("parse_mode"),
            reply_markup=validate_reply_markup(params.get("reply_markup")),
            photo=[size],
            caption=caption,
            api_caption=plain_caption,
            caption_entities=caption_entities,
        )
        return msg.to_api()

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file = self.files.get(str(params.get("file_id", "")))
        if file is None:
            raise bad_request("invalid file_id")
        return file.to_api()

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True


def _image_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG (its IHDR) or JPEG (its first SOF marker); anything else is
    refused as Telegram does."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and content[12:16] == b"IHDR":
        width, height = struct.unpack(">II", content[16:24])
        return width, height
    if content[:2] == b"\xff\xd8":
        index = 2
        while index + 9 < len(content):
            marker, length = (
                content[index + 1],
                struct.unpack(">H", content[index + 2 : index + 4])[0],
            )
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", content[index + 5 : index + 9])
                return width, height
            index += 2 + length
    raise bad_request("IMAGE_PROCESS_FAILED")
