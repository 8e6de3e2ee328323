"""Full reviews per second: Nilai as shipped against a bare PTB bot with no database (issue 6).

Targets: with 50 trainers tapping as fast as the fake Bot API answers, Nilai in its shipped
configuration completes at least 0.8x the full reviews per second of a bare python-telegram-bot
bot with no database and no rate limiter making the same Bot API calls, measured in the same run,
alternating; and Nilai's CPU per review is at most 1.25x the bare bot's.

How it is measured:

- The fake Telegram Bot API (``tests.fakebot.FakeBotApi``, aiohttp on 127.0.0.1) and the
  simulated trainers run in this process. The bot under test runs in a child process (started
  with multiprocessing "spawn", so it shares nothing with this one). This keeps the bot's CPU
  apart from the fake server's and the users' (the machine has 2 cores: one each); the script
  prints the CPU used by both processes, and by all other processes of the machine meanwhile
  (from /proc/stat), so a saturated driver or a busy machine is visible next to each figure.
- Each of N trainers (default 50) loops as fast as the bot answers: ``/next`` -> wait for the
  panel -> tap a score for each of the 4 criteria, each time waiting for the panel's
  editMessageText -> tap Submit -> wait for the next panel (sendMessage). A review counts when
  the next panel arrives, inside the measuring window (after a warm-up). Items are the
  repository's samples (tests/data/batch_small.jsonl) that fit in one message, so both bots
  make exactly the same calls per review (11: 5 answers, 5 edits, 1 sendMessage).
- Nilai: the real Application (``bot.app.build_application``, started as ``tests/e2e.py``'s
  RunningBot does) with the shipped settings (its rate limiter ``handlers.sending.
  TelegramBudget`` at the default BROADCAST_RATE) on a fresh temporary SQLite file holding one
  batch (overlap 3, enough items for the whole run) and N registered trainers. Logging is set
  up as ``python -m bot run`` does (INFO), written to a file.
- Bare: a minimal Application (same ApplicationBuilder defaults, 256 concurrent updates, no
  rate limiter, same logging) keeping its state in a dict, answering with the same calls and
  messages of the same shape as Nilai's (texts with the same bold parts, so the same entities
  for PTB to parse in every update and answer; keyboards with the same 18 buttons):
  sendMessage with a keyboard of the same shape for /next; answerCallbackQuery +
  editMessageText per score tap; answerCallbackQuery + editMessageText + sendMessage on Submit.
- Bare and Nilai runs alternate (so each pair ran under similar machine load; the ratio of each
  pair is printed too); the result is the median of ``--repeat`` runs (default 5).
- Per run: reviews/s, the bot's CPU (utime+stime from /proc) per review, the driver's CPU, and
  latency percentiles seen by the users: tap -> answerCallbackQuery, tap -> edited panel, and
  Submit -> next panel.

Run from the repository root::

    .venv/bin/python -m bench.review_throughput            # about 3 minutes
    .venv/bin/python -m bench.review_throughput --quick    # smoke run, a few seconds
    .venv/bin/python -m bench.review_throughput --repeat 3 --keep-logs /tmp/logs \
        --profile /tmp/nilai    # also keep failing logs, cProfile Nilai's first run

``--quick`` runs 5 trainers for 0.5 s, once.

Only 127.0.0.1 is contacted; every loop stops by itself after its duration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import logging
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import machine_line, percentile
from tests.fakebot import ApiCall, FakeBotApi, FakeUser

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "batch_small.jsonl"
FIRST_USER_ID = 500_000
CRITERIA = 4  # the default rubric's criteria, scored one after the other
LABELS = ("Accuracy", "Natural & warm language", "Ethics & safety", "Helpfulness")
HTML_LABELS = tuple(html.escape(label) for label in LABELS)
FLAGS = ("Factual error", "Unsafe or harmful", "Biased or one-sided", "Personal data", "Other")
BOT_START_TIMEOUT = 60.0


# -- the driver: fake Bot API + simulated trainers ------------------------------------------


class BenchApi(FakeBotApi):
    """The fake Bot API with one cheap waiter per chat.

    ``FakeBotApi.wait_for_call`` wakes every waiter on every call and scans the call list,
    which is fine for tests but would make the driver, not the bot, the bottleneck with
    dozens of users. Here each call resolves at most the one waiter of its chat.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._waiters: dict[int, tuple[Callable[[ApiCall], bool], asyncio.Future[ApiCall]]] = {}
        self.failures: Counter[str] = Counter()

    def expect(self, chat_id: int, predicate: Callable[[ApiCall], bool]) -> asyncio.Future:
        """A future for the next call to `chat_id` matching `predicate` (set before acting)."""
        future: asyncio.Future[ApiCall] = asyncio.get_running_loop().create_future()
        self._waiters[chat_id] = (predicate, future)
        return future

    def _record(self, method: str, params: dict[str, Any], ok: bool, *rest: Any) -> ApiCall:
        call = super()._record(method, params, ok, *rest)
        if not ok:
            self.failures[f"{method} {call.error_code}"] += 1
        waiter = self._waiters.get(call.chat_id) if call.chat_id is not None else None
        if waiter is not None and not waiter[1].done() and waiter[0](call):
            del self._waiters[call.chat_id]
            waiter[1].set_result(call)
        return call


@dataclass
class Tally:
    """What the users saw, each figure as (time it was taken, value)."""

    reviews: list[float] = field(default_factory=list)  # times a review completed
    answer_ms: list[tuple[float, float]] = field(default_factory=list)
    edit_ms: list[tuple[float, float]] = field(default_factory=list)
    submit_ms: list[tuple[float, float]] = field(default_factory=list)
    exhausted: int = 0  # users shown a message with buttons but none to score (no next item)
    last_words: str = ""  # the text of the first message that ended a user's loop
    stuck: int = 0  # users whose bot answer did not come within `patience`
    waiting: dict[int, float] = field(default_factory=dict)  # user -> waiting for the bot since

    def window(self, name: str, start: float, end: float) -> list[float]:
        return [value for at, value in getattr(self, name) if start <= at <= end]


def _is_edit_of(message_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: (
        call.ok and call.method == "editMessageText" and call.params.get("message_id") == message_id
    )


def is_panel_or_done(call: ApiCall) -> bool:
    """sendMessage carrying buttons: the next item's panel, or 'all done' with a Next button."""
    return call.ok and call.method == "sendMessage" and bool(call.params.get("reply_markup"))


def assignment_of_call(call: ApiCall) -> int | None:
    """The assignment id behind a panel's score buttons ("1s:<assignment>:<criterion>:<n>")."""
    for row in call.params["reply_markup"].get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data", "")
            if data.startswith("1s:"):
                return int(data.split(":")[1])
    return None


async def _answer(future: asyncio.Future, tally: Tally, user: FakeUser, patience: float) -> ApiCall:
    tally.waiting[user.user_id] = asyncio.get_running_loop().time()
    call = await asyncio.wait_for(future, patience)
    del tally.waiting[user.user_id]
    return call


async def finish(tasks: list[asyncio.Task], tally: Tally, end: float, stuck_after: float) -> None:
    """Let the users finish what they were doing at `end` (5 s at most), then stop them.

    A user still waiting for the bot by then, for more than `stuck_after` seconds, counts as
    stuck: the bot will not answer (an error), and the run need not wait out `patience`.
    """
    loop = asyncio.get_running_loop()
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, end + 5.0 - loop.time()))
    now = loop.time()
    tally.stuck += sum(1 for since in tally.waiting.values() if now - since > stuck_after)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def trainer_loop(
    api: BenchApi,
    user: FakeUser,
    tally: Tally,
    end: float,
    rng: random.Random,
    patience: float = 30.0,
) -> None:
    """/next, then score 4 criteria and submit, again and again until `end`."""
    loop = asyncio.get_running_loop()
    chat = user.chat_id
    waiting = api.expect(chat, is_panel_or_done)
    await user.send("/next")
    try:
        panel = await _answer(waiting, tally, user, patience)
        while True:
            assignment = assignment_of_call(panel)
            if assignment is None:
                tally.exhausted += 1
                tally.last_words = tally.last_words or str(panel.params.get("text"))[:200]
                return
            message_id = panel.result["message_id"]
            message = api.message(chat, message_id)
            for criterion in range(CRITERIA):
                if loop.time() >= end:
                    return
                data = f"1s:{assignment}:{criterion}:{rng.randint(1, 5)}"
                waiting = api.expect(chat, _is_edit_of(message_id))
                tapped = loop.time()
                update = await user.tap(message, data=data)
                edit = await _answer(waiting, tally, user, patience)
                tally.edit_ms.append((edit.time, (edit.time - tapped) * 1000))
                answer = api.callback(update["callback_query"]["id"]).answer
                if answer is not None:
                    tally.answer_ms.append((answer.time, (answer.time - tapped) * 1000))
            if loop.time() >= end:
                return
            waiting = api.expect(chat, is_panel_or_done)
            tapped = loop.time()
            await user.tap(message, data=f"1u:{assignment}")
            panel = await _answer(waiting, tally, user, patience)
            tally.reviews.append(panel.time)
            tally.submit_ms.append((panel.time, (panel.time - tapped) * 1000))
    except TimeoutError:
        tally.stuck += 1
        tally.waiting.pop(user.user_id, None)


# -- process figures ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU time all processes of the machine used, from /proc/stat (to see other work)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# -- items ----------------------------------------------------------------------------------


def sample_items() -> list[dict[str, str]]:
    """The repository's sample batch (prompt + response; chat items use their last turns).

    Items too long for one message are left out: Nilai splits them over several messages,
    and both bots must make the same calls per review.
    """
    items = []
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "messages" in record:
            turns = record["messages"]
            prompt = next(t["content"] for t in reversed(turns) if t["role"] == "user")
            response = next(t["content"] for t in reversed(turns) if t["role"] == "assistant")
        else:
            prompt, response = record["prompt"], record["response"]
        if len(prompt) + len(response) < 3000:
            items.append({"prompt": prompt, "response": response})
    return items


def write_batch(path: Path, count: int) -> None:
    samples = sample_items()
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            record = {"id": f"bench-{n}", **samples[n % len(samples)]}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


async def prepare_database(
    path: Path, user_ids: list[int], items: int, *, url: str | None = None
) -> None:
    """A fresh Nilai database: one open batch (overlap 3) and the trainers, registered. The
    SQLite file at `path`, or the PostgreSQL database at `url` (the batch file still goes
    beside `path`)."""
    from bot.batches import import_batch_file
    from bot.clock import stamp, utc_now
    from bot.config import Settings
    from storage import privacy, trainers
    from storage.database import Database

    db = await Database.open(url or path)
    try:
        batch = path.with_name("bench_batch.jsonl")
        write_batch(batch, items)
        settings = Settings(telegram_bot_token=None, database_path=path, database_url=url)
        await import_batch_file(db, settings, batch, name="bench", overlap=3)
        now = stamp(utc_now())
        for user_id in user_ids:
            await trainers.insert_trainer(
                db,
                user_id=user_id,
                chat_id=user_id,
                name=f"Trainer {user_id}",
                username=None,
                language="en",
                role="trainer",
                invite_code=None,
                now=now,
            )
            await privacy.record_consent(db, user_id, privacy.BUILTIN_VERSION, now=now)
    finally:
        await db.close()


async def count_submitted(path: Path) -> int:
    from storage.database import Database

    db = await Database.open(path, migrate=False)
    try:
        return await db.fetchval("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'")
    finally:
        await db.close()


# -- the bot process ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BotSpec:
    kind: str  # "nilai" or "bare"
    token: str
    base_url: str
    file_url: str
    log_path: str
    db_path: str | None = None
    quota: int = 10_000  # high, so no "quota reached" message joins the calls
    profile_path: str | None = None
    max_seconds: float = 900.0  # the bot stops by itself even if this process dies


def bot_process(spec: BotSpec, ready: Any, stop: Any) -> None:
    """Child process entry: run one bot until `stop` is set (or max_seconds pass)."""
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(proxy, None)  # nothing may route 127.0.0.1 elsewhere
    log_file = open(spec.log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    sys.stderr = log_file
    from bot.logging_setup import setup_logging

    setup_logging("INFO")  # as `python -m bot run` does, for both bots
    profiler = None
    if spec.profile_path:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        asyncio.run(_serve(spec, ready, stop))
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(spec.profile_path)
        log_file.close()


async def _serve(spec: BotSpec, ready: Any, stop: Any) -> None:
    from telegram import Update

    database = None
    if spec.kind == "nilai":
        from bot.app import build_application, on_start
        from bot.config import Settings
        from storage.database import Database

        settings = Settings(
            telegram_bot_token=spec.token,
            telegram_api_base_url=spec.base_url,
            telegram_api_file_url=spec.file_url,
            database_path=Path(spec.db_path or "nilai.db"),
            default_language="en",
            daily_quota=spec.quota,
        )
        database = await Database.open(settings.database_path)
        app = build_application(settings, database)
        await app.initialize()
        await on_start(app)
    else:
        app = build_bare_application(spec)
        await app.initialize()
    await app.start()
    await app.updater.start_polling(timeout=1, poll_interval=0, allowed_updates=Update.ALL_TYPES)
    ready.set()
    try:
        await asyncio.to_thread(stop.wait, spec.max_seconds)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        if database is not None:
            await database.close()


# -- the bare bot: same calls, no database -------------------------------------------------------


def build_bare_application(spec: BotSpec) -> Any:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
    from telegram.constants import ParseMode
    from telegram.ext import (
        ApplicationBuilder,
        CallbackQueryHandler,
        CommandHandler,
        ContextTypes,
    )

    no_preview = LinkPreviewOptions(is_disabled=True)
    items = sample_items()
    state: dict[int, dict[str, Any]] = {}  # user id -> the open "assignment"
    counter = iter(range(1, 10**9))

    def keyboard(aid: int, scores: dict[int, int], current: int | None) -> InlineKeyboardMarkup:
        def button(text: str, data: str) -> InlineKeyboardButton:
            return InlineKeyboardButton(text, callback_data=data)

        rows = []
        if current is not None:
            rows.append([button(str(s), f"1s:{aid}:{current}:{s}") for s in range(1, 6)])
        criteria = [
            button(f"{'▶ ' if i == current else ''}{label} {scores.get(i, '–')}", f"1c:{aid}:{i}")
            for i, label in enumerate(LABELS)
        ]
        flags = [button(f"☐ {label}", f"1f:{aid}:{i}:1") for i, label in enumerate(FLAGS)]
        for group in (criteria, flags):
            rows += [group[i : i + 2] for i in range(0, len(group), 2)]
        rows.append([button("✍️ Rewrite", f"1r:{aid}"), button("📝 Note", f"1n:{aid}")])
        rows.append([button("⏭ Skip", f"1k:{aid}"), button("✅ Submit", f"1u:{aid}")])
        return InlineKeyboardMarkup(rows)

    def text(open_item: dict[str, Any], status: str | None = None) -> str:
        item, scores = open_item["item"], open_item["scores"]
        if status is None:
            shown = " · ".join(
                f"{label} {scores.get(i, '–')}" for i, label in enumerate(HTML_LABELS)
            )
            current = open_item["current"]
            now = (
                f"👉 Now scoring: <b>{HTML_LABELS[current]}</b> (1 = poor, 5 = excellent)"
                if current is not None
                else "✔️ All scored. Add flags, a rewrite or a note, then tap Submit."
            )
            status = (
                f"<b>Scores:</b> {shown}\n{now}\n<b>Flags:</b> none\n"
                "<b>Rewrite:</b> – · <b>Note:</b> –"
            )
        # The same shape as Nilai's panel (bold parts, so the same entities to parse in every
        # update and answer), so the comparison measures the bot, not the formatting.
        return (
            f"📝 <b>bench</b> · today {open_item['done']}/{spec.quota}\n\n<b>👤 Prompt</b>\n"
            f"{html.escape(item['prompt'])}\n\n<b>🤖 AI answer</b>\n"
            f"{html.escape(item['response'])}\n\n{status}"
        )

    async def send_panel(bot: Any, chat_id: int, user_id: int) -> None:
        aid = next(counter)
        done = state[user_id]["done"] if user_id in state else 0
        state[user_id] = open_item = {
            "aid": aid,
            "item": items[aid % len(items)],
            "scores": {},
            "current": 0,
            "done": done,
        }
        await bot.send_message(
            chat_id,
            text(open_item),
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(aid, {}, 0),
            link_preview_options=no_preview,
        )

    async def next_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_user is not None
        await send_panel(context.bot, update.effective_chat.id, update.effective_user.id)

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None and query.message is not None
        parts = query.data.split(":")
        open_item = state.get(query.from_user.id)
        if open_item is None or int(parts[1]) != open_item["aid"]:
            await query.answer("This item is finished.")
            return
        chat_id, message_id = query.message.chat.id, query.message.message_id
        if parts[0] == "1s":
            criterion, score = int(parts[2]), int(parts[3])
            open_item["scores"][criterion] = score
            missing = [i for i in range(CRITERIA) if i not in open_item["scores"]]
            open_item["current"] = missing[0] if missing else None
            await query.answer(f"{LABELS[criterion]}: {score}")
            await context.bot.edit_message_text(
                text(open_item),
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(open_item["aid"], open_item["scores"], open_item["current"]),
                link_preview_options=no_preview,
            )
        elif parts[0] == "1u":
            scores = ", ".join(
                f"{HTML_LABELS[i]} {s}" for i, s in sorted(open_item["scores"].items())
            )
            open_item["done"] += 1
            await query.answer("Submitted. Thank you!")
            await context.bot.edit_message_text(
                text(
                    open_item,
                    status=f"✅ <b>Submitted</b> · {scores} · Flags: none · Rewrite: – · Note: –",
                ),
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=no_preview,
            )
            await send_panel(context.bot, chat_id, query.from_user.id)
        else:
            await query.answer()

    app = (
        ApplicationBuilder()
        .token(spec.token)
        .base_url(spec.base_url)
        .base_file_url(spec.file_url)
        .concurrent_updates(256)
        .build()
    )
    app.add_handler(CommandHandler("next", next_command))
    app.add_handler(CallbackQueryHandler(button))
    return app


# -- one run ------------------------------------------------------------------------------------


@dataclass
class RunResult:
    kind: str
    reviews_per_s: float
    reviews: int
    bot_cpu_pct: float
    bot_cpu_ms_per_review: float
    driver_cpu_pct: float
    other_cpu_pct: float  # other processes on the machine meanwhile (100% = one core)
    answer_ms: list[float]
    edit_ms: list[float]
    submit_ms: list[float]
    stuck: int
    exhausted: int
    last_words: str
    failures: Counter[str]
    log_problems: int
    first_problem: str
    stored: int | None

    def line(self) -> str:
        extra = ""
        if self.stored is not None:
            extra += f", {self.stored} judgments stored"
        if self.failures:
            extra += f", failed calls {dict(self.failures)}"
        if self.stuck or self.exhausted:
            extra += f", users stuck {self.stuck} / shown nothing to score {self.exhausted}"
            if self.last_words:
                extra += f" (told {self.last_words!r})"
        if self.log_problems:
            extra += (
                f", {self.log_problems} ERROR lines in the bot log, first: {self.first_problem}"
            )
        return (
            f"{self.kind:5} {self.reviews_per_s:7.2f} reviews/s ({self.reviews} reviews); "
            f"bot CPU {self.bot_cpu_pct:3.0f}% = {self.bot_cpu_ms_per_review:5.1f} ms/review; "
            f"driver CPU {self.driver_cpu_pct:3.0f}%; other processes {self.other_cpu_pct:3.0f}%; "
            f"tap->answer p50 {percentile(self.answer_ms, 0.5):.0f} ms{extra}"
        )


async def run_once(
    kind: str,
    *,
    trainers: int,
    warmup: float,
    duration: float,
    items: int,
    seed: int,
    patience: float = 30.0,
    profile_path: str | None = None,
    keep_log: str | None = None,
) -> RunResult:
    """Start the fake API here and one bot in a child process; drive `trainers` users."""
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(proxy, None)
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="nilai-bench-") as tmp:
        user_ids = [FIRST_USER_ID + n for n in range(trainers)]
        db_path = Path(tmp) / "nilai.db"
        if kind == "nilai":
            await prepare_database(db_path, user_ids, items)
        api = BenchApi()
        await api.start()
        spec = BotSpec(
            kind=kind,
            token=api.token,
            base_url=api.base_url,
            file_url=api.file_url,
            log_path=str(Path(tmp) / "bot.log"),
            db_path=str(db_path) if kind == "nilai" else None,
            profile_path=profile_path,
        )
        context = multiprocessing.get_context("spawn")
        ready, stop = context.Event(), context.Event()
        process = context.Process(target=bot_process, args=(spec, ready, stop), daemon=True)
        process.start()
        try:
            if not await asyncio.to_thread(ready.wait, BOT_START_TIMEOUT):
                raise RuntimeError(f"the {kind} bot did not start: {_tail(spec.log_path)}")
            users = [api.user(uid, f"Trainer {uid}", language_code="en") for uid in user_ids]
            tally = Tally()
            start = loop.time() + warmup
            end = start + duration
            rng = random.Random(seed)
            tasks = [
                asyncio.create_task(
                    trainer_loop(api, user, tally, end, random.Random(rng.random()), patience)
                )
                for user in users
            ]
            await asyncio.sleep(max(0.0, start - loop.time()))
            bot_cpu0, driver_cpu0 = cpu_seconds(process.pid), time.process_time()
            busy0, wall0 = busy_seconds(), loop.time()
            await asyncio.sleep(max(0.0, end - loop.time()))
            bot_cpu1, driver_cpu1 = cpu_seconds(process.pid), time.process_time()
            busy1, wall1 = busy_seconds(), loop.time()
            await finish(tasks, tally, end, stuck_after=min(patience, 10.0))
        finally:
            stop.set()
            await asyncio.to_thread(process.join, 30)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, 5)
            await api.stop()
        stored = await count_submitted(db_path) if kind == "nilai" else None
        log_problems, first_problem = await asyncio.to_thread(read_problems, spec.log_path)
        if keep_log and log_problems:
            await asyncio.to_thread(shutil.copyfile, spec.log_path, keep_log)
            first_problem += f" (log kept as {keep_log})"
    wall = wall1 - wall0
    reviews = sum(1 for at in tally.reviews if start <= at <= end)
    bot_cpu, driver_cpu = bot_cpu1 - bot_cpu0, driver_cpu1 - driver_cpu0
    return RunResult(
        kind=kind,
        reviews_per_s=reviews / duration,
        reviews=reviews,
        bot_cpu_pct=100 * bot_cpu / wall,
        bot_cpu_ms_per_review=1000 * bot_cpu / reviews if reviews else float("nan"),
        driver_cpu_pct=100 * driver_cpu / wall,
        other_cpu_pct=max(0.0, 100 * (busy1 - busy0 - bot_cpu - driver_cpu) / wall),
        answer_ms=tally.window("answer_ms", start, end),
        edit_ms=tally.window("edit_ms", start, end),
        submit_ms=tally.window("submit_ms", start, end),
        stuck=tally.stuck,
        exhausted=tally.exhausted,
        last_words=tally.last_words,
        failures=api.failures,
        log_problems=log_problems,
        first_problem=first_problem,
        stored=stored,
    )


def read_problems(path: str) -> tuple[int, str]:
    """How many ERROR lines the bot logged, and the first one with its exception's last line."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    errors = [n for n, line in enumerate(lines) if " ERROR " in line]
    if not errors:
        return 0, ""
    first = errors[0]
    following = lines[first + 1 :]
    trace = next((n for n, line in enumerate(following) if line[:4].isdigit()), len(following))
    last = following[trace - 1].strip() if trace else ""
    return len(errors), f"{lines[first][20:]} / {last}"


def _tail(path: str, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(Path(path).read_text(encoding="utf-8").splitlines()[-lines:])
    return "(no log)"


# -- main -----------------------------------------------------------------------------------


def latency_line(kind: str, result: RunResult) -> str:
    def pair(values: list[float]) -> str:
        return f"p50 {percentile(values, 0.5):.0f} / p95 {percentile(values, 0.95):.0f} ms"

    return (
        f"  latency {kind:5} (median run): tap->answerCallbackQuery {pair(result.answer_ms)}; "
        f"tap->edited panel {pair(result.edit_ms)}; Submit->next panel {pair(result.submit_ms)}"
    )


async def bench(args: argparse.Namespace) -> int:
    print(machine_line())
    items = args.items or max(300, args.trainers * 60)
    print(
        f"setup: {args.trainers} trainers tapping at once, {args.duration:g} s measured after "
        f"{args.warmup:g} s warm-up, median of {args.repeat} runs per bot, alternating; each bot "
        f"in its own process (spawn), fake Bot API + users in this one; Nilai batch {items} items, "
        "overlap 3, fresh SQLite file per run"
    )
    results: dict[str, list[RunResult]] = {"bare": [], "nilai": []}
    for repeat in range(args.repeat):
        for kind in ("bare", "nilai"):
            result = await run_once(
                kind,
                trainers=args.trainers,
                warmup=args.warmup,
                duration=args.duration,
                items=items,
                seed=repeat,
                patience=args.patience,
                keep_log=(f"{args.keep_logs}/{kind}-{repeat + 1}.log" if args.keep_logs else None),
                profile_path=f"{args.profile}.prof"
                if args.profile and kind == "nilai" and repeat == 0
                else None,
            )
            results[kind].append(result)
            print(f"  run {repeat + 1}: {result.line()}", flush=True)
    medians = {}
    for kind, runs in results.items():
        ordered = sorted(runs, key=lambda r: r.reviews_per_s)
        medians[kind] = ordered[len(ordered) // 2]
        print(latency_line(kind, medians[kind]))
    nilai = statistics.median(r.reviews_per_s for r in results["nilai"])
    bare = statistics.median(r.reviews_per_s for r in results["bare"])
    ratio = nilai / bare if bare else float("nan")
    nilai_cpu = statistics.median(r.bot_cpu_ms_per_review for r in results["nilai"])
    bare_cpu = statistics.median(r.bot_cpu_ms_per_review for r in results["bare"])
    cpu_ratio = nilai_cpu / bare_cpu if bare_cpu else float("nan")
    pairs = ", ".join(
        f"{n.reviews_per_s / b.reviews_per_s:.2f}" if b.reviews_per_s else "nan"
        for n, b in zip(results["nilai"], results["bare"], strict=True)
    )
    summaries = [
        f"RESULT reviews: nilai {nilai:.2f} reviews/s, bare {bare:.2f} reviews/s (median of "
        f"{args.repeat}), ratio {ratio:.3f} (target >= 0.80: {_verdict(ratio >= 0.8)}; run by "
        f"run {pairs})",
        f"RESULT cpu: bot CPU per review nilai {nilai_cpu:.1f} ms, bare {bare_cpu:.1f} ms "
        f"(medians), ratio {cpu_ratio:.2f} (target <= 1.25: {_verdict(cpu_ratio <= 1.25)})",
    ]
    for line in summaries:
        print(line)
    return 0


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--repeat", type=int, default=5, help="runs per bot")
    parser.add_argument("--items", type=int, default=0, help="items in Nilai's batch")
    parser.add_argument(
        "--patience", type=float, default=30.0, help="seconds a user waits for one answer"
    )
    parser.add_argument(
        "--profile", help="write cProfile stats of Nilai's first run to PROFILE.prof"
    )
    parser.add_argument("--keep-logs", help="copy the log of a bot that logged errors here")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args(argv)
    if args.quick:
        args.trainers, args.duration, args.warmup, args.repeat = 5, 0.5, 0.3, 1
        args.patience = 5.0
        args.items = args.items or 100
    if args.profile:
        args.profile = os.path.abspath(args.profile)
    if args.keep_logs:
        args.keep_logs = os.path.abspath(args.keep_logs)
        os.makedirs(args.keep_logs, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
