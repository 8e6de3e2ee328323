"""How far reviewers agree: Krippendorff's alpha (ordinal) per batch and criterion, and per
trainer the mean absolute distance from the other reviewers' mean on the same items.

Alpha comes from the `krippendorff` package, fed its value-counts input (items x score values,
built from the grouped rows of storage/agreement.py), never from a raters x items matrix: a
batch of 100,000 items with 3 reviews from 1,000 trainers takes well under 2 s and 200 MB
(bench/agreement_speed.py). The reads run on the reader thread (`db.fetchall`) and the numpy
part in a worker thread, so trainers' taps are never held up. Results are cached per batch and
computed again only when the batch's submitted reviews (or an Undo anywhere) changed.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import krippendorff
import numpy as np

from bot.rubric import Rubric
from storage import agreement
from storage.database import Database

__all__ = [
    "AgreementCache",
    "CriterionAgreement",
    "alpha_from_counts",
    "batch_agreement",
    "mean_distances",
    "trainer_distances",
]


@dataclass(frozen=True, slots=True)
class CriterionAgreement:
    criterion: str
    alpha: float | None  # None: fewer than 2 items with two or more reviews, or no spread at all
    items: int  # the items with at least two reviews it rests on


def alpha_from_counts(
    rows: Iterable[Sequence[int]], domain: Sequence[int]
) -> tuple[float | None, int]:
    """Ordinal alpha of (item, score, count) rows over the score values `domain` (ordered), and
    the number of items with at least two scores it rests on."""
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64)
    if flat.size == 0:
        return None, 0
    item_ids, scores, counts = flat.reshape(-1, 3).T
    units, unit_of_row = np.unique(item_ids, return_inverse=True)
    values = np.asarray(domain, dtype=np.int64)
    value_of_row = np.searchsorted(values, scores)
    width = len(values)
    cells = np.bincount(
        unit_of_row * width + value_of_row, weights=counts, minlength=len(units) * width
    )
    value_counts = cells.reshape(len(units), width)
    value_counts = value_counts[value_counts.sum(axis=1) >= 2]
    items = len(value_counts)
    if items < 2:
        return None, items
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = float(
            krippendorff.alpha(
                value_counts=value_counts, value_domain=values, level_of_measurement="ordinal"
            )
        )
    return (alpha if np.isfinite(alpha) else None), items


def mean_distances(distances: Iterable[agreement.TrainerDistance]) -> dict[int, float]:
    """Trainer id -> mean absolute distance from the other reviewers' mean."""
    return {d.trainer_id: d.total / d.scores for d in distances if d.scores}


async def trainer_distances(db: Database, batch_id: int) -> dict[int, float]:
    """Per trainer of the batch: how far, on average, their scores lie from the mean of the
    other reviewers of the same items (in score points; ordinary items with 2+ reviews)."""
    return mean_distances(await agreement.trainer_distances(db, batch_id))


async def _compute(db: Database, batch_id: int, rubric: Rubric) -> tuple[CriterionAgreement, ...]:
    domain = list(rubric.scores)
    results = []
    for criterion in rubric.criteria:
        rows = await agreement.value_counts(db, batch_id, criterion)
        alpha, items = await asyncio.to_thread(alpha_from_counts, rows, domain)
        results.append(CriterionAgreement(criterion, alpha, items))
    return tuple(results)


class AgreementCache:
    """The last figures of each batch, with what they were computed from."""

    def __init__(self) -> None:
        self._figures: dict[int, tuple[tuple[int, int], tuple[CriterionAgreement, ...]]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def get(self, db: Database, batch_id: int) -> tuple[CriterionAgreement, ...]:
        lock = self._locks.setdefault(batch_id, asyncio.Lock())
        async with lock:  # two /progress at once compute a batch once
            fresh = await agreement.freshness(db, batch_id)
            cached = self._figures.get(batch_id)
            if cached is not None and cached[0] == fresh:
                return cached[1]
            rubric_json = await agreement.batch_rubric(db, batch_id)
            rubric = Rubric.from_dict(json.loads(rubric_json))
            figures = await _compute(db, batch_id, rubric)
            self._figures[batch_id] = (fresh, figures)
            return figures


# One cache per open database (the bot has one; tests open many).
_caches: weakref.WeakKeyDictionary[Database, AgreementCache] = weakref.WeakKeyDictionary()


async def batch_agreement(db: Database, batch_id: int) -> tuple[CriterionAgreement, ...]:
    """Alpha per criterion of the batch's rubric, in the rubric's order (cached)."""
    cache = _caches.get(db)
    if cache is None:
        cache = _caches[db] = AgreementCache()
    return await cache.get(db, batch_id)
