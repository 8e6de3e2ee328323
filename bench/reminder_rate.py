"""Reminders on one minute: N trainers whose REMINDER_TIME falls on the same minute, sent under
Telegram's flood limit while a trainer keeps reviewing.

Target (issue 8): "10,000 trainers whose reminder falls on the same minute are sent at the bulk
rate without delaying trainers' taps".

How it is measured (the broadcast bench's parts, `bench/broadcast_rate.py`, reused):

* The fake Telegram Bot API of the tests (in this process) enforces 30 bulk messages a second
  (429 with `retry_after` beyond it); every 50th trainer's chat is blocked (403).
* A fresh database holds N trainers (default 3,000, a hundred seconds at 30/s; `--trainers
  10000` for the issue's 5.5 minutes; `--quick`: 200), all below a quota they cannot meet today,
  with a batch of items to review, all in Asia/Jakarta (REMINDER_TIME 19:00 WIB).
* The real PTB `Application` (`tests.e2e.RunningBot`) runs with a clock standing at 19:00:30
  WIB; the per-minute job `daily-sends` is run once, which decides N reminders, and its sender
  sends them. Each reminder is checked again at send time (below quota, something left to
  review: the real `send_reminder`), so this also measures that per-recipient cost.
* Meanwhile the reviewer works as a trainer would (/next, four scores, Submit, `--think` seconds
  before each action) and their answers are timed as in the broadcast bench.
* Rate: from the (rate+1)-th reminder to the last, (sends - 1) / time between them; duplicates:
  reminders beyond the first to a chat; misses: reachable chats that got none.

Run from the repo root: `.venv/bin/python -m bench.reminder_rate [--trainers N] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.broadcast_rate import (
    COORDINATOR,
    FLOOD_LIMIT,
    REVIEWER,
    Result,
    Reviewer,
    count_sends,
    latency_line,
    prepare_database,
    rate_line,
    tally,
)
from bench.common import machine_line
from bot.config import Settings
from handlers.scheduled import JOB_NAME, DailySends
from tests.conftest import FakeClock
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi

AT_REMINDER = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)  # 19:00:30 WIB; trainers joined 10:00


async def run(trainers: int, rate: int, think: float, folder: Path) -> Result:
    result = Result(variant="reminders", trainers=trainers, rate=rate)
    settings = Settings(
        telegram_bot_token=None,
        database_path=folder / "nilai.db",
        coordinator_ids=frozenset({COORDINATOR}),
        default_language="en",
        default_overlap=1,
        daily_quota=100_000,
        broadcast_rate=rate,
        quiet_hours=None,
    )
    clock = FakeClock(AT_REMINDER.replace(hour=11, minute=59, second=0))  # the bot starts 18:59
    deadline = time.monotonic() + trainers / rate * 1.5 + 90
    async with FakeBotApi() as api:
        api.limit_bulk_messages(FLOOD_LIMIT)
        ids, blocked = await prepare_database(settings.database_path, api, trainers)
        nilai = RunningBot(api, settings, clock)
        await nilai.start()
        try:
            reviewer = Reviewer(api, api.user(REVIEWER), think)
            reviewing = asyncio.create_task(reviewer.run())
            since = api.mark()
            clock.now = AT_REMINDER
            [job] = nilai.app.job_queue.get_jobs_by_name(JOB_NAME)
            await job.run(nilai.app)
            sends = count_sends(api, set(ids), since)
            engine = DailySends.of(nilai.app)
            with contextlib.suppress(TimeoutError):  # counted as not finished
                await asyncio.wait_for(engine.wait_idle(), deadline - time.monotonic())
            result.finished = sends() >= len(ids)
            reviewer.stop.set()
            await asyncio.wait_for(reviewing, 40)
        finally:
            await nilai.stop()
        reviewer.tally(result)
        tally(api, since, ids, blocked, result, [(since, len(api.calls))])
    result.load_after = os.getloadavg()
    return result


def report(result: Result, think: float) -> None:
    sends = result.delivered + result.duplicates + result.refused_blocked
    print(
        f"reminders: {sends:,} of {result.bulk:,} sent in {result.seconds:.1f} s "
        f"({result.delivered:,} delivered, {result.refused_blocked:,} refused: blocked the bot); "
        f"{'finished' if result.finished else 'NOT finished'}"
    )
    print(rate_line("steady rate", result.parts[0], result.rate))
    reachable = result.bulk - result.blocked_chats
    print(
        f"duplicates: {result.duplicates}; misses: {result.misses} (of {reachable:,} reachable); "
        f"429 from the flood limit: {result.flood_429}"
    )
    print(f"reviewer (think {think:.1f} s before each action) while the reminders went out:")
    print("  " + latency_line("/next -> item panel", result.next_latency))
    print("  " + latency_line("tap -> answer", result.tap_latency))
    if result.unanswered:
        print(f"  unanswered: {result.unanswered}")
    print(f"load after the run: {' '.join(f'{v:.2f}' for v in result.load_after)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainers", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=30)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="200 trainers")
    args = parser.parse_args()
    trainers = 200 if args.quick else args.trainers
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run(trainers, args.rate, args.think, Path(folder)))
    report(result, args.think)
    ok = result.finished and result.duplicates == 0 and result.misses == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
