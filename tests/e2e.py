"""Running the real Nilai Application against the fake Bot API, and acting as its users."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from telegram import Update

from bot.app import build_application, on_start, open_database
from bot.batches import import_batch_file
from bot.config import Settings
from bot.onboarding import Onboarding
from bot.webhook import webhook_arguments
from handlers.callback_data import Action, decode, encode
from handlers.panel_edits import PanelEdits
from storage.database import Database
from tests.conftest import FakeClock
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

BUTTON_WAIT_SECONDS = 5.0
# Jobs that run every minute and act on the (fake) clock: a test that moves the clock past 19:00
# would otherwise get reminders, summaries or swept leases whenever the job happened to fire.
# They are paused in tests; a test of one runs it by hand (`job.run(app)`) at the moment it sets.
PER_MINUTE_JOBS = ("daily-sends", "lease-sweeper", "batch-events", "quality-notices")
WEBHOOK_SECRET = "nilai-test-webhook-secret_0123456789"


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningBot:
    """The real Application (composition root, handlers, jobs) polling the fake server.

    It opens `settings.database_target`: PostgreSQL when the settings carry a `database_url`
    (the `settings` fixture does in a test parametrised on `backend`), else the SQLite file;
    several RunningBots on one PostgreSQL database are several bot processes.

    With `webhook=True` it serves PTB's webhook on 127.0.0.1 at a free port instead, and the
    fake server posts the updates there once the webhook is set. Its WEBHOOK_URL is that
    address unless `webhook_url` names another (the address of a bot already running, for
    several bots with the same settings behind one URL, as behind a load balancer).
    """

    def __init__(
        self,
        api: FakeBotApi,
        settings: Settings,
        clock: FakeClock,
        *,
        webhook: bool = False,
        webhook_url: str | None = None,
    ):
        self.api = api
        self.settings = replace(
            settings,
            telegram_bot_token=api.token,
            telegram_api_base_url=api.base_url,
            telegram_api_file_url=api.file_url,
        )
        if webhook:
            port = free_port()
            self.settings = replace(
                self.settings,
                webhook_url=webhook_url or f"http://127.0.0.1:{port}/nilai/hook",
                webhook_listen="127.0.0.1",
                webhook_port=port,
                webhook_secret=WEBHOOK_SECRET,
            )
        self.clock = clock
        self.db: Database | None = None
        self.app: Any = None

    async def start(self) -> None:
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            os.environ.pop(proxy, None)  # nothing may route 127.0.0.1 elsewhere
        self.db = await open_database(self.settings)
        self.app = build_application(self.settings, self.db, clock=self.clock)
        for name in PER_MINUTE_JOBS:
            for job in self.app.job_queue.get_jobs_by_name(name):
                job.enabled = False
        await self.app.initialize()
        await on_start(self.app)
        await self.app.start()
        self.api.busy_probes.append(self.busy)
        if self.settings.webhook_url is not None:
            await self.app.updater.start_webhook(**webhook_arguments(self.settings))
        else:
            await self.app.updater.start_polling(
                timeout=1, poll_interval=0, allowed_updates=Update.ALL_TYPES
            )

    def busy(self) -> bool:
        """Whether this bot is still handling something: an update fetched and not handled
        to its end, or a panel edit on its way (FakeBotApi.wait_idle asks)."""
        app = self.app
        if app is None or not app.running:
            return False
        return (
            app.update_queue.qsize() > 0
            or app.update_processor.current_concurrent_updates > 0
            or not PanelEdits.of(app).idle()
        )

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.api.busy_probes.remove(self.busy)
        if self.app is not None:
            if self.app.updater.running:
                await self.app.updater.stop()
            if self.app.running:
                await self.app.stop()
            await self.app.post_stop(self.app)  # as run_polling does
            await self.app.shutdown()
            self.app = None
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def restart(self) -> None:
        """A new Application on the same database file, as after a crash and restart."""
        await self.stop()
        await self.start()

    @property
    def database(self) -> Database:
        assert self.db is not None
        return self.db

    async def invite(self, role: str = "trainer", uses: int = 5) -> str:
        onboarding = Onboarding(self.database, self.settings, self.clock)
        return (await onboarding.create_invite(role=role, uses=uses)).code

    async def import_file(self, path: Path, name: str = "pilot", overlap: int = 2) -> None:
        await import_batch_file(
            self.database, self.settings, path, name=name, overlap=overlap, clock=self.clock
        )

    async def count(self, sql: str, *params: Any) -> int:
        return await self.database.fetchval(sql, params)

    async def onboard(self, user: FakeUser, *, agree: bool = True) -> FakeMessage:
        """Registers `user` through an invite link, as a trainer would, and (unless `agree` is
        False) taps "I agree" under the privacy notice; the welcome message."""
        code = await self.invite()
        await user.send(f"/start {code}")
        welcome = await user.wait_bot_message()
        if agree:  # a coordinator's welcome has no notice: they agree through /privacy
            await self.agree(user, welcome if _has_consent_button(welcome) else None)
        return self.api.message(user.chat_id, welcome.message_id)

    async def agree(self, user: FakeUser, notice: FakeMessage | None = None) -> None:
        """Tap "I agree" under a privacy notice (without one, ask for it with /privacy first)
        and wait until the agreement is recorded and the message says so."""
        if notice is None:
            since = self.api.mark()
            await user.send("/privacy")
            notice = await user.wait_bot_message(since=since)
        await agree_under(self.api, user, notice)

    async def next_item(self, user: FakeUser) -> FakeMessage:
        """/next, then the message with the rating buttons (the item's last part)."""
        since = self.api.mark()
        await user.send("/next")
        return await self.wait_panel(user, since)

    async def wait_panel(self, user: FakeUser, since: int) -> FakeMessage:
        call = await self.api.wait_for_call(
            "sendMessage",
            lambda c: c.ok and c.chat_id == user.chat_id and _has_score_buttons(c.params),
            since=since,
        )
        return self.api.message(user.chat_id, call.result["message_id"])


def _has_score_buttons(params: dict[str, Any]) -> bool:
    markup = params.get("reply_markup") or {}
    return any(
        button.get("callback_data", "")[:2] == "1u"
        for row in markup.get("inline_keyboard", [])
        for button in row
    )


def _has_consent_button(message: FakeMessage) -> bool:
    return any(
        button.get("callback_data", "").startswith("1a:")
        for row in message.buttons()
        for button in row
    )


async def agree_under(
    api: FakeBotApi,
    user: FakeUser,
    notice: FakeMessage,
    timeout: float = 5.0,  # noqa: ASYNC109 - a deadline, not cancellation
) -> None:
    """Tap "I agree" under `notice` and wait until the message says the agreement is recorded
    (for tests that register users with their own /start)."""
    data = consent_data(notice)
    since = api.mark()
    await user.tap(notice, data=data)
    await api.wait_for_call(
        "editMessageText",
        lambda c: c.chat_id == user.chat_id and c.params.get("message_id") == notice.message_id,
        since=since,
        timeout=timeout,
    )


def consent_data(notice: FakeMessage) -> str:
    """The callback data of the "I agree" button under a privacy notice."""
    for row in notice.buttons():
        for button in row:
            if button.get("callback_data", "").startswith("1a:"):
                return button["callback_data"]
    raise AssertionError("no 'I agree' button on this message")


def assignment_of(panel: FakeMessage) -> int:
    """The assignment id behind a panel's buttons."""
    for row in panel.buttons():
        for button in row:
            callback = decode(button["callback_data"])
            if callback.assignment_id is not None:
                return callback.assignment_id
    raise AssertionError("no assignment buttons on this message")


async def tap_action(user: FakeUser, panel: FakeMessage, action: Action, *args: int) -> dict:
    """Tap the button that does `action` (asserting it is shown); returns the update.

    Panel edits leave the handler (handlers/panel_edits.py), so on a busy machine the edit
    bringing this button can still be on its way: it is waited for, a few seconds at most.
    """
    data = encode(action, assignment_of(panel), *args)
    deadline = asyncio.get_running_loop().time() + BUTTON_WAIT_SECONDS
    while True:
        shown = [b["callback_data"] for row in panel.buttons() for b in row]
        if data in shown or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.01)
    assert data in shown, f"{data!r} is not among the buttons {shown}"
    return await user.tap(panel, data=data)


async def answered(api: FakeBotApi, update: dict, wait: float = 5.0) -> str:
    """Wait until the tap in `update` is answered; the toast text."""
    query_id = update["callback_query"]["id"]
    call = await api.wait_for_call(
        "answerCallbackQuery",
        lambda c: c.params.get("callback_query_id") == query_id,
        timeout=wait,
    )
    return call.params.get("text", "")
