"""Agreement figures (bot/agreement.py): Krippendorff's alpha per criterion through the
value-counts path, checked against the coincidence-matrix formula and Krippendorff's published
example; which reviews count (not gold, not lone reviews); each trainer's distance from the
others; and the cache following new reviews."""

from __future__ import annotations

import math
import random
from collections import Counter
from itertools import permutations

import pytest

from bot.agreement import (
    alphas_of_count_rows,
    alphas_of_rows,
    batch_agreement,
    trainer_distances,
)
from bot.rubric import DEFAULT_RUBRIC
from storage import agreement
from storage.database import Connection, Database
from tests.factories import NOW, make_batch, make_trainer

CRITERION = "accuracy"  # the default rubric's first criterion
# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), section C: 4 observers x
# 12 units, values 1-5, None where an observer gave none.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def ordinal_alpha_by_formula(units: list[list[int]]) -> float:
    """Alpha from the coincidence matrix, written out from Krippendorff's definitions."""
    values = sorted({v for unit in units for v in unit})
    pairable = [unit for unit in units if len(unit) >= 2]
    o = {(c, k): 0.0 for c in values for k in values}
    for unit in pairable:
        for i, j in permutations(range(len(unit)), 2):
            o[unit[i], unit[j]] += 1 / (len(unit) - 1)
    n_c = {c: sum(o[c, k] for k in values) for c in values}
    n = sum(n_c.values())

    def delta(c: int, k: int) -> float:
        low, high = min(c, k), max(c, k)
        between = sum(n_c[g] for g in values if low <= g <= high)
        return (between - (n_c[c] + n_c[k]) / 2) ** 2

    observed = sum(o[c, k] * delta(c, k) for c in values for k in values)
    expected = sum(n_c[c] * n_c[k] * delta(c, k) for c in values for k in values)
    return 1 - (n - 1) * observed / expected


async def seed(
    db: Database, batch_id: int, reviews: list[list[tuple[int, dict[str, int]]]]
) -> list[int]:
    """Submitted reviews, item by item (in id order): (trainer, scores) each; returns item ids."""
    rows = await db.fetchall("SELECT id FROM items WHERE batch_id = ? ORDER BY id", (batch_id,))
    items = [row[0] for row in rows]

    async def write(tx: Connection) -> None:
        for item_id, item_reviews in zip(items, reviews, strict=False):
            for trainer_id, scores in item_reviews:
                assignment_id = await tx.fetchval(
                    "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
                    " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)"
                    " RETURNING id",
                    (item_id, trainer_id, NOW, NOW, NOW),
                )
                await tx.executemany(
                    "INSERT INTO scores (assignment_id, criterion, score, updated_at)"
                    " VALUES (?, ?, ?, ?)",
                    [(assignment_id, name, score, NOW) for name, score in scores.items()],
                )
            await tx.execute(
                "UPDATE items SET done_count = done_count + ? WHERE id = ?",
                (len(item_reviews), item_id),
            )

    await db.write(write)
    return items


async def trainers(db: Database, count: int, first: int = 100) -> list[int]:
    return [(await make_trainer(db, first + n)).user_id for n in range(count)]


def by_units(data: list[list[int | None]]) -> list[list[tuple[int, dict[str, int]]]]:
    """Observers x units as review lists, one per unit."""
    return [
        [(100 + coder, {CRITERION: row[unit]}) for coder, row in enumerate(data) if row[unit]]
        for unit in range(len(data[0]))
    ]


BITS = 12  # storage.agreement.bits_for(5)


def packed_rows(units: list[list[int]], low: int = 1) -> list[tuple[int, int]]:
    """Rows as storage/agreement.py gives them, for one criterion: (item, packed counts)."""
    return [
        (unit_id, sum(count << (BITS * (score - low)) for score, count in Counter(unit).items()))
        for unit_id, unit in enumerate(units)
    ]


def test_alpha_matches_the_coincidence_matrix_formula() -> None:
    units = [[1, 1, 2], [3, 3], [5, 4, 4], [2, 3, 2], [1, 5], [4, 4, 4], [2]]
    ((alpha, items),) = alphas_of_rows(packed_rows(units), 1, range(1, 6), BITS)
    assert items == 6  # the lone score does not count
    assert alpha is not None
    assert abs(alpha - ordinal_alpha_by_formula(units)) < 1e-9


def test_alpha_on_a_scale_not_starting_at_one() -> None:
    units = [[0, 0, 1], [2, 3], [3, 3, 3], [1, 0]]
    ((alpha, items),) = alphas_of_rows(packed_rows(units, low=0), 1, range(0, 4), BITS)
    assert items == 4 and alpha is not None
    assert abs(alpha - ordinal_alpha_by_formula(units)) < 1e-9


def test_alpha_is_none_without_two_items_or_any_spread() -> None:
    assert alphas_of_rows([], 1, range(1, 6), BITS) == [(None, 0)]
    assert alphas_of_rows(packed_rows([[3, 3], [4]]), 1, range(1, 6), BITS) == [(None, 1)]
    assert alphas_of_rows(packed_rows([[3, 3], [3, 3, 3]]), 1, range(1, 6), BITS) == [(None, 2)]


async def test_krippendorffs_worked_example_through_the_database(db: Database) -> None:
    batch_id = await make_batch(db, items=12)
    await trainers(db, 4)
    await seed(db, batch_id, by_units(KRIPPENDORFF_2011))
    figures = {f.criterion: f for f in await batch_agreement(db, batch_id)}
    assert figures[CRITERION].items == 11  # the last unit has one value only
    assert figures[CRITERION].alpha is not None
    assert round(figures[CRITERION].alpha, 3) == 0.815
    units = [[row[u] for row in KRIPPENDORFF_2011 if row[u]] for u in range(12)]
    assert abs(figures[CRITERION].alpha - ordinal_alpha_by_formula(units)) < 1e-9
    assert figures["helpfulness"].alpha is None and figures["helpfulness"].items == 0


async def test_gold_items_and_items_with_one_review_do_not_count(db: Database) -> None:
    batch_id = await make_batch(db, items=5)
    await trainers(db, 3)
    items = await seed(
        db,
        batch_id,
        [
            [(100, {CRITERION: 1}), (101, {CRITERION: 2})],
            [(100, {CRITERION: 4}), (101, {CRITERION: 5}), (102, {CRITERION: 4})],
            [(100, {CRITERION: 5}), (101, {CRITERION: 1})],  # gold, below
            [(100, {CRITERION: 3})],  # one review
            [(100, {CRITERION: 2}), (101, {CRITERION: 2})],
        ],
    )
    await db.execute("UPDATE items SET gold = ? WHERE id = ?", ('{"accuracy": [4, 5]}', items[2]))
    rows = await agreement.value_counts(db, batch_id, DEFAULT_RUBRIC.criteria, low=1, bits=BITS)
    assert {row[0] for row in rows} == {items[0], items[1], items[4]}
    (figure, *_) = await batch_agreement(db, batch_id)
    expected = ordinal_alpha_by_formula([[1, 2], [4, 5, 4], [2, 2]])
    assert figure.items == 3 and figure.alpha is not None
    assert abs(figure.alpha - expected) < 1e-9
    distances = await trainer_distances(db, batch_id)
    assert set(distances) == {100, 101, 102}  # nobody's distance is from a gold or lone item


async def test_an_always_5_clicker_lies_farther_from_the_others_than_honest_trainers(
    db: Database,
) -> None:
    rng = random.Random(9)
    batch_id = await make_batch(db, items=40)
    honest = await trainers(db, 5)
    (clicker,) = await trainers(db, 1, first=200)
    reviews = []
    for _ in range(40):
        truth = {name: rng.randint(1, 4) for name in ("accuracy", "helpfulness")}
        item = [
            (t, {k: min(5, max(1, v + rng.choice((-1, 0, 0, 0, 1)))) for k, v in truth.items()})
            for t in rng.sample(honest, 3)
        ]
        reviews.append([*item, (clicker, {"accuracy": 5, "helpfulness": 5})])
    await seed(db, batch_id, reviews)
    distances = await trainer_distances(db, batch_id)
    assert set(distances) == {*honest, clicker}
    assert distances[clicker] > max(distances[t] for t in honest)
    assert all(math.isfinite(d) for d in distances.values())


async def test_the_figures_are_cached_until_the_batch_gets_a_review(db: Database) -> None:
    batch_id = await make_batch(db, items=3)
    await trainers(db, 3)
    await seed(db, batch_id, [[(100, {CRITERION: 1}), (101, {CRITERION: 1})]])
    first = await batch_agreement(db, batch_id)
    assert first[0].alpha is None and first[0].items == 1
    assert await batch_agreement(db, batch_id) is first  # nothing changed: not computed again

    await seed(db, batch_id, [[], [(100, {CRITERION: 5}), (101, {CRITERION: 4})]])
    second = await batch_agreement(db, batch_id)
    assert second is not first
    assert second[0].items == 2 and second[0].alpha == pytest.approx(
        ordinal_alpha_by_formula([[1, 1], [5, 4]]), abs=1e-9
    )


def test_the_unpacked_rows_give_the_same_alpha_as_the_packed_ones() -> None:
    """A batch whose items have more reviews than a packed field holds is read unpacked."""
    units = [[1, 1, 2], [3, 3], [5, 4, 4], [2, 3, 2], [1, 5], [4, 4, 4]]
    count_rows = [
        (unit_id, CRITERION, score, count)
        for unit_id, unit in enumerate(units)
        for score, count in Counter(unit).items()
    ]
    assert alphas_of_count_rows(count_rows, [CRITERION], range(1, 6)) == alphas_of_rows(
        packed_rows(units), 1, range(1, 6), BITS
    )
    # and a count far beyond any packed field (5,000 reviewers agreeing) stays exact
    crowd = [(0, CRITERION, 4, 5000), (0, CRITERION, 2, 1), (1, CRITERION, 1, 3000)]
    crowd += [(1, CRITERION, 2, 10)]
    ((alpha, items),) = alphas_of_count_rows(crowd, [CRITERION], range(1, 6))
    assert items == 2 and alpha is not None and alpha > 0.9


def test_a_packed_field_holds_every_count_it_is_used_for() -> None:
    from storage.agreement import bits_for

    assert bits_for(5) == 12 and (1 << bits_for(5)) - 1 == 4095
    assert bits_for(7) * 7 <= 63 and bits_for(11) * 11 <= 63
