"""Sending an item to a trainer and keeping its panel message up to date.

Exactly one live panel per open item: an item shown again (/next asks for the open item, and
two /next sent at once ask twice) becomes the live copy, and the copy above it loses its buttons
and says that the item moved below (a panel edit like any other). A tap that still comes from an
old copy is refused in `handlers/trainer.py` (bot/live_panels.py knows which copy is live).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import Application

from bot.i18n import t
from bot.onboarding import Trainer
from bot.review import ItemView
from bot.services import Services
from handlers.guidance import send_guidelines
from handlers.panel_edits import NO_PREVIEW, PanelEdits, PanelState
from handlers.render import (
    next_keyboard,
    render_item_messages,
    render_panel_keyboard,
    render_sitting_summary,
)

log = logging.getLogger(__name__)


async def send_item(
    application: Application, chat_id: int, view: ItemView, services: Services, language: str
) -> None:
    """Sends every part of the item, buttons on the last, and remembers the message ids; the
    batch's guidelines first if this trainer never saw them; the previous copy is retired."""
    bot, panels = application.bot, services.panels
    assignment_id = view.assignment.id
    rubric = view.rubric
    panels.sittings.active(view.assignment.trainer_id)  # showing it starts a sitting's time
    if rubric.has_guidelines and await panels.guidance.first_showing(
        view.assignment.trainer_id, view.item.batch_id
    ):
        await send_guidelines(bot, chat_id, rubric, view.item.batch_name, language, first=True)
    previous = await panels.live.live(assignment_id, chat_id)
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
    await services.review.remember_messages(assignment_id, chat_id, message_ids)
    panels.live.remember(assignment_id, chat_id, message_ids[-1])
    if previous is not None:
        retire_panel(application, chat_id, previous, view, language)


def retire_panel(
    application: Application, chat_id: int, message_id: int, view: ItemView, language: str
) -> None:
    """An older copy of the item: no buttons, and a line saying the item moved below."""
    show_panel(
        application,
        chat_id,
        message_id,
        view,
        language,
        status=t(language, "panel.moved_below"),
        keep_buttons=False,
    )


async def send_next_item(
    application: Application,
    chat_id: int,
    trainer: Trainer,
    services: Services,
    *,
    show_open: bool = True,
) -> bool:
    """Shows the trainer's open or next item, or says that nothing is left.

    With `show_open=False` (a tap on Next, which a double tap repeats) an item the trainer
    already has open is not sent again, unless it never reached the chat (a send that failed,
    or a crash between lease and send); returns False then.
    """
    bot, language = application.bot, trainer.language
    if trainer.status == "paused":  # removed trainers never get here: see handlers/guard.py
        await bot.send_message(chat_id, t(language, "error.paused"), parse_mode=ParseMode.HTML)
        return True
    view, resumed = await services.review.next_item(trainer)
    if view is None:
        await bot.send_message(
            chat_id,
            await _nothing_left(trainer, services),
            parse_mode=ParseMode.HTML,
            reply_markup=next_keyboard(language),
        )
        return True
    if resumed and not show_open and await services.review.reached_chat(view.assignment.id):
        return False
    await send_item(application, chat_id, view, services, language)
    return True


async def _nothing_left(trainer: Trainer, services: Services) -> str:
    """ "Nothing ready yet" before the first batch; else "all done", with the summary of the
    sitting that just ended, if it judged anything."""
    language = trainer.language
    if not await services.review.batch_progress.any_batch():
        return t(language, "done.nothing_yet")
    text = t(language, "done.all")
    summary = await services.panels.sittings.finish(trainer.user_id)
    return text if summary is None else f"{text}\n\n{render_sitting_summary(summary, language)}"


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
