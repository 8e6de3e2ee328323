"""How the quality figures (bot/quality.py) read: a trainer's own acceptance rate in /stats,
each trainer's short phrases on their /trainers line, and the team's lines in the daily report.

Gold figures are for coordinators only: nothing here that a trainer sees mentions gold items.
"""

from __future__ import annotations

from bot.formatting import number, percent
from bot.i18n import Html, t
from bot.quality import CrowdQuality, Share, TrainerQuality


def stats_line(acceptance: Share | None, language: str) -> str | None:
    """ "Rewrites accepted: 8 of 10 (80%)" for the trainer's /stats; None before a decision."""
    if acceptance is None:
        return None
    return t(
        language, "quality.stats_accepted", **_share("accepted", "decided", acceptance, language)
    )


def trainer_phrases(figures: TrainerQuality | None, language: str) -> list[str]:
    """ "⏸ paused by gold: pilot", "🥇 gold 4/5 (80%)", "✍️ accepted 8/10 (80%)": those that
    exist, for the trainer's second line in /trainers."""
    if figures is None:
        return []
    phrases = []
    if figures.paused_in:
        batches = ", ".join(figures.paused_in)
        phrases.append(t(language, "quality.gold_paused_short", batches=batches))
    if figures.gold is not None:
        shown = _share("correct", "answers", figures.gold.overall, language)
        phrases.append(t(language, "quality.gold_short", **shown))
    if figures.acceptance is not None:
        shown = _share("accepted", "decided", figures.acceptance, language)
        phrases.append(t(language, "quality.accepted_short", **shown))
    return phrases


def report_lines(crowd: CrowdQuality, language: str) -> list[str]:
    """The team's rewrites (accepted of decided, and how many wait for review) and how many
    trainers gold paused; a line only for what there is."""
    lines = []
    waiting = t(language, "quality.report_waiting", count=crowd.waiting)
    if crowd.acceptance is not None:
        shown = _share("accepted", "decided", crowd.acceptance, language)
        lines.append(t(language, "quality.report_rewrites", waiting=Html(waiting), **shown))
    elif crowd.waiting:
        lines.append(t(language, "quality.report_rewrites_none", waiting=Html(waiting)))
    if crowd.paused:
        lines.append(t(language, "quality.report_gold_paused", count=crowd.paused))
    return lines


def _share(part: str, whole: str, share: Share, language: str) -> dict[str, object]:
    return {
        part: number(share.part, language),
        whole: number(share.whole, language),
        "percent": percent(share.rate, language),
    }
