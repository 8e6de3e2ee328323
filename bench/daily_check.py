"""Daily sends: the per-minute check with N trainers and nothing due, and deciding N reminders
due on the same minute.

Target (issue 8): "the per-minute check with 10,000 trainers and nothing due costs under 50 ms";
deciding many sends at once must hold the write lock only briefly each time, so trainers' taps
(one short write each) never wait long behind it.

How it is measured:

* A fresh database in a temporary folder holds N trainers (default 10,000; `--quick`: 500): a
  third without a zone of their own (TIMEZONE, Asia/Jakarta), the rest spread over Asia/Makassar,
  Asia/Jayapura and Europe/Amsterdam; and `--days` (default 30; `--quick`: 3) days of finished
  daily sends before (a reminder and a summary per trainer per day, 600,000 rows at 10,000), so
  the reads of open rows are measured against a table as it grows.
* Nothing due: the check the job makes every minute (`DailyDecisions.check`: the last check, the
  zones in use, the moments, and the last check moved forward, one short write), plus the
  sender's "anything due?" look (`storage.daily_sends.has_due`), run `--runs` times (default
  300) a minute apart between 10:00 and 15:00 WIB, when nothing is scheduled. Wall time per check:
  p50, p99, max.
* All due: every trainer moved to Asia/Jakarta, then one check over 19:00 decides N reminders.
  Printed: the whole decision, the number of write transactions (chunks of
  `storage.daily_sends.CHUNK` recipients) and the time each held the write lock (p50, max), and
  that a second check decides nothing more.
  Then the sender's claim of a page of 3 (its page at 30/s) among them, 100 times.
* The query plans of the zones-in-use read (the `trainers_zone` index) and of the "anything
  due?" read (the partial index `daily_sends_open`, not the finished rows).

Run from the repo root: `.venv/bin/python -m bench.daily_check [--trainers N] [--runs R]
[--days D] [--quick]`.
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


async def build(path: Path, trainers: int, days: int) -> Database:
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
        for back in range(days, 0, -1):
            day = (QUIET_START - timedelta(days=back)).date().isoformat()
            await conn.executemany(
                "INSERT INTO daily_sends (kind, trainer_id, local_date, status, decided_at)"
                " VALUES (?, ?, ?, 'sent', ?)",
                [
                    (kind, n, day, CREATED)
                    for kind in ("reminder", "summary")
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
    chunks = held[:-1]  # the last: the second check's move of the last check
    print(f"all due: {decided:,} reminders decided for {trainers:,} trainers in {ms(whole)}")
    print(
        f"  {len(chunks)} write transactions of up to {store.CHUNK} recipients:"
        f" lock held p50 {ms(percentile(chunks, 0.5))}, max {ms(max(chunks))}"
    )
    print(f"  a second check a minute later decides {again} more")
    claims = []
    for _ in range(100):
        started = time.perf_counter()
        page = await store.record_and_claim(db, claim=3, now=stamp(REMINDER))
        claims.append(time.perf_counter() - started)
        assert len(page) == 3
    print(
        f"  claiming a page of 3 of them (the sender at 30/s): p50 {ms(percentile(claims, 0.5))},"
        f" max {ms(max(claims))}"
    )
    print(
        f"RESULT deciding {decided:,} due: {ms(whole)} in all,"
        f" the write lock held at most {ms(max(chunks))} at a time"
    )


async def query_plans(db: Database) -> None:
    rows = await db.fetchall("EXPLAIN QUERY PLAN SELECT DISTINCT timezone FROM trainers")
    print("zones in use, query plan: " + "; ".join(row["detail"] for row in rows))
    rows = await db.fetchall("EXPLAIN QUERY PLAN " + store.HAS_DUE)
    print("anything due, query plan: " + "; ".join(row["detail"] for row in rows))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="500 trainers, 50 runs, 3 days")
    args = parser.parse_args()
    trainers, runs, days = (500, 50, 3) if args.quick else (args.trainers, args.runs, args.days)
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nilai.db"
        db = await build(path, trainers, days)
        settings = Settings(telegram_bot_token="1:bench", database_path=path)
        try:
            await query_plans(db)
            times = await nothing_due(db, settings, runs)
            print(
                f"nothing due, {trainers:,} trainers, {days} days of sends before, {runs} checks:"
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
