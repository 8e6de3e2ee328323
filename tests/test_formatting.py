"""Numbers, moments, times of day, dates and durations as each reader's language writes them
(bot/formatting.py, and `count` in bot/i18n.py).

An Indonesian reads 1.250 as one thousand two hundred and fifty and writes the time as 14.30; an
English reader writes 1,250 and 2:30 PM. Ids are names, not amounts: never grouped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_decimal, format_percent
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bot.formatting import (
    Number,
    clock_time,
    counts,
    duration,
    moment,
    number,
    pace,
    percent,
    weekday_date,
)
from bot.i18n import t, t_plain

WHEN = datetime(2026, 3, 4, 7, 5, tzinfo=UTC)  # 14.05 in Jakarta; 4 March, never 3 April


@pytest.mark.parametrize(
    ("value", "language", "decimals", "shown"),
    [
        (0, "en", 0, "0"),
        (999, "id", 0, "999"),
        (1250, "en", 0, "1,250"),
        (1250, "id", 0, "1.250"),
        (1234567, "id", 0, "1.234.567"),
        (12.345, "en", 1, "12.3"),
        (12.345, "id", 1, "12,3"),
        (12345.6, "id", 1, "12.345,6"),
        (2.5, "en", 0, "2"),
    ],
)
def test_numbers_are_grouped_as_the_language_groups_them(
    value: float, language: str, decimals: int, shown: str
) -> None:
    assert number(value, language, decimals=decimals) == shown


@settings(max_examples=300)
@example(0.05, "id", 1)  # binary 0.05 is a hair above it; Babel (and we) round it as written
@example(2.5, "en", 0)
@given(
    st.one_of(st.integers(-(10**12), 10**12), st.floats(-1e9, 1e9, allow_nan=False)),
    st.sampled_from(["id", "en"]),
    st.integers(0, 2),
)
def test_numbers_read_as_babel_writes_them(value: float, language: str, decimals: int) -> None:
    """`number` is Python's formatting with the language's signs; Babel is the reference."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    expected = format_decimal(value, format=pattern, locale=language)
    assert number(value, language, decimals=decimals) == expected


def test_a_formatted_number_still_knows_its_value() -> None:
    shown = number(1250, "id")
    assert isinstance(shown, Number) and isinstance(shown, str)
    assert shown.value == 1250
    assert counts("en", today=3, total=1250) == {"today": "3", "total": "1,250"}


@pytest.mark.parametrize(
    ("zone", "language", "short", "shown"),
    [
        ("Asia/Jakarta", "id", False, "4 Mar 2026 14.05 WIB"),
        ("Asia/Jakarta", "en", False, "Mar 4, 2026, 2:05 PM WIB"),
        ("Asia/Jakarta", "id", True, "4 Mar 14.05"),
        ("Asia/Jakarta", "en", True, "Mar 4, 2:05 PM"),
        ("Asia/Makassar", "id", False, "4 Mar 2026 15.05 WITA"),
        ("Asia/Jayapura", "id", False, "4 Mar 2026 16.05 WIT"),
        ("UTC", "en", False, "Mar 4, 2026, 7:05 AM UTC"),
        ("Europe/London", "en", False, "Mar 4, 2026, 7:05 AM GMT"),
    ],
)
def test_a_moment_is_written_as_the_language_writes_dates_and_times(
    zone: str, language: str, short: bool, shown: str
) -> None:
    assert moment(WHEN, zone, language, short=short) == shown


def test_a_moment_crosses_midnight_in_the_readers_zone() -> None:
    late = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert moment(late, "Asia/Jakarta", "id") == "1 Jan 2027 03.00 WIB"
    assert moment(late, "UTC", "id") == "31 Des 2026 20.00 UTC"
    assert moment(late, "Asia/Jakarta", "en") == "Jan 1, 2027, 3:00 AM WIB"


# --- Times of day ---------------------------------------------------------------------------------

NINE_PM_JAKARTA = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "zone", "language", "shown"),
    [
        (NINE_PM_JAKARTA, "Asia/Jakarta", "en", "9:00 PM WIB"),
        (NINE_PM_JAKARTA, "Asia/Jakarta", "id", "21.00 WIB"),
        (NINE_PM_JAKARTA, "Asia/Makassar", "id", "22.00 WITA"),
        (NINE_PM_JAKARTA, "Asia/Jayapura", "en", "11:00 PM WIT"),
        # Midnight and noon: English has no "0:00" and no "24:00"; Indonesian writes 00.00.
        (datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "Asia/Jakarta", "en", "12:00 AM WIB"),
        (datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "Asia/Jakarta", "id", "00.00 WIB"),
        (datetime(2026, 12, 1, 16, 59, tzinfo=UTC), "Asia/Jakarta", "id", "23.59 WIB"),
        (datetime(2026, 12, 1, 5, 0, tzinfo=UTC), "Asia/Jakarta", "en", "12:00 PM WIB"),
        (datetime(2026, 12, 1, 0, 7, tzinfo=UTC), "Asia/Jakarta", "en", "7:07 AM WIB"),
        (datetime(2026, 12, 1, 0, 7, tzinfo=UTC), "Asia/Jakarta", "id", "07.07 WIB"),
        # A zone with daylight saving: the same 19:00 local is a different UTC hour, and its
        # letters change with it.
        (datetime(2026, 1, 15, 19, 0, tzinfo=UTC), "Europe/London", "en", "7:00 PM GMT"),
        (datetime(2026, 7, 15, 18, 0, tzinfo=UTC), "Europe/London", "en", "7:00 PM BST"),
        (datetime(2026, 7, 15, 18, 0, tzinfo=UTC), "Europe/London", "id", "19.00 BST"),
        (datetime(2026, 7, 15, 23, 0, tzinfo=UTC), "America/New_York", "en", "7:00 PM EDT"),
        # A zone without letters in the tz database is written as its offset from UTC.
        (NINE_PM_JAKARTA, "Asia/Dubai", "en", "6:00 PM UTC+04"),
    ],
)
def test_a_time_of_day_is_written_on_the_languages_own_clock(
    when: datetime, zone: str, language: str, shown: str
) -> None:
    assert clock_time(when, zone, language) == shown


def test_a_time_of_day_uses_an_ordinary_space() -> None:
    """CLDR's narrow no-break space before PM would not match a search for "9:00 PM"."""
    assert "\u202f" not in clock_time(NINE_PM_JAKARTA, "Asia/Jakarta", "en")
    assert "\u202f" not in moment(NINE_PM_JAKARTA, "Asia/Jakarta", "en")


def test_the_clock_changes_on_the_night_daylight_saving_starts() -> None:
    """London skips 01:00-02:00 on 29 March 2026: 00:30 UTC is 00:30 GMT, 01:30 UTC is 2:30 BST."""
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert clock_time(before, "Europe/London", "en") == "12:30 AM GMT"
    assert clock_time(before + timedelta(hours=1), "Europe/London", "en") == "2:30 AM BST"
    assert clock_time(before + timedelta(hours=1), "Europe/London", "id") == "02.30 BST"


# --- Dates with their weekday ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "language", "shown"),
    [
        (date(2026, 12, 1), "en", "Tue, Dec 1"),
        (date(2026, 12, 1), "id", "Selasa, 1 Des"),
        (date(2026, 12, 6), "en", "Sun, Dec 6"),
        (date(2026, 12, 6), "id", "Minggu, 6 Des"),
        (date(2027, 1, 1), "en", "Fri, Jan 1"),
        (date(2027, 1, 1), "id", "Jumat, 1 Jan"),
        (date(2026, 8, 17), "id", "Senin, 17 Agu"),
        (date(2026, 3, 4), "id", "Rabu, 4 Mar"),
    ],
)
def test_a_day_is_written_with_its_weekday(day: date, language: str, shown: str) -> None:
    assert weekday_date(day, language) == shown


def test_the_weekday_is_the_local_date_of_a_moment_not_its_utc_date() -> None:
    """Late evening in UTC is already the next morning in Jayapura."""
    late = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    local = late.astimezone(ZoneInfo("Asia/Jayapura")).date()
    assert weekday_date(local, "id") == "Rabu, 2 Des"


@pytest.mark.parametrize(
    ("day", "language", "shown"),
    [
        (date(2027, 1, 7), "en", "Thu, Jan 7, 2027"),
        (date(2027, 1, 7), "id", "Kamis, 7 Jan 2027"),
        (date(2025, 12, 30), "id", "Selasa, 30 Des 2025"),
        (date(2026, 12, 30), "en", "Wed, Dec 30"),  # this year: no year
        (date(2026, 12, 30), "id", "Rabu, 30 Des"),
    ],
)
def test_a_day_in_another_year_than_the_readers_today_shows_its_year(
    day: date, language: str, shown: str
) -> None:
    assert weekday_date(day, language, today=date(2026, 12, 1)) == shown


@pytest.mark.parametrize(
    ("today", "language", "shown"),
    [
        (date(2026, 12, 1), "en", "Dec 30, 2027, 10:00 AM"),
        (date(2026, 12, 1), "id", "30 Des 2027 10.00"),
        (date(2027, 1, 5), "en", "Dec 30, 10:00 AM"),
        (date(2027, 1, 5), "id", "30 Des 10.00"),
    ],
)
def test_a_short_moment_in_another_year_shows_its_year(
    today: date, language: str, shown: str
) -> None:
    """A finish 400 days away is not this year's 30 December."""
    finish = datetime(2027, 12, 30, 3, 0, tzinfo=UTC)  # 10.00 in Jakarta
    assert moment(finish, "Asia/Jakarta", language, short=True, today=today) == shown


# --- Durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "language", "shown"),
    [
        (3900, "en", "1 hour 5 minutes"),
        (3900, "id", "1 jam 5 menit"),
        (0, "en", "0 minutes"),
        (0, "id", "0 menit"),
        (0.4, "en", "0 minutes"),
        (-5, "en", "0 minutes"),  # a clock stepped back never shows a negative time
        (1, "en", "1 second"),
        (45, "en", "45 seconds"),
        (45, "id", "45 detik"),
        (59.6, "en", "1 minute"),
        (60, "en", "1 minute"),
        (89, "en", "1 minute"),
        (90, "en", "2 minutes"),
        (3600, "en", "1 hour"),
        (3600, "id", "1 jam"),
        (3599, "en", "1 hour"),  # 59.98 minutes round to the hour, never "60 minutes"
        (7260, "en", "2 hours 1 minute"),
        (7 * 24 * 3600 + 20 * 60, "en", "168 hours 20 minutes"),
        (10**7, "en", "2,777 hours 47 minutes"),
        (10**7, "id", "2.777 jam 47 menit"),
    ],
)
def test_a_duration_reads_in_hours_and_minutes(seconds: float, language: str, shown: str) -> None:
    assert duration(seconds, language) == shown


@given(st.integers(0, 10**8), st.sampled_from(["en", "id"]))
def test_a_duration_never_says_sixty_minutes_and_is_never_empty(
    seconds: int, language: str
) -> None:
    shown = duration(seconds, language)
    assert shown and not shown.startswith(" ")
    parts = shown.split(" ")
    assert len(parts) in (2, 4)
    assert "60 minutes" not in shown and "60 menit" not in shown


# --- `count` in the catalog -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "count", "shown"),
    [
        ("en", 1, "1 problem."),
        ("en", 2, "2 problems."),
        ("en", 12345, "12,345 problems."),
        ("id", 12345, "12.345 masalah."),
        ("id", 1, "1 masalah."),
    ],
)
def test_a_count_is_written_the_readers_way_and_chooses_the_plural(
    language: str, count: int, shown: str
) -> None:
    assert shown in t(language, "upload.refused", file="f.jsonl", count=count, reasons="")


@pytest.mark.parametrize("count", [1, 1250])
def test_a_count_formatted_beforehand_still_chooses_the_plural(count: int) -> None:
    text = t("en", "upload.refused", file="f", count=number(count, "en"), reasons="")
    assert ("1 problem." if count == 1 else "1,250 problems.") in text


def test_a_toast_writes_its_count_the_readers_way_too() -> None:
    assert "1.250" in t_plain("id", "upload.refused_more", count=1250)
    assert "1,250" in t_plain("en", "upload.refused_more", count=1250)


def test_ids_are_never_grouped() -> None:
    """A Telegram id or an update id is copied into a search box: its digits stay as they are."""
    text = t(
        "id", "error.alert_update", update_id=987654321, user_id=123456789, error="E", place="p"
    )
    assert "987654321" in text and "123456789" in text
    assert "123.456.789" not in text


@pytest.mark.parametrize(
    ("seconds", "language", "shown"),
    [
        (3900, "en", "1 hour 5 minutes"),  # under a day, as without days=True
        (23 * 3600, "id", "23 jam"),
        (86400, "en", "1 day"),
        (86400, "id", "1 hari"),
        (23 * 3600 + 40 * 60, "en", "1 day"),  # 23 h 40 min rounds to the day, not "24 hours"
        (2 * 86400 + 3 * 3600 + 100, "en", "2 days 3 hours"),
        (2 * 86400 + 3 * 3600 + 100, "id", "2 hari 3 jam"),
        (1000 * 86400, "en", "1,000 days"),
        (45, "en", "45 seconds"),
    ],
)
def test_a_wait_of_a_day_or_more_reads_in_days_and_hours(
    seconds: float, language: str, shown: str
) -> None:
    assert duration(seconds, language, days=True) == shown


# --- Percentages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "language", "decimals", "shown"),
    [
        (0, "en", 0, "0%"),
        (0.45, "en", 0, "45%"),
        (0.45, "id", 0, "45%"),
        (1, "id", 0, "100%"),
        (0.125, "en", 1, "12.5%"),
        (0.125, "id", 1, "12,5%"),
        (12.5, "id", 0, "1.250%"),
        (0.999, "en", 0, "99%"),  # not done yet: never "100%"
        (0.9999, "id", 1, "99,9%"),
        (0.995, "en", 0, "99%"),
        (0.994, "en", 0, "99%"),
        (0.985, "en", 0, "98%"),  # half to even, as Babel rounds
        (0.015, "en", 0, "2%"),
        (0.0004, "en", 1, "0.1%"),  # begun: never "0.0%"
        (0.0004, "id", 1, "0,1%"),
        (0.00001, "id", 0, "1%"),
        (0.0006, "en", 1, "0.1%"),
    ],
)
def test_a_share_is_written_as_the_languages_percentage(
    share: float, language: str, decimals: int, shown: str
) -> None:
    assert percent(share, language, decimals=decimals) == shown


@given(st.floats(0, 0.99, allow_nan=False), st.sampled_from(["id", "en"]), st.integers(0, 2))
def test_percentages_read_as_babel_writes_them(share: float, language: str, decimals: int) -> None:
    """Between the first and the whole's last rounding step, `percent` is Babel's percent
    format."""
    assume(share == 0 or share >= 10 ** -(decimals + 2) / 2)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    assert percent(share, language, decimals=decimals) == format_percent(
        share, format=pattern, locale=language
    )


@pytest.mark.parametrize(
    ("per_day", "language", "shown", "text"),
    [
        (1.0, "en", "1", "on track at 1 review a day"),
        (0.96, "en", "1", "on track at 1 review a day"),  # shown whole: the singular
        (1 / 3, "en", "0.3", "on track at 0.3 reviews a day"),
        (2.5, "id", "2,5", "aman dengan laju 2,5 penilaian per hari"),
        (12.4, "en", "12", "on track at 12 reviews a day"),
    ],
)
def test_a_pace_has_a_decimal_only_when_it_is_not_whole(
    per_day: float, language: str, shown: str, text: str
) -> None:
    assert pace(per_day, language) == shown
    assert text in t(language, "progress_deadline.on_track", day="", count=pace(per_day, language))
