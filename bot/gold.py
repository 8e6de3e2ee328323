"""Gold (control) answers: when one is right, a trainer's gold accuracy, and when it pauses them.

A gold item carries an expectation `{criterion: [low, high]}`. Its first submitted answer is
judged (storage/gold.py, in the Submit's own transaction): right when every criterion of the
rubric that has an expectation was scored inside its range, bounds included. From the
`GOLD_MIN_ANSWERS`-th counted answer of a trainer in a batch on, never before, an accuracy below
`GOLD_PASS_RATE` pauses them in that batch; `/resume` lifts it and starts the tally afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from storage import gold, gold_pauses, progress
from storage.database import Database
from storage.gold import GoldAnswer, GoldJudged, PausedBatch
from storage.gold_pauses import COORDINATORS, TRAINER, Pause
from storage.gold_pauses import UNTOLD_PAGE as UNTOLD_PAGE  # untold_before's page size

__all__ = [
    "COORDINATORS",
    "TRAINER",
    "Accuracy",
    "Evidence",
    "GoldAnswer",
    "GoldJudged",
    "GoldRule",
    "GoldService",
    "Pause",
    "PausedBatch",
    "accuracy_of",
]


@dataclass(frozen=True, slots=True)
class GoldRule:
    """The judging and the pause threshold, from the settings."""

    min_answers: int
    pass_rate: float

    @classmethod
    def of(cls, settings: Settings) -> GoldRule:
        """The rule GOLD_MIN_ANSWERS and GOLD_PASS_RATE set."""
        return cls(settings.gold_min_answers, settings.gold_pass_rate)

    def judge(
        self,
        expectation: Mapping[str, Sequence[int]],
        scores: Mapping[str, int],
        criteria: Sequence[str],
    ) -> tuple[bool, dict[str, tuple[int, int, int]]] | None:
        """(correct, criterion -> (given, low, high)) over the rubric's criteria that have an
        expectation; None when none has (nothing to judge)."""
        detail = {
            key: (scores[key], int(expectation[key][0]), int(expectation[key][1]))
            for key in criteria
            if key in expectation and key in scores
        }
        if not detail:
            return None
        return all(low <= given <= high for given, low, high in detail.values()), detail

    def pauses(self, correct: int, answered: int) -> bool:
        """Below the pass rate, once enough answers count. A share exactly at the rate passes:
        `correct / answered` and the rate are the nearest floats to the same number then."""
        return answered >= self.min_answers and correct / answered < self.pass_rate


@dataclass(frozen=True, slots=True)
class Accuracy:
    """A trainer's gold accuracy in a batch: overall, and per criterion (hits, answers)."""

    correct: int
    answered: int
    per_criterion: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Right answers over answers counted; 0 when none counted (nothing to divide)."""
        return self.correct / self.answered if self.answered else 0.0

    def most_missed(self, limit: int = 2) -> list[str]:
        """The criteria missed most often (ties in rubric order), only those missed at all."""
        misses = {key: total - hits for key, (hits, total) in self.per_criterion.items()}
        ranked = sorted((key for key in misses if misses[key]), key=lambda key: -misses[key])
        return ranked[:limit]


def accuracy_of(answers: Iterable[GoldAnswer], criteria: Sequence[str] = ()) -> Accuracy:
    """Overall and per criterion accuracy of some gold answers; criteria in rubric order
    (`criteria`), then any other criterion they were judged on."""
    correct = answered = 0
    per: dict[str, list[int]] = {key: [0, 0] for key in criteria}
    for answer in answers:
        answered += 1
        correct += answer.correct
        for key, (given, low, high) in answer.detail.items():
            tally = per.setdefault(key, [0, 0])
            tally[0] += low <= given <= high
            tally[1] += 1
    per_criterion = {key: (hits, total) for key, (hits, total) in per.items() if total}
    return Accuracy(correct, answered, per_criterion)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a trainer was paused in a batch: the answers counted and their accuracy."""

    batch: PausedBatch
    answers: list[GoldAnswer]
    accuracy: Accuracy


class GoldService:
    """Gold tallies, their evidence, and lifting pauses (for /resume and its button)."""

    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now):
        """Over the database, the gold settings and the clock that stamps lifts and claims."""
        self.db = db
        self.rule = GoldRule.of(settings)
        self.clock = clock

    async def evidence(
        self, trainer_id: int, batch_id: int, criteria: Sequence[str], name: str
    ) -> Evidence:
        """The trainer's counted gold answers in the batch and their accuracy: why they were
        paused (read when it is told, so it shows what counts then)."""
        answers = await gold.counted_answers(self.db, trainer_id, batch_id)
        return Evidence(PausedBatch(batch_id, name), answers, accuracy_of(answers, criteria))

    async def batch_id(self, name: str) -> int | None:
        """The id of the batch named so (how /resume @name batch names one), if any."""
        found = await progress.find_batch(self.db, name)
        return None if found is None else found.id

    async def lift(self, trainer_id: int, batch_id: int | None, actor_id: int) -> list[PausedBatch]:
        """Lift the trainer's gold pauses (one batch, or all); the batches lifted."""
        now = stamp(self.clock())
        return await gold.lift_pauses(self.db, trainer_id, batch_id, actor_id=actor_id, now=now)

    async def live_pause(self, trainer_id: int, batch_id: int) -> Pause | None:
        """The trainer's live gold pause in the batch, if any (the one a Submit just made)."""
        return await gold_pauses.live_pause(self.db, trainer_id, batch_id)

    async def pause(self, pause_id: int) -> Pause | None:
        """A gold pause by its id, lifted or not."""
        return await gold_pauses.get_pause(self.db, pause_id)

    async def claim(self, pause_id: int, side: str) -> bool:
        """Claim a pause's notice to TRAINER or COORDINATORS for sending; False when it was
        claimed already (it is sent once at most: a crash after the claim loses it)."""
        return await gold_pauses.claim(self.db, pause_id, side, stamp(self.clock()))

    async def untold_before(self, before: str) -> list[Pause]:
        """A page of pauses made at or before `before` with a notice never claimed."""
        return await gold_pauses.untold_before(self.db, before)

    async def lift_pause(self, pause_id: int, actor_id: int) -> Pause | None:
        """Lift that one pause (the Resume button); None when it was lifted already."""
        now = stamp(self.clock())
        return await gold_pauses.lift_pause(self.db, pause_id, actor_id=actor_id, now=now)
