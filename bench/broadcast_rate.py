"""Broadcast rate: an announcement to N trainers under Telegram's flood limit, with 2% of them
blocking the bot, once in one go and once with the bot killed halfway; and how a trainer who
keeps reviewing meanwhile is answered.

Target (issue 6): "Broadcast to 10,000 trainers with the fake server enforcing 30 bulk
messages/second (429 with retry_after beyond it; replies to trainers outside that count, as
Telegram does) and 2% of chats blocked: at least 95% of the configured rate, 0 duplicates, 0
misses; with a SIGKILL halfway and a restart, 0 duplicates and misses only among the few sends in
flight at the kill, which are reported to the coordinator. Trainers' taps are answered normally
meanwhile (p50 and p99 printed)."

How it is measured:

* The fake Telegram Bot API of the tests (`tests/fakebot`, aiohttp on 127.0.0.1, in this
  process) enforces the flood limit (`FakeBotApi.limit_bulk_messages(30)`): bulk sendMessage
  calls beyond 30 a second (a token bucket of 30, refilled at 30 a second) are answered 429 with
  `retry_after`; a message to a chat whose user sent an update in the last 5 seconds is a reply
  and not counted. Every 50th trainer's chat is blocked (403).
* A fresh database in a temporary folder holds N trainers (default 10,000; `--quick`: 300):
  "the reviewer" and N-1 others, every third speaking Indonesian, and a batch to review. The
  coordinator sends `/start`, then `/announce <text>` and taps Send under the preview, so N
  messages are due.
* `inprocess`: the real PTB `Application` (`tests.e2e.RunningBot`) runs in this process.
  `kill`: the bot runs as an operator runs it, `python -m bot run` in its own process (as
  tests/test_e2e_process.py starts it); once half the messages went out it gets SIGKILL, and is
  started again on the same database. `--variant` picks one; both run by default.
* While it sends, the reviewer works as a trainer would: /next, a score tap for each of the four
  criteria and Submit, `--think` seconds (default 1.0) before each action, waiting for the bot's
  answer each time. Latency = from the update being queued to the bot's answering call arriving
  at the fake: the item's panel for /next, the answerCallbackQuery for a tap. In the kill
  variant, actions that waited for the restarted bot are counted apart.
* Rate: the fake records when each announcement arrives (delivered, or refused because the chat
  blocked the bot: both are sends). The first `rate` go out at once (the limiter's bucket starts
  full), so the steady rate is measured from the (rate+1)-th to the last: (sends - 1) / (time
  between them), also per 10-second window. In the kill variant, each part separately.
* Duplicates: announcements beyond the first to a chat. Misses: chats that did not block the bot
  and got none. After the kill, the count the coordinator is told ("may not have received it")
  is compared with the misses, which must all be among the deliveries given up.
* Each run stops by itself at N / rate * 1.5 + 90 seconds whatever happens.

Run from the repo root: `.venv/bin/python -m bench.broadcast_rate [--trainers N] [--quick]
[--variant inprocess|kill]`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import machine_line, percentile, stop_process
from bot.clock import utc_now
from bot.config import Settings
from handlers.callback_data import Action, encode
from handlers.paced_sends import concurrency
from storage.database import Database, Row
from tests.e2e import RunningBot, assignment_of
from tests.factories import NOW, make_batch
from tests.fakebot import ApiCall, FakeBotApi, FakeMessage, FakeUser

ROOT = Path(__file__).resolve().parents[1]
TARGET_SHARE = 0.95
FLOOD_LIMIT = 30  # Telegram's bulk messages a second, enforced by the fake
BLOCKED_EVERY = 50  # 2% of the chats blocked the bot
COORDINATOR = 9000
REVIEWER = 2001
FIRST_TRAINER = 100_001
CRITERIA = 4  # the default rubric's
WINDOW_SECONDS = 10.0
WAIT_SECONDS = 30.0  # one answer; a lost one is counted, not waited for forever
ANNOUNCEMENT = "Rapat tim hari Jumat jam 15.00 WIB. Terima kasih semuanya!"


@dataclass
class Part:
    """The sends of one bot process (the whole run, or before / after the kill)."""

    sends: int = 0
    seconds: float = 0.0
    steady_rate: float = 0.0
    windows: list[float] = field(default_factory=list)


@dataclass
class Result:
    variant: str
    trainers: int
    rate: int
    bulk: int = 0  # trainers other than the reviewer
    blocked_chats: int = 0
    delivered: int = 0  # chats that got the announcement
    refused_blocked: int = 0  # 403s
    duplicates: int = 0
    misses: int = 0
    flood_429: int = 0
    flood_429_to: Counter[str] = field(default_factory=Counter)  # whose chat, which part
    seconds: float = 0.0  # first to last send, restart included
    parts: list[Part] = field(default_factory=list)
    finished: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    # the kill variant
    sent_at_kill: int = 0
    downtime: float = 0.0
    told_unconfirmed: int | None = None
    misses_among_given_up: bool = True
    # the reviewer
    next_latency: list[float] = field(default_factory=list)
    tap_latency: list[float] = field(default_factory=list)
    waited_restart: list[float] = field(default_factory=list)
    unanswered: int = 0
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)


# -- setting up -----------------------------------------------------------------------------------


async def prepare_database(
    path: Path, api: FakeBotApi, trainers: int
) -> tuple[list[int], set[int]]:
    """Migrated database with the reviewer, `trainers - 1` others and a batch; chats in the fake.

    Returns the other trainers' ids and the chats among them that blocked the bot.
    """
    ids = list(range(FIRST_TRAINER, FIRST_TRAINER + trainers - 1))
    rows = [(REVIEWER, REVIEWER, "Rina", "en", NOW, NOW)]
    api.user(REVIEWER, "Rina", language_code="en")
    for user_id in ids:
        language = "id" if user_id % 3 == 0 else "en"
        api.user(user_id, f"Trainer {user_id}", language_code=language)
        rows.append((user_id, user_id, f"Trainer {user_id}", language, NOW, NOW))
    blocked = set(ids[BLOCKED_EVERY - 1 :: BLOCKED_EVERY])
    for chat_id in blocked:
        api.block(chat_id)
    database = await Database.open(path)
    try:
        async with database.transaction() as conn:
            await conn.executemany(
                "INSERT INTO trainers (user_id, chat_id, name, language, role, created_at,"
                " last_seen_at, privacy_version) VALUES (?, ?, ?, ?, 'trainer', ?, ?, 1)",
                rows,
            )
        await make_batch(database, "bench", items=5_000, overlap=1)
    finally:
        await database.close()
    return ids, blocked


def bot_environment(api: FakeBotApi, folder: Path, rate: int) -> dict[str, str]:
    """The settings of `python -m bot run`, as tests/test_e2e_process.py gives them."""
    return api.bot_environment(
        folder / "nilai.db",
        COORDINATOR_IDS=str(COORDINATOR),
        DEFAULT_LANGUAGE="en",
        DEFAULT_OVERLAP="1",
        DAILY_QUOTA="10000",
        BROADCAST_RATE=str(rate),
    )


async def start_bot_process(env: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=log, stderr=log
        )


# -- the reviewer ---------------------------------------------------------------------------------


def _has_score_buttons(call: ApiCall) -> bool:
    markup = call.params.get("reply_markup") or {}
    return any(
        button.get("callback_data", "")[:2] == encode(Action.SCORE, 1, 0, 1)[:2]
        for row in markup.get("inline_keyboard", [])
        for button in row
    )


class Reviewer:
    """A trainer reviewing through the broadcast: /next, four scores, Submit, again."""

    def __init__(self, api: FakeBotApi, user: FakeUser, think: float):
        self.api = api
        self.user = user
        self.think = think
        self.stop = asyncio.Event()
        self.next_answers: list[tuple[float, float]] = []  # (asked, answered), loop time
        self.tap_answers: list[tuple[float, float]] = []
        self.unanswered = 0

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
        since = self.api.mark()
        asked = asyncio.get_running_loop().time()
        await self.user.send("/next")
        try:
            call = await self.api.wait_for_call(
                "sendMessage",
                lambda c: c.ok and c.chat_id == self.user.chat_id and _has_score_buttons(c),
                since=since,
                timeout=WAIT_SECONDS,
            )
        except TimeoutError:
            self.unanswered += 1
            return None
        self.next_answers.append((asked, call.time))
        return self.api.message(self.user.chat_id, call.result["message_id"])

    async def _tap(self, panel: FakeMessage, data: str) -> bool:
        if not await self._pause():
            return False
        asked = asyncio.get_running_loop().time()
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
            self.unanswered += 1
            return False
        self.tap_answers.append((asked, call.time))
        return True

    def tally(self, result: Result, down: tuple[float, float] | None = None) -> None:
        """Latencies into `result`; with `down` (killed, up again), the actions that waited for
        the restarted bot are kept apart."""

        def waited(asked: float, answered: float) -> bool:
            return down is not None and asked < down[1] and answered > down[0]

        for answers, into in (
            (self.next_answers, result.next_latency),
            (self.tap_answers, result.tap_latency),
        ):
            for asked, answered in answers:
                target = result.waited_restart if waited(asked, answered) else into
                target.append(answered - asked)
        result.unanswered = self.unanswered


# -- the runs -------------------------------------------------------------------------------------


async def announce(api: FakeBotApi) -> tuple[FakeUser, int]:
    """The coordinator starts the bot, writes the announcement and taps Send under its preview;
    returns them and the call index before the tap."""
    coordinator = api.user(COORDINATOR, "Sari", language_code="en")
    await coordinator.send("/start")
    await coordinator.wait_bot_message(timeout=60)
    await coordinator.send(f"/announce {ANNOUNCEMENT}")
    preview = await coordinator.wait_bot_message(lambda m: m.buttons(), timeout=60)
    since = api.mark()
    await coordinator.tap(preview, "Send")
    return coordinator, since


def count_sends(api: FakeBotApi, chats: set[int], since: int) -> Callable[[], int]:
    """A counter of the announcements sent to `chats` so far (delivered or refused as blocked)."""
    state = {"checked": since, "sends": 0}

    def sends() -> int:
        calls = api.calls[state["checked"] :]
        state["checked"] += len(calls)
        state["sends"] += sum(
            1
            for c in calls
            if c.method == "sendMessage" and c.chat_id in chats and (c.ok or c.error_code == 403)
        )
        return state["sends"]

    return sends


async def wait_summary(coordinator: FakeUser, since: int, deadline: float) -> bool:
    """Wait for the final report: the last edit of the coordinator's report message."""
    try:
        await coordinator.server.wait_for_call(
            ("editMessageText", "sendMessage"),
            lambda c: (
                c.ok
                and c.chat_id == coordinator.chat_id
                and "Broadcast finished" in c.params["text"]
            ),
            since=since,
            timeout=max(1.0, deadline - time.monotonic()),
        )
    except TimeoutError:
        return False
    return True


async def run_inprocess(trainers: int, rate: int, think: float, folder: Path) -> Result:
    result = Result(variant="inprocess", trainers=trainers, rate=rate)
    settings = Settings(
        telegram_bot_token=None,
        database_path=folder / "nilai.db",
        coordinator_ids=frozenset({COORDINATOR}),
        default_language="en",
        default_overlap=1,
        daily_quota=100_000,
        broadcast_rate=rate,
    )
    deadline = time.monotonic() + trainers / rate * 1.5 + 90
    async with FakeBotApi() as api:
        api.limit_bulk_messages(FLOOD_LIMIT)
        ids, blocked = await prepare_database(settings.database_path, api, trainers)
        nilai = RunningBot(api, settings, utc_now)  # type: ignore[arg-type]  # any clock will do
        await nilai.start()
        try:
            coordinator, since = await announce(api)
            reviewer = Reviewer(api, api.user(REVIEWER), think)
            reviewing = asyncio.create_task(reviewer.run())
            result.finished = await wait_summary(coordinator, since, deadline)
            reviewer.stop.set()
            await asyncio.wait_for(reviewing, WAIT_SECONDS + 5)
        finally:
            await nilai.stop()
        reviewer.tally(result)
        tally(api, since, ids, blocked, result, [(since, len(api.calls))])
    result.statuses = await delivery_statuses(settings.database_path)
    return result


async def run_kill(trainers: int, rate: int, think: float, folder: Path) -> Result:
    result = Result(variant="kill", trainers=trainers, rate=rate)
    deadline = time.monotonic() + trainers / rate * 1.5 + 90
    log_path = folder / "bot.log"
    async with FakeBotApi() as api:
        api.limit_bulk_messages(FLOOD_LIMIT)
        ids, blocked = await prepare_database(folder / "nilai.db", api, trainers)
        env = bot_environment(api, folder, rate)
        process = await start_bot_process(env, log_path)
        reviewing: asyncio.Task | None = None
        try:
            await wait_started(api, process, 0)
            coordinator, since = await announce(api)
            reviewer = Reviewer(api, api.user(REVIEWER), think)
            reviewing = asyncio.create_task(reviewer.run())
            sends = count_sends(api, set(ids), since)
            await api.wait_for_call(
                "sendMessage",
                lambda _: sends() >= len(ids) // 2,
                since=since,
                timeout=max(1.0, deadline - time.monotonic()),
            )
            loop = asyncio.get_running_loop()
            killed_at, killed_index = loop.time(), api.mark()
            process.send_signal(signal.SIGKILL)
            await process.wait()
            result.sent_at_kill = sends()
            restart_index = api.mark()
            process = await start_bot_process(env, log_path)
            first = await wait_started(api, process, restart_index)
            result.downtime = first.time - killed_at
            result.finished = await wait_summary(coordinator, restart_index, deadline)
            reviewer.stop.set()
            await asyncio.wait_for(reviewing, WAIT_SECONDS + 5)
            reviewer.tally(result, down=(killed_at, first.time))
            result.told_unconfirmed = told_unconfirmed(coordinator, restart_index)
        except BaseException:
            print(f"bot log:\n{log_path.read_text()[-3000:]}")
            raise
        finally:
            if reviewing is not None and not reviewing.done():
                reviewing.cancel()
            await stop_process(process)
        tally(
            api, since, ids, blocked, result, [(since, killed_index), (restart_index, api.mark())]
        )
    result.statuses = await delivery_statuses(folder / "nilai.db")
    failed = await failed_trainers(folder / "nilai.db")
    result.misses_among_given_up = missed_chats(api, since, ids, blocked) <= failed
    problems = [line for line in log_path.read_text().splitlines() if "Traceback" in line]
    if problems:
        print(f"  bot log ({log_path}): {len(problems)} traceback(s)")
    return result


async def wait_started(api: FakeBotApi, process: asyncio.subprocess.Process, since: int) -> ApiCall:
    """The bot process's first call (getMe); RuntimeError if it exits first."""
    started = asyncio.ensure_future(api.wait_for_call("getMe", since=since, timeout=60))
    exited = asyncio.ensure_future(process.wait())
    await asyncio.wait([started, exited], return_when=asyncio.FIRST_COMPLETED)
    if not started.done():
        started.cancel()
        raise RuntimeError(f"the bot exited with {process.returncode} before its first call")
    exited.cancel()
    return started.result()


def told_unconfirmed(coordinator: FakeUser, since: int) -> int | None:
    """The number in the coordinator's crash notice ("May not have received it: N")."""
    for call in coordinator.server.calls[since:]:
        if call.method != "sendMessage" or not call.ok or call.chat_id != coordinator.chat_id:
            continue
        found = re.search(r"May not have received it: (\d+)", str(call.params.get("text")))
        if found:
            return int(found.group(1))
    return None


async def delivery_statuses(path: Path) -> dict[str, int]:
    rows = await _read(path, "SELECT status, COUNT(*) FROM deliveries GROUP BY status")
    return {row[0]: row[1] for row in rows}


async def failed_trainers(path: Path) -> set[int]:
    rows = await _read(path, "SELECT trainer_id FROM deliveries WHERE status = 'failed'")
    return {row[0] for row in rows}


async def _read(path: Path, sql: str) -> list[Row]:
    """The rows of one read of the bot's database, once the bot is done with it."""
    database = await Database.open(path, migrate=False)
    try:
        return await database.fetchall(sql)
    finally:
        await database.close()


def missed_chats(api: FakeBotApi, since: int, ids: list[int], blocked: set[int]) -> set[int]:
    got = {c.chat_id for c in api.calls[since:] if c.method == "sendMessage" and c.ok}
    return set(ids) - blocked - got


def tally(
    api: FakeBotApi,
    since: int,
    ids: list[int],
    blocked: set[int],
    result: Result,
    parts: list[tuple[int, int]],
) -> None:
    """The announcements the fake saw: counts, duplicates, misses, rates (each part apart)."""
    chats = set(ids)
    announcements = [
        c for c in api.calls[since:] if c.method == "sendMessage" and c.chat_id in chats
    ]
    got = Counter(c.chat_id for c in announcements if c.ok)
    result.bulk = len(ids)
    result.blocked_chats = len(blocked)
    result.delivered = len(got)
    result.duplicates = sum(count - 1 for count in got.values())
    result.misses = len(chats - blocked - set(got))
    result.refused_blocked = sum(1 for c in announcements if c.error_code == 403)
    throttled = [c for c in api.calls[since:] if c.method == "sendMessage" and c.error_code == 429]
    result.flood_429 = len(throttled)
    names = {COORDINATOR: "coordinator", REVIEWER: "reviewer"}
    for call in throttled:
        result.flood_429_to[names.get(call.chat_id or 0, "trainers")] += 1
        if len(parts) > 1 and call.index >= parts[1][0]:
            result.flood_429_to["after the restart"] += 1
    sent = [c for c in announcements if c.ok or c.error_code == 403]
    if sent:
        result.seconds = sent[-1].time - sent[0].time
    for start, end in parts:
        times = [c.time for c in sent if start <= c.index < end]
        result.parts.append(steady(times, result.rate))


def steady(times: list[float], rate: int) -> Part:
    part = Part(sends=len(times))
    if len(times) < 2:
        return part
    part.seconds = times[-1] - times[0]
    later = times[min(rate, len(times) - 2) :]
    span = later[-1] - later[0]
    part.steady_rate = (len(later) - 1) / span if span > 0 else math.inf
    start = later[0]
    windows = math.floor(span / WINDOW_SECONDS)
    part.windows = [
        sum(1 for t in later if start + k * WINDOW_SECONDS <= t < start + (k + 1) * WINDOW_SECONDS)
        / WINDOW_SECONDS
        for k in range(windows)
    ]
    return part


# -- report ---------------------------------------------------------------------------------------


def latency_line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no answers"
    return (
        f"{name}: p50 {percentile(values, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms "
        f"({len(values)} answers)"
    )


def rate_line(name: str, part: Part, rate: int) -> str:
    share = part.steady_rate / rate
    verdict = "meets" if share >= TARGET_SHARE else "misses"
    line = (
        f"{name}: {part.steady_rate:.2f} msg/s = {share:.1%} of the configured {rate}/s "
        f"({part.sends:,} sends in {part.seconds:.1f} s); target >= {TARGET_SHARE:.0%}: {verdict}"
    )
    if part.windows:
        line += (
            f"\n  per {WINDOW_SECONDS:.0f} s window: min {min(part.windows):.1f}, median "
            f"{statistics.median(part.windows):.1f}, max {max(part.windows):.1f} msg/s "
            f"({len(part.windows)} windows)"
        )
    return line


def report(result: Result, think: float) -> None:
    sends = result.delivered + result.duplicates + result.refused_blocked
    print(
        f"broadcast: {sends:,} of {result.bulk:,} announcements sent in {result.seconds:.1f} s "
        f"({result.delivered:,} delivered, {result.refused_blocked:,} refused: blocked the bot); "
        f"{'finished' if result.finished else 'NOT finished'}"
    )
    names = ["steady rate"] if len(result.parts) == 1 else ["before the kill", "after the restart"]
    for name, part in zip(names, result.parts, strict=True):
        print(rate_line(name, part, result.rate))
    reachable = result.bulk - result.blocked_chats
    where = ", ".join(f"{name} {count}" for name, count in result.flood_429_to.items())
    where = f" ({where})" if where else ""
    print(
        f"duplicates: {result.duplicates}; misses: {result.misses} (of {reachable:,} reachable); "
        f"429 from the flood limit: {result.flood_429}{where}; deliveries {result.statuses}"
    )
    if result.variant == "kill":
        told = "not told" if result.told_unconfirmed is None else str(result.told_unconfirmed)
        print(
            f"kill: SIGKILL after {result.sent_at_kill:,} sends, bot answering again "
            f"{result.downtime:.1f} s later; unconfirmed sends told to the coordinator: {told}; "
            f"misses {result.misses}, all among the deliveries given up: "
            f"{'yes' if result.misses_among_given_up else 'NO'}"
        )
    print(f"reviewer (think {think:.1f} s before each action) during the broadcast:")
    print("  " + latency_line("/next -> item panel", result.next_latency))
    print("  " + latency_line("tap -> answer", result.tap_latency))
    if result.waited_restart:
        print(
            f"  actions that waited for the restarted bot: {len(result.waited_restart)}, "
            f"longest {max(result.waited_restart):.1f} s"
        )
    if result.unanswered:
        print(f"  unanswered within {WAIT_SECONDS:.0f} s: {result.unanswered}")
    load = " ".join(f"{value:.2f}" for value in result.load_after)
    print(f"load after the run: {load}")


RUNS = {"inprocess": run_inprocess, "kill": run_kill}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainers", type=int, help="recipients (default 10,000)")
    parser.add_argument("--rate", type=int, default=30, help="BROADCAST_RATE (default 30)")
    parser.add_argument("--think", type=float, default=1.0, help="reviewer's pause, seconds")
    parser.add_argument("--variant", choices=sorted(RUNS), help="one variant (default both)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 trainers")
    args = parser.parse_args(argv)
    trainers = max(4, args.trainers or (300 if args.quick else 10_000))
    rate = max(1, args.rate)
    logging.basicConfig(level=logging.ERROR)  # the bot's INFO lines would drown the figures
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(proxy, None)  # only 127.0.0.1 traffic, never through a proxy

    print(
        "bench.broadcast_rate: an announcement through the real bot, under the fake's flood limit"
    )
    print(machine_line())
    print(
        f"setup: {trainers:,} trainers ({(trainers - 1) // BLOCKED_EVERY:,} blocked the bot), "
        f"BROADCAST_RATE {rate}/s, flood limit {FLOOD_LIMIT}/s, {concurrency(rate)} sends in "
        f"flight, expected ~{trainers / rate:.0f} s a run"
    )
    for variant in [args.variant] if args.variant else list(RUNS):
        print(f"-- {variant}")
        folder = Path(tempfile.mkdtemp(prefix="nilai-bench-broadcast-"))
        try:
            result = asyncio.run(RUNS[variant](trainers, rate, args.think, folder))
            result.load_after = os.getloadavg()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        report(result, args.think)
    return 0


if __name__ == "__main__":
    sys.exit(main())
