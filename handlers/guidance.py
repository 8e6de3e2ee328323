"""Guidance while reviewing: a batch's guidelines and what each scale step means.

The guidelines are sent once before a trainer's first item of a batch that has its own (see
`handlers/item_messages.py`), and again whenever the panel's Guidelines button is tapped. What
the scores of the criterion being scored mean is on the panel itself (`handlers/render.py`).
"""

from __future__ import annotations

import html
import logging

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.i18n import Html, t, t_plain
from bot.review import AssignmentRefused, Refusal
from bot.rubric import Rubric
from handlers.callback_data import InvalidCallbackData, decode
from handlers.context import NilaiContext
from handlers.panel_edits import NO_PREVIEW
from handlers.render import render_steps
from handlers.sending import answer_tap
from handlers.text_split import pack_blocks

log = logging.getLogger(__name__)


def render_guidelines(rubric: Rubric, batch: str, language: str, *, first: bool) -> list[str]:
    """The guidelines as messages: the batch's text and link, then each criterion's steps."""
    blocks: list[tuple[str, str | int]] = [("html", t(language, "guidelines.title", batch=batch))]
    if first:
        blocks.append(("html", t(language, "guidelines.first")))
    text = rubric.guidelines_text(language)
    if text:
        blocks.append(("text", text))
    if rubric.guidelines_url:
        href = html.escape(rubric.guidelines_url, quote=True)
        blocks.append(("html", f'🔗 <a href="{href}">{t(language, "guidelines.link_text")}</a>'))
    low, high = rubric.scale
    described = [key for key in rubric.criteria if rubric.steps_of(key, language)]
    if not described:
        blocks.append(("html", "\n" + t(language, "guidelines.no_steps", low=low, high=high)))
    else:
        blocks.append(("html", "\n" + t(language, "guidelines.scores", low=low, high=high)))
    for key in described:
        label = html.escape(rubric.label(key, language), quote=False)
        lines = "\n".join(render_steps(rubric, key, language))
        blocks.append(("html", Html(f"\n<b>{label}</b>\n{lines}")))
    return pack_blocks(blocks)


async def send_guidelines(
    bot: Bot, chat_id: int, rubric: Rubric, batch: str, language: str, *, first: bool = False
) -> None:
    for text in render_guidelines(rubric, batch, language, first=first):
        await bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        )


async def guidelines_button(update: Update, context: NilaiContext) -> None:
    """The panel's Guidelines button: the batch's guidelines as a new message."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    try:
        callback = decode(query.data)
        if callback.assignment_id is None:  # decode gives Guidelines buttons an assignment
            raise InvalidCallbackData(query.data)
        view = await context.services.review.owned_view(
            trainer, callback.assignment_id, finished_ok=True
        )
    except InvalidCallbackData:
        log.warning("user %s sent unknown callback data %r", trainer.user_id, query.data)
        await query.answer(t_plain(trainer.language, "toast.invalid"))
        return
    except AssignmentRefused as refusal:
        key = "toast.not_yours" if refusal.reason is Refusal.NOT_YOURS else "toast.invalid"
        await query.answer(t_plain(trainer.language, key))
        return
    await send_guidelines(
        context.bot, trainer.chat_id, view.rubric, view.item.batch_name, trainer.language
    )
    await answer_tap(query)


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(guidelines_button, pattern=r"^1g:")]
