"""Gold (control) items in chat: telling a trainer paused for them, the coordinators' evidence,
and lifting the pause (/resume @name [batch] and the evidence's Resume button).

The judging and the pause are committed by the Submit itself (storage/gold.py); this module
only says so. The trainer hears it at once, as a reply to their own tap (interactive traffic);
the coordinators' messages are bulk-paced and sent in the background, so the trainer's next
item is not held up by them.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.clock import stamp
from bot.config import Settings
from bot.formatting import number, percent
from bot.gold import (
    COORDINATORS,
    TRAINER,
    UNTOLD_PAGE,
    Evidence,
    GoldAnswer,
    GoldService,
    Pause,
    PausedBatch,
)
from bot.i18n import Html, t, t_plain
from bot.onboarding import Trainer
from bot.review import ItemView
from bot.rubric import Rubric
from bot.services import Services
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.guidance import render_guidelines
from handlers.panel_edits import NO_PREVIEW
from handlers.render import start_reviewing_keyboard, trainer_name
from handlers.sending import send_bulk_message
from handlers.text_split import MESSAGE_LIMIT, echo, visible_len

log = logging.getLogger(__name__)

SHOWN_ANSWERS = 15  # the latest gold answers in the evidence; older ones are counted only
NOTICE_GRACE = timedelta(minutes=1)  # the immediate path's chance before the job sends


def handlers() -> list[BaseHandler]:
    """The Resume button under the coordinators' evidence (/resume is handlers/coordinator_team)."""
    return [CallbackQueryHandler(resume_button, pattern=rf"^1{Action.GOLD_RESUME.value}:")]


# -- a trainer paused ----------------------------------------------------------------------------


async def after_submit(
    context: NilaiContext, trainer: Trainer, view: ItemView, reply_to: int | None
) -> None:
    """Called by the Submit handler once the tap is answered, before it sends the next item (or
    "nothing left"): if this gold answer paused the trainer, they are told first, so the next
    item, from another batch or none, reads as what follows the pause. Each notice is claimed
    before it is sent; what a crash leaves unclaimed the `quality-notices` job sends."""
    judged = view.gold
    if judged is None or not judged.paused:
        return
    services = context.services
    service = services.gold
    pause = await service.live_pause(trainer.user_id, judged.batch_id)
    if pause is None:  # lifted already: nothing to tell
        return
    evidence = await service.evidence(
        trainer.user_id, judged.batch_id, view.rubric.criteria, view.item.batch_name
    )
    if await service.claim(pause.id, TRAINER):
        await _tell_paused_trainer(context.bot, services, trainer, view.rubric, evidence, reply_to)
    context.application.create_task(
        _claim_and_tell_coordinators(context.bot, services, trainer, view.rubric, evidence, pause),
        name="gold-pause-notice",
    )


async def send_pending_notices(bot: Bot, services: Services, now: datetime) -> int:
    """The `quality-notices` job's gold part: pauses made over a minute ago whose trainer or
    coordinators were never claimed for (the process stopped between the Submit's commit and
    its sends) are claimed and told now; a pause lifted meanwhile is claimed and not told.
    How many messages were sent."""
    service = services.gold
    before = stamp(now - NOTICE_GRACE)
    sent = 0
    while True:
        page = await service.untold_before(before)
        for pause in page:
            sent += await _tell_untold(bot, services, service, pause)
        if len(page) < UNTOLD_PAGE:
            return sent


async def _tell_untold(bot: Bot, services: Services, service: GoldService, pause: Pause) -> int:
    """One pause's unclaimed notices, each claimed first; the messages sent."""
    trainer = await services.team.trainer(pause.trainer_id)
    rubric = Rubric.from_dict(json.loads(pause.rubric_json))
    evidence = await service.evidence(
        pause.trainer_id, pause.batch_id, rubric.criteria, pause.batch_name
    )
    # Claimed even when there is nothing to tell (lifted, no trainer): it is settled then.
    tell_trainer = not pause.trainer_told and await service.claim(pause.id, TRAINER)
    tell_coordinators = not pause.coordinators_told and await service.claim(pause.id, COORDINATORS)
    if not pause.live or trainer is None:
        return 0
    sent = 0
    if tell_trainer and trainer.reachable:
        sent += await _tell_paused_trainer(bot, services, trainer, rubric, evidence, None)
    if tell_coordinators:
        sent += await _tell_coordinators(bot, services, trainer, rubric, evidence, pause.id)
    return sent


async def _tell_paused_trainer(
    bot: Bot,
    services: Services,
    trainer: Trainer,
    rubric: Rubric,
    evidence: Evidence,
    reply_to: int | None,
) -> int:
    """The kind message (no blame; what to read again), then the batch's guidelines; how many
    messages went out. A failure is logged: the pause stands and the next item must come."""
    language = trainer.language
    missed = [rubric.label(key, language) for key in evidence.accuracy.most_missed()]
    hint = t(language, "gold_paused.missed", criteria=", ".join(missed)) if missed else ""
    text = t(language, "gold_paused.trainer", batch=evidence.batch.name, missed=Html(hint))
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    sent = 0
    try:
        await bot.send_message(
            trainer.chat_id, text, parse_mode=ParseMode.HTML, reply_parameters=reply
        )
        sent += 1
        for part in render_guidelines(rubric, evidence.batch.name, language, first=False):
            await bot.send_message(
                trainer.chat_id, part, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
            )
            sent += 1
    except Forbidden:
        await services.onboarding.set_reachable(trainer.user_id, False)
    except TelegramError as error:
        log.warning("trainer %s not told of their gold pause: %s", trainer.user_id, error)
    return sent


async def _claim_and_tell_coordinators(
    bot: Bot,
    services: Services,
    trainer: Trainer,
    rubric: Rubric,
    evidence: Evidence,
    pause: Pause,
) -> None:
    """The Submit's background task: the evidence, if nobody claimed it yet."""
    if await services.gold.claim(pause.id, COORDINATORS):
        await _tell_coordinators(bot, services, trainer, rubric, evidence, pause.id)


async def _tell_coordinators(
    bot: Bot,
    services: Services,
    trainer: Trainer,
    rubric: Rubric,
    evidence: Evidence,
    pause_id: int,
) -> int:
    """Every reachable coordinator gets the evidence in their language, with a Resume button
    that carries the pause's id (a stale button never lifts a later pause); how many were."""
    sent = 0
    for coordinator in await services.team.coordinators():
        if not coordinator.reachable:
            continue
        language = coordinator.language
        text = render_evidence(trainer, rubric, evidence, language, services.settings)
        button = InlineKeyboardButton(
            t_plain(language, "gold_button.resume"),
            callback_data=encode(Action.GOLD_RESUME, trainer.user_id, pause_id),
        )
        try:
            await send_bulk_message(
                bot,
                coordinator.chat_id,
                text,
                paid=services.settings.paid_broadcast,
                reply_markup=InlineKeyboardMarkup([[button]]),
            )
            sent += 1
        except Forbidden:
            await services.onboarding.set_reachable(coordinator.user_id, False)
        except TelegramError as error:  # the pause stands; /trainers shows it too
            log.warning("coordinator %s not told of a gold pause: %s", coordinator.user_id, error)
    return sent


def render_evidence(
    trainer: Trainer, rubric: Rubric, evidence: Evidence, language: str, settings: Settings
) -> str:
    """Who, where, the accuracy (x of y, percent) and each counted answer, expected vs given:
    the latest SHOWN_ANSWERS, fewer if a long rubric would pass Telegram's limit (the older
    ones are counted in a line of their own)."""
    accuracy = evidence.accuracy
    lines = [_answer_line(answer, rubric, language) for answer in evidence.answers]
    shown = min(len(lines), SHOWN_ANSWERS)
    while True:
        listed = lines[len(lines) - shown :]
        earlier = len(lines) - shown
        if earlier:
            listed.insert(0, t(language, "gold_paused.earlier", count=number(earlier, language)))
        text = t(
            language,
            "gold_paused.coordinator",
            name=trainer.name or str(trainer.user_id),
            handle=Html(handle_of(trainer, language)),
            batch=evidence.batch.name,
            correct=number(accuracy.correct, language),
            answered=number(accuracy.answered, language),
            percent=percent(accuracy.share, language),
            needed=percent(settings.gold_pass_rate, language),
            answers=Html("\n".join(listed)),
            who=f"@{trainer.username}" if trainer.username else str(trainer.user_id),
        )
        if shown == 0 or visible_len(text) <= MESSAGE_LIMIT:
            return text
        shown -= 1


def _answer_line(answer: GoldAnswer, rubric: Rubric, language: str) -> str:
    """One gold answer: right or not, its item, and each criterion given vs expected."""
    parts = []
    for key, (given, low, high) in answer.detail.items():
        exact = "gold_paused.criterion_exact" if low == high else "gold_paused.criterion"
        label = rubric.label(key, language)
        parts.append(t(language, exact, label=label, given=given, low=low, high=high))
    mark = "✅" if answer.correct else "❌"  # symbols, no words
    return f"{mark} <code>{html.escape(answer.external_id)}</code>: {' · '.join(parts)}"


def handle_of(trainer: Trainer, language: str) -> str:
    """@username when there is one (how coordinators address people), else the id."""
    if trainer.username:
        return f"(@{html.escape(trainer.username)})"
    return t(language, "team_list.handle_id", user_id=trainer.user_id)


# -- lifting a pause -----------------------------------------------------------------------------


async def resume_gold(update: Update, context: NilaiContext) -> bool:
    """/resume's gold part (a coordinator's, checked by the caller): with a batch, lifts that
    batch's pause and answers; without, lifts every gold pause of the trainer. True when the
    command is answered in full here; False when /resume's status change must still run (no
    gold pause, an unknown trainer, or a trainer whose own status is paused or removed)."""
    message, me, args = update.message, context.trainer, context.args or []
    assert message is not None and me is not None
    if not args:
        return False
    services = context.services
    target = await services.team.find(args[0])
    if len(args) > 1:
        await _resume_in_batch(context, message, me, target, args)
        return True
    if target is None:
        return False
    lifted = await services.gold.lift(target.user_id, None, actor_id=me.user_id)
    if not lifted:
        return False
    await _say_lifted(context, message, me, target, lifted, status_follows=True)
    return target.status == "active"


async def _resume_in_batch(
    context: NilaiContext, message: Message, me: Trainer, target: Trainer | None, args: list[str]
) -> None:
    """/resume @name batch: that batch's gold pause only; anything amiss is said politely."""
    language = me.language
    if target is None:
        await message.reply_html(t(language, "team_manage.unknown", who=echo(args[0])))
        return
    batch = " ".join(args[1:])
    batch_id = await context.services.gold.batch_id(batch)
    if batch_id is None:
        await message.reply_html(t(language, "gold_resume.unknown_batch", batch=echo(batch)))
        return
    lifted = await context.services.gold.lift(target.user_id, batch_id, actor_id=me.user_id)
    if not lifted:
        text = t(language, "gold_resume.not_paused", name=trainer_name(target, None), batch=batch)
        await message.reply_html(text)
        return
    await _say_lifted(context, message, me, target, lifted)


async def _say_lifted(
    context: NilaiContext,
    message: Message,
    me: Trainer,
    target: Trainer,
    lifted: Sequence[PausedBatch],
    *,
    status_follows: bool = False,
) -> None:
    """The coordinator hears what was lifted; the trainer is told only when they can review
    now (status active). Otherwise the coordinator hears why not and what to do, unless
    /resume's status change follows (it tells the trainer itself)."""
    names = ", ".join(batch.name for batch in lifted)
    await message.reply_html(
        t(me.language, "gold_resume.lifted", name=trainer_name(target, None), batches=names)
    )
    if target.status == "active":
        await _tell_resumed_trainer(context, target, names)
    elif not status_follows:
        await message.reply_html(_not_active(target, me.language))


def _not_active(target: Trainer, language: str) -> str:
    """Why a trainer whose gold pause was lifted still gets nothing: paused or removed."""
    who = f"@{target.username}" if target.username else str(target.user_id)
    removed = target.status == "blocked"  # what /remove sets
    key = "gold_resume.still_removed" if removed else "gold_resume.still_paused"
    return t(language, key, name=trainer_name(target, None), who=who)


@coordinators_only
async def resume_button(update: Update, context: NilaiContext) -> None:
    """Resume under the evidence: lifts that very pause (its id is in the button), once; a
    second tap, or a stale button whose pause was lifted already, says so and lifts nothing."""
    query, me = update.callback_query, context.trainer
    assert query is not None and me is not None
    try:
        user_id, pause_id = decode(query.data).args
    except (InvalidCallbackData, ValueError):
        await query.answer(t_plain(me.language, "gold_toast.invalid"))
        return
    service = context.services.gold
    found = await service.pause(pause_id)
    if found is None or found.trainer_id != user_id:
        await query.answer(t_plain(me.language, "gold_toast.invalid"))
        return
    lifted = await service.lift_pause(pause_id, actor_id=me.user_id)
    if lifted is None:
        await query.answer(t_plain(me.language, "gold_toast.already"))
        return
    await query.answer(t_plain(me.language, "gold_toast.lifted"))
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:  # another coordinator's tap took it away first
        log.debug("gold evidence kept its button: %s", error)
    target = await context.services.team.trainer(user_id)
    if target is None:
        return
    if target.status == "active":
        await _tell_resumed_trainer(context, target, lifted.batch_name)
    elif query.message is not None:
        await context.bot.send_message(
            query.message.chat.id, _not_active(target, me.language), parse_mode=ParseMode.HTML
        )


async def _tell_resumed_trainer(context: NilaiContext, target: Trainer, batches: str) -> None:
    """The trainer hears at once that they can go on, with the Start reviewing button."""
    if not target.reachable:
        return
    language = target.language
    try:
        await context.bot.send_message(
            target.chat_id,
            t(language, "gold_resume.trainer", batches=batches),
            parse_mode=ParseMode.HTML,
            reply_markup=start_reviewing_keyboard(language),
        )
    except Forbidden:
        await context.services.onboarding.set_reachable(target.user_id, False)
    except TelegramError as error:  # the lift stands; only the notice is lost
        log.warning("trainer %s not told of a lifted gold pause: %s", target.user_id, error)
