"""Numbers, moments, times of day, dates, durations and percentages as the reader's language
writes them (Babel's CLDR data): English "1,234", "9:00 PM WIB", "Tue, Dec 1", "1 hour 5 minutes";
Indonesian "1.234", "21.00 WIB", "Selasa, 1 Des", "1 jam 5 menit". A text never writes a number
or a time itself: it takes one of these.

Only quantities go through `number`: a Telegram id or an item id is a name, not an amount, and
is shown as its plain digits ("user 123456789", never "123,456,789").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_skeleton,
    format_time,
    tokenize_pattern,
    untokenize_pattern,
)
from babel.numbers import NumberPattern, get_decimal_symbol, get_group_symbol, parse_pattern
from babel.units import format_unit


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


def pace(per_day: float, language: str) -> Number:
    """A rate such as reviews a day: below 10 with one decimal, only when that decimal is not
    0 ("0.3", "2.5", but "1", not "1.0"); from 10 up whole ("12"). It is a `Number`, so a
    plural text can take it as its `count` ("1 review a day", "0.3 reviews a day")."""
    if per_day < 10 and round(per_day, 1) != round(per_day):
        return number(round(per_day, 1), language, decimals=1)
    return number(round(per_day), language)  # its plural form is the whole number's


@cache
def _date_and_time(language: str) -> str:
    """How the language joins a date and a time: "{1}, {0}" in English, "{1} {0}" in Indonesian."""
    return str(Locale.parse(language).datetime_formats["medium"])


@cache
def _time_pattern(language: str) -> str:
    """The language's own short time of day: "h:mm a" in English, "HH.mm" in Indonesian."""
    return str(Locale.parse(language).time_formats["short"])


def _zone_name(local: datetime, zone: str) -> str:
    """The zone's abbreviation at that moment (WIB, WITA, WIT; GMT or BST in London).

    A zone the tz database gives no letters for is written as an offset ("+04"); "UTC+04" says
    what it is."""
    name = local.tzname() or zone
    return f"UTC{name}" if name[:1] in "+-" else name


def _time_of_day(local: datetime, language: str) -> str:
    """The clock reading alone: "9:00 PM" / "21.00".

    CLDR puts a narrow no-break space (U+202F) before "PM"; some phone fonts draw it as a box, and
    a search for "9:00 PM" would miss it, so it is an ordinary space here."""
    return format_time(local, _time_pattern(language), locale=language).replace("\u202f", " ")


def clock_time(when: datetime, zone: str, language: str) -> str:
    """The time of day in `zone` as the language writes it, with the zone: "9:00 PM WIB" in
    English, "21.00 WIB" in Indonesian (the locale's "short" time format)."""
    local = when.astimezone(ZoneInfo(zone))
    return f"{_time_of_day(local, language)} {_zone_name(local, zone)}"


# How wide the weekday is, by language (CLDR width: 1 abbreviated, 4 wide). CLDR's Indonesian
# abbreviations (Sen, Sel, Rab, Kam) are calendar-grid labels; in a sentence Indonesians write the
# day in full ("Selasa, 1 Des"), while English readers write "Tue, Dec 1".
_WEEKDAY_WIDTH = {"id": 4}


@cache
def _weekday_date_pattern(language: str, with_year: bool = False) -> str:
    """The locale's pattern for skeleton "MMMEd" ("E, MMM d"; Indonesian "E, d MMM"), or
    "yMMMEd" with the year, its weekday widened where the language wants it. Babel's
    `format_skeleton("MMMEEEEd")` matches the pattern but, unlike CLDR's matching rules, keeps
    the pattern's field widths, so the widening is done here, on the pattern's own tokens."""
    skeleton = "yMMMEd" if with_year else "MMMEd"
    pattern = str(Locale.parse(language).datetime_skeletons[skeleton])
    width = _WEEKDAY_WIDTH.get(language, 1)
    tokens = [
        ("field", ("E", width)) if kind == "field" and value[0] == "E" else (kind, value)
        for kind, value in tokenize_pattern(pattern)
    ]
    return untokenize_pattern(tokens)


def weekday_date(day: date, language: str, *, today: date | None = None) -> str:
    """A day with its weekday: "Tue, Dec 1" in English, "Selasa, 1 Des" in Indonesian; with
    the year ("Thu, Jan 7, 2027", "Kamis, 7 Jan 2027") when it is not the year of `today` (the
    reader's local date; without one, never: for days that are this week's)."""
    with_year = today is not None and day.year != today.year
    return format_date(day, _weekday_date_pattern(language, with_year), locale=language)


def duration(seconds: float, language: str, *, days: bool = False) -> str:
    """Time spent, in the two units a person reads: "1 hour 5 minutes" / "1 jam 5 menit".

    Babel's `format_timedelta` rounds to one unit ("1 hour"), which hides most of an afternoon's
    reviewing, so the parts are Babel's unit patterns ("{0} hours"), joined by a space as English
    and Indonesian both say a compound time (CLDR's Indonesian unit list would put a comma).
    Whole minutes from a minute up; under a minute, the seconds; nothing (or a negative span
    from a clock step) is "0 minutes". Hours are the largest unit, as for time spent working (a
    week's reviewing is "31 hours 20 minutes"); `days=True`, for a wait such as an estimated
    finish, writes a day or more as days and hours ("2 days 3 hours").
    """
    whole = max(int(seconds + 0.5), 0)
    if 0 < whole < 60:
        return _unit(whole, "second", language)
    if days and whole >= 86400 - 1800:
        larger, smaller = divmod((whole + 1800) // 3600, 24)
        return _two(larger, "day", smaller, "hour", language)
    hours, minutes = divmod((whole + 30) // 60, 60)
    return _two(hours, "hour", minutes, "minute", language)


def _two(larger: int, big: str, smaller: int, small: str, language: str) -> str:
    """ "1 hour 5 minutes", "2 hours" (no "0 minutes" after an hour), "5 minutes"."""
    parts = [_unit(larger, big, language)] if larger else []
    if smaller or not larger:
        parts.append(_unit(smaller, small, language))
    return " ".join(parts)


def _unit(value: int, unit: str, language: str) -> str:
    """One part of a duration, "5 minutes" / "5 menit", its number grouped ("1,234 hours")."""
    return format_unit(value, f"duration-{unit}", length="long", locale=language)


@cache
def _percent_pattern(language: str, decimals: int) -> NumberPattern:
    """The language's percent pattern ("#,##0%" in both) with `decimals` fraction digits."""
    pattern = parse_pattern(Locale.parse(language).percent_formats[None].pattern)
    pattern.frac_prec = (decimals, decimals)
    return pattern


def percent(share: float, language: str, *, decimals: int = 0) -> str:
    """A share of a whole (0.45) as the language writes a percentage: "45%"; "12.5%" in English
    and "12,5%" in Indonesian with one decimal.

    A share short of the whole is never shown as "100%" (999 of 1,000 items is "99%", not done),
    so it is cut rather than rounded up to it; likewise a share above nothing is never "0%" (a
    batch that has begun is at least "0.1%" with one decimal), so it is rounded up to the
    smallest step."""
    exact = Decimal(repr(share)) if isinstance(share, float) else Decimal(share)
    step = Decimal(1).scaleb(-(decimals + 2))
    rounded = exact.quantize(step, ROUND_HALF_EVEN)
    if exact < 1 <= rounded:
        rounded = exact.quantize(step, ROUND_DOWN)
    elif exact > 0 and rounded == 0:
        rounded = exact.quantize(step, ROUND_UP)
    return _percent_pattern(language, decimals).apply(rounded, language)


def moment(
    when: datetime,
    zone: str,
    language: str,
    *,
    short: bool = False,
    today: date | None = None,
    zoned: bool | None = None,
) -> str:
    """A moment in `zone` as the language writes it, on the language's own clock.

    English: "Nov 26, 2026, 2:30 PM WIB" (short: "Nov 26, 2:30 PM");
    Indonesian: "26 Nov 2026 14.30 WIB" (short: "26 Nov 14.30").
    The short form keeps the year when the moment is not in the year of `today` (the reader's
    local date), so a finish 400 days off does not read as this year's.
    `zoned` says whether the zone's name follows (default: the long form only); a short moment
    a reader may take for another zone's asks for it ("Nov 26, 2:30 PM WIB").
    The month is a word, so 03/04 can never be read as the wrong day.
    """
    local = when.astimezone(ZoneInfo(zone))
    year = not short or (today is not None and local.year != today.year)
    day = format_skeleton("yMMMd" if year else "MMMd", local, locale=language)
    shown = _date_and_time(language).format(_time_of_day(local, language), day)
    with_zone = not short if zoned is None else zoned
    return f"{shown} {_zone_name(local, zone)}" if with_zone else shown


def counts(language: str, **values: float) -> dict[str, Number]:
    """Several quantities for one text: `t(lang, key, **counts(lang, today=3, total=1250))`."""
    return {name: number(value, language) for name, value in values.items()}
