"""The quality figures of each trainer (issue 9), as coordinators see them in /trainers and the
daily report, and (the acceptance rate alone) as a trainer sees their own in /stats.

- Acceptance rate: a trainer's rewrites a reviewer accepted, of those accepted or rejected
  (decided); rewrites still waiting do not count either way. None until one is decided.
- Gold accuracy: a trainer's gold answers that were right (every criterion with an expectation
  scored inside its range), over ALL their gold answers, including those a /resume took out of
  the tally that pauses: it is the trainer's record, while the pause looks at the tally since
  the last /resume. Per batch, and per batch and criterion (a criterion is right when its score
  was inside its range, whatever the others'). Trainers never see it: gold items look like any
  other.
- Paused by gold: the batches where a trainer has a live gold pause.

A team of any size costs one grouped statement per figure (storage/quality.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage import quality
from storage.database import Database
from storage.quality import GoldTally


@dataclass(frozen=True, slots=True)
class Share:
    """`part` of `whole` (accepted of decided; right of answered); `whole` is never 0."""

    part: int
    whole: int

    @property
    def rate(self) -> float:
        """The share as a fraction (0.75), for the percent shown and the CSV's rate."""
        return self.part / self.whole


@dataclass(frozen=True, slots=True)
class GoldAccuracy:
    """A trainer's gold record: all their gold answers (also those a /resume took out of the
    tally that pauses), right of answered overall and per batch."""

    overall: Share
    batches: tuple[GoldTally, ...]  # in batch id order


@dataclass(frozen=True, slots=True)
class CriterionGold:
    """A trainer's gold answers on one criterion in one batch: how many scored it inside the
    expected range, of those with an expectation on it."""

    batch_name: str
    criterion: str  # the criterion's key
    share: Share


# A trainer's gold accuracy per batch and criterion: batches in id order, criteria by key.
CriterionShares = tuple[CriterionGold, ...]


@dataclass(frozen=True, slots=True)
class TrainerQuality:
    """One trainer's quality figures; each absent until it exists (bot/quality.py's docstring
    says what each means)."""

    acceptance: Share | None = None  # None: no rewrite of theirs decided yet
    gold: GoldAccuracy | None = None  # None: no gold answer yet
    paused_in: tuple[str, ...] = ()  # batch names with a live gold pause


@dataclass(frozen=True, slots=True)
class CrowdQuality:
    """The team's line in the daily report."""

    acceptance: Share | None  # every listed trainer's decided rewrites together
    waiting: int  # rewrites in open batches waiting for a decision
    paused: int  # listed trainers paused by gold in at least one batch


async def acceptance_of(db: Database, user_id: int) -> Share | None:
    """One trainer's acceptance rate (their /stats)."""
    decided = (await quality.decided_rewrites(db, [user_id])).get(user_id)
    return None if decided is None else Share(decided.accepted, decided.decided)


async def trainer_quality(
    db: Database, user_ids: Sequence[int] | None = None, *, until: str | None = None
) -> dict[int, TrainerQuality]:
    """The figures of `user_ids` (None: everyone), only for trainers with any, as they were at
    `until` (a stamp: the daily report's moment, so a report rebuilt later for its CSV counts
    the same): decisions and gold answers before it, the pauses live at it."""
    decided = await quality.decided_rewrites(db, user_ids, **_before(until))
    tallies = await quality.gold_tallies(db, user_ids, **_before(until))
    paused: dict[int, list[str]] = {}
    for pause in await quality.gold_pauses(db, user_ids, **_before(until)):
        paused.setdefault(pause.trainer_id, []).append(pause.batch_name)
    figures = {}
    for user_id in decided.keys() | tallies.keys() | paused.keys():
        rewrites = decided.get(user_id)
        figures[user_id] = TrainerQuality(
            acceptance=Share(rewrites.accepted, rewrites.decided) if rewrites else None,
            gold=_gold(tallies.get(user_id, [])),
            paused_in=tuple(paused.get(user_id, ())),
        )
    return figures


def _before(until: str | None) -> dict[str, str]:
    return {} if until is None else {"until": until}


def _gold(tallies: Sequence[GoldTally]) -> GoldAccuracy | None:
    answers = sum(tally.answers for tally in tallies)
    if not answers:
        return None
    right = sum(tally.correct for tally in tallies)
    return GoldAccuracy(Share(right, answers), tuple(tallies))


async def gold_criteria(db: Database, *, until: str | None = None) -> dict[int, CriterionShares]:
    """Every trainer's gold accuracy per batch and criterion, over their gold answers before
    `until`.
    Only the report's CSV shows it, so it is read when a CSV is asked for, not with the
    report's figures: 65,000 gold answers' details are ~0.25 s to read and parse (on a
    thread, so taps are not held up)."""
    details = await quality.gold_details(db, **_before(until))
    return await asyncio.to_thread(criterion_shares, details) if details else {}


def criterion_shares(details: Iterable[tuple[int, int, str, str]]) -> dict[int, CriterionShares]:
    """Per trainer, batch and criterion: answers whose score was inside the expected range, of
    their answers with an expectation on it, from (trainer, batch id, batch name,
    gold_answers.detail: criterion -> [given, low, high])."""
    counts: dict[int, dict[tuple[int, str, str], list[int]]] = {}
    for trainer_id, batch_id, batch_name, detail in details:
        mine = counts.setdefault(trainer_id, {})
        for criterion, (given, low, high) in json.loads(detail).items():
            tally = mine.setdefault((batch_id, batch_name, criterion), [0, 0])
            tally[0] += int(given is not None and low <= given <= high)
            tally[1] += 1
    return {
        trainer_id: tuple(
            CriterionGold(name, criterion, Share(*tally))
            for (_, name, criterion), tally in sorted(mine.items())
        )
        for trainer_id, mine in counts.items()
    }


async def crowd_quality(
    db: Database,
    figures: dict[int, TrainerQuality],
    listed: Iterable[int],
    *,
    until: str | None = None,
) -> CrowdQuality:
    """The team's acceptance rate and gold pauses over the `listed` trainers (the report's,
    `figures` read at its moment), and the rewrites waiting for review at `until`."""
    accepted = decided = paused = 0
    for user_id in listed:
        mine = figures.get(user_id)
        if mine is None:
            continue
        if mine.acceptance is not None:
            accepted += mine.acceptance.part
            decided += mine.acceptance.whole
        paused += bool(mine.paused_in)
    acceptance = Share(accepted, decided) if decided else None
    waiting = await quality.waiting_rewrites(db, **_before(until))
    return CrowdQuality(acceptance, waiting, paused)


class Quality:
    """A trainer's and the team's quality figures, read for /stats and the report's CSV."""

    def __init__(self, db: Database):
        self.db = db

    async def acceptance(self, user_id: int) -> Share | None:
        """One trainer's acceptance rate (their /stats)."""
        return await acceptance_of(self.db, user_id)

    async def gold_criteria(self, *, until: str | None = None) -> dict[int, CriterionShares]:
        """Every trainer's gold accuracy per batch and criterion before `until` (the CSV's)."""
        return await gold_criteria(self.db, until=until)
