"""Coordinator-only commands and buttons: anyone else is refused politely and nothing changes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from telegram import Update

from bot.i18n import t, t_plain
from handlers.context import NilaiContext

log = logging.getLogger(__name__)

Handler = Callable[[Update, NilaiContext], Awaitable[None]]


def coordinators_only(handler: Handler) -> Handler:
    """Wrap a handler so only coordinators reach it; trainers get a short, polite refusal."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: NilaiContext) -> None:
        trainer = context.trainer
        if trainer is not None and trainer.is_coordinator:
            await handler(update, context)
            return
        user_id = update.effective_user.id if update.effective_user else None
        log.warning("user %s tried the coordinator action %s: refused", user_id, handler.__name__)
        language = context.language(update)
        if update.callback_query is not None:
            await update.callback_query.answer(
                t_plain(language, "coordinator.only_toast"), show_alert=True
            )
        elif update.effective_message is not None:
            await update.effective_message.reply_html(t(language, "coordinator.only"))

    return guarded
