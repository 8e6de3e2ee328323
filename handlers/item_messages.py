"""Sending an item to a trainer and keeping its panel message up to date."""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import Application

from bot.i18n import t
from bot.onboarding import Trainer
from bot.review import ItemView, ReviewService
from bot.services import Services
from handlers.panel_edits import NO_PREVIEW, PanelEdits, PanelState
from handlers.render import next_keyboard, render_item_messages, render_panel_keyboard

log = logging.getLogger(__name__)


async def send_item(
    bot: Bot, chat_id: int, view: ItemView, review: ReviewService, language: str
) -> None:
    """Sends every part of the item, buttons on the last, and remembers the message ids."""
    parts = render_item_messages(view, language)
    message_ids = []
    for index, text in enumerate(parts, start=1):
        markup = render_panel_keyboard(view, language) if index == len(parts) else None
        message = await bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
        message_ids.append(message.message_id)
    await review.remember_messages(view.assignment.id, chat_id, message_ids)


async def send_next_item(
    bot: Bot, chat_id: int, trainer: Trainer, services: Services, *, show_open: bool = True
) -> bool:
    """Shows the trainer's open or next item, or a friendly 'all done for now'.

    With `show_open=False` (a tap on Next, which a double tap repeats) an item the trainer
    already has open is not sent again, unless it never reached the chat (a send that failed,
    or a crash between lease and send); returns False then.
    """
    language = trainer.language
    if trainer.status == "paused":  # removed trainers never get here: see handlers/guard.py
        await bot.send_message(chat_id, t(language, "error.paused"), parse_mode=ParseMode.HTML)
        return True
    view, resumed = await services.review.next_item(trainer)
    if view is None:
        await bot.send_message(
            chat_id,
            t(language, "done.all"),
            parse_mode=ParseMode.HTML,
            reply_markup=next_keyboard(language),
        )
        return True
    if resumed and not show_open and await services.review.reached_chat(view.assignment.id):
        return False
    await send_item(bot, chat_id, view, services.review, language)
    return True


def show_panel(
    application: Application,
    chat_id: int,
    message_id: int,
    view: ItemView,
    language: str,
    *,
    status: str | None = None,
    markup: InlineKeyboardMarkup | None = None,
    keep_buttons: bool = True,
) -> None:
    """Re-renders the panel message: new status text and buttons (or none, once finished,
    unless `markup` gives the finished panel its own, such as Undo).

    The edit leaves the handler (handlers/panel_edits.py): the trainer's next tap never waits
    for it, and taps during an edit in flight fold into one follow-up edit.
    """
    text = render_item_messages(view, language, status=status)[-1]
    if keep_buttons and markup is None:
        markup = render_panel_keyboard(view, language)
    state = PanelState(text, markup)
    PanelEdits.of(application).show(chat_id, message_id, state)
