"""The daily report's full per-trainer table, as CSV: everyone, however many.

Columns are stable English names (a spreadsheet or a script reads them, whatever the
coordinator's language); times are ISO 8601 in the coordinator's zone; minutes of reviewing are
estimated as `bot/report.py` says.
"""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from bot.report import Report, TrainerFigures

COLUMNS = (
    "name",
    "username",
    "today",
    "quota",
    "met",
    "week_total",
    "skip_rate_week",
    "streak",
    "minutes_today",
    "minutes_week",
    "last_seen",
)

FORMULA_STARTS = frozenset("=+-@\t\r")


def report_csv(report: Report, zone: str) -> bytes:
    """The table as UTF-8 CSV (with a byte-order mark, so spreadsheet apps read the names
    right), a header row first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for figures in report.trainers:
        writer.writerow(_row(figures, zone))
    return out.getvalue().encode("utf-8-sig")


def _row(figures: TrainerFigures, zone: str) -> list[str | int]:
    trainer, days = figures.trainer, figures.days
    rate = figures.skip_rate
    seen = (
        figures.last_seen.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")
        if figures.last_seen
        else ""
    )
    return [
        _cell(trainer.name),
        trainer.username or "",  # without "@": a leading @ is a formula to spreadsheet apps
        days.done_today,
        days.quota,
        int(days.met_today),
        days.week_total,
        "" if rate is None else f"{rate:.3f}",
        days.streak,
        round(figures.seconds_today / 60),
        round(figures.seconds_week / 60),
        seen,
    ]


def _cell(text: str) -> str:
    """A name as text in any spreadsheet app: one starting like a formula is quoted."""
    return f"'{text}" if text[:1] in FORMULA_STARTS else text
