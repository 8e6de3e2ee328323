"""Full reviews per second with 1, 2 and 4 bot processes on PostgreSQL against 1 on SQLite
(issue 10).

Targets: bot CPU per review on PostgreSQL (one process) at most 1.3x that on SQLite (one
process); no collapse under contention: reviews per bot-CPU-second with 4 processes within
20% of one process, both on PostgreSQL.

How it is measured:

- The fake Telegram Bot API and the simulated trainers are bench/review_throughput.py's
  (``BenchApi``, ``trainer_loop``: each of N trainers, default 50, loops ``/next`` -> 4 score
  taps, each waiting for the edited panel -> Submit -> the next panel; a review counts when the
  next panel arrives inside the measuring window), in this process.
- Every configuration runs ``python -m bot run`` processes as an operator starts them
  (tests/crash_load.py's ``BotProcess``) in webhook mode (WEBHOOK_URL, WEBHOOK_SECRET, each
  process on its own WEBHOOK_PORT); the fake posts the updates to them round robin
  (``webhook_targets``), so one trainer's consecutive taps land on different processes.
- Configurations: SQLite x1 (a fresh file per run), PostgreSQL x1, x2 and x4 (one throwaway
  PostgreSQL server for the whole bench, tests/postgres_server.py, or TEST_DATABASE_URL; a
  fresh database per run). Every database is seeded the same way: one batch (overlap 3, the
  repository's samples, enough items for the run) and the N trainers registered with consent.
  DAILY_QUOTA is 10,000 so no "quota reached" message joins the calls.
- Configurations alternate within each repeat (``--repeat``, default 3); the figures of a
  configuration are those of its median run (by reviews/s).
- CPU, over the measuring window, from /proc: the bot processes (utime+stime, summed), the
  PostgreSQL server (the postmaster and every live backend, plus the postmaster's reaped
  children: every postgres process of the throwaway server), the driver (this process: fake
  Bot API + trainers) and everything else on the machine (/proc/stat's busy time minus those;
  other helpers' tests, for instance). 100% is one core.
- Latency: tap -> answerCallbackQuery p50 / p99, and Submit -> next panel p50.

Run from the repository root::

    .venv/bin/python -m bench.scale_out            # about 8 minutes
    .venv/bin/python -m bench.scale_out --quick    # smoke run, about half a minute

``--quick`` runs 5 trainers for 2 s after 1 s of warm-up, once, SQLite x1 and PostgreSQL x1
and x4 (x2 only when named with ``--configs``).
    .venv/bin/python -m bench.scale_out --configs pg1,pg4 --repeat 1

Only 127.0.0.1 is contacted; every bot process is stopped (SIGTERM, then SIGKILL) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import machine_line, percentile
from bench.review_throughput import (
    FIRST_USER_ID,
    BenchApi,
    Tally,
    busy_seconds,
    count_submitted,
    cpu_seconds,
    finish,
    prepare_database,
    read_problems,
    trainer_loop,
)
from tests.crash_load import BotProcess, wait_serving
from tests.e2e import free_port
from tests.postgres_server import PostgresServer

HOOK_PATH = "/nilai/hook"
WEBHOOK_SECRET = "nilai-bench-webhook-secret_0123456789"
QUOTA = 10_000
START_TIMEOUT = 90.0
CONFIGS = {"sqlite1": ("sqlite", 1), "pg1": ("postgresql", 1), "pg2": ("postgresql", 2)}
CONFIGS["pg4"] = ("postgresql", 4)
CLK = os.sysconf("SC_CLK_TCK")


# -- CPU of the PostgreSQL server ----------------------------------------------------------------


def postgres_cpu_seconds(postmaster: int | None) -> float:
    """CPU of every process of the server: the postmaster (with its reaped children's time)
    and its live children (backends, checkpointer, walwriter, ...). NaN if unknown."""
    if postmaster is None:
        return float("nan")
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile: its time is in the postmaster's reaped children's
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(v) for v in fields[11:15]) / CLK  # utime stime cutime cstime
        elif ppid == postmaster:
            total += (int(fields[11]) + int(fields[12])) / CLK
    return total


def postmaster_pid(server: PostgresServer) -> int | None:
    """The throwaway server's postmaster (None for a TEST_DATABASE_URL server)."""
    folder = getattr(server, "_folder", None)
    if folder is None:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((Path(folder) / "data" / "postmaster.pid").read_text().split()[0])
    return None


# -- one run ------------------------------------------------------------------------------------


@dataclass
class RunResult:
    config: str
    processes: int
    started: float  # seconds from starting the processes to all serving
    pool: int | None
    reviews: int
    reviews_per_s: float
    wall: float
    bot_cpu: float  # seconds, all bot processes together
    postgres_cpu: float
    driver_cpu: float
    other_cpu: float
    answer_ms: list[float]
    submit_ms: list[float]
    stored: int
    stuck: int
    exhausted: int
    failures: dict[str, int]
    log_problems: int
    first_problem: str

    @property
    def bot_ms_per_review(self) -> float:
        return 1000 * self.bot_cpu / self.reviews if self.reviews else float("nan")

    @property
    def postgres_ms_per_review(self) -> float:
        return 1000 * self.postgres_cpu / self.reviews if self.reviews else float("nan")

    @property
    def reviews_per_bot_cpu_s(self) -> float:
        return self.reviews / self.bot_cpu if self.bot_cpu else float("nan")

    def pct(self, seconds: float) -> float:
        return 100 * seconds / self.wall

    def line(self) -> str:
        pool = f"pool {self.pool}" if self.pool else "no pool"
        pg = (
            f"postgres {self.pct(self.postgres_cpu):3.0f}% = {self.postgres_ms_per_review:4.1f}"
            " ms/review; "
            if self.processes and self.pool
            else ""
        )
        extra = ""
        if self.failures:
            extra += f", failed calls {self.failures}"
        if self.stuck or self.exhausted:
            extra += f", users stuck {self.stuck} / shown nothing to score {self.exhausted}"
        if self.log_problems:
            extra += f", {self.log_problems} ERROR lines in the logs, first: {self.first_problem}"
        return (
            f"{self.config:7} x{self.processes} ({pool}): {self.reviews_per_s:6.2f} reviews/s "
            f"({self.reviews}, {self.stored} stored); bot CPU {self.pct(self.bot_cpu):3.0f}% = "
            f"{self.bot_ms_per_review:5.1f} ms/review = {self.reviews_per_bot_cpu_s:5.1f} "
            f"reviews/bot-CPU-s; {pg}driver {self.pct(self.driver_cpu):3.0f}%; other "
            f"{self.pct(self.other_cpu):3.0f}%; tap->answer p50 "
            f"{percentile(self.answer_ms, 0.5):.0f} / p99 {percentile(self.answer_ms, 0.99):.0f}"
            f" ms; started in {self.started:.1f} s{extra}"
        )


async def run_once(
    config: str,
    server: PostgresServer | None,
    *,
    trainers: int,
    warmup: float,
    duration: float,
    items: int,
    pool: int,
    seed_value: int,
    patience: float,
    keep_logs: str | None,
    label: str,
    py_spy: str | None = None,
) -> RunResult:
    backend, processes = CONFIGS[config]
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="nilai-scale-") as tmp:
        folder = Path(tmp)
        user_ids = [FIRST_USER_ID + n for n in range(trainers)]
        url: str | None = None
        if backend == "postgresql":
            assert server is not None
            url = await server.new_database()
            target: str | Path = url
        else:
            target = folder / "bot0" / "data" / "nilai.db"  # the one BotProcess opens
            target.parent.mkdir(parents=True)
        await prepare_database(
            target if isinstance(target, Path) else folder / "nilai.db",
            user_ids,
            items,
            url=target if isinstance(target, str) else None,
        )
        api = BenchApi()
        await api.start()
        ports = [free_port() for _ in range(processes)]
        bots = []
        for index, port in enumerate(ports):
            workdir = folder / f"bot{index}"
            workdir.mkdir(exist_ok=True)
            env = {
                "WEBHOOK_URL": f"https://nilai.example{HOOK_PATH}",
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "WEBHOOK_LISTEN": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
                "DAILY_QUOTA": str(QUOTA),
                "LOG_LEVEL": "INFO",
            }
            if url is not None:
                env |= {"DATABASE_URL": url, "DATABASE_POOL_SIZE": str(pool)}
            bots.append(BotProcess(api, workdir, **env))
        api.webhook_targets = [f"http://127.0.0.1:{port}{HOOK_PATH}" for port in ports]
        postmaster = postmaster_pid(server) if server is not None and url else None
        tasks: list[asyncio.Task[None]] = []
        tally = Tally()
        begun = loop.time()
        try:
            for bot in bots:
                await bot.start()
            for port in ports:
                await wait_serving(port, START_TIMEOUT)
            await api.wait_for_call("setWebhook", timeout=START_TIMEOUT)
            started = loop.time() - begun
            users = [api.user(uid, f"Trainer {uid}", language_code="en") for uid in user_ids]
            start = loop.time() + warmup
            end = start + duration
            rng = random.Random(seed_value)
            tasks = [
                asyncio.create_task(
                    trainer_loop(api, user, tally, end, random.Random(rng.random()), patience)
                )
                for user in users
            ]
            await asyncio.sleep(max(0.0, start - loop.time()))
            pids = [bot.process.pid for bot in bots if bot.process is not None]
            bot0 = sum(cpu_seconds(pid) for pid in pids)
            pg0, driver0 = postgres_cpu_seconds(postmaster), time.process_time()
            busy0, wall0 = busy_seconds(), loop.time()
            spy = await _py_spy(py_spy, pids[0], duration) if py_spy else None
            await asyncio.sleep(max(0.0, end - loop.time()))
            bot1 = sum(cpu_seconds(pid) for pid in pids)
            pg1, driver1 = postgres_cpu_seconds(postmaster), time.process_time()
            busy1, wall1 = busy_seconds(), loop.time()
            await finish(tasks, tally, end, stuck_after=min(patience, 10.0))
            if spy is not None:
                await spy.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(_stop(bot) for bot in bots), return_exceptions=True)
            await api.stop()
        stored = await count_submitted(target)  # type: ignore[arg-type]
        problems = [await asyncio.to_thread(read_problems, str(bot.log_path)) for bot in bots]
        if keep_logs and any(count for count, _ in problems):
            os.makedirs(keep_logs, exist_ok=True)
            for index, bot in enumerate(bots):
                kept = Path(keep_logs) / f"{label}-bot{index}.log"
                kept.write_text(bot.log_text(), "utf-8")
        if url is not None and server is not None:
            await server.drop_database(url)
    wall = wall1 - wall0
    reviews = sum(1 for at in tally.reviews if start <= at <= end)
    bot_cpu, driver_cpu = bot1 - bot0, driver1 - driver0
    pg_cpu = pg1 - pg0
    known = bot_cpu + driver_cpu + (0.0 if pg_cpu != pg_cpu else pg_cpu)  # NaN: unknown
    return RunResult(
        config=config,
        processes=processes,
        started=started,
        pool=pool if url else None,
        reviews=reviews,
        reviews_per_s=reviews / duration,
        wall=wall,
        bot_cpu=bot_cpu,
        postgres_cpu=pg_cpu if url else 0.0,
        driver_cpu=driver_cpu,
        other_cpu=max(0.0, busy1 - busy0 - known),
        answer_ms=tally.window("answer_ms", start, end),
        submit_ms=tally.window("submit_ms", start, end),
        stored=stored,
        stuck=tally.stuck,
        exhausted=tally.exhausted,
        failures=dict(api.failures),
        log_problems=sum(count for count, _ in problems),
        first_problem=next((first for count, first in problems if count), ""),
    )


async def _py_spy(path: str, pid: int, duration: float) -> asyncio.subprocess.Process:
    """py-spy sampling one bot process over the window, its stacks collapsed into `path`
    (one line per stack with its sample count; py-spy from PyPI: pip install py-spy)."""
    program = Path(sys.executable).with_name("py-spy")
    return await asyncio.create_subprocess_exec(
        str(program),
        "record",
        "-p",
        str(pid),
        "-d",
        str(max(1, int(duration))),
        "-r",
        "200",
        "-f",
        "raw",
        "-o",
        path,
        "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _stop(bot: BotProcess) -> None:
    if bot.process is None or bot.process.returncode is not None:
        await bot.close()
        return
    try:
        await bot.stop()
    finally:
        await bot.close()


# -- main -----------------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def summarize(results: dict[str, list[RunResult]], cores: int) -> list[str]:
    lines = []
    chosen: dict[str, RunResult] = {}
    for config, runs in results.items():
        if not runs:
            continue
        ordered = sorted(runs, key=lambda r: r.reviews_per_s)
        median = chosen[config] = ordered[len(ordered) // 2]
        rate = statistics.median(r.reviews_per_s for r in runs)
        idle = max(
            0.0,
            100 * cores
            - sum(
                median.pct(x)
                for x in (median.bot_cpu, median.postgres_cpu, median.driver_cpu, median.other_cpu)
            ),
        )
        pg = (
            f"PostgreSQL {median.pct(median.postgres_cpu):.0f}% "
            f"({median.postgres_ms_per_review:.1f} ms/review), "
            if median.pool
            else ""
        )
        lines.append(
            f"CONFIG {config:7} x{median.processes}: {rate:.2f} reviews/s (median of {len(runs)};"
            f" run by run {', '.join(f'{r.reviews_per_s:.2f}' for r in runs)}); bot CPU "
            f"{median.bot_ms_per_review:.1f} ms/review ({median.reviews_per_bot_cpu_s:.1f} "
            f"reviews/bot-CPU-s); cores: bots {median.pct(median.bot_cpu):.0f}%, {pg}driver "
            f"{median.pct(median.driver_cpu):.0f}%, other {median.pct(median.other_cpu):.0f}%, "
            f"idle {idle:.0f}% (of {100 * cores}%); pool "
            f"{median.pool if median.pool else '-'} per process; tap->answer p50 "
            f"{percentile(median.answer_ms, 0.5):.0f} / p99 "
            f"{percentile(median.answer_ms, 0.99):.0f} ms, Submit->next panel p50 "
            f"{percentile(median.submit_ms, 0.5):.0f} ms"
        )

    def cpu(config: str) -> float:
        return statistics.median(r.bot_ms_per_review for r in results[config])

    def efficiency(config: str) -> float:
        return statistics.median(r.reviews_per_bot_cpu_s for r in results[config])

    if results.get("sqlite1") and results.get("pg1"):
        ratio = cpu("pg1") / cpu("sqlite1")
        lines.append(
            f"RESULT cpu: bot CPU per review PostgreSQL x1 {cpu('pg1'):.1f} ms, SQLite x1 "
            f"{cpu('sqlite1'):.1f} ms (medians): {ratio:.2f}x (target <= 1.3x: "
            f"{_verdict(ratio <= 1.3)})"
        )
    if results.get("pg1") and results.get("pg4"):
        ratio = efficiency("pg4") / efficiency("pg1")
        lines.append(
            f"RESULT contention: reviews per bot-CPU-second PostgreSQL x4 {efficiency('pg4'):.1f}"
            f", x1 {efficiency('pg1'):.1f} (medians): x4 / x1 = {ratio:.2f} (target within 20%,"
            f" >= 0.80: {_verdict(ratio >= 0.8)})"
        )
    widest = next((c for c in ("pg4", "pg2", "pg1") if results.get(c)), None)
    if widest is not None and any(r.reviews for r in results[widest]):
        runs = results[widest]
        bot_s = statistics.median(r.bot_cpu / r.reviews for r in runs if r.reviews)
        pg_s = statistics.median(r.postgres_cpu / r.reviews for r in runs if r.reviews)
        per_core = 1 / (bot_s + pg_s)
        guesses = ", ".join(
            f"{n} cores {n * per_core:.0f} reviews/s (~{n * per_core * 60:,.0f} trainers at one "
            f"review a minute)"
            for n in (4, 8, 16)
        )
        lines.append(
            f"EXPECTED on more cores: from {widest}'s per-review CPU (bot {1000 * bot_s:.1f} ms +"
            f" PostgreSQL {1000 * pg_s:.1f} ms = {1000 * (bot_s + pg_s):.1f} ms of CPU per review)"
            f", with Telegram and the users off the machine (here the driver's share), each core"
            f" gives 1 / that = {per_core:.1f} reviews/s: {guesses}; needs at least "
            f"{bot_s / (bot_s + pg_s):.0%} of the cores as bot processes (one process uses at "
            f"most one core: {1 / bot_s:.1f} reviews/s each) and assumes the lock contention "
            f"stays as measured with {CONFIGS[widest][1]} processes"
            + (
                f"; SQLite stays at one process: at most {1000 / cpu('sqlite1'):.1f} reviews/s"
                " whatever the cores"
                if results.get("sqlite1")
                else ""
            )
        )
    return lines


async def bench(args: argparse.Namespace) -> int:
    print(machine_line())
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        print(f"unknown configurations {unknown}; choose from {', '.join(CONFIGS)}")
        return 2
    items = args.items or max(300, args.trainers * 60)
    server: PostgresServer | None = None
    if any(CONFIGS[c][0] == "postgresql" for c in configs):
        server = PostgresServer()
        await asyncio.to_thread(server.start)
        if server.url is None:
            print(f"PostgreSQL configurations skipped: {server.why_not}")
            server.stop()
            server = None
            configs = [c for c in configs if CONFIGS[c][0] != "postgresql"]
    try:
        version = await _postgres_version(server)
        print(
            f"setup: {args.trainers} trainers tapping at once, {args.duration:g} s measured after"
            f" {args.warmup:g} s warm-up, {args.repeat} run(s) per configuration, alternating;"
            f" `python -m bot run` processes in webhook mode (round robin), fake Bot API + "
            f"users in this process; batch {items} items, overlap 3; configurations "
            f"{', '.join(configs)}; PostgreSQL {version}, DATABASE_POOL_SIZE {args.pool} per "
            "process, a fresh database per run; SQLite a fresh file per run"
        )
        results: dict[str, list[RunResult]] = {c: [] for c in configs}
        for repeat in range(args.repeat):
            for config in configs:
                result = await run_once(
                    config,
                    server,
                    trainers=args.trainers,
                    warmup=args.warmup,
                    duration=args.duration,
                    items=items,
                    pool=args.pool,
                    seed_value=repeat,
                    patience=args.patience,
                    keep_logs=args.keep_logs,
                    label=f"{config}-{repeat + 1}",
                    py_spy=f"{args.py_spy}-{config}.txt" if args.py_spy and not repeat else None,
                )
                results[config].append(result)
                print(f"  run {repeat + 1}: {result.line()}", flush=True)
        for line in summarize(results, os.cpu_count() or 1):
            print(line)
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
    return 0


async def _postgres_version(server: PostgresServer | None) -> str:
    if server is None or server.url is None:
        return "-"
    import asyncpg

    conn = await asyncpg.connect(server.url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    from bot.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration")
    parser.add_argument("--items", type=int, default=0, help="items in the batch")
    parser.add_argument(
        "--pool",
        type=int,
        default=Settings.__dataclass_fields__["database_pool_size"].default,
        help="DATABASE_POOL_SIZE of each bot process on PostgreSQL",
    )
    parser.add_argument("--configs", default=",".join(CONFIGS), help="e.g. sqlite1,pg1,pg4")
    parser.add_argument(
        "--patience", type=float, default=30.0, help="seconds a user waits for one answer"
    )
    parser.add_argument("--keep-logs", help="copy the logs of bots that logged errors here")
    parser.add_argument(
        "--py-spy",
        help="sample the first bot process of each configuration's first run with "
        "py-spy into PY_SPY-<configuration>.txt (collapsed stacks)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args(argv)
    if args.quick:
        args.trainers, args.duration, args.warmup, args.repeat = 5, 2.0, 1.0, 1
        args.patience = 10.0
        args.items = args.items or 100
        if args.configs == ",".join(CONFIGS):  # the two targets need only these three
            args.configs = "sqlite1,pg1,pg4"
    if args.keep_logs:
        args.keep_logs = os.path.abspath(args.keep_logs)
    if args.py_spy:
        args.py_spy = os.path.abspath(args.py_spy)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(proxy, None)
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
