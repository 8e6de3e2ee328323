"""Panel edits that never queue: one sender per panel message, later taps folded into one edit.

A trainer taps faster than Telegram edits a message (about one a second per chat is what it
tolerates). The tap itself is answered at once, after its commit; the panel's edit leaves the
handler, so the trainer's next update does not wait for it. An edit goes out at once when none
for that panel is in flight; taps that arrive meanwhile only replace the "next state" of that
panel, and a single follow-up edit shows the latest state when the in-flight one is done. So a
fast thumb never queues a stream of edits (which Telegram would answer with 429s), and the usual
tap-edit-tap rhythm is never delayed.

The state shown is rendered by the handler right after its commit, and one trainer's updates are
handled in order (handlers/update_order.py), so the latest state submitted is the newest one.

With several bot processes on one database, a trainer's next tap may reach another process while
this one's edit of the panel is still on its way, and the two edits could reach Telegram in
either order. So the trainer's lock in the database is held until this process's edits in their
chat are done (`settled`, used by handlers/update_order.py): another process's update for them
waits that long; one reaching this process goes on at once and folds in as above.

An edit nobody tapped for (the lease sweeper's "time ran out") takes the same turn: `unprompted`
is skipped while an edit of that panel is in flight (its trainer is there; their edit shows the
newer state), is rendered right before its request with the panel held (or dropped if no longer
true), and goes out paced with the bulk sends. A tap meanwhile, however long the bulk budget
keeps the request waiting, folds in after it, so the note never lands on top of a newer state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from handlers.sending import BULK

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
PANEL_EDITS_KEY = "panel_edits"  # bot_data


@dataclass(frozen=True, slots=True)
class PanelState:
    """What a panel message should show: its text (None: keep the text) and its buttons."""

    text: str | None
    markup: InlineKeyboardMarkup | None
    bulk: bool = False  # nobody's reply: paced with the bulk sends (`rate_limit_args=BULK`)


class PanelEdits:
    """The panel senders of one Application; see the module docstring."""

    def __init__(self, application: Application) -> None:
        self._application = application
        self._in_flight: set[tuple[int, int]] = set()
        self._next: dict[tuple[int, int], PanelState] = {}
        self._tasks: set[asyncio.Task] = set()
        self._done = asyncio.Event()  # set (and cleared again) whenever an edit finishes

    @classmethod
    def of(cls, application: Application) -> PanelEdits:
        """The Application's panel senders, made on first use."""
        edits = application.bot_data.get(PANEL_EDITS_KEY)
        if edits is None:
            edits = application.bot_data[PANEL_EDITS_KEY] = cls(application)
        return edits

    def show(self, chat_id: int, message_id: int, state: PanelState) -> None:
        """Make the panel show `state`: now, or right after the edit in flight for it."""
        key = (chat_id, message_id)
        if key in self._in_flight:
            pending = self._next.get(key)
            if state.text is None and pending is not None:
                # Buttons only (the skip menu): keep the newer text already waiting.
                state = PanelState(pending.text, state.markup)
            self._next[key] = state  # folded: only the latest state is sent
            return
        self._in_flight.add(key)
        # While the bot runs, the Application's task: `Application.stop()` waits for it, so a
        # stop never leaves a panel showing an older state than what was saved.
        coroutine, name = self._send(key, state), f"panel-{message_id}"
        if getattr(self._application, "running", False):
            task = self._application.create_task(coroutine, name=name)
        else:  # an update finishing while the bot stops
            task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def unprompted(
        self,
        chat_id: int,
        message_id: int,
        state_now: Callable[[], Awaitable[PanelState | None]],
    ) -> bool:
        """Show a state no tap asked for, in the panel's own order, and wait for it: not while
        an edit of the panel is in flight; `state_now()` renders it with the panel held, right
        before the request (None: no longer true, nothing sent), and taps meanwhile are shown
        after it. Whether it was sent; a failed request raises (TelegramError), and the taps'
        states still go out."""
        key = (chat_id, message_id)
        if key in self._in_flight:
            return False
        self._in_flight.add(key)
        try:
            state = await state_now()
            if state is None:
                return False
            await self._request(key, state)
            return True
        finally:
            self._in_flight.discard(key)
            following = self._next.pop(key, None)
            if following is not None:
                self.show(chat_id, message_id, following)
            self._finished()

    def idle(self) -> bool:
        """Whether no edit of any panel is on its way (the e2e tests' idle check)."""
        return not self._tasks

    def busy(self, chat_id: int) -> bool:
        """Whether an edit of a panel in `chat_id` is on its way."""
        return any(key[0] == chat_id for key in self._in_flight)

    async def settled(self, chat_id: int) -> None:
        """Until no edit of a panel in `chat_id` is on its way (its follow-ups included)."""
        while self.busy(chat_id):
            done = self._done
            await done.wait()

    def _finished(self) -> None:
        done, self._done = self._done, asyncio.Event()
        done.set()

    async def drain(self) -> None:
        """Wait until every panel shows its latest state."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _send(self, key: tuple[int, int], state: PanelState) -> None:
        try:
            while True:
                await self._edit(key, state)
                following = self._next.pop(key, None)
                if following is None:
                    return
                state = following
        finally:
            self._in_flight.discard(key)
            self._next.pop(key, None)  # left by an unexpected error: never send it later
            self._finished()

    async def _request(self, key: tuple[int, int], state: PanelState) -> None:
        chat_id, message_id = key
        bot = self._application.bot
        paced = BULK if state.bulk else None
        if state.text is None:
            await bot.edit_message_reply_markup(
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=state.markup,
                rate_limit_args=paced,
            )
        else:
            await bot.edit_message_text(
                state.text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=state.markup,
                link_preview_options=NO_PREVIEW,
                rate_limit_args=paced,
            )

    async def _edit(self, key: tuple[int, int], state: PanelState) -> None:
        chat_id, message_id = key
        try:
            await self._request(key, state)
        except BadRequest as error:
            # "message is not modified" (a repeated tap) or a message too old to edit: the
            # state is saved, so the trainer loses nothing.
            log.debug("panel %s not edited: %s", message_id, error)
        except TelegramError as error:
            # The Bot API is down or slow (the rate limiter already honoured any 429): the
            # state is saved and the next tap or /next shows it again.
            log.warning("panel %s in chat %s not edited: %s", message_id, chat_id, error)
