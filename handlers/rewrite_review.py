"""/review: coordinators and reviewers judge trainers' rewrites one at a time (Accept, Reject with
a reason and a comment, or Skip), and the writer is told the outcome in their language.

Each tap's write is committed (bot/rewrite_review.py) before the tap is answered; a double tap,
a stale button or forged data gets a polite toast and changes nothing. After a decision the next
rewrite comes by itself.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.formatting import number
from bot.i18n import t, t_plain
from bot.onboarding import Trainer
from bot.rewrite_review import (
    MAX_COMMENT,
    REASONS,
    Decision,
    Rewrite,
    Step,
    UnknownBatch,
    may_review,
)
from bot.services import Services
from handlers import rewrites
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.panel_edits import NO_PREVIEW
from handlers.render import Blocks, context_blocks, pack_in_parts
from handlers.sending import answer_tap, send_bulk_message
from handlers.text_split import MESSAGE_LIMIT, echo, visible_len

log = logging.getLogger(__name__)

BATCH_KEY = "review_batch"  # user_data: the batch /review named (None: every open batch)
ACCEPT, REJECT, SKIP = range(3)  # the choices of Action.REVIEW_DECISION
PENDING_PER_RUN = 100  # notices the per-minute job sends at most per run (paced bulk sends)


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls.

    The reply handler sees every text reply first: a reply to a comment question is the
    reviewer's comment; any other reply goes on to handlers/rewrites.py (a rewrite or a note).
    """
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("review", review_command, filters=private),
        CallbackQueryHandler(decision_button, pattern=rf"^1{Action.REVIEW_DECISION.value}:"),
        CallbackQueryHandler(reason_button, pattern=rf"^1{Action.REJECT_REASON.value}:"),
        CallbackQueryHandler(no_comment_button, pattern=rf"^1{Action.NO_COMMENT.value}:"),
        MessageHandler(
            private & filters.REPLY & filters.TEXT & ~filters.COMMAND, comment_or_rewrite
        ),
    ]


async def review_command(update: Update, context: NilaiContext) -> None:
    """The next rewrite to review (of the named batch, else of any open batch), or why not."""
    message, me = update.message, context.trainer
    assert message is not None and message.text is not None
    language = context.language(update)
    if me is None or not may_review(me):
        user_id = update.effective_user.id if update.effective_user else None
        log.warning("user %s tried /review: refused", user_id)
        await message.reply_html(t(language, "rewrite_review.not_allowed"))
        return
    parts = message.text.split(maxsplit=1)
    name = parts[1].strip() if len(parts) > 1 else None
    batch_id = None
    if name:
        try:
            batch_id = await context.services.rewrite_reviews.batch_id(name)
        except UnknownBatch:
            await message.reply_html(t(language, "rewrite_review.unknown", name=echo(name)))
            return
    assert context.user_data is not None
    context.user_data[BATCH_KEY] = batch_id
    await show_next(context, me)


async def show_next(context: NilaiContext, me: Trainer) -> None:
    """Opens (locks) the reviewer's next rewrite and sends it, or says warmly none is left."""
    batch_id = (context.user_data or {}).get(BATCH_KEY)
    rewrite = await context.services.rewrite_reviews.next_for(me, batch_id)
    if rewrite is None:
        await _send(context, me, t(me.language, "rewrite_review.none_left"))
        return
    parts = render_rewrite(rewrite, me.language)
    for text in parts[:-1]:
        await _send(context, me, text)
    await _send(context, me, parts[-1], decision_keyboard(rewrite.assignment_id, me.language))


async def _send(
    context: NilaiContext, me: Trainer, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    return await context.bot.send_message(
        me.chat_id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=NO_PREVIEW,
    )


def render_rewrite(rewrite: Rewrite, language: str) -> list[str]:
    """The messages that show one rewrite: earlier turns, prompt, original, rewrite, note and
    the question, long texts split safely under Telegram's limit."""
    blocks: Blocks = [
        (
            "html",
            t(
                language,
                "rewrite_review.title",
                id=echo(rewrite.external_id),
                batch=rewrite.batch_name,
            ),
        )
    ]
    blocks += context_blocks(rewrite.context, language)
    blocks += [
        ("html", "\n" + t(language, "item.prompt")),
        ("text", rewrite.prompt),
        ("html", "\n" + t(language, "rewrite_review.original")),
        ("text", rewrite.response),
        ("html", "\n" + t(language, "rewrite_review.rewrite")),
        ("text", rewrite.rewrite),
    ]
    if rewrite.note:
        blocks += [("html", "\n" + t(language, "rewrite_review.note")), ("text", rewrite.note)]
    blocks.append(("html", "\n" + t(language, "rewrite_review.question")))
    return pack_in_parts(blocks, language)


def decision_keyboard(assignment_id: int, language: str) -> InlineKeyboardMarkup:
    """Accept / Reject / Skip under a rewrite, each carrying the rewrite's assignment id."""
    labels = ("button.review_accept", "button.review_reject", "button.review_skip")
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t_plain(language, label),
                    callback_data=encode(Action.REVIEW_DECISION, assignment_id, choice),
                )
                for choice, label in enumerate(labels)
            ]
        ]
    )


def reason_keyboard(assignment_id: int, language: str) -> InlineKeyboardMarkup:
    """The reasons for a rejection, two a row, each carrying its index in REASONS."""
    buttons = [
        InlineKeyboardButton(
            t_plain(language, f"review_reason.{reason}"),
            callback_data=encode(Action.REJECT_REASON, assignment_id, index),
        )
        for index, reason in enumerate(REASONS)
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def _tapped(
    update: Update, context: NilaiContext, arity: int
) -> tuple[CallbackQuery, Trainer, tuple[int, ...]] | None:
    """The tap's reviewer and fields, or None after a polite toast (not a reviewer, forged)."""
    query, me = update.callback_query, context.trainer
    assert query is not None
    language = context.language(update)
    if me is None or not may_review(me):
        log.warning("user %s tapped a review button: refused", query.from_user.id)
        await answer_tap(query, t_plain(language, "toast.review_not_allowed"), show_alert=True)
        return None
    try:
        args = decode(query.data).args
    except InvalidCallbackData:
        args = ()
    if len(args) != arity:
        await answer_tap(query, t_plain(language, "toast.review_unknown"), show_alert=True)
        return None
    return query, me, args


async def _refused(query: CallbackQuery, me: Trainer, step: Decision | Step) -> bool:
    """Answers a tap that changed nothing with why; whether it did."""
    if isinstance(step, Decision) or step is Step.DONE:
        return False
    key = "toast.review_stale" if step is Step.STALE else "toast.review_unknown"
    await answer_tap(query, t_plain(me.language, key), show_alert=True)
    return True


async def decision_button(update: Update, context: NilaiContext) -> None:
    """Accept (the writer is thanked, the next rewrite comes), Reject (the reasons), Skip (the
    next rewrite; nobody is told)."""
    tapped = await _tapped(update, context, 2)
    if tapped is None:
        return
    query, me, (assignment_id, choice) = tapped
    reviews = context.services.rewrite_reviews
    if choice == ACCEPT:
        decision = await reviews.accept(me, assignment_id)
        if await _refused(query, me, decision):
            return
        await answer_tap(query, t_plain(me.language, "toast.review_accepted"))
        await _close(query, t(me.language, "rewrite_review.accepted"))
        assert isinstance(decision, Decision)
        await show_next(context, me)
        tell_writer_later(context, update, decision)
    elif choice == REJECT:
        step = await reviews.start_reject(me, assignment_id)
        if await _refused(query, me, step):
            return
        await answer_tap(query, t_plain(me.language, "toast.review_reason"))
        await _close(
            query,
            t(me.language, "rewrite_review.ask_reason"),
            reason_keyboard(assignment_id, me.language),
        )
    elif choice == SKIP:
        step = await reviews.skip(me, assignment_id)
        if await _refused(query, me, step):
            return
        await answer_tap(query, t_plain(me.language, "toast.review_skipped"))
        await _close(query, t(me.language, "rewrite_review.skipped"))
        await show_next(context, me)
    else:
        await answer_tap(query, t_plain(me.language, "toast.review_unknown"), show_alert=True)


async def reason_button(update: Update, context: NilaiContext) -> None:
    """A reason chosen: the comment question (reply to it, or tap No comment)."""
    tapped = await _tapped(update, context, 2)
    if tapped is None:
        return
    query, me, (assignment_id, index) = tapped
    reviews = context.services.rewrite_reviews
    step = await reviews.choose_reason(me, assignment_id, index)
    if await _refused(query, me, step):
        return
    reason = t_plain(me.language, f"review_reason.{REASONS[index]}")
    await _close(query, t(me.language, "rewrite_review.rejected_because", reason=reason))
    button = InlineKeyboardButton(
        t_plain(me.language, "button.no_comment"),
        callback_data=encode(Action.NO_COMMENT, assignment_id),
    )
    asked = await _send(
        context, me, t(me.language, "rewrite_review.ask_comment"), InlineKeyboardMarkup([[button]])
    )
    await reviews.remember_question(me, assignment_id, asked.message_id)
    await answer_tap(query)


async def no_comment_button(update: Update, context: NilaiContext) -> None:
    """The rejection completed without a comment: the writer is told, the next rewrite comes."""
    tapped = await _tapped(update, context, 1)
    if tapped is None:
        return
    query, me, (assignment_id,) = tapped
    decision = await context.services.rewrite_reviews.reject(me, assignment_id, None)
    if await _refused(query, me, decision):
        return
    assert isinstance(decision, Decision)
    await answer_tap(query)
    await _close(query, t(me.language, "rewrite_review.no_comment_saved"))
    await show_next(context, me)
    tell_writer_later(context, update, decision)


async def comment_or_rewrite(update: Update, context: NilaiContext) -> None:
    """A reply to a comment question completes the rejection with that comment, word for word;
    any other reply is a rewrite or a note (handlers/rewrites.py)."""
    message, me = update.message, context.trainer
    assert message is not None and message.reply_to_message is not None
    asking = None
    if me is not None and may_review(me):
        asking = await context.services.rewrite_reviews.asking_comment(
            me, message.reply_to_message.message_id
        )
        if asking is None and _is_comment_question(message.reply_to_message, context.bot.id):
            # a question whose review moved on (taken over, skipped, shown again): never a text
            await message.reply_html(t(me.language, "rewrite_review.comment_moved_on"))
            return
    if asking is None or me is None:
        await rewrites.text_reply(update, context)
        return
    comment = message.text or ""
    if len(comment) > MAX_COMMENT:
        too_long = t(
            me.language,
            "rewrite_review.comment_too_long",
            chars=number(len(comment), me.language),
            limit=number(MAX_COMMENT, me.language),
        )
        await message.reply_html(too_long)
        return
    decision = await context.services.rewrite_reviews.reject(me, asking[0], comment)
    if not isinstance(decision, Decision):
        await message.reply_html(t(me.language, "rewrite_review.comment_done"))
        return
    await message.reply_html(t(me.language, "rewrite_review.comment_saved"))
    await _strip_button(context, me, message.reply_to_message.message_id)
    await show_next(context, me)
    tell_writer_later(context, update, decision)


def _is_comment_question(message: Message, bot_id: int) -> bool:
    """Whether the bot sent that message as a comment question: it carries a No comment button
    (the question knows itself, whatever became of its review since, and across restarts)."""
    if message.from_user is None or message.from_user.id != bot_id:
        return False
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else None
            try:
                if decode(data).action is Action.NO_COMMENT:
                    return True
            except InvalidCallbackData:
                continue
    return False


def tell_writer_later(context: NilaiContext, update: Update, decision: Decision) -> None:
    """The writer hears the outcome in the background, after the reviewer's next rewrite went
    out: their next rewrite never waits behind the bulk pacing of the writer's notice."""
    context.application.create_task(
        tell_writer(context.bot, context.services, decision),
        update=update,
        name=f"rewrite-notice:{decision.assignment_id}",
    )


async def send_pending_notices(bot: Bot, services: Services, now: datetime) -> int:
    """For the per-minute job: the writers of decisions over a minute old whose notice was
    never claimed (the process stopped between a decision and its notice); how many were
    told."""
    reviews = services.rewrite_reviews
    sent = 0
    for decision in await reviews.claim_untold(now, limit=PENDING_PER_RUN):
        sent += await _send_notice(bot, services, decision)
    return sent


async def tell_writer(bot: Bot, services: Services, decision: Decision) -> bool:
    """The writer hears the outcome, claimed first (a crash after the claim loses this one
    notice, never doubles it); whether it went out."""
    reviews = services.rewrite_reviews
    if not await reviews.claim_notice(decision.assignment_id):
        return False
    return await _send_notice(bot, services, decision)


async def _send_notice(bot: Bot, services: Services, decision: Decision) -> bool:
    """The outcome in the writer's language (never who reviewed it), paced with the bulk
    sends; whether it went out. A writer who blocked the bot is fine."""
    if not decision.writer_reachable:
        return False
    try:
        await send_bulk_message(
            bot,
            decision.writer_chat_id,
            writer_notice(decision),
            paid=services.settings.paid_broadcast,
        )
    except Forbidden:
        await services.onboarding.set_reachable(decision.writer_id, False)
        return False
    except TelegramError as error:  # the decision stands; only the notice is lost
        log.warning("writer of rewrite %s not told: %s", decision.assignment_id, error)
        return False
    return True


def writer_notice(decision: Decision) -> str:
    """What the writer is told: accepted, or rejected with the reason and the comment."""
    language = decision.writer_language
    where = {"id": echo(decision.external_id), "batch": decision.batch_name}
    if decision.accepted:
        return t(language, "rewrite_review.writer_accepted", **where)
    reason = t_plain(language, f"review_reason.{decision.reason}")
    lines = [t(language, "rewrite_review.writer_rejected", reason=reason, **where)]
    if decision.comment:
        lines.append(t(language, "rewrite_review.writer_comment", comment=decision.comment))
    lines.append(t(language, "rewrite_review.writer_tip"))
    return "\n\n".join(lines)


async def _close(
    query: CallbackQuery, outcome: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """The tapped message keeps its text and gains the outcome line; its buttons give way to
    `markup` (none by default). A message with no room left only loses its buttons."""
    message = query.message
    if not isinstance(message, Message):
        return
    text = f"{message.text_html}\n\n{outcome}" if message.text else outcome
    try:
        if visible_len(text) <= MESSAGE_LIMIT:
            await message.edit_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        else:
            await message.edit_reply_markup(reply_markup=markup)
    except TelegramError as error:  # the step is committed; only the edit is lost
        log.warning("review message not edited: %s", error)


async def _strip_button(context: NilaiContext, me: Trainer, message_id: int) -> None:
    """The comment question's No comment button goes once the comment is in."""
    try:
        await context.bot.edit_message_reply_markup(me.chat_id, message_id, reply_markup=None)
    except TelegramError as error:
        log.warning("comment question not edited: %s", error)
