"""Rewrites and notes: the trainer's replies to an item (or to the bot's prompt), and edits.

A reply to any part of an item, or to the Rewrite prompt, is the rewrite; a reply to the Note
prompt is the note. Editing that reply later updates what is stored.
"""

from __future__ import annotations

import logging

from telegram import Message, Update

from bot.i18n import t
from bot.review import AssignmentRefused
from handlers.context import NilaiContext
from handlers.item_messages import show_panel

log = logging.getLogger(__name__)

_FIELD_OF_KIND = {
    "item": "rewrite",
    "panel": "rewrite",
    "rewrite_prompt": "rewrite",
    "rewrite": "rewrite",
    "note_prompt": "note",
    "note": "note",
}


async def text_reply(update: Update, context: NilaiContext) -> None:
    """Stores a reply to an item message as its rewrite (or note), and confirms."""
    message, trainer = update.message, context.trainer
    assert message is not None and trainer is not None and message.text is not None
    target = message.reply_to_message
    review = context.services.review
    link = None if target is None else await review.message_link(message.chat_id, target.message_id)
    if link is None:
        await message.reply_html(t(trainer.language, "confirm.reply_hint"))
        return
    assignment_id, kind = link
    field = _FIELD_OF_KIND[kind]
    try:
        await review.set_text(
            trainer,
            assignment_id,
            field,
            message.text,
            chat_id=message.chat_id,
            message_id=message.message_id,
        )
    except AssignmentRefused:
        await message.reply_html(t(trainer.language, "confirm.item_finished"))
        return
    key = "confirm.rewrite_saved" if field == "rewrite" else "confirm.note_saved"
    await message.reply_html(t(trainer.language, key, chars=len(message.text)))
    await _refresh_panel(message, assignment_id, context)


async def edited_text(update: Update, context: NilaiContext) -> None:
    """An edited rewrite/note message updates the stored text, if the text really changed."""
    message, trainer = update.edited_message, context.trainer
    assert message is not None and trainer is not None
    review = context.services.review
    link = await review.message_link(message.chat_id, message.message_id)
    if link is None or link[1] not in ("rewrite", "note") or not message.text:
        return
    assignment_id, field = link
    try:
        if not await review.edit_text(trainer, assignment_id, field, message.text):
            return  # Telegram also reports edits that do not change the text
    except AssignmentRefused:
        return
    key = "confirm.rewrite_updated" if field == "rewrite" else "confirm.note_updated"
    await message.reply_html(t(trainer.language, key, chars=len(message.text)))
    await _refresh_panel(message, assignment_id, context)


async def not_text(update: Update, context: NilaiContext) -> None:
    """Stickers, photos and the like where text is expected: a polite hint, nothing stored."""
    assert update.message is not None and context.trainer is not None
    await update.message.reply_html(t(context.trainer.language, "confirm.text_only"))


async def plain_text(update: Update, context: NilaiContext) -> None:
    """Text that is not a reply: explain how to send a rewrite."""
    assert update.message is not None and context.trainer is not None
    await update.message.reply_html(t(context.trainer.language, "confirm.reply_hint"))


async def _refresh_panel(message: Message, assignment_id: int, context: NilaiContext) -> None:
    """Shows 'Rewrite ✓' / 'Note ✓' on the item's panel while it is still open."""
    trainer = context.trainer
    assert trainer is not None
    opened = await context.services.review.open_view(trainer, assignment_id)
    if opened is not None:
        view, panel_id = opened
        show_panel(context.application, message.chat_id, panel_id, view, trainer.language)
