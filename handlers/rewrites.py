"""Rewrites and notes: the trainer's text messages about an item, and their edits.

A reply to any part of an item, to the copy of its answer or to the Rewrite prompt is the
rewrite; a reply to the Note prompt is the note. A message that follows the last part within
3 seconds (a long text the trainer's app split) is the next part of the same text, and the one
confirmation is edited to count the parts (its message id is kept with the text, so whichever
bot process handles a part edits it). A plain message right after Rewrite or Note is taken as
that text. The rules live in `bot/texts.py`; this module words the answers.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ParseMode

from bot.formatting import number
from bot.i18n import t, t_plain
from bot.onboarding import Trainer
from bot.texts import MAX_CHARS, Confirmation, Mode, Refused, Stored, TextRefused, TextTooLong
from handlers.context import NilaiContext
from handlers.item_messages import show_panel
from handlers.panel_edits import PanelEdits, PanelState
from handlers.text_split import pre_messages

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
    """A reply: the rewrite (or note) of the item it answers, or the next part of one."""
    message = update.message
    assert message is not None and message.reply_to_message is not None
    review = context.services.review
    link = await review.message_link(message.chat_id, message.reply_to_message.message_id)
    target = None if link is None else (link[0], _FIELD_OF_KIND[link[1]])
    await _receive(message, target, context)


async def plain_text(update: Update, context: NilaiContext) -> None:
    """Text that is not a reply: a part of the text being sent, the text just asked for, or a
    hint about how to send one."""
    assert update.message is not None
    await _receive(update.message, None, context)


async def edited_text(update: Update, context: NilaiContext) -> None:
    """An edited rewrite/note message (or part) updates the text, if its text really changed."""
    message, trainer = update.edited_message, context.trainer
    assert message is not None and trainer is not None
    link = await context.services.review.message_link(message.chat_id, message.message_id)
    if link is None or link[1] not in ("rewrite", "note") or not message.text:
        return
    texts = context.services.review.texts
    try:
        stored = await texts.edit(
            trainer, link, message.text, chat_id=message.chat_id, message_id=message.message_id
        )
    except (TextRefused, TextTooLong) as refused:
        await message.reply_html(_refusal(trainer.language, refused, context))
        return
    if stored.result.changed:  # Telegram also reports edits that leave the text as it was
        await message.reply_html(confirmation(trainer.language, stored))
        await _refresh_panel(message, stored.assignment_id, context)


async def not_text(update: Update, context: NilaiContext) -> None:
    """Stickers, photos and the like where text is expected: a polite hint, nothing stored."""
    assert update.message is not None and context.trainer is not None
    await update.message.reply_html(t(context.trainer.language, "confirm.text_only"))


async def send_answer_to_copy(
    context: NilaiContext, trainer: Trainer, assignment_id: int, answer: str
) -> None:
    """The AI's answer as tap-to-copy `<pre>` blocks, sent before the Rewrite prompt: the
    trainer copies the original and edits it instead of retyping it. A reply to a block counts
    as the rewrite too (the blocks are linked like the prompt)."""
    review = context.services.review
    for block in pre_messages(answer):
        sent = await context.bot.send_message(trainer.chat_id, block, parse_mode=ParseMode.HTML)
        await review.remember_prompt(assignment_id, trainer.chat_id, sent.message_id, "rewrite")


async def _receive(message: Message, target: tuple[int, str] | None, context: NilaiContext) -> None:
    trainer = context.trainer
    assert trainer is not None and message.text is not None
    texts = context.services.review.texts
    try:
        stored = await texts.receive(
            trainer,
            target,
            message.text,
            chat_id=message.chat_id,
            message_id=message.message_id,
            sent_at=message.date,
        )
    except (TextRefused, TextTooLong) as refused:
        if refused.first:  # one answer per text, however many parts it came in
            await message.reply_html(_refusal(trainer.language, refused, context))
        return
    if stored is None:
        about = await texts.hint_about(message.chat_id)
        key = "confirm.reply_hint" if about is None else f"texts.{about}.hint"
        await message.reply_html(t(trainer.language, key))
        return
    await _confirm(message, stored, context)
    await _refresh_panel(message, stored.assignment_id, context)


async def _confirm(message: Message, stored: Stored, context: NilaiContext) -> None:
    """One confirmation per text: the first part gets a message, later parts edit it (a chat
    takes about one message a second, and a split text arrives all at once). Its message id is
    stored with the text, since the next part may reach another bot process."""
    language = context.trainer.language if context.trainer else "en"
    earlier = stored.result.confirmation  # found only for a next part of the text
    if stored.mode is Mode.JOIN and earlier is not None:
        text = confirmation(language, stored, reason=earlier.reason)
        edits = PanelEdits.of(context.application)
        edits.show(message.chat_id, earlier.message_id, PanelState(text, None))
        return
    reason = _reason(stored)
    sent = await message.reply_html(confirmation(language, stored, reason=reason))
    try:
        await context.services.review.texts.confirmed(
            stored, message.message_id, Confirmation(sent.message_id, reason)
        )
    except Exception as error:
        if context.services.db.write_fault(error) is None:
            raise
        # The text is stored and confirmed: a "not saved" would be wrong. Only a next part
        # of it gets a confirmation of its own instead of editing this one.
        log.warning("confirmation of a text not recorded: %s", error)


def _reason(stored: Stored) -> str | None:
    """The catalog key of the line that says why this message went where it went."""
    if stored.result.submitted:
        return "texts.corrected"
    if stored.adopted:
        return f"texts.{stored.field}.adopted"
    if stored.result.replaced:
        return f"texts.{stored.field}.replaced"
    return None


def confirmation(language: str, stored: Stored, reason: str | None = None) -> str:
    """What was stored: the field, its size (in parts when more than one), why it went there,
    and how to change it."""
    result = stored.result
    chars = t_plain(language, "texts.chars", count=result.chars)
    size = (
        chars
        if result.parts == 1
        else t_plain(
            language,
            "texts.in_parts",
            chars=chars,
            parts=t_plain(language, "texts.parts", count=result.parts),
        )
    )
    if stored.mode is Mode.EDIT:
        lines = [t(language, f"texts.{stored.field}.updated", size=size)]
        if result.submitted:
            lines.append(t(language, "texts.corrected"))
        return "\n".join(lines)
    lines = [t(language, f"texts.{stored.field}.saved", size=size)]
    if reason is not None:
        lines.append(t(language, reason))
    how = "texts.edit_to_change" if result.parts == 1 else "texts.edit_parts_to_change"
    lines.append(t(language, how))
    return "\n".join(lines)


def _refusal(language: str, refused: Exception, context: NilaiContext) -> str:
    """Why nothing was stored, politely."""
    if isinstance(refused, TextTooLong):
        limit = number(MAX_CHARS, language)
        if refused.in_parts:
            return t(
                language, "texts.too_long_part", kept=number(refused.kept, language), limit=limit
            )
        return t(language, "texts.too_long", chars=number(refused.chars, language), limit=limit)
    assert isinstance(refused, TextRefused)
    if refused.reason is Refused.CLOSED:
        return t(language, "texts.closed", count=context.services.settings.edit_window_minutes)
    if refused.reason is Refused.REVIEWED:
        return t(language, "texts.reviewed")
    if refused.reason is Refused.BLANK:
        return t(language, "texts.blank")
    return t(language, "confirm.item_finished")


async def _refresh_panel(message: Message, assignment_id: int, context: NilaiContext) -> None:
    """Shows 'Rewrite ✓' / 'Note ✓' on the item's panel while it is still open."""
    trainer = context.trainer
    assert trainer is not None
    opened = await context.services.review.open_view(trainer, assignment_id)
    if opened is not None:
        view, panel_id = opened
        show_panel(context.application, message.chat_id, panel_id, view, trainer.language)
