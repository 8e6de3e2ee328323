"""The coordinators' daily report on a big team: the figures, the message, the chart, the CSV.

Target (issue 8): a report that stays readable and quick at 1,000 trainers; the figures are a
handful of grouped statements (storage/report.py, bot/streaks.py per time zone in use, one per
open batch), never one per trainer.

How it is measured: a fresh database in a temporary folder holds N trainers (default 1,000;
`--quick`: 100) spread over WIB, WITA, WIT and the default zone, one batch of 200,000 items, and
`--days` (default 30) days of reviews, 3 minutes apart. Most trainers (`REGULARS`, 70%) meet
the quota of 20 on most days (20 to 30 reviews; a day off with a chance of 3%), so their streaks
run for weeks and the report takes the streak path (windows widening past the first two weeks,
bot/streaks.py); the others do 0 to 30 a day. That is about 600,000 assignments at the
defaults, 140,000 of them in the report's week. The streaks are printed, then the report at
21:00 WIB is built `--runs` times (default 3): wall time of `build_report` (the figures), of the
message, of the chart (PNG) and of the CSV, each run printed.

Run from the repo root: `.venv/bin/python -m bench.report_speed [--trainers N] [--days D]
[--runs R] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import machine_line
from bot.clock import stamp
from bot.config import Settings
from bot.report import Report, build_report
from bot.report_chart import draw_chart
from bot.report_table import report_csv
from bot.streaks import FIRST_WINDOW
from handlers.report_message import render_report
from storage.database import Database
from tests.factories import NOW as CREATED
from tests.factories import make_batch

MOMENT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 21:00 WIB
ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", None)
QUOTA = 20
REGULARS = 0.7  # the share of trainers who meet the quota on most days
DAY_OFF = 0.03  # a regular's chance of missing the quota on a day


async def fill(db: Database, trainers: int, days: int) -> int:
    """The team and its reviews; the number of assignments written."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO trainers (user_id, chat_id, name, language, role, created_at, timezone)"
            " VALUES (?, ?, ?, 'en', 'trainer', ?, ?)",
            [(n, n, f"Trainer {n}", CREATED, ZONES[n % 4]) for n in range(1, trainers + 1)],
        )
    batch = await make_batch(db, "big", items=200_000, overlap=3)
    items = [
        row[0] for row in await db.fetchall("SELECT id FROM items WHERE batch_id = ?", (batch,))
    ]
    chance, rows, taken, k = random.Random(1), [], set(), 0
    for trainer in range(1, trainers + 1):
        regular = chance.random() < REGULARS
        for day in range(days):
            base = MOMENT - timedelta(days=day, hours=chance.randint(0, 10))
            if regular and chance.random() >= DAY_OFF:
                count = chance.randint(QUOTA, 30)
            else:
                count = chance.randint(0, QUOTA - 1 if regular else 30)
            for n in range(count):
                item, k = items[k % len(items)], k + 1
                if (item, trainer) in taken:
                    continue
                taken.add((item, trainer))
                at = base - timedelta(minutes=3 * n)
                handed = stamp(at - timedelta(minutes=2))
                rows.append((item, trainer, handed, stamp(at), stamp(at)))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO assignments (item_id, trainer_id, status, assigned_at, lease_expires_at,"
            " submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
            rows,
        )
    return len(rows)


def streak_line(report: Report) -> str:
    """How long the streaks are: what makes the report look further back than two weeks."""
    streaks = sorted(f.days.streak for f in report.trainers)
    if not streaks:
        return "streaks: no trainers"
    long = sum(1 for streak in streaks if streak >= FIRST_WINDOW - 1)
    return (
        f"streaks: median {streaks[len(streaks) // 2]} days, longest {streaks[-1]},"
        f" {long:,} of {len(streaks):,} trainers at {FIRST_WINDOW - 1} days or more"
        f" (read past the first {FIRST_WINDOW}-day window); {len(report.met):,} met today"
    )


async def main(trainers: int, days: int, runs: int) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.db"
        settings = Settings(telegram_bot_token="1:bench", database_path=path, daily_quota=QUOTA)
        db = await Database.open(path)
        try:
            written = await fill(db, trainers, days)
            print(f"{trainers:,} trainers, {written:,} assignments over {days} days")
            first = True
            for run in range(1, runs + 1):
                start = time.perf_counter()
                report = await build_report(db, settings, MOMENT)
                figures = time.perf_counter()
                if first:
                    print(streak_line(report))
                    first = False
                text = render_report(report, "en", "Asia/Jakarta")
                message = time.perf_counter()
                png = draw_chart(report, "en", "Asia/Jakarta")
                chart = time.perf_counter()
                table = report_csv(report, "Asia/Jakarta")
                done = time.perf_counter()
                print(
                    f"run {run}: figures {figures - start:.3f} s, message {message - figures:.3f} s"
                    f" ({len(text):,} chars), chart {chart - message:.3f} s ({len(png):,} bytes),"
                    f" CSV {done - chart:.3f} s ({len(table):,} bytes)"
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
