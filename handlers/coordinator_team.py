"""Coordinators' team view: invites, the trainer list and its management.

Every handler here is for coordinators only (@coordinators_only): anyone else gets a polite
refusal and nothing changes. Each change is committed (and audited) by bot/team.py before the
coordinator is told or the tap is answered.
"""

from __future__ import annotations

import html
import logging

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.formatting import counts, number
from bot.i18n import Html, t, t_plain
from bot.onboarding import Trainer
from bot.team import (
    COORDINATOR_INVITE_DAYS,
    INVITE_DAYS,
    MAX_INVITE_DAYS,
    MAX_INVITE_USES,
    MAX_QUOTA,
    PAGE_SIZE,
    TRAINER_INVITE_USES,
    InviteLink,
    StatusOp,
    TeamRefused,
    TeamService,
    TrainerChange,
    TrainerLine,
    TrainerPage,
    parse_invite_args,
)
from handlers import gold
from handlers.anomaly_text import SEPARATOR, anomaly_phrases
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.coordinator_progress import moment_for
from handlers.quality_text import trainer_phrases
from handlers.render import start_reviewing_keyboard, trainer_name
from handlers.text_split import MESSAGE_LIMIT, echo, visible_len

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Operations of Action.TRAINER buttons, by the index carried in the callback data.
TRAINER_OPS = (StatusOp.PAUSE, StatusOp.RESUME, StatusOp.REMOVE)
# After a change, the button offered is the one that undoes it.
_UNDO = {"paused": StatusOp.RESUME, "active": StatusOp.PAUSE, "blocked": StatusOp.RESUME}
_UNDO_LABEL = {"paused": "team_button.resume", "active": "team_button.pause"}
# What a trainer is told when their status changes; nothing when removed (they learn it on their
# next tap, from the guard) and nothing to someone who blocked the bot.
_TOLD = {"paused": "team_notice.paused", "active": "team_notice.resumed"}


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("invite", invite_command, filters=private),
        CommandHandler("trainers", trainers_command, filters=private),
        CommandHandler("quota", quota_command, filters=private),
        CommandHandler("pause", pause_command, filters=private),
        CommandHandler("resume", resume_command, filters=private),
        CommandHandler("remove", remove_command, filters=private),
        CallbackQueryHandler(trainers_page, pattern=rf"^1{Action.TRAINERS_PAGE.value}:"),
        CallbackQueryHandler(trainer_button, pattern=rf"^1{Action.TRAINER.value}:"),
    ]


def _me(context: NilaiContext) -> Trainer:
    assert context.trainer is not None  # coordinators_only let only registered users through
    return context.trainer


# -- invites -------------------------------------------------------------------------------------


@coordinators_only
async def invite_command(update: Update, context: NilaiContext) -> None:
    """Answers with a new t.me invite link and what it allows, or a usage hint."""
    message, me = update.message, _me(context)
    assert message is not None
    request = parse_invite_args(context.args or [])
    if request is None:
        usage = t(
            me.language,
            "team_invite.usage",
            uses=number(TRAINER_INVITE_USES, me.language),
            days=INVITE_DAYS,
            hours=COORDINATOR_INVITE_DAYS * 24,
            max_uses=number(MAX_INVITE_USES, me.language),
            max_days=MAX_INVITE_DAYS,
        )
        await message.reply_html(usage)
        return
    invite = await context.services.team.invite(
        request, actor_id=me.user_id, bot_username=context.bot.username
    )
    await message.reply_html(render_invite(invite, me, context), link_preview_options=NO_PREVIEW)


def render_invite(invite: InviteLink, me: Trainer, context: NilaiContext) -> str:
    """The link, and who may use it for how long: how many people and until when."""
    language = me.language
    when = moment_for(invite.expires_at, me, context) if invite.expires_at else None
    if invite.role == "coordinator":
        hours = COORDINATOR_INVITE_DAYS * 24
        return t(
            language, "team_invite.coordinator", hours=hours, when=when or "", link=invite.link
        )
    reach = "team_invite.reach_until" if when else "team_invite.reach_forever"
    who = t(language, reach, count=invite.uses, when=when or "")
    return t(language, "team_invite.trainer", reach=Html(who), link=invite.link)


# -- the trainer list ----------------------------------------------------------------------------


@coordinators_only
async def trainers_command(update: Update, context: NilaiContext) -> None:
    """Shows the first page of trainers: today's count / quota, total, last seen, status."""
    assert update.message is not None
    page = await context.services.team.page(0)
    text, markup = render_trainer_page(page, _me(context), context)
    await update.message.reply_html(text, reply_markup=markup)


@coordinators_only
async def trainers_page(update: Update, context: NilaiContext) -> None:
    """Prev / Next under the list: the same message shows the other page."""
    query, me = update.callback_query, _me(context)
    assert query is not None
    try:
        wanted = decode(query.data).args[0]
    except InvalidCallbackData:
        await query.answer(t_plain(me.language, "team_toast.invalid"))
        return
    page = await context.services.team.page(wanted)
    await query.answer()
    text, markup = render_trainer_page(page, me, context)
    await _edit(query, text, markup)


def render_trainer_page(
    page: TrainerPage, me: Trainer, context: NilaiContext
) -> tuple[str, InlineKeyboardMarkup | None]:
    language = me.language
    if not page.count:
        return t(language, "team_list.empty"), None
    first = page.page * PAGE_SIZE
    lines = [
        t(
            language,
            "team_list.header",
            count=page.count,
            **counts(language, page=page.page + 1, pages=page.pages),
        )
    ]
    extras: list[str | None] = []
    cut_any = False
    for position, line in enumerate(page.lines, start=first + 1):
        trainer = line.trainer
        lines.append(
            t(
                language,
                "team_list.line",
                number=position,
                name=trainer_name(trainer),
                handle=Html(_handle(trainer, language)),
                status=Html(_status(trainer, language)),
                today=number(line.today, language),
                quota=number(line.quota, language),
                total=number(line.total, language),
                seen=moment_for(line.last_seen, me, context, short=True)
                if line.last_seen
                else Html(t(language, "team_list.never_seen")),
            )
        )
        extras.append(_quality_line(line, language))
    footer = t(language, "team_list.footer")
    cut = t(language, "anomalies.cut")
    # Quality lines are the first to go when a page of trainers with every anomaly would pass
    # Telegram's limit; room is kept for the line that says so.
    budget = MESSAGE_LIMIT - visible_len("\n".join([*lines, footer, cut]))
    listed = [lines[0]]
    for line_text, extra in zip(lines[1:], extras, strict=True):
        listed.append(line_text)
        if extra is None:
            continue
        if visible_len(extra) + 1 <= budget:
            listed.append(extra)
            budget -= visible_len(extra) + 1
        else:
            cut_any = True
    lines = [*listed, cut] if cut_any else listed
    lines.append(footer)
    return "\n".join(lines), _page_keyboard(page, language)


QUALITY_INDENT = "      "  # under the trainer's line, as its second line


def _quality_line(line: TrainerLine, language: str) -> str | None:
    """Gold pauses, gold accuracy and acceptance rate (bot/quality.py), distance from the
    others' scores and anomalies (bot/anomalies.py): those there are."""
    parts = trainer_phrases(line.quality, language)
    if line.distance is not None:
        distance = number(line.distance, language, decimals=2)
        parts.append(t(language, "anomalies.distance_short", distance=distance))
    if line.anomalies:
        parts.append(anomaly_phrases(line.anomalies, language, short=True))
    return QUALITY_INDENT + SEPARATOR.join(parts) if parts else None  # symbols, no words


def _page_keyboard(page: TrainerPage, language: str) -> InlineKeyboardMarkup | None:
    buttons = []
    if page.page > 0:
        buttons.append(
            _button(language, "team_button.previous", Action.TRAINERS_PAGE, page.page - 1)
        )
    if page.page + 1 < page.pages:
        buttons.append(_button(language, "team_button.next", Action.TRAINERS_PAGE, page.page + 1))
    return InlineKeyboardMarkup([buttons]) if buttons else None


def _handle(trainer: Trainer, language: str) -> str:
    """@username when there is one (it is how coordinators address people), else the id."""
    if trainer.username:
        return f"(@{html.escape(trainer.username)})"  # no words to translate
    return t(language, "team_list.handle_id", user_id=trainer.user_id)


def _status(trainer: Trainer, language: str) -> str:
    parts = [t(language, f"team_list.status_{trainer.status}")]
    if not trainer.reachable:
        parts.append(t(language, "team_list.unreachable"))
    if trainer.is_coordinator:
        parts.append(t(language, "team_list.coordinator"))
    return " · ".join(parts)


# -- managing one trainer ------------------------------------------------------------------------


@coordinators_only
async def quota_command(update: Update, context: NilaiContext) -> None:
    """Sets a trainer's daily quota and confirms it, or explains the usage."""
    message, me = update.message, _me(context)
    assert message is not None
    args = context.args or []
    if len(args) != 2 or not (args[1].isdecimal() and args[1].isascii()):
        await message.reply_html(_quota_usage(me.language))
        return
    team = context.services.team
    target = await _find_or_explain(team, args[0], message, me.language)
    if target is None:
        return
    try:
        change = await team.set_quota(target.user_id, int(args[1]), actor_id=me.user_id)
    except TeamRefused:
        await message.reply_html(_quota_usage(me.language))
        return
    await message.reply_html(render_quota_change(change, me.language, context))


def _quota_usage(language: str) -> str:
    return t(language, "team_manage.usage_quota", max=number(MAX_QUOTA, language))


async def _find_or_explain(
    team: TeamService, who: str, message: Message, language: str
) -> Trainer | None:
    """The trainer named by @username or id, or None after telling the coordinator."""
    target = await team.find(who)
    if target is None:
        await message.reply_html(t(language, "team_manage.unknown", who=echo(who)))
    return target


def render_quota_change(change: TrainerChange, language: str, context: NilaiContext) -> str:
    name = trainer_name(change.trainer)
    quota = number(int(change.after or 0), language)
    if not change.changed:
        return t(language, "team_manage.quota_same", name=name, quota=quota)
    default = number(context.services.settings.daily_quota, language)
    before = (
        number(int(change.before), language)
        if change.before
        else t(language, "team_manage.default_quota", quota=default)
    )
    return t(language, "team_manage.quota_set", name=name, quota=quota, before=Html(before))


@coordinators_only
async def pause_command(update: Update, context: NilaiContext) -> None:
    """Pauses a trainer (no new items) and offers Resume."""
    await _status_command(update, context, StatusOp.PAUSE, "pause")


@coordinators_only
async def resume_command(update: Update, context: NilaiContext) -> None:
    """Makes a paused or removed trainer active again, and offers Pause; lifts their gold
    pauses too, or with a batch name only that batch's (handlers/gold.py)."""
    if await gold.resume_gold(update, context):
        return
    await _status_command(update, context, StatusOp.RESUME, "resume")


@coordinators_only
async def remove_command(update: Update, context: NilaiContext) -> None:
    """Removes a trainer (no more items, past work kept) and offers Undo."""
    await _status_command(update, context, StatusOp.REMOVE, "remove")


async def _status_command(
    update: Update, context: NilaiContext, op: StatusOp, command: str
) -> None:
    message, me = update.message, _me(context)
    assert message is not None
    args = context.args or []
    if len(args) != 1:
        await message.reply_html(t(me.language, "team_manage.usage_person", command=command))
        return
    team = context.services.team
    target = await _find_or_explain(team, args[0], message, me.language)
    if target is None:
        return
    try:
        change = await team.change_status(target.user_id, op, actor_id=me.user_id)
    except TeamRefused:  # only a coordinator can be refused here: the target exists
        await message.reply_html(
            t(me.language, "team_manage.coordinator", name=trainer_name(target))
        )
        return
    text, markup = render_status_change(change, me.language)
    await message.reply_html(text, reply_markup=markup)
    await tell_trainer(context, change)


@coordinators_only
async def trainer_button(update: Update, context: NilaiContext) -> None:
    """Pause / Resume / Undo under a confirmation: applies it, then shows the new state."""
    query, me = update.callback_query, _me(context)
    assert query is not None
    try:
        user_id, index = decode(query.data).args
        op = TRAINER_OPS[index]
    except (InvalidCallbackData, IndexError):
        await query.answer(t_plain(me.language, "team_toast.invalid"))
        return
    try:
        change = await context.services.team.change_status(user_id, op, actor_id=me.user_id)
    except TeamRefused as refusal:
        await query.answer(t_plain(me.language, f"team_toast.{refusal.reason}"), show_alert=True)
        return
    await query.answer(t_plain(me.language, "team_toast.done"))
    await _edit(query, *render_status_change(change, me.language))
    await tell_trainer(context, change)


async def tell_trainer(context: NilaiContext, change: TrainerChange) -> None:
    """A paused or resumed trainer hears it at once, in their language.

    It answers the coordinator's own action, so it is interactive traffic, sent at once and not
    paced with the bulk sends. A 403 marks the trainer unreachable, as a broadcast would.
    """
    trainer = change.trainer
    key = _TOLD.get(trainer.status)
    if not change.changed or key is None or not trainer.reachable:
        return
    language = trainer.language
    markup = start_reviewing_keyboard(language) if trainer.status == "active" else None
    try:
        await context.bot.send_message(
            trainer.chat_id, t(language, key), parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except Forbidden:
        await context.services.onboarding.set_reachable(trainer.user_id, False)
    except TelegramError as error:  # the coordinator's change stands; only the notice is lost
        log.warning("trainer %s not told of %s: %s", trainer.user_id, trainer.status, error)


def render_status_change(change: TrainerChange, language: str) -> tuple[str, InlineKeyboardMarkup]:
    status = change.after or "active"
    key = f"team_manage.{status}" if change.changed else f"team_manage.already_{status}"
    undo = _UNDO[status]
    label = _UNDO_LABEL.get(status, "team_button.undo_remove")
    button = _button(
        language, label, Action.TRAINER, change.trainer.user_id, TRAINER_OPS.index(undo)
    )
    return t(language, key, name=trainer_name(change.trainer)), InlineKeyboardMarkup([[button]])


# -- shared pieces -------------------------------------------------------------------------------


def _button(language: str, key: str, action: Action, *fields: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(t_plain(language, key), callback_data=encode(action, *fields))


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edits the tapped message; an unchanged one (a repeated tap) is fine as it is."""
    if not isinstance(query.message, Message):
        return
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as error:
        log.debug("team message not edited: %s", error)
