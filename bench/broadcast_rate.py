"""Broadcast rate: a batch announcement to N trainers through the real bot, and how a trainer who
keeps reviewing meanwhile is answered.

Target (issue 3): "Broadcast: 10,000 trainers at 95% or more of the configured rate (default
30/s), the bot answering trainers' taps normally meanwhile".

How it is measured:

* The real PTB `Application` (`bot.app.build_application`, run by `tests.e2e.RunningBot`) polls
  the fake Telegram Bot API of the tests (`tests/fakebot`, aiohttp on 127.0.0.1, in this
  process; it answers at once and has no flood limit of its own, so the pacing is the bot's).
  Settings: `BROADCAST_RATE` = `--rate` (default 30), a fresh database in a temporary folder.
* N trainers (default 10,000; `--quick`: 300) are registered (rows in one transaction, and a
  chat each in the fake). One of them, "the reviewer", joins through an invite like a person.
  A coordinator then announces a batch (`handlers.broadcasts.start_batch_broadcast`, what
  **Open and announce** does), so N messages are due (the reviewer's included).
* While it sends, the reviewer works as a trainer would: /next, then a score tap for each of the
  four criteria and Submit, `--think` seconds (default 1.0) before each action, waiting for the
  bot's answer each time. Latency = from the update being queued to the bot's answering call
  arriving at the fake: the item's panel (sendMessage with score buttons) for /next, the
  answerCallbackQuery for a tap.
* Rate: the fake records when each announcement arrives. The first `rate` messages go out at
  once (the limiter's bucket starts full), so the steady rate is measured from the
  (rate+1)-th announcement to the last: (messages - 1) / (time between them), also per 10-second
  window (min / median / max). Printed as messages/s and as a percentage of the configured rate.
* The run is bounded: it stops by itself at N / rate * 1.5 + 60 seconds whatever happens.
  A single run by default (`--repeat` for more): at 10,000 trainers it takes ~5.5 minutes, and
  the per-window figures show the spread within it.

Run from the repo root: `.venv/bin/python -m bench.broadcast_rate [--trainers N] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import machine_line, percentile
from bot.clock import utc_now
from bot.config import Settings
from handlers.broadcasts import concurrency, start_batch_broadcast
from handlers.callback_data import Action, encode
from tests.e2e import RunningBot, assignment_of
from tests.factories import NOW, make_batch
from tests.fakebot import ApiCall, FakeBotApi, FakeMessage, FakeUser

TARGET_SHARE = 0.95
COORDINATOR = 9000
REVIEWER = 2001
FIRST_TRAINER = 100_001
CRITERIA = 4  # the default rubric's
WINDOW_SECONDS = 10.0
WAIT_SECONDS = 30.0  # one answer; a lost one is counted, not waited for forever


@dataclass
class Result:
    trainers: int
    rate: int
    sent: int = 0
    seconds: float = 0.0  # first to last announcement
    steady_rate: float = 0.0
    windows: list[float] = field(default_factory=list)
    next_latency: list[float] = field(default_factory=list)
    tap_latency: list[float] = field(default_factory=list)
    unanswered: int = 0
    reviewer_calls: int = 0  # the reviewer's chat calls during the broadcast (rate-limited)
    report_edits: int = 0  # the coordinator's progress edits during the broadcast
    finished: bool = False


# -- the run ------------------------------------------------------------------------------------


async def add_trainers(nilai: RunningBot, api: FakeBotApi, count: int) -> list[int]:
    """`count` active trainers, every third speaking Indonesian, each with a chat in the fake."""
    ids = list(range(FIRST_TRAINER, FIRST_TRAINER + count))
    rows = []
    for user_id in ids:
        language = "id" if user_id % 3 == 0 else "en"
        api.user(user_id, f"Trainer {user_id}", language_code=language)
        rows.append((user_id, user_id, f"Trainer {user_id}", language, NOW, NOW))
    async with nilai.database.transaction() as conn:
        await conn.executemany(
            "INSERT INTO trainers (user_id, chat_id, name, language, role, created_at,"
            " last_seen_at) VALUES (?, ?, ?, ?, 'trainer', ?, ?)",
            rows,
        )
    return ids


def _has_score_buttons(call: ApiCall) -> bool:
    markup = call.params.get("reply_markup") or {}
    return any(
        button.get("callback_data", "")[:2] == "1s"
        for row in markup.get("inline_keyboard", [])
        for button in row
    )


class Reviewer:
    """A trainer reviewing through the broadcast: /next, four scores, Submit, again."""

    def __init__(self, api: FakeBotApi, user: FakeUser, think: float, result: Result):
        self.api = api
        self.user = user
        self.think = think
        self.result = result
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            panel = await self._next()
            if panel is None:
                continue
            assignment = assignment_of(panel)
            for criterion in range(CRITERIA):
                if not await self._tap(panel, encode(Action.SCORE, assignment, criterion, 4)):
                    break
            else:
                await self._tap(panel, encode(Action.SUBMIT, assignment))

    async def _pause(self) -> bool:
        """Think before acting; False once told to stop."""
        try:
            await asyncio.wait_for(self.stop.wait(), self.think)
        except TimeoutError:
            return True
        return False

    async def _next(self) -> FakeMessage | None:
        if not await self._pause():
            return None
        loop = asyncio.get_running_loop()
        since = self.api.mark()
        asked = loop.time()
        await self.user.send("/next")
        try:
            call = await self.api.wait_for_call(
                "sendMessage",
                lambda c: c.ok and c.chat_id == self.user.chat_id and _has_score_buttons(c),
                since=since,
                timeout=WAIT_SECONDS,
            )
        except TimeoutError:
            self.result.unanswered += 1
            return None
        self.result.next_latency.append(call.time - asked)
        return self.api.message(self.user.chat_id, call.result["message_id"])

    async def _tap(self, panel: FakeMessage, data: str) -> bool:
        if not await self._pause():
            return False
        loop = asyncio.get_running_loop()
        asked = loop.time()
        update = await self.user.tap(panel, data=data)
        query_id = update["callback_query"]["id"]
        try:
            call = await self.api.wait_for_call(
                "answerCallbackQuery",
                lambda c: c.params.get("callback_query_id") == query_id,
                since=self.user.last_action_mark,
                timeout=WAIT_SECONDS,
            )
        except TimeoutError:
            self.result.unanswered += 1
            return False
        self.result.tap_latency.append(call.time - asked)
        return True


async def run_once(trainers: int, rate: int, think: float, folder: Path) -> Result:
    result = Result(trainers=trainers, rate=rate)
    settings = Settings(
        telegram_bot_token=None,
        database_path=folder / "nilai.db",
        coordinator_ids=frozenset({COORDINATOR}),
        default_language="en",
        default_overlap=1,
        daily_quota=100_000,
        broadcast_rate=rate,
    )
    async with FakeBotApi() as api:
        nilai = RunningBot(api, settings, utc_now)  # type: ignore[arg-type]  # any clock will do
        await nilai.start()
        try:
            coordinator = api.user(COORDINATOR, "Sari", language_code="en")
            await coordinator.send("/start")
            await coordinator.wait_bot_message()
            reviewer_user = api.user(REVIEWER, "Rina", language_code="en")
            await nilai.onboard(reviewer_user)
            bulk = await add_trainers(nilai, api, trainers - 1)
            batch_id = await make_batch(nilai.database, "bench", items=5_000, overlap=1)

            since = api.mark()
            await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
            reviewer = Reviewer(api, reviewer_user, think, result)
            reviewing = asyncio.create_task(reviewer.run())
            deadline = time.monotonic() + trainers / rate * 1.5 + 60
            wanted, times, checked = set(bulk), [], since
            while len(times) < len(bulk) and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                calls = api.calls[checked:]
                checked += len(calls)
                times += [
                    c.time
                    for c in calls
                    if c.method == "sendMessage" and c.ok and c.chat_id in wanted
                ]
            reviewer.stop.set()
            await asyncio.wait_for(reviewing, WAIT_SECONDS + 5)
            while time.monotonic() < deadline and not result.finished:
                status = await nilai.database.fetchval("SELECT status FROM broadcasts")
                result.finished = status == "done"
                if not result.finished:
                    await asyncio.sleep(0.1)
            _tally(api, since, times, result, coordinator.chat_id)
        finally:
            await nilai.stop()
    return result


def _tally(
    api: FakeBotApi, since: int, times: list[float], result: Result, coordinator_chat: int
) -> None:
    result.sent = len(times)
    if len(times) < 2:
        return
    result.seconds = times[-1] - times[0]
    steady = times[min(result.rate, len(times) - 2) :]
    span = steady[-1] - steady[0]
    result.steady_rate = (len(steady) - 1) / span if span > 0 else math.inf
    start = steady[0]
    windows = math.floor((steady[-1] - start) / WINDOW_SECONDS)
    result.windows = [
        sum(1 for t in steady if start + k * WINDOW_SECONDS <= t < start + (k + 1) * WINDOW_SECONDS)
        / WINDOW_SECONDS
        for k in range(windows)
    ]
    during = [c for c in api.calls[since:] if times[0] <= c.time <= times[-1]]
    result.reviewer_calls = sum(
        1
        for c in during
        if c.chat_id == REVIEWER and c.method in ("sendMessage", "editMessageText")
    )
    result.report_edits = sum(
        1 for c in during if c.chat_id == coordinator_chat and c.method == "editMessageText"
    )


# -- report -------------------------------------------------------------------------------------


def latency_line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no answers"
    return (
        f"{name}: p50 {percentile(values, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(values, 0.95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms "
        f"({len(values)} answers)"
    )


def report(result: Result, think: float) -> None:
    share = result.steady_rate / result.rate
    verdict = "meets" if share >= TARGET_SHARE else "misses"
    print(
        f"broadcast: {result.sent:,} of {result.trainers - 1:,} announcements in "
        f"{result.seconds:.1f} s; {'finished' if result.finished else 'NOT finished'}"
    )
    print(
        f"steady rate: {result.steady_rate:.2f} msg/s = {share:.1%} of the configured "
        f"{result.rate}/s; target >= {TARGET_SHARE:.0%}: {verdict}"
    )
    if result.windows:
        print(
            f"per {WINDOW_SECONDS:.0f} s window: min {min(result.windows):.1f}, median "
            f"{statistics.median(result.windows):.1f}, max {max(result.windows):.1f} msg/s "
            f"({len(result.windows)} windows)"
        )
    print(f"reviewer (think {think:.1f} s before each action) during the broadcast:")
    print("  " + latency_line("/next -> item panel", result.next_latency))
    print("  " + latency_line("tap -> answer", result.tap_latency))
    if result.unanswered:
        print(f"  unanswered within {WAIT_SECONDS:.0f} s: {result.unanswered}")
    if result.seconds > 0:
        print(
            f"other rate-limited calls meanwhile: reviewer's chat {result.reviewer_calls} "
            f"({result.reviewer_calls / result.seconds:.2f}/s), coordinator's progress edits "
            f"{result.report_edits} ({result.report_edits / result.seconds:.2f}/s)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainers", type=int, help="recipients (default 10,000)")
    parser.add_argument("--rate", type=int, default=30, help="BROADCAST_RATE (default 30)")
    parser.add_argument("--think", type=float, default=1.0, help="reviewer's pause, seconds")
    parser.add_argument("--repeat", type=int, default=1, help="runs (default 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 trainers")
    args = parser.parse_args(argv)
    trainers = max(2, args.trainers or (300 if args.quick else 10_000))
    rate = max(1, args.rate)
    logging.basicConfig(level=logging.ERROR)  # the bot's INFO lines would drown the figures
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(proxy, None)  # only 127.0.0.1 traffic, never through a proxy

    print("bench.broadcast_rate: a batch announcement through the real bot and the fake Bot API")
    print(machine_line())
    print(
        f"setup: {trainers:,} trainers, BROADCAST_RATE {rate}/s, {concurrency(rate)} sends in "
        f"flight, expected ~{trainers / rate:.0f} s a run"
    )
    for run in range(1, max(1, args.repeat) + 1):
        folder = Path(tempfile.mkdtemp(prefix="nilai-bench-broadcast-"))
        try:
            result = asyncio.run(run_once(trainers, rate, args.think, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if args.repeat > 1:
            print(f"run {run}:")
        report(result, args.think)
    return 0


if __name__ == "__main__":
    sys.exit(main())
