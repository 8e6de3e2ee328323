"""/timezone: where a trainer's day begins and ends (WIB, WITA, WIT, or any IANA zone)."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.formatting import moment
from bot.i18n import t, t_plain
from bot.onboarding import Trainer
from bot.timezones import INDONESIAN_ZONES, Zone, zone_named
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.sending import answer_tap
from handlers.text_split import echo


def handlers() -> list[BaseHandler]:
    new_message = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("timezone", timezone_command, filters=new_message),
        CallbackQueryHandler(timezone_chosen, pattern=rf"^1{Action.TIMEZONE.value}:"),
    ]


def zone_keyboard() -> InlineKeyboardMarkup:
    """WIB, WITA and WIT: what Indonesians call their three zones, in every language."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(short, callback_data=encode(Action.TIMEZONE, index))
                for index, (_, short) in enumerate(INDONESIAN_ZONES)
            ]
        ]
    )


def shown(zone: Zone) -> str:
    return f"{zone.short} ({zone.name})" if zone.short else zone.name


async def timezone_command(update: Update, context: NilaiContext) -> None:
    """Without a name: the current zone and the three buttons. With one: that zone, if real."""
    message, trainer = update.message, context.trainer
    assert message is not None and trainer is not None
    typed = " ".join(context.args or [])
    if not typed:
        zone = context.services.timezones.zone_of(trainer)
        await message.reply_html(
            t(trainer.language, "timezone.current", zone=shown(zone)), reply_markup=zone_keyboard()
        )
        return
    zone = zone_named(typed)
    if zone is None:
        await message.reply_html(
            t(trainer.language, "timezone.unknown", typed=echo(typed)), reply_markup=zone_keyboard()
        )
        return
    await context.services.timezones.set(trainer, zone)
    await message.reply_html(_set_text(trainer, zone, context))


async def timezone_chosen(update: Update, context: NilaiContext) -> None:
    """A WIB / WITA / WIT button: saved, then the message says so."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    try:
        (index,) = decode(query.data).args
        name, short = INDONESIAN_ZONES[index]
    except (InvalidCallbackData, ValueError, IndexError):
        await query.answer(t_plain(trainer.language, "toast.invalid"))
        return
    zone = Zone(name, short)
    await context.services.timezones.set(trainer, zone)
    await answer_tap(query, t_plain(trainer.language, "toast.timezone_set", zone=short))
    with contextlib.suppress(BadRequest):  # the same zone tapped twice: it says so already
        await query.edit_message_text(_set_text(trainer, zone, context), parse_mode=ParseMode.HTML)


def _set_text(trainer: Trainer, zone: Zone, context: NilaiContext) -> str:
    now = moment(context.services.clock(), zone.name, trainer.language, short=True)
    return t(trainer.language, "timezone.set", zone=shown(zone), now=now)
