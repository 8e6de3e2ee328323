"""The daily report as one Telegram message: the team's day and its rewrites' review, each open
batch with its agreement, who met or missed their quota, and who shows anomalies, within
Telegram's 4,096 characters.

A long team is never cut silently: as many names as fit are listed (space shared between the
two lists), and the message says how many of how many it lists; the CSV has everyone. The
anomalies get up to a third of the room left, one trainer a line; /trainers shows the rest.
"""

from __future__ import annotations

import html
from datetime import date

from bot.agreement import BatchAgreement
from bot.anomalies import Anomaly
from bot.forecast import Forecast
from bot.formatting import clock_time, moment, number, percent, weekday_date
from bot.i18n import Html, t
from bot.onboarding import Trainer
from bot.report import BatchFigures, Report, TrainerFigures, trainer_label
from bot.streaks import local_date
from handlers.anomaly_text import SEPARATOR as ALPHAS_SEPARATOR
from handlers.anomaly_text import anomaly_phrases
from handlers.quality_text import report_lines
from handlers.text_split import MESSAGE_LIMIT, visible_len

MAX_BATCHES = 10  # more open batches: the rest are counted (and /progress shows them all)
SEPARATOR = ", "
# Room kept for the "N of M listed" lines and the titles' counts growing.
_RESERVE = 200


def render_report(report: Report, language: str, zone: str) -> str:
    """The whole message, in the reader's language, times in their zone."""
    head = [
        t(
            language,
            "report.title",
            day=weekday_date(local_date(report.moment, zone), language),
            time=clock_time(report.moment, zone, language),
        ),
        "\n".join([_team(report, language), *_quality(report, language)]),
        _batches(report.batches, language, zone, local_date(report.moment, zone)),
    ]
    fixed = "\n\n".join(head)
    budget = MESSAGE_LIMIT - visible_len(fixed) - _RESERVE
    odd = [_anomaly_entry(trainer, found, language) for trainer, found in report.anomalies]
    shown_odd = _fitting_lines(odd, budget // 3)
    budget -= sum(visible_len(entry) + 1 for entry in odd[:shown_odd])
    met = [_met_name(f) for f in report.met]
    missed = [_missed_name(f, language) for f in report.missed]
    shown_met, shown_missed = fit_lists(met, missed, budget)
    parts = [fixed]
    if report.trainers:
        parts.append(_people("report.met_title", met, shown_met, language))
        parts.append(_people("report.missed_title", missed, shown_missed, language))
    if odd:
        parts.append(_anomalies(odd, shown_odd, language))
    return "\n\n".join(part for part in parts if part)


def _team(report: Report, language: str) -> str:
    team = len(report.trainers)
    if not team:
        return t(language, "report.no_team")
    # Each part follows its own number: "1 review", "1 of 1 trainer reviewed".
    reviews = t(language, "report.team_reviews", count=report.reviews_today)
    active = t(
        language, "report.team_active", active=number(report.active_today, language), count=team
    )
    return t(
        language,
        "report.team",
        reviews=Html(reviews),
        active=Html(active),
        met=number(len(report.met), language),
    )


def _quality(report: Report, language: str) -> list[str]:
    """The team's rewrites accepted and waiting for review, and gold pauses (bot/quality.py)."""
    return report_lines(report.crowd, language) if report.crowd is not None else []


def _batches(batches: tuple[BatchFigures, ...], language: str, zone: str, today: date) -> str:
    if not batches:
        return t(language, "report.no_batches")
    lines = [t(language, "report.batches_title")]
    for batch in batches[:MAX_BATCHES]:
        lines.append(
            t(
                language,
                "report.batch",
                name=batch.name,
                today=number(batch.reviews_today, language),
                done=number(batch.done, language),
                wanted=number(batch.wanted, language),
                percent=percent(batch.share, language, decimals=1),
            )
        )
        if batch.forecast is not None and not batch.forecast.complete:
            lines.append(_finish(batch.forecast, language, zone, today))
        if batch.agreement is not None:
            lines.append(_agreement(batch.agreement, language))
    if len(batches) > MAX_BATCHES:
        lines.append(t(language, "report.more_batches", count=len(batches) - MAX_BATCHES))
    return "\n".join(lines)


def _agreement(agreement: BatchAgreement, language: str) -> str:
    """Each criterion's alpha with two decimals ("Accuracy 0.71 · Safety 0.64"), the criteria
    without one yet left out (/progress says why)."""
    alphas = [
        f"{agreement.rubric.label(figure.criterion, language)}"
        f" {number(figure.alpha, language, decimals=2)}"
        for figure in agreement
        if figure.alpha is not None
    ]
    if not alphas:
        return t(language, "anomalies.report_no_agreement")
    return t(language, "anomalies.report_agreement", alphas=ALPHAS_SEPARATOR.join(alphas))


def _finish(forecast: Forecast, language: str, zone: str, today: date) -> str:
    """The estimated finish, with a warning when it passes the deadline (or the deadline has
    passed); dates in another year than the reader's `today` say their year."""
    deadline = weekday_date(forecast.deadline, language, today=today) if forecast.deadline else ""
    if forecast.finish is None and forecast.late:
        return t(language, "report.deadline_passed", deadline=deadline)
    if forecast.finish is None:
        return t(language, "report.finish_unknown")
    when = moment(forecast.finish, zone, language, short=True, today=today, zoned=True)
    if forecast.late:
        return t(language, "report.finish_late", when=when, deadline=deadline)
    return t(language, "report.finish", when=when)


def trainer_name(figures: TrainerFigures) -> str:
    """Name and @username (how coordinators address people), whichever exist (escaped)."""
    return html.escape(trainer_label(figures.trainer), quote=False)  # a name, no words


def _met_name(figures: TrainerFigures) -> str:
    return trainer_name(figures)


def _missed_name(figures: TrainerFigures, language: str) -> str:
    """The name and "done/quota" (symbols, the same in every language)."""
    days = figures.days
    done, quota = number(days.done_today, language), number(days.quota, language)
    return f"{trainer_name(figures)} {done}/{quota}"


def fit_lists(met: list[str], missed: list[str], budget: int) -> tuple[int, int]:
    """How many of each list fit in `budget` characters together: each gets half, and what
    one does not need goes to the other."""
    half = budget // 2
    shown_met = _fitting(met, half)
    shown_missed = _fitting(missed, budget - _length(met[:shown_met]))
    shown_met = _fitting(met, budget - _length(missed[:shown_missed]))
    return shown_met, shown_missed


def _fitting(names: list[str], budget: int) -> int:
    used = 0
    for index, name in enumerate(names):
        used += visible_len(name) + (len(SEPARATOR) if index else 0)
        if used > budget:
            return index
    return len(names)


def _length(names: list[str]) -> int:
    return sum(visible_len(name) for name in names) + len(SEPARATOR) * max(0, len(names) - 1)


def _people(title_key: str, names: list[str], shown: int, language: str) -> str:
    lines = [t(language, title_key, count=number(len(names), language))]
    if shown:
        lines.append(SEPARATOR.join(names[:shown]))
    if shown < len(names):
        lines.append(
            t(
                language,
                "report.listed",
                shown=number(shown, language),
                total=number(len(names), language),
            )
        )
    return "\n".join(lines)


def _anomaly_entry(trainer: Trainer, found: tuple[Anomaly, ...], language: str) -> str:
    """ "Name (@handle): fast: 28 of 30 reviews quicker than reading them takes · …"."""
    name = html.escape(trainer_label(trainer), quote=False)
    return f"{name}: {anomaly_phrases(found, language)}"  # symbols around translated phrases


def _fitting_lines(lines: list[str], budget: int) -> int:
    """How many of `lines`, one per line, fit in `budget` characters."""
    used = 0
    for index, line in enumerate(lines):
        used += visible_len(line) + 1
        if used > budget:
            return index
    return len(lines)


def _anomalies(entries: list[str], shown: int, language: str) -> str:
    lines = [t(language, "anomalies.report_title", count=number(len(entries), language))]
    lines.extend(entries[:shown])
    if shown < len(entries):
        lines.append(
            t(
                language,
                "anomalies.report_listed",
                shown=number(shown, language),
                total=number(len(entries), language),
            )
        )
    return "\n".join(lines)
