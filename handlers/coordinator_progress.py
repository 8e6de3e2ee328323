"""Coordinators' /progress: how far each open batch is, when it will be done, and what holds it
up (no trainer left who can take its items, languages no trainer reviews)."""

from __future__ import annotations

from datetime import datetime

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.agreement import BatchAgreement
from bot.forecast import Forecast
from bot.formatting import duration, moment, number, pace, percent, weekday_date
from bot.i18n import Html, t
from bot.onboarding import Trainer
from bot.progress import BatchReport, UnknownBatch
from bot.review_languages import display_name
from bot.streaks import local_date
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.text_split import echo

MAX_PROGRESS_BATCHES = 8  # keeps /progress within one message


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [CommandHandler("progress", progress_command, filters=private)]


def _me(context: NilaiContext) -> Trainer:
    assert context.trainer is not None  # coordinators_only let only registered users through
    return context.trainer


def moment_for(when: datetime, me: Trainer, context: NilaiContext, *, short: bool = False) -> str:
    """A moment in the coordinator's time zone, as their language writes it."""
    return moment(when, _zone(me, context), me.language, short=short)


def _zone(me: Trainer, context: NilaiContext) -> str:
    return context.services.timezones.zone_of(me).name


@coordinators_only
async def progress_command(update: Update, context: NilaiContext) -> None:
    """Shows each open batch's (or the named batch's) progress and estimated finish."""
    message, me = update.message, _me(context)
    assert message is not None and message.text is not None
    parts = message.text.split(maxsplit=1)
    name = parts[1].strip() if len(parts) > 1 else None
    zone = _zone(me, context)
    try:
        reports = await context.services.progress.report(name, timezone=zone)
    except UnknownBatch:
        await message.reply_html(t(me.language, "team_progress.unknown", name=echo(name or "")))
        return
    if not reports:
        await message.reply_html(t(me.language, "team_progress.none_open"))
        return
    shown = reports[:MAX_PROGRESS_BATCHES]
    progress = context.services.progress
    agreements = [await progress.agreement(report.batch_id) for report in shown]
    blocks = [
        "\n".join([render_report(report, me, context), *_agreement_lines(agreement, me.language)])
        for report, agreement in zip(shown, agreements, strict=True)
    ]
    if len(reports) > MAX_PROGRESS_BATCHES:
        more = len(reports) - MAX_PROGRESS_BATCHES
        blocks.append(t(me.language, "team_progress.more", count=more))
    await message.reply_html("\n\n".join(blocks))


def render_report(report: BatchReport, me: Trainer, context: NilaiContext) -> str:
    language = me.language
    share = report.complete / report.items if report.items else 1.0
    if report.finished:
        finish = t(language, "team_progress.finished")
    elif report.needs_trainers:
        finish = t(language, "batch_needs.trainers", count=report.remaining)
    elif report.finish_at is None or report.per_hour is None:
        finish = t(language, "team_progress.finish_unknown")
    else:
        finish = t(
            language,
            "team_progress.finish_at",
            when=moment_for(report.finish_at, me, context),
            duration=_until(report.finish_at, context, language),
            pace=number(report.per_hour, language, decimals=1 if report.per_hour < 10 else 0),
        )
    block = t(
        language,
        "team_progress.batch",
        name=report.name,
        status=Html(t(language, f"team_progress.status_{report.status}")),
        complete=number(report.complete, language),
        items=number(report.items, language),
        percent=percent(share, language, decimals=1),
        reviews=number(report.reviews, language),
        wanted=number(report.wanted, language),
        trainers=number(report.trainers_today, language),
        last_hour=number(report.last_hour, language),
        finish=Html(finish),
    )
    deadline = _deadline_line(report.forecast, me, context)
    return "\n".join([block, *deadline, *_language_warnings(report, language)])


def _deadline_line(forecast: Forecast | None, me: Trainer, context: NilaiContext) -> list[str]:
    """The batch's deadline, and whether it makes it at the last days' pace (bot/forecast.py);
    nothing for a batch without one."""
    if forecast is None or forecast.deadline is None:
        return []
    language, zone = me.language, _zone(me, context)
    today = local_date(context.services.clock(), zone)
    day = weekday_date(forecast.deadline, language, today=today)
    per_day = pace(forecast.per_day, language)
    if forecast.complete:
        return [t(language, "progress_deadline.plain", day=day)]
    if forecast.passed:
        remaining = number(forecast.remaining, language)
        return [t(language, "progress_deadline.passed", day=day, count=remaining)]
    if forecast.finish is None:
        return [t(language, "progress_deadline.no_pace", day=day)]
    if forecast.late:
        finish = weekday_date(local_date(forecast.finish, zone), language, today=today)
        return [t(language, "progress_deadline.late", day=day, count=per_day, finish=finish)]
    return [t(language, "progress_deadline.on_track", day=day, count=per_day)]


def _agreement_lines(agreement: BatchAgreement, language: str) -> list[str]:
    """How far reviewers agree, one line per criterion (bot/agreement.py)."""
    lines = [t(language, "agreement.title")]
    for figure in agreement:
        label = agreement.rubric.label(figure.criterion, language)
        if figure.alpha is not None:
            alpha = number(figure.alpha, language, decimals=2)
            key = "agreement.criterion"
            lines.append(t(language, key, label=label, alpha=alpha, count=figure.items))
        elif figure.items >= 2:
            lines.append(t(language, "agreement.no_spread", label=label, count=figure.items))
        else:
            lines.append(t(language, "agreement.not_enough", label=label))
    return lines


def _language_warnings(report: BatchReport, language: str) -> list[str]:
    """One line per language of open items that no active trainer reviews."""
    return [
        t(
            language,
            "batch_needs.language",
            count=items,
            language=display_name(code, language),
            code=code,
        )
        for code, items in report.unreviewed_languages
    ]


def _until(when: datetime, context: NilaiContext, language: str) -> str:
    """How long from now until `when`, at least a minute ("2 days 3 hours")."""
    seconds = (when - context.services.clock()).total_seconds()
    return duration(max(seconds, 60), language, days=True)
