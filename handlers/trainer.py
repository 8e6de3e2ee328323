"""The trainer's review loop in Telegram: /next, /stats, and the rating buttons.

Each button handler calls one service method, which commits, and only then answers the tap,
so a tap the trainer saw acknowledged is on disk.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, ForceReply, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from bot.formatting import counts
from bot.i18n import Html, t, t_plain
from bot.onboarding import Trainer
from bot.review import AssignmentRefused, Refusal
from handlers import gold, lease_sweeper, rewrites
from handlers.callback_data import Action, Callback, InvalidCallbackData, decode
from handlers.context import NilaiContext
from handlers.corrections import undo_keyboard
from handlers.item_messages import retire_panel, send_next_item, show_panel
from handlers.quality_text import stats_line
from handlers.render import (
    REFUSAL_TOASTS,
    SKIP_REASONS,
    render_sitting_summary,
    render_skip_keyboard,
    render_skip_status,
    render_submitted_summary,
)
from handlers.sending import answer_tap

log = logging.getLogger(__name__)


async def next_command(update: Update, context: NilaiContext) -> None:
    """Shows the trainer's current item, or the next one."""
    assert update.effective_chat is not None and context.trainer is not None
    await send_next_item(
        context.application, update.effective_chat.id, context.trainer, context.services
    )


async def stats_command(update: Update, context: NilaiContext) -> None:
    """Shows today's count against the quota, the streak, totals and, once a reviewer decided
    on one of their rewrites, how many were accepted."""
    trainer, services = context.trainer, context.services
    assert update.message is not None and trainer is not None
    stats, language = await services.review.stats(trainer), trainer.language
    streak = await services.days.streak(trainer, services.clock())
    shown = counts(
        language, today=stats.today, quota=stats.quota, total=stats.total, skipped=stats.skipped
    )
    days = Html(t(language, "stats.days", count=streak))
    text = t(language, "stats.text", streak=days, **shown)
    accepted = stats_line(await services.quality.acceptance(trainer.user_id), language)
    await update.message.reply_html(f"{text}\n{accepted}" if accepted else text)


async def review_button(update: Update, context: NilaiContext) -> None:
    """Routes a rating-panel tap; refusals (forged, foreign, finished) become a short toast."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    try:
        callback = decode(query.data)
        if callback.action is Action.NEXT:
            sent = await send_next_item(
                context.application, trainer.chat_id, trainer, context.services, show_open=False
            )
            await answer_tap(query, None if sent else t_plain(trainer.language, "toast.item_open"))
            return
        if await _from_old_copy(query, callback, trainer, context):
            return
        await _BUTTONS[callback.action](query, callback, trainer, context)
    except InvalidCallbackData:
        log.warning("user %s sent unknown callback data %r", trainer.user_id, query.data)
        await query.answer(t_plain(trainer.language, "toast.invalid"))
    except AssignmentRefused as refusal:
        if refusal.reason is Refusal.EXPIRED:  # swept, and the item is others' now
            await lease_sweeper.explain_expired(query, callback, trainer, context)
            return
        await query.answer(t_plain(trainer.language, REFUSAL_TOASTS[refusal.reason]))


async def _from_old_copy(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> bool:
    """A tap on a copy of the item that is no longer its live panel (it was shown again
    below): refused, and the copy loses its buttons again in case that edit was lost."""
    message = query.message
    if cb.assignment_id is None or message is None:
        return False
    live = context.services.panels.live
    if not await live.is_stale(cb.assignment_id, message.chat.id, message.message_id):
        return False
    log.info("user %s tapped an old copy of assignment %s", trainer.user_id, cb.assignment_id)
    view = await context.services.review.owned_view(trainer, cb.assignment_id, finished_ok=True)
    await query.answer(t_plain(trainer.language, "toast.moved_below"))
    retire_panel(context.application, message.chat.id, message.message_id, view, trainer.language)
    return True


async def _score(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    assert cb.assignment_id is not None
    criterion, score = cb.args
    view = await context.services.review.score(trainer, cb.assignment_id, criterion, score)
    label = view.rubric.label(view.rubric.criteria[criterion], trainer.language)
    await answer_tap(query, t_plain(trainer.language, "toast.scored", criterion=label, score=score))
    _refresh(query, view, trainer, context)


async def _criterion(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    assert cb.assignment_id is not None
    view = await context.services.review.choose_criterion(trainer, cb.assignment_id, cb.args[0])
    await answer_tap(query)
    _refresh(query, view, trainer, context)


async def _flag(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    assert cb.assignment_id is not None
    index, on = cb.args
    view, flag = await context.services.review.set_flag(trainer, cb.assignment_id, index, bool(on))
    key = "toast.flag_on" if on else "toast.flag_off"
    await answer_tap(
        query, t_plain(trainer.language, key, flag=view.rubric.label(flag, trainer.language))
    )
    _refresh(query, view, trainer, context)


async def _ask_text(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    """Rewrite / Note: a force-reply prompt; the trainer's reply to it is stored. Rewrite
    first sends the AI's answer to copy (handlers/rewrites.py), so the trainer edits it."""
    assert cb.assignment_id is not None and query.message is not None
    review = context.services.review
    view = await review.owned_view(trainer, cb.assignment_id)
    field = "rewrite" if cb.action is Action.REWRITE else "note"
    if field == "rewrite":
        await rewrites.send_answer_to_copy(context, trainer, cb.assignment_id, view.item.response)
    key = "texts.rewrite_prompt" if field == "rewrite" else "prompt.note"
    prompt = await context.bot.send_message(
        trainer.chat_id,
        t(trainer.language, key),
        parse_mode=ParseMode.HTML,
        reply_markup=ForceReply(selective=True),
    )
    await review.remember_prompt(cb.assignment_id, trainer.chat_id, prompt.message_id, field)
    await answer_tap(query)  # after the prompt is recorded, so a reply to it always counts


async def _skip_menu(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    assert cb.assignment_id is not None
    view = await context.services.review.owned_view(trainer, cb.assignment_id)
    await answer_tap(query)
    markup = render_skip_keyboard(cb.assignment_id, trainer.language)
    status = render_skip_status(trainer.language)  # the reasons in the message, not a toast
    _refresh(query, view, trainer, context, status=status, markup=markup)


async def _back(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    assert cb.assignment_id is not None
    view = await context.services.review.owned_view(trainer, cb.assignment_id)
    await answer_tap(query)
    _refresh(query, view, trainer, context)


async def _skip(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    assert cb.assignment_id is not None
    index = cb.args[0]
    if not 0 <= index < len(SKIP_REASONS):
        raise InvalidCallbackData(query.data)
    reason = SKIP_REASONS[index]
    view = await context.services.review.skip(trainer, cb.assignment_id, reason)
    context.services.panels.sittings.skipped(trainer.user_id, cb.assignment_id)
    language = trainer.language
    await answer_tap(query, t_plain(language, "toast.skipped"))
    status = t(language, "summary.skipped", reason=t(language, f"skip_reason.{reason}"))
    _refresh(query, view, trainer, context, status=status, finished=True)
    await send_next_item(context.application, trainer.chat_id, trainer, context.services)


async def _submit(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    assert cb.assignment_id is not None
    view, missing = await context.services.review.submit(trainer, cb.assignment_id)
    language = trainer.language
    if missing is not None:
        label = view.rubric.label(missing, language)
        await answer_tap(
            query, t_plain(language, "toast.incomplete", criterion=label), show_alert=True
        )
        _refresh(query, view, trainer, context)
        return
    context.services.panels.sittings.reviewed(trainer.user_id, cb.assignment_id)
    await answer_tap(query, t_plain(language, "toast.submitted"))
    summary = render_submitted_summary(view.rubric, view.draft, language)
    undo = undo_keyboard(cb.assignment_id, language, context.services.corrections.window_minutes)
    _refresh(query, view, trainer, context, status=summary, finished=True, markup=undo)
    panel = query.message.message_id if query.message else None
    await gold.after_submit(context, trainer, view, panel)  # a pause is said before what follows
    if not view.resubmitted:  # after Undo the quota was reached (and said) already
        await _announce_quota(trainer, view.done_today + 1, view.quota, context)
    await send_next_item(context.application, trainer.chat_id, trainer, context.services)


async def _announce_quota(trainer: Trainer, done: int, quota: int, context: NilaiContext) -> None:
    """Today's quota just reached: say so, with the summary of the sitting it ends."""
    if done != quota:
        return
    language = trainer.language
    text = t(language, "done.quota", **counts(language, quota=quota))
    summary = await context.services.panels.sittings.finish(trainer.user_id)
    if summary is not None:
        text += "\n\n" + render_sitting_summary(summary, language)
    await context.bot.send_message(trainer.chat_id, text, parse_mode=ParseMode.HTML)


def _refresh(
    query: CallbackQuery,
    view,
    trainer: Trainer,
    context: NilaiContext,
    *,
    status: str | None = None,
    finished: bool = False,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Edits the tapped panel message to show the new state (`markup`: other buttons)."""
    message = query.message
    if message is None:
        return
    show_panel(
        context.application,
        message.chat.id,
        message.message_id,
        view,
        trainer.language,
        status=status,
        markup=markup,
        keep_buttons=not finished,
    )


_BUTTONS = {
    Action.SCORE: _score,
    Action.CRITERION: _criterion,
    Action.FLAG: _flag,
    Action.REWRITE: _ask_text,
    Action.NOTE: _ask_text,
    Action.SKIP_MENU: _skip_menu,
    Action.BACK: _back,
    Action.SKIP: _skip,
    Action.SUBMIT: _submit,
}
