"""How long /review's pick takes (storage/rewrite_reviews.open_next, inside the write lock) at
scale: bench/report_quality_speed.py's fill (1,000 trainers, about 655,000 reviews over 30 days,
one in 10 with a rewrite, 7 in 10 of those decided), plus one review in 200 flagged unsafe.

Each of `--picks` picks (default 200) is by one of 50 reviewers, who then accepts what they were
shown, so every pick walks past the decisions before it. Printed: p50 and p99 of the pick, and,
for comparison, the same figures for the pick's query as it was before issue 9's fix round (one
query sorting every candidate, the unsafe test per candidate), read without taking the lock.

Run from the repo root: `.venv/bin/python -m bench.review_pick_speed [--trainers N] [--days D]
[--picks P] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import machine_line, percentile
from bench.report_quality_speed import add_quality
from bench.report_speed import MOMENT, fill
from bot.clock import stamp
from storage import rewrite_reviews
from storage.database import Database

REVIEWERS = 50
UNSAFE = 200  # one review in this many is flagged unsafe
# The pick before the fix round, for the "before" figure.
OLD_PICK = (
    "SELECT a.id FROM judgments j JOIN assignments a ON a.id = j.assignment_id"
    " JOIN items i ON i.id = a.item_id JOIN batches b ON b.id = i.batch_id"
    " LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id"
    " WHERE j.rewrite IS NOT NULL AND j.rewrite <> '' AND a.status = 'submitted'"
    " AND i.complete <> 2 AND a.trainer_id <> :me AND b.status = 'open'"
    " AND NOT EXISTS (SELECT 1 FROM rewrite_skips s"
    "   WHERE s.assignment_id = a.id AND s.reviewer_id = :me)"
    " AND (r.assignment_id IS NULL OR (r.status IN ('open', 'reason', 'comment')"
    "   AND (r.reviewer_id = :me OR r.locked_until <= :now)))"
    " ORDER BY CASE WHEN r.reviewer_id = :me THEN 0 ELSE 1 END,"
    " CASE WHEN EXISTS (SELECT 1 FROM flags f JOIN assignments fa ON fa.id = f.assignment_id"
    "   WHERE fa.item_id = a.item_id AND fa.status = 'submitted' AND f.flag = 'unsafe')"
    " THEN 0 ELSE 1 END, a.submitted_at, a.id LIMIT 1"
)


def figures(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"{name}: p50 {percentile(ms, 0.5):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms"


async def main(trainers: int, days: int, picks: int) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pick.db"
        db = await Database.open(path)
        try:
            written = await fill(db, trainers, days)
            rewrites, _ = await add_quality(db, trainers)
            await db.execute(
                "INSERT INTO flags (assignment_id, flag) SELECT id, 'unsafe' FROM assignments"
                " WHERE id % ? = 3",
                (UNSAFE,),
            )
            print(f"{trainers:,} trainers, {written:,} assignments, {rewrites:,} rewrites")
            now = MOMENT
            new, old = [], []
            for pick in range(picks):
                reviewer = pick % REVIEWERS + 1
                start = time.perf_counter()
                await db.fetchone(OLD_PICK, {"me": reviewer, "now": stamp(now)})
                old.append(time.perf_counter() - start)
                start = time.perf_counter()
                shown = await rewrite_reviews.open_next(
                    db,
                    reviewer,
                    None,
                    now=stamp(now),
                    settled=stamp(now - timedelta(minutes=10)),
                    locked_until=stamp(now + timedelta(minutes=30)),
                )
                new.append(time.perf_counter() - start)
                if shown is not None:
                    await rewrite_reviews.decide(
                        db, shown.assignment_id, reviewer, accepted=True, now=stamp(now)
                    )
            print(figures(f"RESULT open_next ({picks} picks, in the write)", new))
            print(figures("RESULT before: the old pick's query alone", old))
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--picks", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="50 trainers, 3 days, 20 picks")
    args = parser.parse_args()
    if args.quick:
        args.trainers, args.days, args.picks = 50, 3, 20
    asyncio.run(main(args.trainers, args.days, args.picks))
