"""Resident memory (RSS) of the bot process: idle, and with 200 trainers reviewing at once.

Target: bot RSS at most 100 MB idle and at most 200 MB with 200 active trainers
(MB = 10^6 bytes here, the stricter reading).

How it is measured:

- The bot runs as an operator runs it: ``python -m bot run`` in its own process (settings from
  the environment, as in ``tests/test_e2e_process.py``), polling the fake Telegram Bot API
  (``tests.fakebot``, aiohttp on 127.0.0.1) that runs in this process with the simulated
  trainers. Its database is a fresh temporary SQLite file prepared beforehand with one batch
  (overlap 3) and the trainers registered.
- RSS is read from ``/proc/<pid>/status`` (VmRSS; VmHWM is the kernel's peak) every 0.1 s.
- Idle: after the bot has started polling and settled for a few seconds, the median of the
  samples over one more second (``--idle-window``).
- Active: N trainers (default 200) each send /next, so each holds an item, and then tap
  through reviews (4 scores, Submit, next item...) as fast as the bot answers, for a fixed
  time (``bench.review_throughput.trainer_loop``). The bot runs as shipped (its rate
  limiter ``handlers.sending.TelegramBudget`` sends interactive replies at once), so the load
  is as fast as the bot and the fake API can go. Printed: the median of the samples during
  the load, the largest sample, and VmHWM at the end (the peak over the process's whole life).
- Repeated (default 3 runs, each with a fresh process and database); the figures printed
  last are the medians over the runs, and the largest peak.

Run from the repository root::

    .venv/bin/python -m bench.memory            # about 3 minutes
    .venv/bin/python -m bench.memory --quick    # smoke run, a few seconds

Only 127.0.0.1 is contacted; every loop stops by itself after its duration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import machine_line, stop_process
from bench.review_throughput import (
    FIRST_USER_ID,
    BenchApi,
    Tally,
    assignment_of_call,
    finish,
    is_panel_or_done,
    prepare_database,
    read_problems,
    trainer_loop,
)

IDLE_TARGET_MB = 100
ACTIVE_TARGET_MB = 200
START_TIMEOUT = 60.0
SAMPLE_EVERY = 0.1


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, ... of a process in bytes (from /proc/<pid>/status, given in kB)."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Vm") and line.rstrip().endswith("kB"):
                name, value = line.split(":", 1)
                values[name] = int(value.split()[0]) * 1024
    return values


def mb(value: float) -> str:
    return f"{value / 1e6:.1f} MB"


@dataclass
class Sampler:
    """Samples the RSS of one process until stopped."""

    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            with contextlib.suppress(OSError):
                self.samples.append((loop.time(), proc_status(self.pid)["VmRSS"]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in self.samples if start <= at <= end]


@dataclass
class MemoryRun:
    idle: float
    active: float
    largest: int
    hwm: int
    reviews: int
    holding: int
    stuck: int
    exit_code: int | None
    log_errors: int
    first_error: str


def bot_environment(api: BenchApi, db_path: Path, trainers: int) -> dict[str, str]:
    return api.bot_environment(
        db_path, COORDINATOR_IDS="4242", DAILY_QUOTA="10000", LOG_LEVEL="INFO"
    )


async def run_once(
    *,
    trainers: int,
    settle: float,
    idle_window: float,
    duration: float,
    items: int,
    seed: int,
    patience: float,
    keep_log: str | None = None,
) -> MemoryRun:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="nilai-bench-memory-") as tmp:
        user_ids = [FIRST_USER_ID + n for n in range(trainers)]
        db_path = Path(tmp) / "data" / "nilai.db"
        db_path.parent.mkdir()
        await prepare_database(db_path, user_ids, items)
        api = BenchApi()
        await api.start()
        log_path = Path(tmp) / "bot.log"
        log = await asyncio.to_thread(log_path.open, "wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp,  # no .env of a developer's checkout is read
            env=bot_environment(api, db_path, trainers),
            stdout=log,
            stderr=log,
        )
        stop_sampling = asyncio.Event()
        sampler = Sampler(process.pid)
        sampling = asyncio.create_task(sampler.run(stop_sampling))
        tally = Tally()
        try:
            deadline = loop.time() + START_TIMEOUT
            while not api.calls_to("getUpdates"):  # answered once the bot polls
                if process.returncode is not None or loop.time() > deadline:
                    raise RuntimeError(f"the bot did not start, see its log: {log_path}")
                await asyncio.sleep(0.05)
            idle_start = loop.time() + settle
            await asyncio.sleep(settle + idle_window)
            idle = statistics.median(sampler.between(idle_start, loop.time()))

            users = [api.user(uid, f"Trainer {uid}", language_code="en") for uid in user_ids]
            rng = random.Random(seed)
            load_start = loop.time()
            end = load_start + duration
            tasks = [
                asyncio.create_task(
                    trainer_loop(api, user, tally, end, random.Random(rng.random()), patience)
                )
                for user in users
            ]
            await asyncio.sleep(duration)
            active_samples = sampler.between(load_start, loop.time())
            hwm = proc_status(process.pid)["VmHWM"]
            await finish(tasks, tally, end, stuck_after=patience)
        finally:
            stop_sampling.set()
            await sampling
            await stop_process(process)
            await api.stop()
            log.close()
        holding = len(
            {
                call.chat_id
                for call in api.calls_to("sendMessage")
                if is_panel_or_done(call) and assignment_of_call(call) is not None
            }
        )
        errors, first_error = await asyncio.to_thread(read_problems, str(log_path))
        if keep_log and errors:
            await asyncio.to_thread(shutil.copyfile, log_path, keep_log)
            first_error += f" (log kept as {keep_log})"
    return MemoryRun(
        idle=idle,
        active=statistics.median(active_samples),
        largest=max(active_samples),
        hwm=hwm,
        reviews=len(tally.reviews),
        holding=holding,
        stuck=tally.stuck,
        exit_code=process.returncode,
        log_errors=errors,
        first_error=first_error,
    )


async def bench(args: argparse.Namespace) -> int:
    print(machine_line())
    items = args.items or max(300, args.trainers * 10)
    print(
        "setup: `python -m bot run` in its own process against the fake Bot API; idle = median "
        f"RSS over {args.idle_window:g} s after {args.settle:g} s of settling; then "
        f"{args.trainers} trainers each hold an item and tap through reviews for "
        f"{args.duration:g} s; {args.repeat} run(s), fresh "
        f"process and database (batch of {items} items, overlap 3) each; MB = 10^6 bytes"
    )
    runs = []
    for repeat in range(args.repeat):
        run = await run_once(
            trainers=args.trainers,
            settle=args.settle,
            idle_window=args.idle_window,
            duration=args.duration,
            items=items,
            seed=repeat,
            patience=args.patience,
            keep_log=f"{args.keep_logs}/memory-{repeat + 1}.log" if args.keep_logs else None,
        )
        runs.append(run)
        problems = ""
        if run.stuck or run.log_errors or run.exit_code != 0:
            problems = (
                f"; users stuck {run.stuck}, bot exit code {run.exit_code}, ERROR lines in the "
                f"bot log {run.log_errors}, first: {run.first_error}"
            )
        print(
            f"  run {repeat + 1}: idle {mb(run.idle)}; active {mb(run.active)} (median during "
            f"load), largest sample {mb(run.largest)}, VmHWM {mb(run.hwm)}; "
            f"{run.holding} trainers got items, {run.reviews} reviews done{problems}",
            flush=True,
        )
    idle = statistics.median(run.idle for run in runs)
    active = statistics.median(run.active for run in runs)
    peak = max(max(run.largest, run.hwm) for run in runs)

    def verdict(value: float, target: int) -> str:
        return "met" if value <= target * 1e6 else "NOT met"

    print(f"RESULT idle RSS: {mb(idle)} (target <= {IDLE_TARGET_MB} MB: {verdict(idle, 100)})")
    print(
        f"RESULT active RSS with {args.trainers} trainers: {mb(active)} median, peak {mb(peak)} "
        f"(target <= {ACTIVE_TARGET_MB} MB: {verdict(peak, ACTIVE_TARGET_MB)} by the peak)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainers", type=int, default=200)
    parser.add_argument("--duration", type=float, default=45.0, help="seconds of load per run")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before sampling")
    parser.add_argument(
        "--idle-window", type=float, default=1.0, help="seconds of idle samples (median)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--items", type=int, default=0, help="items in the batch")
    parser.add_argument(
        "--patience", type=float, default=30.0, help="seconds a user waits for one answer"
    )
    parser.add_argument("--keep-logs", help="copy the log of a bot that logged errors here")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args(argv)
    if args.quick:
        args.trainers, args.duration, args.settle, args.repeat = 20, 1.5, 0.3, 1
        args.idle_window = 0.5
        args.patience = 5.0
    if args.keep_logs:
        args.keep_logs = os.path.abspath(args.keep_logs)
        os.makedirs(args.keep_logs, exist_ok=True)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
