"""Handlers every user meets: /start with an invite, /help, blocking, errors."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.error_alerts import ErrorReport, describe
from bot.i18n import t, t_plain
from bot.onboarding import StartOutcome, TelegramUser
from handlers.context import NilaiContext
from handlers.privacy import notice_with_button
from handlers.render import next_keyboard

log = logging.getLogger(__name__)


_STRANGER_TEXTS = {
    StartOutcome.INVALID_INVITE: "stranger.invalid_invite",
    StartOutcome.NEED_INVITE: "stranger.need_invite",
}


async def start(update: Update, context: NilaiContext) -> None:
    """Registers the user with the invite code from the link, or politely refuses (telling a
    stranger their Telegram id, which their coordinator may need). A new trainer is shown the
    privacy notice to agree to; a new coordinator meets it at their first /next."""
    user, chat, message = update.effective_user, update.effective_chat, update.message
    assert user is not None and chat is not None and message is not None
    code = context.args[0] if context.args else None
    result = await context.services.onboarding.start(
        TelegramUser(user.id, chat.id, user.full_name, user.username, user.language_code), code
    )
    language, trainer = result.language, result.trainer
    if trainer is None:
        await message.reply_html(t(language, _STRANGER_TEXTS[result.outcome], user_id=user.id))
    elif result.outcome is StartOutcome.REGISTERED and not trainer.is_coordinator:
        welcome = t(language, "privacy.welcome", name=user.first_name)
        text, markup = await notice_with_button(context, language, welcome)
        await message.reply_html(text, reply_markup=markup)
    else:
        key = "start.welcome_back"
        if result.outcome is StartOutcome.REGISTERED:
            key = "start.welcome_coordinator"
        await message.reply_html(
            t(language, key, name=user.first_name), reply_markup=next_keyboard(language)
        )


async def help_command(update: Update, context: NilaiContext) -> None:
    """Explains how to review, in the user's language."""
    trainer = context.trainer
    assert update.message is not None and trainer is not None
    text = t(trainer.language, "help.trainer")
    if trainer.is_coordinator:
        text += "\n" + t(trainer.language, "help.coordinator")
    elif trainer.reviewer:  # coordinators' help lists /review already
        text += "\n" + t(trainer.language, "rewrite_review.help_reviewer")
    await update.message.reply_html(text)


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
    """Logs the error once, says sorry to the user in their language (or that their tap was not
    saved, when the database refused it), and alerts coordinators once per error per hour."""
    error = context.error
    if error is None or not isinstance(context, NilaiContext):
        log.error("error outside Nilai's handlers", exc_info=error)
        return
    report = describe(error)
    alerts = context.services.error_alerts
    first = await alerts.claim(report)
    source = _source(update, context)
    if first:
        log.error("%s failed: %s at %s", source, report.kind, report.place, exc_info=error)
    else:  # the traceback was logged within the hour: one line is enough
        log.error("%s failed again: %s at %s", source, report.kind, report.place)
    if isinstance(update, Update):
        await _apologise(update, context, report)
    if first and not isinstance(error, (NetworkError, Forbidden)):  # Telegram's side, not ours
        await _alert_coordinators(update, context, report)
    if isinstance(update, Update):
        # The update stops here: recording it as handled (group 1) would only fail the same
        # way, or mark as done what was not. Redelivered before a restart, it is still dropped.
        raise ApplicationHandlerStop


def _source(update: object, context: NilaiContext) -> str:
    if isinstance(update, Update):
        user = update.effective_user
        return f"update {update.update_id}" + (f" (user {user.id})" if user else "")
    if context.job is not None:
        return f"job {context.job.name}"
    return "a task"


async def _apologise(update: Update, context: NilaiContext, report: ErrorReport) -> None:
    """A short alert on the tapped button, or a message in the chat."""
    key = "error.generic" if report.not_saved is None else "error.not_saved"
    text = t_plain(context.language(update), key)
    try:
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(text, show_alert=True)
                return
            except BadRequest:  # the tap was answered before the error: say it in the chat
                pass
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception as failure:  # the error itself is logged already
        log.warning("could not tell the user about the error: %s", type(failure).__name__)


async def _alert_coordinators(update: object, context: NilaiContext, report: ErrorReport) -> None:
    """One short message to each coordinator: the error's type and place, and ids only."""
    job = context.job.name if context.job is not None else None
    update_id = update.update_id if isinstance(update, Update) else None
    user = update.effective_user if isinstance(update, Update) else None
    try:
        coordinators = await context.services.error_alerts.coordinators()
    except Exception as failure:  # e.g. the database cannot be read either
        log.warning("could not find the coordinators to alert: %s", type(failure).__name__)
        return
    for coordinator in coordinators:
        language = coordinator.language
        if report.not_saved is not None:
            text = t(language, "error.alert_not_saved", reason=report.not_saved)
        elif update_id is not None:
            text = t(
                language,
                "error.alert_update",
                error=report.kind,
                place=report.place,
                update_id=update_id,
                user_id=user.id if user else "–",
            )
        else:
            text = t(
                language, "error.alert_job", error=report.kind, place=report.place, job=job or "–"
            )
        try:
            await context.bot.send_message(coordinator.chat_id, text, parse_mode=ParseMode.HTML)
        except Exception as failure:  # one coordinator unreachable: go on
            log.warning(
                "could not alert coordinator %s: %s", coordinator.user_id, type(failure).__name__
            )
