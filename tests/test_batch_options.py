"""The batch's quality options as written (bot/batch_options.py): the gold rate's forms and
bounds, dynamic overlap's pair and its bound by the rubric's scale."""

from __future__ import annotations

import pytest

from bot.batch_options import (
    OptionError,
    QualityOptions,
    parse_gold_rate,
    quality_options,
    shown_rate,
)
from bot.rubric import DEFAULT_RUBRIC


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("0.1", 0.1),
        ("10%", 0.1),
        (".5", 0.5),
        ("0", 0.0),
        ("1", 1.0),
        ("100%", 1.0),
        ("12.5%", 0.125),
    ],
)
def test_a_gold_rate_is_a_share_or_a_percentage(text: str, rate: float) -> None:
    assert parse_gold_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("text", ["1.01", "101%", "-0.1", "abc", "%", "", "0.1%%", "1e-1"])
def test_a_gold_rate_outside_0_to_1_or_unreadable_is_refused(text: str) -> None:
    with pytest.raises(OptionError) as refused:
        parse_gold_rate(text)
    assert refused.value.reason == "gold_rate" and refused.value.params == {"part": text}


def test_no_option_gives_the_defaults() -> None:
    assert quality_options(None, None, None, DEFAULT_RUBRIC) == QualityOptions(0.1, 0, None)
    assert not QualityOptions().dynamic


@pytest.mark.parametrize(
    ("extra", "spread", "reason"),
    [
        (2, None, "missing_disagreement"),
        (None, 2, "missing_extra_reviews"),
        (0, 2, "extra_reviews"),
        (11, 2, "extra_reviews"),
        (2, 0, "disagreement"),
        (2, 5, "disagreement"),  # the default scale 1..5 spans 4 points
    ],
)
def test_dynamic_overlap_needs_both_options_within_bounds(
    extra: int | None, spread: int | None, reason: str
) -> None:
    with pytest.raises(OptionError) as refused:
        quality_options(None, extra, spread, DEFAULT_RUBRIC)
    assert refused.value.reason == reason


def test_dynamic_overlap_at_its_bounds() -> None:
    options = quality_options("20%", 10, 4, DEFAULT_RUBRIC)
    assert options == QualityOptions(0.2, 10, 4) and options.dynamic


@pytest.mark.parametrize(
    ("rate", "en", "id"), [(0.1, "10%", "10%"), (0.125, "12.5%", "12,5%"), (0.07, "7%", "7%")]
)
def test_a_rate_is_shown_with_a_decimal_only_when_it_has_one(rate: float, en: str, id: str) -> None:
    assert (shown_rate(rate, "en"), shown_rate(rate, "id")) == (en, id)
