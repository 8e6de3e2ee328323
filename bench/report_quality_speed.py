"""The daily report's figures with quality data in it (issue 9): `bench/report_speed.py`'s team
and reviews, plus rewrites, their reviews, gold answers and gold pauses.

On top of bench/report_speed.py's fill (1,000 trainers, about 655,000 reviews over 30 days at
the defaults): one review in 10 carries a rewrite, 7 in 10 of those were decided (4 in 5 of
them accepted), the rest wait; one review in 10 is a gold answer (detail on two criteria, 3 in
4 right); one trainer in 20 is paused by gold. That is about 65,000 rewrites and 65,000 gold
answers. The report at 21:00 WIB is built `--runs` times (default 3): wall time of
`build_report` (the figures) and of the CSV (with the per-criterion gold figures it alone
reads), each run printed.

Run from the repo root: `.venv/bin/python -m bench.report_quality_speed [--trainers N] [--days D]
[--runs R] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import machine_line
from bench.report_speed import MOMENT, QUOTA, fill
from bot.clock import stamp
from bot.config import Settings
from bot.quality import gold_criteria
from bot.report import build_report
from bot.report_table import report_csv
from handlers.report_message import render_report
from storage.database import Database

REWRITES = 10  # one review in this many carries a rewrite
GOLD = 10  # one review in this many is a gold answer
PAUSED = 20  # one trainer in this many is paused by gold


async def add_quality(db: Database, trainers: int) -> tuple[int, int]:
    """Rewrites with their reviews, gold answers and pauses; (rewrites, gold answers)."""
    rows = await db.fetchall(
        "SELECT a.id, a.trainer_id, i.batch_id FROM assignments a JOIN items i ON i.id = a.item_id"
    )
    chance, at = random.Random(2), stamp(MOMENT - timedelta(hours=1))  # before the report
    judgments, reviews, answers = [], [], []
    for assignment, trainer, batch in rows:
        if assignment % REWRITES == 0:
            judgments.append((assignment, f"A better answer {assignment}", at))
            if chance.random() < 0.7:
                status = "accepted" if chance.random() < 0.8 else "rejected"
                reviewer = trainer % trainers + 1
                reviews.append((assignment, status, reviewer, at, at, at))
        elif assignment % GOLD == 5:
            right = chance.random() < 0.75
            detail = {"accuracy": [4 if right else 2, 4, 5], "safety": [5, 4, 5]}
            answers.append((assignment, trainer, batch, int(right), json.dumps(detail), at))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO judgments (assignment_id, rewrite, updated_at) VALUES (?, ?, ?)",
            judgments,
        )
        await conn.executemany(
            "INSERT INTO rewrite_reviews (assignment_id, status, reviewer_id, opened_at,"
            " locked_until, decided_at) VALUES (?, ?, ?, ?, ?, ?)",
            reviews,
        )
        await conn.executemany(
            "INSERT INTO gold_answers (assignment_id, trainer_id, batch_id, correct, detail,"
            " answered_at) VALUES (?, ?, ?, ?, ?, ?)",
            answers,
        )
        await conn.executemany(
            "INSERT INTO gold_pauses (trainer_id, batch_id, paused_at)"
            " SELECT CAST(? AS BIGINT), id, CAST(? AS TEXT) FROM batches",
            [(n, at) for n in range(1, trainers + 1) if n % PAUSED == 0],
        )
    return len(judgments), len(answers)


async def main(trainers: int, days: int, runs: int) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.db"
        settings = Settings(telegram_bot_token="1:bench", database_path=path, daily_quota=QUOTA)
        db = await Database.open(path)
        try:
            written = await fill(db, trainers, days)
            rewrites, answers = await add_quality(db, trainers)
            print(
                f"{trainers:,} trainers, {written:,} assignments over {days} days,"
                f" {rewrites:,} rewrites, {answers:,} gold answers"
            )
            for run in range(1, runs + 1):
                start = time.perf_counter()
                report = await build_report(db, settings, MOMENT)
                figures = time.perf_counter()
                text = render_report(report, "en", "Asia/Jakarta")
                message = time.perf_counter()
                criteria = await gold_criteria(db, until=stamp(MOMENT))
                table = report_csv(report, "Asia/Jakarta", criteria)
                done = time.perf_counter()
                print(
                    f"run {run}: figures {figures - start:.3f} s, message {message - figures:.3f} s"
                    f" ({len(text):,} chars), CSV {done - message:.3f} s ({len(table):,} bytes)"
                )
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 trainers, 7 days, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.trainers, args.days, args.runs = 100, 7, 1
    asyncio.run(main(args.trainers, args.days, args.runs))
