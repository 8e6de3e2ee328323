"""The daily report's full per-trainer table, as CSV: everyone, however many.

Columns are stable English names (a spreadsheet or a script reads them, whatever the
coordinator's language); times are ISO 8601 in the coordinator's zone; minutes of reviewing are
estimated as `bot/report.py` says. The quality columns (bot/quality.py) are empty for a trainer
without the figure: no rewrite decided yet, no gold answer yet. Gold figures cover all of a
trainer's gold answers, also those before a /resume; `gold_by_batch` reads "batch:
right/answered" and `gold_by_criterion` "batch/criterion: right/answered", joined by "; ".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from bot.quality import CriterionShares, GoldAccuracy, Share, TrainerQuality
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
    "rewrites_decided",
    "rewrites_accepted",
    "acceptance_rate",
    "gold_answers",
    "gold_correct",
    "gold_accuracy",
    "gold_by_batch",
    "gold_by_criterion",
    "gold_paused_in",
)

FORMULA_STARTS = frozenset("=+-@\t\r")


def report_csv(
    report: Report, zone: str, criteria: Mapping[int, CriterionShares] | None = None
) -> bytes:
    """The table as UTF-8 CSV (with a byte-order mark, so spreadsheet apps read the names
    right), a header row first; `criteria`: each trainer's gold accuracy per criterion
    (bot/quality.gold_criteria, read for the CSV alone)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for figures in report.trainers:
        shares = (criteria or {}).get(figures.trainer.user_id, ())
        writer.writerow(_row(figures, zone, shares))
    return out.getvalue().encode("utf-8-sig")


def _row(figures: TrainerFigures, zone: str, criteria: CriterionShares) -> list[str | int]:
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
        *_quality(figures.quality or TrainerQuality(), criteria),
    ]


def _quality(quality: TrainerQuality, criteria: CriterionShares) -> list[str | int]:
    """The quality columns, empty where the figure does not exist yet."""
    return [
        *_acceptance(quality.acceptance),
        *_gold(quality.gold, criteria),
        _cell("; ".join(quality.paused_in)),
    ]


def _acceptance(share: Share | None) -> list[str | int]:
    """Decided, accepted and the rate of the trainer's rewrites."""
    if share is None:
        return ["", "", ""]
    return [share.whole, share.part, f"{share.rate:.3f}"]


def _gold(gold: GoldAccuracy | None, criteria: CriterionShares) -> list[str | int]:
    """Answers, right ones, accuracy, and right/answered per batch and per batch and
    criterion."""
    if gold is None:
        return ["", "", "", "", ""]
    batches = "; ".join(f"{t.batch_name}: {t.correct}/{t.answers}" for t in gold.batches)
    by_criterion = "; ".join(
        f"{c.batch_name}/{c.criterion}: {c.share.part}/{c.share.whole}" for c in criteria
    )
    overall = gold.overall
    return [
        overall.whole,
        overall.part,
        f"{overall.rate:.3f}",
        _cell(batches),
        _cell(by_criterion),
    ]


def _cell(text: str) -> str:
    """A name as text in any spreadsheet app: one starting like a formula is quoted."""
    return f"'{text}" if text[:1] in FORMULA_STARTS else text
