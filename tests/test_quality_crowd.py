"""Quality control against a scripted crowd, through the services the bot's handlers use.

Three honest trainers score each answer near its true quality (a point off now and then), a
random clicker taps any score, and an always-5 clicker gives every criterion a 5. The batch has
gold items mixed in by the pick at its gold rate. What the issue promises of this crowd: the
random clicker is caught by the gold items and paused in the batch (and only they are); the
always-5 clicker is flagged as an anomaly; gold answers never count towards an item's overlap,
the batch's progress or its agreement, and never reach the sft or dpo export.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

import krippendorff
import numpy as np

from bot.agreement import batch_agreement
from bot.anomalies import Kind, find_anomalies
from bot.config import Settings
from bot.exports import export_batch
from bot.review import ReviewService
from bot.rewrite_review import RewriteReviews
from bot.rubric import DEFAULT_RUBRIC
from storage import batches
from storage.database import Database
from storage.gold import GOLD_ITEM
from storage.records import Trainer
from tests.conftest import FakeClock
from tests.factories import NOW, make_trainer, one_chunk

CRITERIA = DEFAULT_RUBRIC.criteria
ORDINARY, GOLD, OVERLAP = 90, 24, 3
HONEST, RANDOM, ALWAYS_5 = (101, 102, 103), 201, 301


@dataclass(frozen=True)
class Crowd:
    batch_id: int
    truth: dict[str, tuple[int, ...]]  # external id -> true score per criterion
    review: ReviewService
    trainers: dict[int, Trainer]


def true_scores(rng: random.Random) -> tuple[int, ...]:
    return tuple(rng.randint(2, 4) for _ in CRITERIA)


async def make_crowd(db: Database, settings: Settings, clock: FakeClock) -> Crowd:
    """A batch of ordinary and gold items (gold expects the truth, give or take a point) at gold
    rate 0.25, and the five trainers."""
    rng = random.Random(7)
    truth: dict[str, tuple[int, ...]] = {}
    rows = []
    for n in range(ORDINARY + GOLD):
        scores = true_scores(rng)
        gold = n >= ORDINARY
        external = f"{'gold' if gold else 'item'}-{n}"
        truth[external] = scores
        expectation = (
            json.dumps({c: [s - 1, s + 1] for c, s in zip(CRITERIA, scores, strict=True)})
            if gold
            else None
        )
        rows.append((external, f"Prompt {n}", f"Answer {n}", None, 0, None, expectation))
    rng.shuffle(rows)  # gold items stand anywhere in the file
    batch_id, _ = await batches.create_batch_with_items(
        db,
        name="crowd",
        rubric_json=DEFAULT_RUBRIC.to_json(),
        overlap=OVERLAP,
        priority=0,
        chunks=one_chunk(rows),
        now=NOW,
    )
    await db.execute("UPDATE batches SET gold_rate = 0.25 WHERE id = ?", (batch_id,))
    people = {}
    for user_id in (*HONEST, RANDOM, ALWAYS_5):
        people[user_id] = await make_trainer(db, user_id)
    return Crowd(batch_id, truth, ReviewService(db, settings, clock), people)


def answer(user_id: int, truth: tuple[int, ...], rng: random.Random) -> tuple[int, ...]:
    if user_id == RANDOM:
        return tuple(rng.randint(1, 5) for _ in truth)
    if user_id == ALWAYS_5:
        return tuple(5 for _ in truth)
    return tuple(
        min(5, max(1, s + (rng.choice((-1, 1)) if rng.random() < 0.2 else 0))) for s in truth
    )


async def review_until_done(crowd: Crowd, clock: FakeClock) -> dict[int, list[str]]:
    """Every trainer in turn takes their next item, scores it (a minute or two later), writes a
    rewrite on every third, and submits, until nobody gets anything: who got which items."""
    rng = random.Random(11)
    seen: dict[int, list[str]] = {user_id: [] for user_id in crowd.trainers}
    active = set(crowd.trainers)
    while active:
        for user_id in sorted(active):
            trainer = crowd.trainers[user_id]
            view, _ = await crowd.review.next_item(trainer)
            if view is None:
                active.discard(user_id)
                continue
            external = view.item.external_id
            seen[user_id].append(external)
            clock.advance(seconds=rng.randint(60, 150))
            aid = view.assignment.id
            for index, score in enumerate(answer(user_id, crowd.truth[external], rng)):
                await crowd.review.score(trainer, aid, index, score)
            if len(seen[user_id]) % 3 == 0:
                text = f"A better answer to {external}, by {user_id}."
                await crowd.review.set_text(
                    trainer, aid, "rewrite", text, chat_id=user_id, message_id=len(seen[user_id])
                )
            await crowd.review.submit(trainer, aid)
    return seen


async def test_the_random_clicker_is_paused_the_always_5_clicker_flagged_and_gold_kept_apart(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    settings = replace(settings, daily_quota=1000)
    crowd = await make_crowd(db, settings, clock)
    seen = await review_until_done(crowd, clock)

    # Gold items were mixed in for everyone, never twice to one trainer, anywhere in the stream.
    for user_id, items in seen.items():
        assert len(items) == len(set(items))
        assert any(item.startswith("gold") for item in items), user_id

    # Caught by gold: the random clicker is paused in the batch, after at least
    # GOLD_MIN_ANSWERS gold answers and below the pass rate; no honest trainer is. (The always-5
    # clicker may be too: gold items whose true score is not 5 catch them as well.)
    paused = await db.fetchall(
        "SELECT trainer_id FROM gold_pauses WHERE batch_id = ? AND lifted_at IS NULL",
        (crowd.batch_id,),
    )
    assert RANDOM in {row[0] for row in paused}
    assert not {row[0] for row in paused} & set(HONEST)
    answers = await db.fetchall(
        "SELECT trainer_id, COUNT(*), SUM(correct) FROM gold_answers GROUP BY trainer_id"
    )
    tally = {row[0]: (row[1], row[2]) for row in answers}
    given, right = tally[RANDOM]
    assert given >= settings.gold_min_answers and right / given < settings.gold_pass_rate
    for user_id in HONEST:
        assert tally[user_id][1] == tally[user_id][0]  # honest noise stays inside the ranges
    # Paused: the random clicker got nothing after their last gold answer.
    assert seen[RANDOM][-1].startswith("gold")
    assert len(seen[RANDOM]) < len(seen[HONEST[0]])

    # Flagged: the always-5 clicker gave one score to every criterion; honest trainers were not.
    found = await find_anomalies(db, clock())
    assert Kind.SAME_SCORE in {anomaly.kind for anomaly in found.get(ALWAYS_5, ())}
    for user_id in HONEST:
        assert Kind.SAME_SCORE not in {anomaly.kind for anomaly in found.get(user_id, ())}

    # Gold never counted in overlap or progress: every ordinary item got exactly its overlap of
    # reviews and is complete; gold items stay gold, whoever answered them.
    items = await db.fetchall(
        "SELECT external_id, complete, done_count FROM items WHERE batch_id = ?",
        (crowd.batch_id,),
    )
    for external, complete, done in items:
        if external.startswith("gold"):
            assert complete == GOLD_ITEM
        else:
            assert (complete, done) == (1, OVERLAP)

    # Agreement rests on ordinary items only: the package's alpha over them, computed here
    # from the scores table, is the bot's figure.
    figures = await batch_agreement(db, crowd.batch_id)
    for index, criterion in enumerate(CRITERIA):
        rows = await db.fetchall(
            "SELECT i.external_id, a.trainer_id, s.score FROM scores s"
            " JOIN assignments a ON a.id = s.assignment_id JOIN items i ON i.id = a.item_id"
            " WHERE a.status = 'submitted' AND s.criterion = ? AND i.gold IS NULL",
            (criterion,),
        )
        units = sorted({row[0] for row in rows})
        raters = sorted({row[1] for row in rows})
        matrix = np.full((len(raters), len(units)), np.nan)
        for external, trainer_id, score in rows:
            matrix[raters.index(trainer_id), units.index(external)] = score
        expected = krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5]
        )
        assert figures[index].items == ORDINARY
        assert abs(figures[index].alpha - expected) < 1e-9

    # Gold never in sft/dpo, even with every unreviewed rewrite included; rewrites were written
    # on gold items too, so this is the filter at work.
    on_gold = await db.fetchval(
        "SELECT COUNT(*) FROM judgments j JOIN assignments a ON a.id = j.assignment_id"
        " JOIN items i ON i.id = a.item_id WHERE j.rewrite IS NOT NULL AND i.gold IS NOT NULL"
    )
    assert on_gold > 0
    for fmt in ("sft", "dpo"):
        path = tmp_path / f"crowd.{fmt}.jsonl"
        await export_batch(db, settings, "crowd", fmt, path, all_rewrites=True)
        text = path.read_text(encoding="utf-8")
        assert "Gold prompt" not in text and "gold-" not in text
        assert "A better answer to item-" in text


async def test_sft_takes_accepted_rewrites_and_never_offers_gold_rewrites_for_review(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    """A coordinator reviews every rewrite /review offers: none is on a gold item; the sft export
    then holds exactly the accepted ones."""
    settings = replace(settings, daily_quota=1000)
    crowd = await make_crowd(db, settings, clock)
    await review_until_done(crowd, clock)
    boss = await make_trainer(db, 9000, role="coordinator")
    reviews = RewriteReviews(db, settings, clock)
    accepted: list[str] = []
    decided = 0
    while (rewrite := await reviews.next_for(boss, crowd.batch_id)) is not None:
        external = rewrite.external_id
        assert not external.startswith("gold")
        if decided % 2 == 0:
            await reviews.accept(boss, rewrite.assignment_id)
            accepted.append(external)
        else:
            await reviews.start_reject(boss, rewrite.assignment_id)
            await reviews.choose_reason(boss, rewrite.assignment_id, 0)
            await reviews.reject(boss, rewrite.assignment_id, None)
        decided += 1
    assert decided > 4
    path = tmp_path / "crowd.sft.jsonl"
    summary = await export_batch(db, settings, "crowd", "sft", path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert summary.rows == len(lines) == len(accepted)
