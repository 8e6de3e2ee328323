"""How an anomaly (bot/anomalies.py) reads to a coordinator, with the numbers behind it: one
short phrase each, shared by /trainers and the daily report."""

from __future__ import annotations

from collections.abc import Sequence

from bot.anomalies import Anomaly, Kind
from bot.formatting import number, percent
from bot.i18n import t

SEPARATOR = " · "


def anomaly_phrase(anomaly: Anomaly, language: str, *, short: bool = False) -> str:
    """ "fast: 28 of 30 reviews quicker than reading them takes" and the like; `short`: "fast
    28/30" (a line of /trainers)."""
    key = f"anomalies.{anomaly.kind.value}{'_short' if short else ''}"
    if anomaly.kind is Kind.SKIPS:
        return t(
            language,
            key,
            share=percent(anomaly.share, language),
            of=number(anomaly.of, language),
            crowd=percent(anomaly.crowd or 0.0, language),
        )
    return t(language, key, count=anomaly.count, of=number(anomaly.of, language))


def anomaly_phrases(anomalies: Sequence[Anomaly], language: str, *, short: bool = False) -> str:
    return SEPARATOR.join(anomaly_phrase(anomaly, language, short=short) for anomaly in anomalies)
