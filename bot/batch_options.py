"""A batch's quality options (issue 9): its gold rate and dynamic overlap.

The same rules serve `python -m bot import --gold-rate P --extra-reviews N --disagreement
SPREAD` and an upload's caption (`gold_rate=P extra_reviews=N disagreement=SPREAD`), so both
refuse the same things for the same reasons. An `OptionError` says which option and why in a
catalog key (`upload_option.<reason>`) with its parameters, and in one English line for the CLI.

- gold rate: the chance a trainer's next item is a gold item while they have unseen gold
  items left; 0 to 1, written `0.2` or `20%`; 0.1 unless given.
- dynamic overlap: an item whose scores on some criterion are SPREAD or more points apart gets
  one more review, up to N more. N (1 to 10) and SPREAD (1 to the rubric's scale span: a wider
  spread could never happen) come together or not at all; off unless given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.formatting import percent
from bot.rubric import Rubric

DEFAULT_GOLD_RATE = 0.1
MAX_EXTRA_REVIEWS = 10
_RATE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(%?)")
_WHOLE = re.compile(r"[0-9]{1,6}")


class OptionError(ValueError):
    """An option that cannot be used: `.reason` (the catalog key's last part), `.params`."""

    def __init__(self, reason: str, line: str, **params: object):
        super().__init__(line)
        self.reason = reason
        self.params = params


@dataclass(frozen=True, slots=True)
class QualityOptions:
    gold_rate: float = DEFAULT_GOLD_RATE
    extra_reviews: int = 0  # 0: dynamic overlap off
    disagreement: int | None = None  # None: dynamic overlap off

    @property
    def dynamic(self) -> bool:
        return self.disagreement is not None and self.extra_reviews > 0


DEFAULT_OPTIONS = QualityOptions()


def parse_gold_rate(text: str) -> float:
    """`0.2` or `20%` -> 0.2; OptionError unless it is a share from 0 to 1 (0% to 100%)."""
    text = text.strip()
    match = _RATE.fullmatch(text)
    if match is not None:
        rate = float(text.rstrip("%")) / (100 if match.group(1) else 1)
        if 0 <= rate <= 1:
            return rate
    raise OptionError(
        "gold_rate", f"the gold rate must be from 0 to 1 (or 0% to 100%), not {text!r}", part=text
    )


def shown_rate(rate: float, language: str) -> str:
    """A gold rate as a percentage, with a decimal only when it has one (10%, 12.5%)."""
    whole = (Decimal(repr(rate)) * 100) % 1 == 0
    return percent(rate, language, decimals=0 if whole else 1)


def parse_whole(text: str, option: str) -> int:
    """A caption's whole number; OptionError (`option`'s reason) when it is not one."""
    if _WHOLE.fullmatch(text.strip()):
        return int(text)
    raise _bad(option, text)


def dynamic_overlap(
    extra_reviews: int | None, disagreement: int | None, rubric: Rubric
) -> tuple[int, int | None]:
    """(extra reviews, disagreement) checked against each other and the rubric's scale; (0,
    None) when neither is given."""
    if extra_reviews is None and disagreement is None:
        return 0, None
    if disagreement is None:
        raise OptionError(
            "missing_disagreement",
            "--extra-reviews needs --disagreement SPREAD too (how far apart scores must be)",
        )
    if extra_reviews is None:
        raise OptionError(
            "missing_extra_reviews",
            "--disagreement needs --extra-reviews N too (how many extra reviews at most)",
        )
    if not 1 <= extra_reviews <= MAX_EXTRA_REVIEWS:
        raise _bad("extra_reviews", str(extra_reviews))
    span = rubric.scale[1] - rubric.scale[0]
    if not 1 <= disagreement <= span:
        raise _bad("disagreement", str(disagreement), span=span)
    return extra_reviews, disagreement


def quality_options(
    gold_rate: str | None, extra_reviews: int | None, disagreement: int | None, rubric: Rubric
) -> QualityOptions:
    """All three options checked; the defaults where none is given."""
    rate = DEFAULT_GOLD_RATE if gold_rate is None else parse_gold_rate(gold_rate)
    extra, spread = dynamic_overlap(extra_reviews, disagreement, rubric)
    return QualityOptions(rate, extra, spread)


def _bad(option: str, text: str, span: int | None = None) -> OptionError:
    if option == "extra_reviews":
        line = f"--extra-reviews must be a whole number from 1 to {MAX_EXTRA_REVIEWS}, not {text!r}"
        return OptionError(option, line, part=text, most=MAX_EXTRA_REVIEWS)
    if span is None:  # not a number at all
        line = f"--disagreement must be a whole number of points, not {text!r}"
        return OptionError("disagreement_number", line, part=text)
    line = (
        f"--disagreement must be from 1 to {span} (the rubric's scale spans {span} points),"
        f" not {text!r}"
    )
    return OptionError(option, line, part=text, most=span)
