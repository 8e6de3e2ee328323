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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

import krippendorff
import numpy as np

from bot.rubric import Rubric
from storage import agreement
from storage.database import Database

__all__ = [
    "AgreementCache",
    "BatchAgreement",
    "CriterionAgreement",
    "alpha_of",
    "alphas_of_rows",
    "batch_agreement",
    "mean_distances",
    "trainer_distances",
]


@dataclass(frozen=True, slots=True)
class CriterionAgreement:
    criterion: str
    alpha: float | None  # None: fewer than 2 items with two or more reviews, or no spread at all
    items: int  # the items with at least two reviews it rests on


@dataclass(frozen=True, slots=True)
class BatchAgreement:
    rubric: Rubric  # for the criteria's labels
    criteria: tuple[CriterionAgreement, ...]  # in the rubric's order

    def __iter__(self) -> Iterator[CriterionAgreement]:
        return iter(self.criteria)

    def __getitem__(self, index: int) -> CriterionAgreement:
        return self.criteria[index]


def unpack_counts(packed: np.ndarray, width: int, bits: int) -> np.ndarray:
    """Items x values counts from one criterion's packed column (storage/agreement.py)."""
    shifts = np.arange(width, dtype=np.int64) * bits
    return (packed[:, np.newaxis] >> shifts) & ((1 << bits) - 1)


def alpha_of(value_counts: np.ndarray, domain: Sequence[int]) -> tuple[float | None, int]:
    """Ordinal alpha of an items x values count matrix over the ordered score values `domain`,
    and the number of items with at least two scores it rests on."""
    value_counts = value_counts[value_counts.sum(axis=1) >= 2]
    items = len(value_counts)
    if items < 2:
        return None, items
    with np.errstate(divide="ignore", invalid="ignore"):  # no spread at all: NaN, below
        alpha = float(
            krippendorff.alpha(
                value_counts=value_counts,
                value_domain=np.asarray(domain),
                level_of_measurement="ordinal",
            )
        )
    return (alpha if np.isfinite(alpha) else None), items


def alphas_of_rows(
    rows: Sequence[Sequence[int]], criteria: int, domain: Sequence[int], bits: int
) -> list[tuple[float | None, int]]:
    """(alpha, items) per criterion from storage's rows (item id, packed counts...)."""
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * (criteria + 1))
    table = flat.reshape(len(rows), criteria + 1)
    width = len(domain)
    return [alpha_of(unpack_counts(table[:, 1 + n], width, bits), domain) for n in range(criteria)]


def alphas_of_count_rows(
    rows: Sequence[Sequence[object]], criteria: Sequence[str], domain: Sequence[int]
) -> list[tuple[float | None, int]]:
    """(alpha, items) per criterion from unpacked rows (item, criterion, score, reviewers)."""
    items = {item: index for index, item in enumerate(sorted({row[0] for row in rows}))}
    column = {score: index for index, score in enumerate(domain)}
    figures = []
    for criterion in criteria:
        counts = np.zeros((len(items), len(domain)), dtype=np.int64)
        for item, named, score, reviewers in rows:
            if named == criterion and score in column:
                counts[items[item], column[score]] += reviewers
        figures.append(alpha_of(counts, domain))
    return figures


def mean_distances(distances: Iterable[agreement.TrainerDistance]) -> dict[int, float]:
    """Trainer id -> mean absolute distance from the other reviewers' mean."""
    return {d.trainer_id: d.total / d.scores for d in distances if d.scores}


async def trainer_distances(db: Database, batch_id: int) -> dict[int, float]:
    """Per trainer of the batch: how far, on average, their scores lie from the mean of the
    other reviewers of the same items (in score points; ordinary items with 2+ reviews)."""
    return mean_distances(await agreement.trainer_distances(db, batch_id))


async def _compute(db: Database, batch_id: int, rubric: Rubric) -> BatchAgreement:
    domain = list(rubric.scores)
    bits = agreement.bits_for(len(domain))
    if await agreement.most_reviews(db, batch_id) < 1 << bits:
        rows = await agreement.value_counts(db, batch_id, rubric.criteria, rubric.scale[0], bits)
        figures = await asyncio.to_thread(alphas_of_rows, rows, len(rubric.criteria), domain, bits)
    else:  # so many reviews of one item that a packed count could overflow its field
        rows = await agreement.value_count_rows(db, batch_id)
        criteria = list(rubric.criteria)
        figures = await asyncio.to_thread(alphas_of_count_rows, rows, criteria, domain)
    return BatchAgreement(
        rubric,
        tuple(
            CriterionAgreement(criterion, alpha, items)
            for criterion, (alpha, items) in zip(rubric.criteria, figures, strict=True)
        ),
    )


class AgreementCache:
    """The last figures of each batch, with what they were computed from."""

    def __init__(self) -> None:
        self._figures: dict[int, tuple[tuple[int, int], BatchAgreement]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def get(self, db: Database, batch_id: int) -> BatchAgreement:
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


async def batch_agreement(db: Database, batch_id: int) -> BatchAgreement:
    """Alpha per criterion of the batch's rubric, in the rubric's order (cached)."""
    cache = _caches.get(db)
    if cache is None:
        cache = _caches[db] = AgreementCache()
    return await cache.get(db, batch_id)
