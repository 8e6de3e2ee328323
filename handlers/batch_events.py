"""Batch events for coordinators: the "batch complete" message (a job every minute) and its
export buttons, which run the same export as /export.

The message goes to every reachable coordinator (batches have no owner yet) as a bulk send; a
coordinator who blocked the bot is marked unreachable and the others still get theirs.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.batch_events import CompletedBatch, took_seconds
from bot.exports import FORMATS
from bot.formatting import duration, number
from bot.i18n import t, t_plain
from bot.onboarding import Trainer
from bot.services import Services
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.exports import send_export
from handlers.sending import answer_tap, send_bulk_message

log = logging.getLogger(__name__)

JOB_NAME = "batch-events"
EVERY_SECONDS = 60


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    return [CallbackQueryHandler(export_button, pattern=rf"^1{Action.EXPORT.value}:")]


async def announce_completed_batches(context: NilaiContext) -> None:
    """The per-minute job: each batch that just became complete, to every coordinator."""
    services = context.services
    for batch in await services.batch_events.newly_completed(services.clock()):
        coordinators = [c for c in await services.team.coordinators() if c.reachable]
        sent = 0
        for coordinator in coordinators:
            sent += await _announce(context.bot, services, coordinator, batch)
        log.info(
            "batch %r (%d) announced to %d of %d coordinators",
            batch.name,
            batch.id,
            sent,
            len(coordinators),
        )


async def _announce(
    bot: Bot, services: Services, coordinator: Trainer, batch: CompletedBatch
) -> bool:
    """One coordinator's message; False (logged) when Telegram refused it."""
    language = coordinator.language
    try:
        await send_bulk_message(
            bot,
            coordinator.chat_id,
            complete_text(batch, language),
            paid=services.settings.paid_broadcast,
            reply_markup=export_buttons(batch.id, language),
        )
    except Forbidden:
        log.info("coordinator %s blocked the bot: marked unreachable", coordinator.user_id)
        await services.onboarding.set_reachable(coordinator.user_id, False)
        return False
    except TelegramError as error:
        log.warning("batch %d complete: not sent to %s: %s", batch.id, coordinator.user_id, error)
        return False
    return True


def complete_text(batch: CompletedBatch, language: str) -> str:
    return t(
        language,
        "batch_complete.text",
        name=batch.name,
        items=number(batch.items, language),
        reviews=number(batch.reviews, language),
        trainers=number(batch.trainers, language),
        took=duration(took_seconds(batch), language, days=True),
    )


def export_buttons(batch_id: int, language: str) -> InlineKeyboardMarkup:
    """One button per export format, two to a row."""
    buttons = [
        InlineKeyboardButton(
            t_plain(language, "batch_complete.button", format=fmt),
            callback_data=encode(Action.EXPORT, batch_id, index),
        )
        for index, fmt in enumerate(FORMATS)
    ]
    return InlineKeyboardMarkup([buttons[start : start + 2] for start in range(0, len(buttons), 2)])


@coordinators_only
async def export_button(update: Update, context: NilaiContext) -> None:
    """Sends the batch's export in the tapped format, as /export does."""
    query, me = update.callback_query, context.trainer
    assert query is not None and me is not None and query.message is not None
    try:
        batch_id, index = decode(query.data).args
    except InvalidCallbackData:
        batch_id, index = 0, len(FORMATS)  # a forged button: answered as a gone batch
    name = await context.services.batch_events.batch_name(batch_id)
    if name is None or index >= len(FORMATS):
        await answer_tap(query, t_plain(me.language, "batch_complete.gone"), show_alert=True)
        return
    fmt = FORMATS[index]
    await answer_tap(query, t_plain(me.language, "batch_complete.exporting", format=fmt))
    context.application.create_task(
        send_export(context.bot, query.message.chat.id, me.language, context.services, name, fmt),
        update=update,
        name=f"export:{query.message.chat.id}",
    )
