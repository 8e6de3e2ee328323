"""What runs around every handler: dropping redelivered updates, and turning strangers away.

Registered in group -1 (before the handlers) and group 1 (after them) by the composition root.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.i18n import t, t_plain
from handlers.callback_data import Action, InvalidCallbackData, decode
from handlers.context import NilaiContext, command_of
from handlers.privacy import stopped_for_consent

log = logging.getLogger(__name__)


async def drop_redelivered(update: Update, context: NilaiContext) -> None:
    """Stops an update already handled (Telegram resent it): it must change nothing."""
    if not await context.services.updates.seen(update.update_id):
        context.update_mark = context.services.updates.begin(update.update_id)
        return
    log.info("update %s was already handled: ignored", update.update_id)
    if update.callback_query is not None:
        context.trainer = await context.services.onboarding.trainer(
            update.callback_query.from_user.id
        )
        try:
            await update.callback_query.answer(t_plain(context.language(update), "toast.duplicate"))
        except Exception:
            log.debug("could not answer a redelivered callback", exc_info=True)
    raise ApplicationHandlerStop


async def load_trainer(update: Update, context: NilaiContext) -> None:
    """Loads the sender's registration; strangers get the polite refusal and nothing else,
    and a trainer who has not agreed to the privacy notice gets it instead of an item.

    `/start` and chat-member changes pass through: they are how strangers become trainers.
    A removed trainer keeps their data rights: /mydata and /deleteme still work for them.
    """
    user = update.effective_user
    if user is None:
        return
    onboarding = context.services.onboarding
    context.trainer = await onboarding.trainer(user.id)
    if context.trainer is not None and not user.is_bot:
        context.trainer = await onboarding.refresh_profile(
            context.trainer, user.full_name, user.username
        )
    if context.trainer is not None and context.trainer.status == "blocked":
        if _uses_data_rights(update):
            return
        await _turn_away(update, context, "team_notice.removed", "team_notice.removed_toast")
        log.info("removed trainer %s turned away", user.id)
        raise ApplicationHandlerStop
    if context.trainer is not None:
        if await stopped_for_consent(update, context):
            raise ApplicationHandlerStop
        return
    if update.my_chat_member is not None or command_of(update) == "/start":
        return
    await _turn_away(update, context, "stranger.need_invite", "toast.stranger", user_id=user.id)
    log.info("stranger %s turned away", user.id)
    raise ApplicationHandlerStop


def _uses_data_rights(update: Update) -> bool:
    """/mydata, /deleteme or its confirmation (UU PDP: also for someone removed)."""
    query = update.callback_query
    if query is not None:
        try:
            return decode(query.data).action is Action.DELETE_ME
        except InvalidCallbackData:
            return False
    return command_of(update) in ("/mydata", "/deleteme")


async def _turn_away(
    update: Update, context: NilaiContext, text: str, toast: str, **params: object
) -> None:
    """The polite refusal: an alert on a button, a message otherwise."""
    language = context.language(update)
    if update.callback_query is not None:
        await update.callback_query.answer(t_plain(language, toast), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_html(t(language, text, **params))


async def mark_handled(update: Update, context: NilaiContext) -> None:
    """Records the update id once its handler has run, so a redelivery is dropped (usually
    already done, in the same transaction as the handler's first write)."""
    if context.update_mark is not None:
        await context.services.updates.finish(context.update_mark)
