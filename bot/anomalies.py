"""Anomalies: patterns in a trainer's recent work that suggest they are not reading carefully.
They only inform coordinators (/trainers, the daily report), each with the numbers behind it;
nobody is paused for them (only failing gold items pauses anyone).

Every signal looks at the last `WINDOW` (7 days) before the moment asked about:

- fast: submissions faster than a reading floor, `max(MIN_SECONDS, characters /
  CHARS_PER_SECOND)` from the moment the item was handed out (its prompt, answer and earlier
  turns; 40 characters a second is about twice a fast skim), on at least `FAST_SHARE` (30%) of
  at least `MIN_SUBMISSIONS` (10) submissions;
- skips: a skip rate (of the items handed out and finished, submitted or skipped) more than
  `SKIP_FACTOR` (2) times the whole crowd's and at least `SKIP_MARGIN` (10 points) above it, on
  at least `MIN_HANDED` (10) items;
- same score: one score on every criterion of a review, on at least `SAME_SHARE` (90%) of at
  least `MIN_SUBMISSIONS` (10) reviews scored on two or more criteria;
- pasted: the same rewrite (case and whitespace folded) on at least `MIN_PASTED` (3) items.

A thousand trainers cost four grouped statements (storage/anomalies.py), whatever their number;
the Python part (parsing stamps, folding rewrites) runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.clock import parse_stamp, stamp
from storage import anomalies
from storage.database import Database

__all__ = [
    "CHARS_PER_SECOND",
    "FAST_SHARE",
    "MIN_HANDED",
    "MIN_PASTED",
    "MIN_SECONDS",
    "MIN_SUBMISSIONS",
    "SAME_SHARE",
    "SKIP_FACTOR",
    "SKIP_MARGIN",
    "WINDOW",
    "Anomaly",
    "Kind",
    "find_anomalies",
    "normalise_rewrite",
    "reading_floor",
]

WINDOW = timedelta(days=7)
CHARS_PER_SECOND = 40.0
MIN_SECONDS = 5.0
FAST_SHARE = 0.3
MIN_SUBMISSIONS = 10
SKIP_FACTOR = 2.0
SKIP_MARGIN = 0.10
MIN_HANDED = 10
SAME_SHARE = 0.9
MIN_PASTED = 3


class Kind(StrEnum):
    FAST = "fast"
    SKIPS = "skips"
    SAME_SCORE = "same_score"
    PASTED = "pasted"


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One signal and the numbers behind it: `count` of `of` (fast / submissions, skipped /
    handed out, same-score / scored reviews, items with the one rewrite / rewrites)."""

    kind: Kind
    count: int
    of: int
    crowd: float | None = None  # skips only: the whole crowd's skip rate

    @property
    def share(self) -> float:
        return self.count / self.of if self.of else 0.0


def reading_floor(characters: int) -> float:
    """The fewest seconds an item of `characters` can honestly take."""
    return max(MIN_SECONDS, characters / CHARS_PER_SECOND)


def normalise_rewrite(text: str) -> str:
    """A rewrite as compared for pasting: case folded, whitespace runs made one space."""
    return " ".join(text.casefold().split())


async def find_anomalies(
    db: Database, now: datetime, user_ids: Sequence[int] | None = None
) -> dict[int, tuple[Anomaly, ...]]:
    """Trainer id -> their anomalies over the window before `now` (only trainers with one), for
    `user_ids` or everyone. The skip rate is always compared with the whole crowd's."""
    since = stamp(now - WINDOW)
    times = await anomalies.submission_times(db, since, user_ids)
    everyone = await anomalies.handed_out(db, since)
    same = await anomalies.same_scores(db, since, user_ids)
    written = await anomalies.rewrites(db, since, user_ids)
    fast = await asyncio.to_thread(_fast, times)
    pasted = await asyncio.to_thread(_pasted, written)
    crowd_skipped = sum(h.skipped for h in everyone.values())
    crowd_finished = sum(h.finished for h in everyone.values())
    crowd = crowd_skipped / crowd_finished if crowd_finished else 0.0
    wanted = None if user_ids is None else set(user_ids)
    found: dict[int, list[Anomaly]] = defaultdict(list)
    for trainer_id, (quick, submitted) in fast.items():
        if submitted >= MIN_SUBMISSIONS and quick >= FAST_SHARE * submitted:
            found[trainer_id].append(Anomaly(Kind.FAST, quick, submitted))
    for trainer_id, handed in everyone.items():
        if wanted is not None and trainer_id not in wanted:
            continue
        rate = handed.skipped / handed.finished
        if (
            handed.finished >= MIN_HANDED
            and rate > SKIP_FACTOR * crowd
            and rate >= crowd + SKIP_MARGIN
        ):
            found[trainer_id].append(Anomaly(Kind.SKIPS, handed.skipped, handed.finished, crowd))
    for trainer_id, scores in same.items():
        if scores.scored >= MIN_SUBMISSIONS and scores.same >= SAME_SHARE * scores.scored:
            found[trainer_id].append(Anomaly(Kind.SAME_SCORE, scores.same, scores.scored))
    for trainer_id, (items, total) in pasted.items():
        if items >= MIN_PASTED:
            found[trainer_id].append(Anomaly(Kind.PASTED, items, total))
    order = list(Kind)
    return {
        trainer_id: tuple(sorted(signals, key=lambda a: order.index(a.kind)))
        for trainer_id, signals in found.items()
    }


def _fast(rows: Sequence[tuple[int, str, str, int]]) -> dict[int, tuple[int, int]]:
    """Trainer -> (submissions under the reading floor, submissions)."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for trainer_id, handed, submitted, characters in rows:
        seconds = (parse_stamp(submitted) - parse_stamp(handed)).total_seconds()
        tally = counts[trainer_id]
        tally[0] += seconds < reading_floor(characters or 0)
        tally[1] += 1
    return {trainer_id: (quick, total) for trainer_id, (quick, total) in counts.items()}


def _pasted(rows: Sequence[tuple[int, int, str]]) -> dict[int, tuple[int, int]]:
    """Trainer -> (items carrying their most repeated rewrite, rewrites written)."""
    texts: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    written: Counter[int] = Counter()
    for trainer_id, item_id, rewrite in rows:
        folded = normalise_rewrite(rewrite)
        if folded:
            texts[trainer_id][folded].add(item_id)
            written[trainer_id] += 1
    return {
        trainer_id: (max(len(items) for items in by_text.values()), written[trainer_id])
        for trainer_id, by_text in texts.items()
    }
