"""The languages of a trainer: /lang switches the interface between Indonesian and English."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import t, t_plain
from handlers.callback_data import decode
from handlers.context import NilaiContext
from handlers.render import language_keyboard

log = logging.getLogger(__name__)


def handlers() -> list[BaseHandler]:
    new_message = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("lang", lang_command, filters=new_message),
        CallbackQueryHandler(lang_chosen, pattern=r"^1l:"),
    ]


async def lang_command(update: Update, context: NilaiContext) -> None:
    """Shows the two language buttons."""
    assert update.message is not None and context.trainer is not None
    await update.message.reply_html(
        t(context.trainer.language, "lang.choose"), reply_markup=language_keyboard()
    )


async def lang_chosen(update: Update, context: NilaiContext) -> None:
    """Switches the trainer's language and confirms in the new one."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    language = decode(query.data).language or trainer.language
    await context.services.onboarding.set_language(trainer, language)
    await query.answer(t_plain(language, "toast.saved"))
    try:
        await query.edit_message_text(t(language, "lang.set"), parse_mode=ParseMode.HTML)
    except BadRequest as error:  # the same choice tapped twice: nothing to change
        log.debug("language message not edited: %s", error)
