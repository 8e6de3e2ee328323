"""Gold answers judged at Submit, the tally that pauses a trainer, and /resume's fresh start:
the rule itself, then through the review service on a real database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.clock import after, stamp
from bot.config import Settings
from bot.corrections import CorrectionService, Undo
from bot.gold import (
    COORDINATORS,
    TRAINER,
    Evidence,
    GoldAnswer,
    GoldRule,
    GoldService,
    PausedBatch,
    accuracy_of,
)
from bot.review import AssignmentRefused, ReviewService
from bot.rubric import DEFAULT_RUBRIC, Rubric
from handlers.gold import render_evidence
from handlers.text_split import MESSAGE_LIMIT, visible_len
from storage import gold, reviews
from storage.database import Database
from storage.records import Trainer
from tests.conftest import FakeClock
from tests.factories import make_trainer
from tests.gold_items import give_gold, make_gold_batch

CRITERIA = DEFAULT_RUBRIC.criteria  # accuracy, language, safety, helpfulness
RULE = GoldRule(min_answers=5, pass_rate=0.7)
RIGHT = {"accuracy": 4, "language": 1, "safety": 5, "helpfulness": 1}
WRONG = {"accuracy": 3, "language": 5, "safety": 5, "helpfulness": 5}


@pytest.mark.parametrize(
    ("scores", "correct"),
    [
        ({"accuracy": 4, "safety": 5}, True),  # the low bound is inside
        ({"accuracy": 5, "safety": 5}, True),  # so is the high one
        ({"accuracy": 3, "safety": 5}, False),
        ({"accuracy": 5, "safety": 4}, False),
    ],
)
def test_a_gold_answer_is_right_when_every_expected_criterion_is_in_range(
    scores: dict[str, int], correct: bool
) -> None:
    expectation = {"accuracy": [4, 5], "safety": [5, 5]}
    judged = RULE.judge(expectation, {**scores, "language": 1, "helpfulness": 2}, CRITERIA)
    assert judged is not None
    assert judged[0] is correct
    # Criteria without an expectation (language, helpfulness) are not part of the judgment.
    assert judged[1] == {
        "accuracy": (scores["accuracy"], 4, 5),
        "safety": (scores["safety"], 5, 5),
    }


def test_expectations_outside_the_rubric_are_ignored_and_none_left_judges_nothing() -> None:
    judged = RULE.judge({"accuracy": [1, 2], "tone": [5, 5]}, {"accuracy": 2}, CRITERIA)
    assert judged == (True, {"accuracy": (2, 1, 2)})
    assert RULE.judge({"tone": [5, 5]}, {"accuracy": 2}, CRITERIA) is None


def test_the_tally_never_pauses_before_the_minimum_and_exactly_the_rate_passes() -> None:
    assert not RULE.pauses(0, 4)  # every answer wrong, but only four
    assert RULE.pauses(3, 5)  # 60% < 70%
    assert not RULE.pauses(7, 10)  # exactly 70%: passes
    assert RULE.pauses(6, 10)
    assert not GoldRule(3, 0.6).pauses(3, 5)  # 0.6 * 5 is not exactly 3 in floats
    assert not GoldRule(10, 0.7).pauses(0, 9)


def test_accuracy_overall_and_per_criterion() -> None:
    answers = [
        GoldAnswer(1, 1, "g1", True, {"accuracy": (4, 4, 5), "safety": (5, 5, 5)}, "t1"),
        GoldAnswer(2, 2, "g2", False, {"accuracy": (2, 4, 5), "safety": (5, 5, 5)}, "t2"),
        GoldAnswer(3, 3, "g3", False, {"accuracy": (1, 4, 5), "safety": (3, 5, 5)}, "t3"),
    ]
    accuracy = accuracy_of(answers, CRITERIA)
    assert (accuracy.correct, accuracy.answered) == (1, 3)
    assert accuracy.share == pytest.approx(1 / 3)
    assert accuracy.per_criterion == {"accuracy": (1, 3), "safety": (2, 3)}
    assert accuracy.most_missed() == ["accuracy", "safety"]
    assert accuracy.most_missed(1) == ["accuracy"]


# -- through the review service --------------------------------------------------------------


@pytest.fixture
def review(db: Database, settings: Settings, clock: FakeClock) -> ReviewService:
    return ReviewService(db, settings, clock)


async def answer_gold(
    review: ReviewService, db: Database, trainer: Trainer, batch_id: int, scores: dict[str, int]
):
    """Give the trainer a gold item, score it and submit; the view after Submit."""
    lease = stamp(after(review.clock(), 30))
    assignment_id = await give_gold(db, trainer.user_id, batch_id, lease)
    for index, key in enumerate(CRITERIA):
        await review.score(trainer, assignment_id, index, scores[key])
    view, missing = await review.submit(trainer, assignment_id)
    assert missing is None
    return view


async def live_pauses(db: Database) -> list[tuple]:
    rows = await db.fetchall(
        "SELECT trainer_id, batch_id FROM gold_pauses WHERE lifted_at IS NULL ORDER BY id"
    )
    return [tuple(row) for row in rows]


async def test_a_gold_answer_is_judged_in_the_submit_and_recorded_with_its_detail(
    review: ReviewService, db: Database
) -> None:
    batch_id = await make_gold_batch(db)
    rina = await make_trainer(db, 1)
    view = await answer_gold(review, db, rina, batch_id, WRONG)
    assert view.gold is not None and not view.gold.correct and not view.gold.paused
    [answer] = await gold.counted_answers(db, rina.user_id, batch_id)
    assert answer.external_id == "gold-1" and not answer.correct
    assert answer.detail == {"accuracy": (3, 4, 5), "safety": (5, 5, 5)}
    # A gold item never becomes complete, whatever its reviews.
    assert await db.fetchval("SELECT complete FROM items WHERE external_id = 'gold-1'") == 2


async def test_an_ordinary_item_is_not_judged(review: ReviewService, db: Database) -> None:
    await make_gold_batch(db)
    rina = await make_trainer(db, 1)
    view, _ = await review.next_item(rina)
    assert view is not None and view.item.external_id.startswith("item-")
    for index in range(len(CRITERIA)):
        await review.score(rina, view.assignment.id, index, 1)
    after_submit, _ = await review.submit(rina, view.assignment.id)
    assert after_submit.gold is None
    assert await db.fetchval("SELECT COUNT(*) FROM gold_answers") == 0


async def test_the_first_answer_counts_after_undo_and_a_new_answer(
    review: ReviewService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    batch_id = await make_gold_batch(db)
    rina = await make_trainer(db, 1)
    view = await answer_gold(review, db, rina, batch_id, WRONG)
    corrections = CorrectionService(db, settings, review, clock)
    assert (await corrections.undo(rina, view.assignment.id)).outcome is Undo.REOPENED
    await review.score(rina, view.assignment.id, 0, 5)  # now right
    again, _ = await review.submit(rina, view.assignment.id)
    assert again.resubmitted and again.gold is None
    [answer] = await gold.counted_answers(db, rina.user_id, batch_id)
    assert not answer.correct and answer.detail["accuracy"] == (3, 4, 5)


async def test_a_trainer_is_paused_from_the_fifth_answer_on_never_before(
    review: ReviewService, db: Database
) -> None:
    batch_id = await make_gold_batch(db, gold=7)
    other_batch = await make_gold_batch(db, "other")
    rina, budi = await make_trainer(db, 1), await make_trainer(db, 2)
    for _ in range(4):
        view = await answer_gold(review, db, rina, batch_id, WRONG)
        assert view.gold is not None and not view.gold.paused
    assert await live_pauses(db) == []
    fifth = await answer_gold(review, db, rina, batch_id, WRONG)
    assert fifth.gold is not None and fifth.gold.paused
    assert await live_pauses(db) == [(rina.user_id, batch_id)]
    sixth = await answer_gold(review, db, rina, batch_id, RIGHT)
    assert sixth.gold is not None and sixth.gold.correct and not sixth.gold.paused  # one pause
    assert await live_pauses(db) == [(rina.user_id, batch_id)]
    # Another trainer's, and another batch's, tallies are their own.
    for _ in range(5):
        await answer_gold(review, db, budi, batch_id, RIGHT)
    await answer_gold(review, db, rina, other_batch, WRONG)
    assert await live_pauses(db) == [(rina.user_id, batch_id)]


async def test_exactly_the_pass_rate_passes(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    review = ReviewService(db, replace(settings, gold_min_answers=10, gold_pass_rate=0.7), clock)
    batch_id = await make_gold_batch(db, gold=11)
    rina = await make_trainer(db, 1)
    for scores in [WRONG] * 3 + [RIGHT] * 7:  # 7 of 10: exactly 70%
        view = await answer_gold(review, db, rina, batch_id, scores)
    assert view.gold is not None and not view.gold.paused
    eleventh = await answer_gold(review, db, rina, batch_id, WRONG)  # 7 of 11
    assert eleventh.gold is not None and eleventh.gold.paused


async def test_lifting_a_pause_starts_the_tally_afresh_and_is_audited(
    review: ReviewService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    batch_id = await make_gold_batch(db, gold=12)
    other_batch = await make_gold_batch(db, "other", gold=6)
    rina = await make_trainer(db, 1)
    for _ in range(5):
        await answer_gold(review, db, rina, batch_id, WRONG)
        await answer_gold(review, db, rina, other_batch, WRONG)
    service = GoldService(db, settings, clock)
    lifted = await service.lift(rina.user_id, batch_id, actor_id=9000)
    assert [(batch.batch_id, batch.name) for batch in lifted] == [(batch_id, "pilot")]
    assert await live_pauses(db) == [(rina.user_id, other_batch)]
    assert await gold.counted_answers(db, rina.user_id, batch_id) == []
    assert len(await gold.counted_answers(db, rina.user_id, other_batch)) == 5
    assert await service.lift(rina.user_id, batch_id, actor_id=9000) == []  # nothing twice
    audit = await db.fetchall(
        "SELECT actor_id, action, target FROM audit_log WHERE action LIKE 'gold.%'"
    )
    assert [tuple(row) for row in audit] == [(9000, "gold.resume", "trainer:1")]

    # Afresh: four wrong answers do not pause again; the fifth since the lift does.
    for _ in range(4):
        view = await answer_gold(review, db, rina, batch_id, WRONG)
        assert view.gold is not None and not view.gold.paused
    view = await answer_gold(review, db, rina, batch_id, WRONG)
    assert view.gold is not None and view.gold.paused
    # No batch: every live pause of the trainer.
    everything = await service.lift(rina.user_id, None, actor_id=9000)
    assert {batch.batch_id for batch in everything} == {batch_id, other_batch}
    assert await live_pauses(db) == []


async def test_a_pause_gives_up_the_items_of_that_batch_the_trainer_holds(
    review: ReviewService, db: Database
) -> None:
    batch_id = await make_gold_batch(db)
    await make_gold_batch(db, "other", gold=0)
    rina = await make_trainer(db, 1)
    held, _ = await review.next_item(rina)  # an ordinary item of the first batch
    assert held is not None and held.item.batch_id == batch_id
    for _ in range(5):
        view = await answer_gold(review, db, rina, batch_id, WRONG)
    assert view.gold is not None and view.gold.paused
    status = await db.fetchval("SELECT status FROM assignments WHERE id = ?", (held.assignment.id,))
    assert status == "expired"
    after_pause, _ = await review.next_item(rina)  # the held item is not offered back
    assert after_pause is not None and after_pause.item.batch_name == "other"


async def test_the_evidence_lists_the_latest_answers_within_telegrams_limit(
    db: Database, settings: Settings
) -> None:
    rina = await make_trainer(db, 1)
    keys = tuple(f"c{n}" for n in range(12))
    wide = Rubric(
        criteria=keys,
        flags=(),
        scale=(1, 5),
        labels={key: {"en": f"A rather long criterion label {key}"} for key in keys},
    )

    def evidence(criteria: tuple[str, ...]) -> Evidence:
        answers = [
            GoldAnswer(n, n, f"gold-{n}", False, {key: (1, 4, 5) for key in criteria}, f"t{n}")
            for n in range(40)
        ]
        return Evidence(PausedBatch(1, "pilot"), answers, accuracy_of(answers, criteria))

    text = render_evidence(rina, wide, evidence(keys), "en", settings)
    shown = text.count("❌")
    assert visible_len(text) <= MESSAGE_LIMIT and 0 < shown < 15
    assert "gold-39<" in text and "gold-0<" not in text
    assert f"…and {40 - shown} earlier answers" in text
    assert "0 of 40 right (0%), below the 70% needed" in text

    short = render_evidence(rina, DEFAULT_RUBRIC, evidence(CRITERIA), "en", settings)
    assert short.count("❌") == 15 and "…and 25 earlier answers" in short
    assert "Accuracy 1 (expected 4–5)" in short


async def test_a_submit_and_its_judgment_are_one_transaction(
    review: ReviewService, db: Database
) -> None:
    batch_id = await make_gold_batch(db)
    rina = await make_trainer(db, 1)
    lease = stamp(after(review.clock(), 30))
    assignment_id = await give_gold(db, rina.user_id, batch_id, lease)
    for index, key in enumerate(CRITERIA):
        await review.score(rina, assignment_id, index, WRONG[key])

    class Crashing(GoldRule):
        def judge(self, *args):  # the process dies while judging
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        await reviews.submit_judged(db, assignment_id, "2026-11-25T03:01:00", Crashing(5, 0.7))
    status = await db.fetchval("SELECT status FROM assignments WHERE id = ?", (assignment_id,))
    assert status == "active"  # nothing of the Submit was kept
    assert await db.fetchval("SELECT COUNT(*) FROM gold_answers") == 0

    view, _ = await review.submit(rina, assignment_id)  # submitted again after the restart
    assert view.gold is not None and not view.gold.correct
    with pytest.raises(AssignmentRefused):  # a redelivered Submit changes nothing
        await review.submit(rina, assignment_id)
    assert await db.fetchval("SELECT COUNT(*) FROM gold_answers") == 1


async def test_each_notice_of_a_pause_is_claimed_once_and_the_untold_wait_a_minute(
    review: ReviewService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    batch_id = await make_gold_batch(db, gold=6)
    rina = await make_trainer(db, 1)
    for _ in range(5):
        await answer_gold(review, db, rina, batch_id, WRONG)
    service = GoldService(db, settings, clock)
    pause = await service.live_pause(rina.user_id, batch_id)
    assert pause is not None and not pause.trainer_told and not pause.coordinators_told
    assert await service.untold_before(stamp(after(clock(), -60))) == []  # too new
    [untold] = await service.untold_before(stamp(clock()))
    assert untold.id == pause.id and untold.batch_name == "pilot"

    assert await service.claim(pause.id, TRAINER) is True
    assert await service.claim(pause.id, TRAINER) is False  # a second sender backs off
    [untold] = await service.untold_before(stamp(clock()))
    assert untold.trainer_told and not untold.coordinators_told
    assert await service.claim(pause.id, COORDINATORS) is True
    assert await service.untold_before(stamp(clock())) == []


async def test_lifting_a_pause_by_id_lifts_that_one_only(
    review: ReviewService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    batch_id = await make_gold_batch(db, gold=12)
    rina = await make_trainer(db, 1)
    for _ in range(5):
        await answer_gold(review, db, rina, batch_id, WRONG)
    service = GoldService(db, settings, clock)
    first = await service.live_pause(rina.user_id, batch_id)
    assert first is not None
    lifted = await service.lift_pause(first.id, actor_id=9000)
    assert lifted is not None and lifted.id == first.id
    assert await gold.counted_answers(db, rina.user_id, batch_id) == []
    for _ in range(5):
        await answer_gold(review, db, rina, batch_id, WRONG)
    second = await service.live_pause(rina.user_id, batch_id)
    assert second is not None and second.id != first.id
    assert await service.lift_pause(first.id, actor_id=9000) is None  # the stale button
    assert await live_pauses(db) == [(rina.user_id, batch_id)]
    assert await service.lift_pause(999, actor_id=9000) is None
    audits = "SELECT COUNT(*) FROM audit_log WHERE action = 'gold.resume'"
    assert await db.fetchval(audits) == 1
