"""Corrections after Submit: Undo within the edit window (bot/corrections.py).

The finished panel of a just-submitted item carries an Undo button (`undo_keyboard`, put there
by handlers/trainer.py's Submit). A tap in time turns that panel back into the live one, with
its buttons and what was given; a tap too late says so and removes the button. The tap is
answered after the reopening is committed; a redelivered tap is dropped by handlers/guard.py,
and a double tap finds the judgment open already and changes nothing.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.corrections import Undo
from bot.i18n import t_plain
from bot.review import AssignmentRefused
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.item_messages import show_panel
from handlers.panel_edits import PanelEdits, PanelState
from handlers.render import REFUSAL_TOASTS
from handlers.sending import answer_tap

log = logging.getLogger(__name__)


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(undo_tapped, pattern=r"^1z:")]


def undo_keyboard(
    assignment_id: int, language: str, window_minutes: int
) -> InlineKeyboardMarkup | None:
    """The finished panel's Undo button; None when corrections are off (a window of 0)."""
    if window_minutes <= 0:
        return None
    label = t_plain(language, "button.undo", minutes=window_minutes)
    button = InlineKeyboardButton(label, callback_data=encode(Action.UNDO, assignment_id))
    return InlineKeyboardMarkup([[button]])


async def undo_tapped(update: Update, context: NilaiContext) -> None:
    """Reopens a just-submitted item for changes, or says it is too late and drops the button."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    language = trainer.language
    try:
        assignment_id = decode(query.data).assignment_id
        if assignment_id is None:
            raise InvalidCallbackData(query.data)
        result = await context.services.corrections.undo(trainer, assignment_id)
    except InvalidCallbackData:
        log.warning("user %s sent unknown callback data %r", trainer.user_id, query.data)
        await answer_tap(query, t_plain(language, "toast.invalid"))
        return
    except AssignmentRefused as refusal:
        await answer_tap(query, t_plain(language, REFUSAL_TOASTS[refusal.reason]))
        return
    if result.outcome in (Undo.TOO_LATE, Undo.REVIEWED):
        minutes = context.services.corrections.window_minutes
        key = f"toast.undo_{result.outcome.value}"
        await answer_tap(query, t_plain(language, key, count=minutes), show_alert=True)
        if query.message is not None:
            PanelEdits.of(context.application).show(
                query.message.chat.id, query.message.message_id, PanelState(None, None)
            )
        return
    key = "toast.undo_reopened" if result.outcome is Undo.REOPENED else "toast.undo_open"
    await answer_tap(query, t_plain(language, key))
    if result.view is not None and result.panel_id is not None:
        # The item's newest panel (the one tapped, unless it was shown again since) is live again.
        show_panel(context.application, trainer.chat_id, result.panel_id, result.view, language)
