"""The coordinators' daily report: `/report` at any time, `send_report` at REPORT_TIME (called
by the daily engine), and the CSV button under it.

One report is one photo (the chart, with a short caption) and one message (the figures, with
the CSV button), in the coordinator's language and time zone. The button carries the report's
moment, so its CSV holds the same days as the message, everyone included.

The figures at one moment are the same for every coordinator, and at a thousand trainers they
cost about a second of SQLite on the one reader thread, so they are built once per moment and
shared (`ReportCache`: the last two moments, per database), and so is each chart, per language
and zone. Coordinators sent the daily report at once, and the CSV buttons under it, wait for
the same build.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import formatting
from bot.clock import stamp
from bot.i18n import t, t_plain
from bot.onboarding import Trainer
from bot.report import Report, Reports
from bot.report_chart import render_chart
from bot.report_table import report_csv
from bot.services import Services
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.report_message import render_report
from handlers.sending import answer_tap, send_bulk_message, send_bulk_photo

log = logging.getLogger(__name__)

CSV_LABEL = "CSV"  # the format's name, the same in every language (like WIB, WITA, WIT)
OLDEST_CSV = timedelta(days=8)  # an older button: its days are long past; ask for a new report
CLOCK_SLACK = timedelta(minutes=1)  # a moment this far ahead is still the bot's own
KEPT_MOMENTS = 8  # the daily report's and the /reports around it (a report is a few KB)

_T = TypeVar("_T")


@dataclass
class _AtMoment:
    figures: asyncio.Future[Report]
    charts: dict[tuple[str, str], asyncio.Future[bytes]] = field(default_factory=dict)


class ReportCache:
    """The reports of the last `KEPT_MOMENTS` moments, and their charts by language and zone.

    A build is shared while it runs (callers await one task); a failed build is forgotten, so
    the next caller tries again. Builds of different moments run one at a time: each is about a
    second of SQLite at a thousand trainers on the one reader thread, which taps may need too."""

    def __init__(self) -> None:
        self._moments: OrderedDict[datetime, _AtMoment] = OrderedDict()
        self._one_build = asyncio.Semaphore(1)

    async def report(self, services: Services, moment: datetime) -> Report:
        entry = self._moments.get(moment)
        if entry is None:
            entry = _AtMoment(_started(self._build_alone(services, moment)))
            self._moments[moment] = entry
            while len(self._moments) > KEPT_MOMENTS:
                self._moments.popitem(last=False)
        return await self._shared(entry.figures, lambda: self._forget(moment, entry))

    async def chart(self, services: Services, moment: datetime, language: str, zone: str) -> bytes:
        report = await self.report(services, moment)
        entry = self._moments.get(moment)
        if entry is None:  # pushed out meanwhile by two newer moments: draw it unshared
            return await render_chart(report, language, zone)
        key = (language, zone)
        if key not in entry.charts:
            entry.charts[key] = _started(_draw(report, language, zone))
        return await self._shared(entry.charts[key], lambda: entry.charts.pop(key, None))

    async def _build_alone(self, services: Services, moment: datetime) -> Report:
        async with self._one_build:
            return await _build(services, moment)

    def _forget(self, moment: datetime, entry: _AtMoment) -> None:
        if self._moments.get(moment) is entry:  # not a retry's newer build
            del self._moments[moment]

    @staticmethod
    async def _shared(task: asyncio.Future[_T], forget: Callable[[], object]) -> _T:
        try:
            # shield: one caller cancelled (a coordinator's send given up) leaves the others'
            return await asyncio.shield(task)
        except Exception:
            forget()
            raise


def _started(work: Awaitable[_T]) -> asyncio.Future[_T]:
    return asyncio.ensure_future(work)


async def _build(services: Services, moment: datetime) -> Report:
    started = time.perf_counter()
    report = await services.reports.build(moment)
    log.info(
        "report at %s built in %.2f s (%d trainers)",
        moment.isoformat(),
        time.perf_counter() - started,
        len(report.trainers),
    )
    return report


async def _draw(report: Report, language: str, zone: str) -> bytes:
    chart = await render_chart(report, language, zone)
    log.debug("report chart at %s drawn (%s, %s)", report.moment.isoformat(), language, zone)
    return chart


_caches: weakref.WeakKeyDictionary[Reports, ReportCache] = weakref.WeakKeyDictionary()


def report_cache(services: Services) -> ReportCache:
    """The bot's report cache (one per bot's reports service: tests run several bots in one
    process)."""
    cache = _caches.get(services.reports)
    if cache is None:
        cache = _caches[services.reports] = ReportCache()
    return cache


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("report", report_command, filters=private),
        CallbackQueryHandler(csv_button, pattern=rf"^1{Action.REPORT_CSV.value}:"),
    ]


@dataclass(frozen=True, slots=True)
class _ReportParts:
    chart: bytes
    caption: str
    text: str
    keyboard: InlineKeyboardMarkup


async def _report_parts(services: Services, moment: datetime, coordinator: Trainer) -> _ReportParts:
    """The report at `moment` for one coordinator: the shared figures and chart, the message in
    their language and zone."""
    moment = moment.replace(microsecond=0)  # as the CSV button carries it: it finds this one
    cache, language = report_cache(services), coordinator.language
    zone = services.timezones.zone_of(coordinator).name
    report = await cache.report(services, moment)
    return _ReportParts(
        chart=await cache.chart(services, moment, language, zone),
        caption=t(language, "report.photo_caption"),
        text=render_report(report, language, zone),
        keyboard=csv_keyboard(report),
    )


async def send_report(bot: Bot, services: Services, coordinator: Trainer, now: datetime) -> bool:
    """The daily report for one coordinator, as bulk sends (the daily engine records the
    outcome; Forbidden and other TelegramErrors propagate to it). Always sent: True."""
    parts = await _report_parts(services, now, coordinator)
    paid = services.settings.paid_broadcast
    chat_id = coordinator.chat_id
    await send_bulk_photo(bot, chat_id, parts.chart, paid=paid, caption=parts.caption)
    await send_bulk_message(bot, chat_id, parts.text, paid=paid, reply_markup=parts.keyboard)
    return True


@coordinators_only
async def report_command(update: Update, context: NilaiContext) -> None:
    """Sends the report as of now: the chart, then the figures with the CSV button."""
    message, me, services = update.message, context.trainer, context.services
    assert message is not None and me is not None
    await message.reply_chat_action(ChatAction.UPLOAD_PHOTO)
    parts = await _report_parts(services, services.clock(), me)
    await message.reply_photo(parts.chart, caption=parts.caption)
    await message.reply_html(parts.text, reply_markup=parts.keyboard)


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
    report = await report_cache(services).report(services, moment)
    criteria = await services.quality.gold_criteria(until=stamp(moment))  # the CSV's alone
    zone = services.timezones.zone_of(me).name
    table = report_csv(report, zone, criteria)
    await context.bot.send_document(
        me.chat_id,
        document=InputFile(table, filename=_file_name(moment, zone)),
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
