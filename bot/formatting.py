"""Numbers and moments as the reader's language writes them (Babel's CLDR data).

Only quantities go through `number`: a Telegram id or an item id is a name, not an amount, and
is shown as its plain digits ("user 123456789", never "123,456,789").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import get_decimal_symbol, get_group_symbol


class Number(str):
    """A quantity already written for the reader ("12.345"), that still knows its value, so a
    plural text can choose its form by it: `t(lang, key, count=number(n, lang))`."""

    value: float

    def __new__(cls, shown: str, value: float) -> Number:
        text = super().__new__(cls, shown)
        text.value = value
        return text


@cache
def _symbols(language: str) -> dict[int, str]:
    """The language's group and decimal signs, from Babel's CLDR data, as a translation table
    from Python's own "," and "."."""
    return str.maketrans({",": get_group_symbol(language), ".": get_decimal_symbol(language)})


def number(value: float, language: str, *, decimals: int = 0) -> Number:
    """Grouped digits: 12,345.6 in English, 12.345,6 in Indonesian.

    Both languages group by threes (CLDR's "#,##0"), so Python's formatting with the language's
    signs gives what `babel.numbers.format_decimal` would, at a fiftieth of its cost: a panel
    shows four numbers on every tap (tests/test_formatting.py compares the two)."""
    # A float is rounded as written (0.05 -> 0.0, half to even), as Babel does, not as the
    # binary fraction it stands for (which would give 0.1).
    exact = value if isinstance(value, int) else Decimal(repr(value))
    shown = f"{exact:,.{max(decimals, 0)}f}".translate(_symbols(language))
    return Number(shown, value)


@cache
def _date_and_time(language: str) -> str:
    """How the language joins a date and a time: "{1}, {0}" in English, "{1} {0}" in Indonesian."""
    return str(Locale.parse(language).datetime_formats["medium"])


def moment(when: datetime, zone: str, language: str, *, short: bool = False) -> str:
    """A moment in `zone` as the language writes it, on a 24-hour clock.

    English: "Nov 26, 2026, 14:30 WIB" (short: "Nov 26, 14:30");
    Indonesian: "26 Nov 2026 14.30 WIB" (short: "26 Nov 14.30").
    The month is a word, so 03/04 can never be read as the wrong day.
    """
    local = when.astimezone(ZoneInfo(zone))
    day = format_skeleton("MMMd" if short else "yMMMd", local, locale=language)
    clock = format_skeleton("Hm", local, locale=language)
    shown = _date_and_time(language).format(clock, day)
    return shown if short else f"{shown} {local.tzname() or zone}"


def counts(language: str, **values: float) -> dict[str, Number]:
    """Several quantities for one text: `t(lang, key, **counts(lang, today=3, total=1250))`."""
    return {name: number(value, language) for name, value in values.items()}
