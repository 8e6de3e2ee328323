"""The coordinators' daily report: `/report` at any time, `send_report` at REPORT_TIME (called
by the daily engine), and the CSV button under it.

One report is one photo (the chart, with a short caption) and one message (the figures, with
the CSV button), in the coordinator's language and time zone. The button carries the report's
moment, so its CSV holds the same days as the message, everyone included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import formatting
from bot.i18n import t, t_plain
from bot.report import Report, build_report
from bot.report_chart import render_chart
from bot.report_table import report_csv
from bot.services import Services
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.report_message import render_report
from handlers.sending import answer_tap, send_bulk_message, send_bulk_photo
from storage.records import Trainer

CSV_LABEL = "CSV"  # the format's name, the same in every language (like WIB, WITA, WIT)
OLDEST_CSV = timedelta(days=8)  # an older button: its days are long past; ask for a new report
CLOCK_SLACK = timedelta(minutes=1)  # a moment this far ahead is still the bot's own


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("report", report_command, filters=private),
        CallbackQueryHandler(csv_button, pattern=rf"^1{Action.REPORT_CSV.value}:"),
    ]


async def send_report(bot: Bot, services: Services, coordinator: Trainer, now: datetime) -> bool:
    """The daily report for one coordinator, as bulk sends (the daily engine records the
    outcome; Forbidden and other TelegramErrors propagate to it). Always sent: True."""
    report = await build_report(services.db, services.settings, now)
    language = coordinator.language
    zone = services.timezones.zone_of(coordinator).name
    chart = await render_chart(report, language, zone)
    paid = services.settings.paid_broadcast
    caption = t(language, "report.photo_caption")
    await send_bulk_photo(bot, coordinator.chat_id, chart, paid=paid, caption=caption)
    text, keyboard = render_report(report, language, zone), csv_keyboard(report)
    await send_bulk_message(bot, coordinator.chat_id, text, paid=paid, reply_markup=keyboard)
    return True


@coordinators_only
async def report_command(update: Update, context: NilaiContext) -> None:
    """Sends the report as of now: the chart, then the figures with the CSV button."""
    message, me, services = update.message, context.trainer, context.services
    assert message is not None and me is not None
    await message.reply_chat_action(ChatAction.UPLOAD_PHOTO)
    report = await build_report(services.db, services.settings, services.clock())
    zone = services.timezones.zone_of(me).name
    chart = await render_chart(report, me.language, zone)
    await message.reply_photo(chart, caption=t(me.language, "report.photo_caption"))
    await message.reply_html(
        render_report(report, me.language, zone), reply_markup=csv_keyboard(report)
    )


def csv_keyboard(report: Report) -> InlineKeyboardMarkup:
    seconds = int(report.moment.timestamp())
    button = InlineKeyboardButton(CSV_LABEL, callback_data=encode(Action.REPORT_CSV, seconds))
    return InlineKeyboardMarkup([[button]])


@coordinators_only
async def csv_button(update: Update, context: NilaiContext) -> None:
    """The report's full per-trainer table as a CSV document (a forged or old button: a
    polite toast, nothing sent)."""
    query, me, services = update.callback_query, context.trainer, context.services
    assert query is not None and me is not None
    moment = _report_moment(query.data, services.clock())
    if moment is None:
        await answer_tap(query, t_plain(me.language, "toast.report_invalid"), show_alert=True)
        return
    await answer_tap(query)
    report = await build_report(services.db, services.settings, moment)
    zone = services.timezones.zone_of(me).name
    await context.bot.send_document(
        me.chat_id,
        document=InputFile(report_csv(report, zone), filename=_file_name(moment, zone)),
        caption=t(
            me.language,
            "report.csv_caption",
            count=len(report.trainers),
            when=formatting.moment(moment, zone, me.language),
        ),
        parse_mode=ParseMode.HTML,
    )


def _report_moment(data: str | None, now: datetime) -> datetime | None:
    """The moment a CSV button names, if this bot could have made it lately."""
    try:
        (seconds,) = decode(data).args
    except (InvalidCallbackData, ValueError):
        return None
    moment = datetime.fromtimestamp(seconds, UTC)
    if not now - OLDEST_CSV <= moment <= now + CLOCK_SLACK:
        return None
    return moment


def _file_name(moment: datetime, zone: str) -> str:
    return f"nilai-report-{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d-%H%M}.csv"
