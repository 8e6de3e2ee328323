"""Daily sends: the per-minute check with N trainers and nothing due, and deciding N reminders
due on the same minute.

Target (issue 8): "the per-minute check with 10,000 trainers and nothing due costs under 50 ms";
deciding many sends at once must hold the write lock only briefly each time, so trainers' taps
(one short write each) never wait long behind it.

How it is measured:

* A fresh database in a temporary folder holds N trainers (default 10,000; `--quick`: 500): a
  third without a zone of their own (TIMEZONE, Asia/Jakarta), the rest spread over Asia/Makassar,
  Asia/Jayapura and Europe/Amsterdam, with a few hundred coordinators' worth of nothing else.
* Nothing due: the check the job makes every minute (`DailyDecisions.check`: the last check, the
  zones in use, the moments, and the last check moved forward, one short write), plus the
  sender's "anything due?" look (`storage.daily_sends.has_due`), run `--runs` times (default
  300) a minute apart between 10:00 and 15:00 WIB, when nothing is scheduled. Wall time per check:
  p50, p99, max.
* All due: every trainer moved to Asia/Jakarta, then one check over 19:00 decides N reminders.
  Printed: the whole decision, the number of write transactions (chunks of
  `storage.daily_sends.CHUNK` recipients) and the time each held the write lock (p50, max), and
  that a second check decides nothing more.
* The query plan of the zones-in-use read, which should use the `trainers_zone` index.

Run from the repo root: `.venv/bin/python -m bench.daily_check [--trainers N] [--runs R]
[--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import machine_line, percentile
from bot.clock import stamp
from bot.config import Settings
from bot.daily_sends import DailyDecisions
from storage import daily_sends as store
from storage.database import Database

ZONES = (None, "Asia/Makassar", "Asia/Jayapura", "Europe/Amsterdam")
CREATED = "2026-11-01T00:00:00.000000+00:00"
QUIET_START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 WIB: nothing due for hours
REMINDER = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 19:00 WIB


async def build(path: Path, trainers: int) -> Database:
    db = await Database.open(path)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO trainers (user_id, chat_id, name, language, timezone, role,"
            " created_at) VALUES (?, ?, ?, 'id', ?, 'trainer', ?)",
            [
                (n, n, f"Trainer {n}", ZONES[n % len(ZONES)], CREATED)
                for n in range(1, trainers + 1)
            ],
        )
    return db


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def nothing_due(db: Database, settings: Settings, runs: int) -> list[float]:
    decisions = DailyDecisions(db, settings)
    await decisions.start_window(QUIET_START)
    times = []
    for run in range(runs):
        now = QUIET_START + timedelta(minutes=run + 1)
        started = time.perf_counter()
        decided = await decisions.check(now)
        await store.has_due(db)
        times.append(time.perf_counter() - started)
        assert decided == 0
    return times


def timing_writes(db: Database, held: list[float]) -> Callable[..., Any]:
    """`db.write` that notes how long each transaction took (the write lock is held
    throughout)."""
    write = db.write

    async def timed(work: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return await write(work, *args)
        finally:
            held.append(time.perf_counter() - started)

    return timed


async def all_due(db: Database, settings: Settings, trainers: int) -> None:
    await db.execute("UPDATE trainers SET timezone = NULL")
    decisions = DailyDecisions(db, settings)
    await store.start_window(db, stamp(REMINDER - timedelta(minutes=1)))
    await db.execute(
        "UPDATE bot_facts SET value = ? WHERE name = ?",
        (stamp(REMINDER - timedelta(minutes=1)), store.CHECKED_AT),
    )
    held: list[float] = []
    db.write = timing_writes(db, held)  # type: ignore[method-assign]
    started = time.perf_counter()
    decided = await decisions.check(REMINDER + timedelta(seconds=1))
    whole = time.perf_counter() - started
    again = await decisions.check(REMINDER + timedelta(seconds=61))
    print(f"all due: {decided:,} reminders decided for {trainers:,} trainers in {ms(whole)}")
    print(
        f"  {len(held) - 1} write transactions of up to {store.CHUNK} recipients:"
        f" lock held p50 {ms(percentile(held[:-1], 0.5))}, max {ms(max(held[:-1]))}"
    )
    print(f"  a second check a minute later decides {again} more")
    print(
        f"RESULT deciding {decided:,} due: {ms(whole)} in all,"
        f" the write lock held at most {ms(max(held[:-1]))} at a time"
    )


async def query_plan(db: Database) -> None:
    rows = await db.fetchall("EXPLAIN QUERY PLAN SELECT DISTINCT timezone FROM trainers")
    print("zones in use, query plan: " + "; ".join(row["detail"] for row in rows))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="500 trainers, 50 runs")
    args = parser.parse_args()
    trainers, runs = (500, 50) if args.quick else (args.trainers, args.runs)
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nilai.db"
        db = await build(path, trainers)
        settings = Settings(telegram_bot_token="1:bench", database_path=path)
        try:
            await query_plan(db)
            times = await nothing_due(db, settings, runs)
            print(
                f"nothing due, {trainers:,} trainers, {runs} checks:"
                f" p50 {ms(percentile(times, 0.5))},"
                f" p99 {ms(percentile(times, 0.99))}, max {ms(max(times))}"
            )
            print(
                f"RESULT per-minute check, nothing due: p99 {ms(percentile(times, 0.99))}"
                f" with {trainers:,} trainers (target < 50 ms)"
            )
            await all_due(db, settings, trainers)
        finally:
            await db.close()


if __name__ == "__main__":
    asyncio.run(main())
