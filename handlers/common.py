"""Handlers every user meets: /start with an invite, /lang, /help, blocking, errors."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import t, t_plain
from bot.onboarding import StartOutcome, TelegramUser
from handlers.callback_data import decode
from handlers.context import NilaiContext
from handlers.render import language_keyboard, next_keyboard

log = logging.getLogger(__name__)

_START_TEXTS = {
    StartOutcome.WELCOME_BACK: "start.welcome_back",
    StartOutcome.INVALID_INVITE: "start.invalid_invite",
    StartOutcome.NEED_INVITE: "start.need_invite",
}


async def start(update: Update, context: NilaiContext) -> None:
    """Registers the user with the invite code from the link, or politely refuses."""
    user, chat, message = update.effective_user, update.effective_chat, update.message
    assert user is not None and chat is not None and message is not None
    code = context.args[0] if context.args else None
    result = await context.services.onboarding.start(
        TelegramUser(user.id, chat.id, user.full_name, user.username, user.language_code), code
    )
    language = result.language
    if result.outcome is StartOutcome.REGISTERED and result.trainer is not None:
        coordinator = result.trainer.is_coordinator
        key = "start.welcome_coordinator" if coordinator else "start.welcome_trainer"
    else:
        key = _START_TEXTS[result.outcome]
    welcome = result.trainer is not None
    await message.reply_html(
        t(language, key, name=user.first_name),
        reply_markup=next_keyboard(language) if welcome else None,
    )


async def help_command(update: Update, context: NilaiContext) -> None:
    """Explains how to review, in the user's language."""
    trainer = context.trainer
    assert update.message is not None and trainer is not None
    text = t(trainer.language, "help.trainer")
    if trainer.is_coordinator:
        text += "\n" + t(trainer.language, "help.coordinator")
    await update.message.reply_html(text)


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


async def chat_member_changed(update: Update, context: NilaiContext) -> None:
    """Marks a trainer unreachable when they block the bot, so nothing more is sent to them."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return  # a group that removes the bot says nothing about a trainer
    if change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
        await context.services.onboarding.set_reachable(change.from_user.id, False)
        log.info("user %s blocked the bot", change.from_user.id)
    elif change.new_chat_member.status == ChatMemberStatus.MEMBER:
        await context.services.onboarding.set_reachable(change.from_user.id, True)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs the error and tells the user, briefly, that their saved work is safe."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or not isinstance(context, NilaiContext):
        return
    text = t_plain(context.language(update), "error.generic")
    try:
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(text, show_alert=True)
                return
            except BadRequest:  # the tap was answered before the error: say it in the chat
                pass
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:
        log.warning("could not tell the user about the error", exc_info=True)
