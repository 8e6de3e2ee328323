"""Numbers and moments as each reader's language writes them (bot/formatting.py, and `count`
in bot/i18n.py).

An Indonesian reads 1.250 as one thousand two hundred and fifty and writes the time as 14.30; an
English reader writes 1,250 and 14:30. Ids are names, not amounts: never grouped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel.numbers import format_decimal
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.formatting import Number, counts, moment, number
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
        ("Asia/Jakarta", "en", False, "Mar 4, 2026, 14:05 WIB"),
        ("Asia/Jakarta", "id", True, "4 Mar 14.05"),
        ("Asia/Jakarta", "en", True, "Mar 4, 14:05"),
        ("Asia/Makassar", "id", False, "4 Mar 2026 15.05 WITA"),
        ("Asia/Jayapura", "id", False, "4 Mar 2026 16.05 WIT"),
        ("UTC", "en", False, "Mar 4, 2026, 07:05 UTC"),
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
