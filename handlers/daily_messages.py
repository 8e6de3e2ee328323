"""What trainers get from the scheduler (the reminder and the evening summary), and
/reminders, which turns the reminder off and on.

The scheduler (the "daily" engine) decides and records each send; `send_reminder` and
`send_summary` only look again at send time and word the message. Both go out as bulk sends
(paced with every other bulk send) and let Telegram's errors through: the engine records a
403 as blocked and any other failure as failed.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.formatting import clock_time, number
from bot.i18n import t, t_plain
from bot.onboarding import Trainer
from bot.services import Services
from bot.trainer_days import DaySummary, Reminder
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.render import start_reviewing_keyboard
from handlers.sending import answer_tap, send_bulk_message

# What `/reminders <word>` accepts (the words the help and the hint show).
_SWITCH = {"on": True, "off": False}


def handlers() -> list[BaseHandler]:
    new_message = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("reminders", reminders_command, filters=new_message),
        CallbackQueryHandler(reminders_chosen, pattern=rf"^1{Action.REMINDERS.value}:"),
    ]


# -- the scheduler's sends ---------------------------------------------------------------------


async def send_reminder(bot: Bot, services: Services, trainer: Trainer, now: datetime) -> bool:
    """A short nudge with a "Start reviewing" button; False (nothing sent) when the trainer
    met today's quota meanwhile or has nothing left to review."""
    reminder = await services.days.reminder(trainer, now)
    if reminder is None:
        return False
    text = render_reminder(reminder, trainer.name, trainer.language)
    await send_bulk_message(
        bot,
        trainer.chat_id,
        text,
        paid=services.settings.paid_broadcast,
        reply_markup=start_reviewing_keyboard(trainer.language),
    )
    return True


async def send_summary(bot: Bot, services: Services, trainer: Trainer, now: datetime) -> bool:
    """The day in one message (count against the quota, streak, total, a word of
    encouragement); False when the trainer submitted nothing that local day."""
    summary = await services.days.summary(trainer, now)
    if summary is None:
        return False
    text = render_summary(summary, trainer.language)
    await send_bulk_message(bot, trainer.chat_id, text, paid=services.settings.paid_broadcast)
    return True


def render_reminder(reminder: Reminder, name: str, language: str) -> str:
    """How far today: nothing yet, or done of the quota and how many are left."""
    quota = number(reminder.quota, language)
    if reminder.done == 0:
        return t(language, "daily.reminder_none", name=name, quota=quota)
    done, left = number(reminder.done, language), number(reminder.quota - reminder.done, language)
    return t(language, "daily.reminder_some", name=name, done=done, quota=quota, left=left)


def render_summary(summary: DaySummary, language: str) -> str:
    done, quota = number(summary.done, language), number(summary.quota, language)
    today = "daily.summary_today_met" if summary.met else "daily.summary_today"
    lines = [
        t(language, "daily.summary_title"),
        t(language, today, done=done, quota=quota),
        streak_line(summary.streak, language),
        t(language, "daily.total", count=summary.total),
        "",
        _cheer(summary, language),
    ]
    return "\n".join(lines)


def streak_line(streak: int, language: str) -> str:
    """Always said, also at 0 (kindly then)."""
    if streak == 0:
        return t(language, "daily.streak_zero")
    return t(language, "daily.streak", count=streak)


def _cheer(summary: DaySummary, language: str) -> str:
    """One line for the situation: streak growing, quota just met, a streak to keep, or a
    fresh start tomorrow."""
    if summary.met:
        return t(language, "daily.cheer.growing" if summary.streak > 1 else "daily.cheer.met")
    if summary.streak > 0:  # the run up to yesterday, alive until midnight
        return t(language, "daily.cheer.keep", count=summary.quota - summary.done)
    return t(language, "daily.cheer.not_met")


# -- /reminders --------------------------------------------------------------------------------


async def reminders_command(update: Update, context: NilaiContext) -> None:
    """No argument: the state and a toggle button. `on` / `off`: set, then the new state. A
    coordinator is told that reminders are for trainers."""
    message, trainer = update.message, context.trainer
    assert message is not None and trainer is not None
    if trainer.is_coordinator:
        await message.reply_html(t(trainer.language, "reminders.for_trainers"))
        return
    words = [word.lower() for word in context.args or []]
    if not words:
        text, markup = _state(trainer, trainer.reminders, context)
        await message.reply_html(text, reply_markup=markup)
        return
    if len(words) != 1 or words[0] not in _SWITCH:
        await message.reply_html(t(trainer.language, "reminders.hint"))
        return
    on = _SWITCH[words[0]]
    await context.services.days.set_reminders(trainer, on)
    text, markup = _state(trainer, on, context)
    await message.reply_html(text, reply_markup=markup)


async def reminders_chosen(update: Update, context: NilaiContext) -> None:
    """The toggle button: sets the state it names (a double tap changes nothing), answers the
    tap once saved, and shows the new state."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    try:
        (on,) = decode(query.data).args
    except (InvalidCallbackData, ValueError):
        on = -1
    if on not in (0, 1):
        await query.answer(t_plain(trainer.language, "toast.invalid"))
        return
    if trainer.is_coordinator:  # a button from before they became one
        await answer_tap(query, t_plain(trainer.language, "reminders.for_trainers"))
        return
    await context.services.days.set_reminders(trainer, bool(on))
    key = "toast.reminders_on" if on else "toast.reminders_off"
    await answer_tap(query, t_plain(trainer.language, key))
    text, markup = _state(trainer, bool(on), context)
    with contextlib.suppress(BadRequest):  # tapped twice: the message says so already
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


def _state(trainer: Trainer, on: bool, context: NilaiContext) -> tuple[str, InlineKeyboardMarkup]:
    """The text saying whether reminders are on (and when they come), and the button that
    flips it."""
    language = trainer.language
    if on:
        text = t(language, "reminders.on", time=_reminder_time(trainer, context))
    else:
        text = t(language, "reminders.off")
    label = t_plain(language, "button.reminders_off" if on else "button.reminders_on")
    button = InlineKeyboardButton(label, callback_data=encode(Action.REMINDERS, int(not on)))
    return text, InlineKeyboardMarkup([[button]])


def _reminder_time(trainer: Trainer, context: NilaiContext) -> str:
    """REMINDER_TIME in the trainer's own zone, today ("7:00 PM WIB" / "19.00 WIB")."""
    services = context.services
    zone = services.timezones.zone_of(trainer).name
    today = services.clock().astimezone(ZoneInfo(zone)).date()
    when = datetime.combine(today, services.settings.reminder_time, tzinfo=ZoneInfo(zone))
    return clock_time(when, zone, trainer.language)
