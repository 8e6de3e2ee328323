"""Numbers and moments as the reader's language writes them (Babel's CLDR data)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal


def number(value: float, language: str, *, decimals: int = 0) -> str:
    """Grouped digits: 12,345.6 in English, 12.345,6 in Indonesian."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=language)


def moment(when: datetime, zone: str, language: str, *, short: bool = False) -> str:
    """A moment in `zone`: "26/11 14:30" (short) or "26/11/2026 14:30 WIB"."""
    local = when.astimezone(ZoneInfo(zone))
    return local.strftime("%d/%m %H:%M" if short else "%d/%m/%Y %H:%M %Z").strip()
