"""Broadcasts: batch announcements and /announce, paced, resumable, with a live progress report.

Pacing. Every announcement is a bulk send (`handlers.sending.send_bulk_message`): the bot's
rate limiter paces all bulk sends together at `settings.broadcast_rate` (Telegram's guidance for
notifying many users), while trainers' interactive traffic is never paced. A broadcast claims
recipients in small pages (`claim_size(rate)`, a tenth of a second's worth) and hands them to its
`concurrency(rate)` senders at the same rate, so a recipient is claimed only just before its send
and does not wait in the rate limiter holding its claim: a crash leaves in doubt only the sends
really in flight and a page or two around them (see `bot/broadcasting.py`). The coordinator's
report is one message, edited at most once a second as sends go; its last edit is the final
report (`handlers/broadcast_report.py`).

/announce first shows a preview with Send / Cancel. The draft is stored (it survives a restart)
and decided once: Send creates the broadcast in the same transaction that marks the draft sent,
so a second tap, a redelivered one or another coordinator's sends nothing more.

Sending runs as a task of the Application (`create_task`), so a handler returns at once and
`Application.stop()` waits for it: on stop the sender finishes the sends in flight, records them
and puts the unsent claimed rows back to pending, so a restart continues exactly where it
stopped. After a crash (the process killed, the machine down) the rows still `sending` are
the messages that were on their way: they may or may not have arrived, and Telegram cannot tell.
The sender that resumes tells the coordinator how many and why, then gives them up (at-most-once,
see `bot/broadcasting.py`) and goes on with the rest.

Only the leader sends (handlers/leadership.py), so BROADCAST_RATE holds for the whole bot when
several processes share a PostgreSQL database: a broadcast decided on another process is stored
as always and the leader picks it up (`pick_up_broadcasts`, the resume path). The one SQLite
process always leads, so there a broadcast starts at once. A leader that loses its lock while
alive stops claiming within one claim (`PacedSends`), puts its unsent claims back and leaves
the broadcast, and its report, to the new leader's resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.broadcasting import (
    Broadcast,
    Delivery,
    DeliveryCounts,
    DraftDecision,
    DraftOutcome,
    Outcome,
    Recipient,
)
from bot.formatting import number
from bot.i18n import Html, t, t_plain
from bot.services import Services
from handlers.broadcast_report import BroadcastReport
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import SERVICES_KEY, NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.leadership import Leadership
from handlers.paced_sends import PacedSends
from handlers.render import start_reviewing_keyboard
from handlers.sending import answer_tap, send_bulk_message

log = logging.getLogger(__name__)

MAX_ANNOUNCEMENT = 3800  # UTF-16 units, leaving room for the header within Telegram's 4096
_RUNNING = "broadcasts.running"  # bot_data: broadcast id -> its sending task
CANCEL, SEND = 0, 1  # the choice carried by an Action.ANNOUNCE button
# What a tap on the preview leaves there, and what its toast says.
_PREVIEW_AFTER = {
    DraftOutcome.SENT: "broadcast_draft.sent",
    DraftOutcome.ALREADY_SENT: "broadcast_draft.sent",
    DraftOutcome.CANCELLED: "broadcast_draft.cancelled",
    DraftOutcome.ALREADY_CANCELLED: "broadcast_draft.cancelled",
}


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("announce", announce_command, filters=private),
        CallbackQueryHandler(announce_button, pattern=rf"^1{Action.ANNOUNCE.value}:"),
    ]


@coordinators_only
async def announce_command(update: Update, context: NilaiContext) -> None:
    """Shows the coordinator's message as trainers will see it, with Send / Cancel."""
    message, trainer = update.message, context.trainer
    assert message is not None and trainer is not None
    language = trainer.language
    parts = (message.text or "").split(None, 1)
    text = parts[1].strip() if len(parts) == 2 else ""
    if not text:
        await message.reply_html(t(language, "broadcast.usage"))
        return
    length = len(text.encode("utf-16-le")) // 2
    if length > MAX_ANNOUNCEMENT:
        limit = number(MAX_ANNOUNCEMENT, language)
        await message.reply_html(
            t(language, "broadcast.too_long", length=number(length, language), limit=limit)
        )
        return
    service = context.services.broadcasts
    recipients = await service.recipients(trainer.user_id)
    if recipients == 0:
        await message.reply_html(t(language, "broadcast_draft.nobody"))
        return
    draft_id = await service.save_draft(text, trainer.user_id, message.chat_id)
    buttons = [
        _button(language, "broadcast_button.send", draft_id, SEND),
        _button(language, "broadcast_button.cancel", draft_id, CANCEL),
    ]
    preview = t(
        language,
        "broadcast_draft.preview",
        message=_as_trainers_see_it(language, text),
        count=recipients,
    )
    await message.reply_html(preview, reply_markup=InlineKeyboardMarkup([buttons]))


@coordinators_only
async def announce_button(update: Update, context: NilaiContext) -> None:
    """Send or Cancel under a preview: decided once, then the preview says which."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    language = trainer.language
    try:
        draft_id, choice = decode(query.data).args
        if choice not in (CANCEL, SEND):
            raise InvalidCallbackData(query.data or "")
    except InvalidCallbackData:
        await answer_tap(query, t_plain(language, "broadcast_toast.invalid"))
        return
    decision = await context.services.broadcasts.decide_draft(
        draft_id, trainer.user_id, send=choice == SEND
    )
    alert = decision.outcome in (DraftOutcome.NOT_YOURS, DraftOutcome.UNKNOWN)
    toast = t_plain(language, f"broadcast_toast.{decision.outcome.value}")
    await answer_tap(query, toast, show_alert=alert)
    if decision.outcome is DraftOutcome.SENT and decision.broadcast_id is not None:
        # A crash before: resumed at start (or by the leader, on another process)
        await _start_on_leader(context.application, decision.broadcast_id)
    await _close_preview(query, language, decision)


def _as_trainers_see_it(language: str, text: str) -> Html:
    return Html(t(language, "broadcast.announcement", text=text))


def _button(language: str, key: str, draft_id: int, choice: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        t_plain(language, key), callback_data=encode(Action.ANNOUNCE, draft_id, choice)
    )


async def _close_preview(query: CallbackQuery, language: str, decision: DraftDecision) -> None:
    """The preview without its buttons, saying whether it went out (also on a repeated tap,
    in case the first edit was lost)."""
    key = _PREVIEW_AFTER.get(decision.outcome)
    if key is None or not isinstance(query.message, Message):
        return
    text = t(language, key, message=_as_trainers_see_it(language, decision.text))
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML)
    except TelegramError as error:  # unchanged (a repeated tap) or gone: nothing to fix
        log.debug("announce preview not edited: %s", error)


async def start_batch_broadcast(
    application: Application, batch_id: int, coordinator_id: int, report_chat_id: int
) -> None:
    """Announce an opened batch to every active trainer, reporting progress to the coordinator."""
    services: Services = application.bot_data[SERVICES_KEY]
    broadcast = await services.broadcasts.announce_batch(batch_id, coordinator_id, report_chat_id)
    if broadcast is None:
        log.warning("batch %s does not exist: nothing to announce", batch_id)
    elif not broadcast.done:
        await _start_on_leader(application, broadcast.id)


async def resume_broadcasts(application: Application) -> None:
    """Continue broadcasts a crash or restart interrupted (called at every start)."""
    services: Services = application.bot_data[SERVICES_KEY]
    running = application.bot_data.setdefault(_RUNNING, {})
    for broadcast_id in await services.broadcasts.unfinished():
        if broadcast_id in running:
            continue
        log.info("resuming broadcast %s", broadcast_id)
        _launch(application, broadcast_id)


async def pick_up_broadcasts(context: NilaiContext) -> None:
    """The leader's `broadcast-pickup` job (PostgreSQL only): start the broadcasts that other
    processes stored, as the resume at start does."""
    await resume_broadcasts(context.application)


async def _start_on_leader(application: Application, broadcast_id: int) -> None:
    """Send it from here if this process leads (the one SQLite process always does); else the
    leader picks it up within `leadership.PICKUP_SECONDS`."""
    if await Leadership.of(application).check():
        _launch(application, broadcast_id)
    else:
        log.info("broadcast %s stored: the leading process sends it", broadcast_id)


def _launch(application: Application, broadcast_id: int) -> None:
    """Send in the background: now if the bot runs, else as soon as it has started."""
    running: dict[int, asyncio.Task] = application.bot_data.setdefault(_RUNNING, {})
    if broadcast_id in running:
        return
    if not application.running:  # at start-up: tasks made now would not be awaited by stop()
        assert application.job_queue is not None
        application.job_queue.run_once(
            _launch_job,
            when=0,
            data=broadcast_id,
            name=f"broadcast-{broadcast_id}",
            job_kwargs={"misfire_grace_time": None},
        )
        return
    task = application.create_task(
        _send(application, broadcast_id), name=f"broadcast-{broadcast_id}"
    )
    running[broadcast_id] = task
    task.add_done_callback(lambda _: running.pop(broadcast_id, None))


async def _launch_job(context: NilaiContext) -> None:
    assert context.job is not None
    _launch(context.application, context.job.data)


async def _send(application: Application, broadcast_id: int) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    broadcast = await services.broadcasts.get(broadcast_id)
    if broadcast is not None and not broadcast.done:
        await _Sender(application, services, broadcast).run()


class _Sender:
    """Sends one broadcast: claims small pages of recipients, hands them at the broadcast rate
    to `concurrency` workers that send them, records the outcomes with the next claim, and keeps
    the coordinator's message up to date."""

    def __init__(self, application: Application, services: Services, broadcast: Broadcast):
        self.application = application
        self.service = services.broadcasts
        self.broadcast = broadcast
        self.paid = services.settings.paid_broadcast
        self.sends = PacedSends(application, services.settings.broadcast_rate, self._deliver)
        self.counts = DeliveryCounts()
        self.report = BroadcastReport(application.bot, services.broadcasts, broadcast)
        self.messages: dict[str, tuple[str, InlineKeyboardMarkup | None]] = {}

    async def run(self) -> None:
        broadcast_id = self.broadcast.id
        await self._give_up_unconfirmed()
        self.counts = await self.service.counts(broadcast_id)
        if self.counts.total == 0:
            await self.report.finished(self.counts)
            await self.service.finish(broadcast_id)
            return
        await self.report.progress(self.counts)
        stop_reporting = asyncio.Event()
        reporter = asyncio.create_task(self._keep_reporting(stop_reporting))
        try:
            await self.sends.run(self._claim)
        finally:
            stop_reporting.set()
            await asyncio.gather(reporter, return_exceptions=True)
            # Claimed and never handed out (a stop, or a failed claim): back to pending.
            released = [recipient.trainer_id for recipient in self.sends.unsent()]
            await self.service.record(broadcast_id, self.sends.take_finished(), release=released)
        if self.sends.lost_leadership:
            # The new leader resumes it and keeps the report: no "paused" from here.
            log.warning("broadcast %s left to the new leader", broadcast_id)
            return
        counts = await self.service.counts(broadcast_id)
        if counts.left:
            log.info("broadcast %s paused with %d left", broadcast_id, counts.left)
            await self.report.paused(counts)
            return
        await self.report.finished(counts)
        await self.service.finish(broadcast_id)
        log.info("broadcast %s done: %s", broadcast_id, counts)

    async def _keep_reporting(self, stop: asyncio.Event) -> None:
        """Edit the report with the counts so far, once a second, until the sends are over
        (apart from the feeder, so an edit never holds up a send)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(self.report.wait_left(), 0.05))
            if not stop.is_set():
                await self.report.progress(self.counts)

    async def _give_up_unconfirmed(self) -> None:
        """After a crash: tell the coordinator about the sends in doubt, then give them up.

        Told first, so a crash in between repeats the notice rather than losing it.
        """
        unconfirmed = await self.service.unconfirmed(self.broadcast.id)
        if not unconfirmed:
            return
        log.warning(
            "broadcast %s: %d send(s) unconfirmed by a crash, not resent",
            self.broadcast.id,
            unconfirmed,
        )
        await self.report.unconfirmed(unconfirmed)
        await self.service.give_up_unconfirmed(self.broadcast.id)

    async def _claim(self, finished: list[Delivery]) -> list[Recipient]:
        """The next page of recipients, recording the outcomes so far in the same step."""
        return await self.service.claim(self.broadcast.id, self.sends.page_size, finished)

    async def _deliver(self, recipient: Recipient) -> Delivery:
        delivery = await self._send_to(recipient)
        self.counts = self.counts.plus(delivery.outcome)  # what the report shows meanwhile
        return delivery

    async def _send_to(self, recipient: Recipient) -> Delivery:
        text, markup = self._message_in(recipient.language)
        try:
            message = await send_bulk_message(
                self.application.bot, recipient.chat_id, text, paid=self.paid, reply_markup=markup
            )
        except Forbidden:
            return Delivery(recipient.trainer_id, Outcome.BLOCKED)
        except Exception as error:  # one trainer's failure must not stop the broadcast
            log.warning(
                "broadcast %s to %s failed: %r", self.broadcast.id, recipient.chat_id, error
            )
            return Delivery(recipient.trainer_id, Outcome.FAILED)
        return Delivery(recipient.trainer_id, Outcome.SENT, message.message_id)

    def _message_in(self, language: str) -> tuple[str, InlineKeyboardMarkup | None]:
        """The text (and button) for one language, built once per broadcast."""
        if language not in self.messages:
            broadcast = self.broadcast
            if broadcast.kind == "batch":
                name = broadcast.batch_name or str(broadcast.batch_id)
                self.messages[language] = (
                    t(language, "broadcast.batch", batch=name),
                    start_reviewing_keyboard(language),
                )
            else:
                self.messages[language] = (
                    t(language, "broadcast.announcement", text=broadcast.text or ""),
                    None,
                )
        return self.messages[language]
