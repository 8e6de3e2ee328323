"""The languages of a trainer: /lang switches the interface between Indonesian and English, and
turns on or off the languages they review items in (toggles below the interface buttons)."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import t, t_plain
from bot.review_languages import CODES, INDEX, LanguageMenu, display_name
from handlers.callback_data import Action, decode, encode
from handlers.context import NilaiContext
from handlers.sending import answer_tap

log = logging.getLogger(__name__)
TOGGLES_PER_ROW = 2
# A toggle is the language's name (Babel's, in the reader's language) after one of these marks.
ON, OFF = "✅", "⬜"


def handlers() -> list[BaseHandler]:
    new_message = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("lang", lang_command, filters=new_message),
        CallbackQueryHandler(lang_chosen, pattern=r"^1l:"),
        CallbackQueryHandler(review_language_chosen, pattern=r"^1L:"),
    ]


async def lang_command(update: Update, context: NilaiContext) -> None:
    """Shows the interface language buttons and the review language toggles."""
    assert update.message is not None and context.trainer is not None
    trainer = context.trainer
    menu = await context.services.review_languages.menu(trainer.user_id)
    await update.message.reply_html(
        render_menu(menu, trainer.language), reply_markup=menu_keyboard(menu, trainer.language)
    )


async def lang_chosen(update: Update, context: NilaiContext) -> None:
    """Switches the trainer's interface language and shows the menu again in the new one."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    language = decode(query.data).language or trainer.language
    await context.services.onboarding.set_language(trainer, language)
    await answer_tap(query, t_plain(language, "toast.saved"))
    await _show_menu(query, context, trainer.user_id, language)


async def review_language_chosen(update: Update, context: NilaiContext) -> None:
    """Turns one review language on or off; the last one stays on, with a word why."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    index, on = decode(query.data).args
    change = None
    if on in (0, 1):
        change = await context.services.review_languages.set(trainer.user_id, index, on == 1)
    if change is None:
        await answer_tap(query, t_plain(trainer.language, "toast.invalid"))
        return
    if change.refused_last:
        await answer_tap(query, t_plain(trainer.language, "languages.keep_one"), show_alert=True)
        return
    key = "languages.toast_on" if on else "languages.toast_off"
    name = display_name(CODES[index], trainer.language)
    await answer_tap(query, t_plain(trainer.language, key, name=name))
    await _show_menu(query, context, trainer.user_id, trainer.language)


async def _show_menu(
    query: CallbackQuery, context: NilaiContext, user_id: int, language: str
) -> None:
    menu = await context.services.review_languages.menu(user_id)
    try:
        await query.edit_message_text(
            render_menu(menu, language),
            parse_mode=ParseMode.HTML,
            reply_markup=menu_keyboard(menu, language),
        )
    except BadRequest as error:  # the same choice tapped twice: nothing to change
        log.debug("language menu not edited: %s", error)


def render_menu(menu: LanguageMenu, language: str) -> str:
    names = ", ".join(display_name(code, language) for code in menu.reviewed)
    return t(language, "languages.menu", languages=names)


def menu_keyboard(menu: LanguageMenu, language: str) -> InlineKeyboardMarkup:
    """The two interface languages, then one toggle per offered review language."""
    rows = [
        [
            InlineKeyboardButton(
                t_plain("id", "button.lang_id"), callback_data=encode(Action.LANGUAGE, "id")
            ),
            InlineKeyboardButton(
                t_plain("en", "button.lang_en"), callback_data=encode(Action.LANGUAGE, "en")
            ),
        ]
    ]
    toggles = [
        InlineKeyboardButton(
            f"{ON if menu.is_on(code) else OFF} {display_name(code, language)}",
            callback_data=encode(Action.REVIEW_LANGUAGE, INDEX[code], 0 if menu.is_on(code) else 1),
        )
        for code in menu.offered
    ]
    rows += [toggles[n : n + TOGGLES_PER_ROW] for n in range(0, len(toggles), TOGGLES_PER_ROW)]
    return InlineKeyboardMarkup(rows)
