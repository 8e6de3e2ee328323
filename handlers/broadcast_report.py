"""The coordinator's one report message per broadcast.

It is sent when sending starts and edited as the sends go, at most once a second (what one
private chat tolerates, edits included); its last edit is the final report, so a broadcast ends
in one message, not a progress message followed by a summary. After a restart the same message
(its id is stored with the broadcast) goes on being edited. Only a crash adds a message of its
own: the notice of the sends it left in doubt, which must be seen, not folded into an old message.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.broadcasting import Broadcast, Broadcasting, DeliveryCounts
from bot.formatting import number
from bot.i18n import Html, t

log = logging.getLogger(__name__)

EDIT_EVERY_SECONDS = 1.0
_GONE = "message to edit not found"  # the coordinator deleted the report: a new one is sent


class BroadcastReport:
    """The report message of one broadcast, shown in its coordinator's language."""

    def __init__(self, bot: Bot, service: Broadcasting, broadcast: Broadcast):
        self.bot = bot
        self.service = service
        self.broadcast = broadcast
        self.language = broadcast.report_language
        self.message_id = broadcast.report_message_id
        self.shown = ""
        # When the last send or edit was answered (monotonic), or was made, while it is on its way
        self.last = -EDIT_EVERY_SECONDS

    def wait_left(self) -> float:
        """Seconds until the message may be edited again: a second after the last request was
        answered. Counted from the answer, not from when the request was made, because only the
        answer says it has reached Telegram: a request waits behind the sends in flight (over a
        hundred at a high BROADCAST_RATE, all at once when a 429's pause ends), and an edit
        held up that way and the next one, timed from when the first was made, would reach the
        chat in quick succession."""
        return max(0.0, self.last + EDIT_EVERY_SECONDS - time.monotonic())

    async def progress(self, counts: DeliveryCounts) -> None:
        """Show the counts so far (the caller keeps to one edit a second: see `wait_left`)."""
        await self._show(
            t(self.language, "broadcast.progress", what=self._what(), counts=self._line(counts))
        )

    async def paused(self, counts: DeliveryCounts) -> None:
        """The bot stops with recipients left: they are sent after the restart."""
        await self._final(
            t(self.language, "broadcast.paused", what=self._what(), counts=self._line(counts))
        )

    async def finished(self, counts: DeliveryCounts) -> None:
        """The final report: who received it, who blocked the bot, what failed."""
        language = self.language
        if counts.total == 0:
            await self._final(t(language, "broadcast.nobody", what=self._what()))
            return
        text = t(
            language,
            "broadcast.finished",
            what=self._what(),
            sent=number(counts.sent, language),
            total=number(counts.total, language),
            blocked=number(counts.blocked, language),
            failed=number(counts.failed, language),
        )
        await self._final(text)

    async def unconfirmed(self, count: int) -> None:
        """Say (in a message of its own) how many may have missed it because of a crash, and why."""
        text = t(
            self.language,
            "broadcast.unconfirmed",
            what=self._what(),
            count=count,
        )
        try:
            await self._send(text)
        except TelegramError as error:
            log.warning("broadcast %s: crash notice not sent: %s", self.broadcast.id, error)

    def _what(self) -> Html:
        broadcast = self.broadcast
        if broadcast.kind == "batch":
            name = broadcast.batch_name or str(broadcast.batch_id)
            return Html(t(self.language, "broadcast.what_batch", name=name))
        return Html(t(self.language, "broadcast.what_text"))

    def _line(self, counts: DeliveryCounts) -> Html:
        language = self.language
        return Html(
            t(
                language,
                "broadcast.counts",
                sent=number(counts.sent, language),
                blocked=number(counts.blocked, language),
                failed=number(counts.failed, language),
                left=number(counts.left, language),
            )
        )

    async def _final(self, text: str) -> None:
        """The last edit: a second after the one before, so it is not refused as too fast."""
        wait = self.wait_left()
        if wait and self.message_id is not None:
            await asyncio.sleep(wait)
        await self._show(text)

    async def _show(self, text: str) -> None:
        if text == self.shown:
            return
        self.shown, self.last = text, time.monotonic()  # no other edit starts meanwhile
        try:
            if self.message_id is not None:
                try:
                    await self.bot.edit_message_text(
                        text,
                        chat_id=self.broadcast.report_chat_id,
                        message_id=self.message_id,
                        parse_mode=ParseMode.HTML,
                    )
                    return
                except BadRequest as error:
                    if _GONE not in str(error).lower():
                        raise
            message = await self._send(text)
            self.message_id = message.message_id
            await self.service.set_report_message(self.broadcast.id, message.message_id)
        except TelegramError as error:  # the coordinator's chat must not stop the broadcast
            log.warning("broadcast %s: report not shown: %s", self.broadcast.id, error)
        finally:
            self.last = time.monotonic()  # a second from here: see `wait_left`

    async def _send(self, text: str) -> Message:
        return await self.bot.send_message(
            self.broadcast.report_chat_id, text, parse_mode=ParseMode.HTML
        )
