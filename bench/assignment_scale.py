"""Assignment at scale: how long a trainer waits for the next item as the database grows.

Target (issue 6): "databases of 10k, 100k and 1M items in open batches of different priorities,
10,000 registered trainers of whom 2,000 hold a lease, and a history of submitted reviews on
half the items: next-item latency p50/p99 for one trainer asking, with p99 <= 5 ms at 1M and
growth <= 2x from 10k, and the same figures while 50 trainers review at once; show the query
plans use indexes."

How it is measured, for each size N (default 10,000, 100,000 and 1,000,000 items; `--quick`:
10,000 and 20,000, fewer samples):

* The schema is made by the bot's own migrations (`Database.open`); the rows are written
  directly with Python's sqlite3 module. Items (a few hundred characters each) are spread over
  six batches: four open ones with priorities 5, 3, 3 and 0 and overlaps 1, 3, 2 and 1 (two of
  the same priority, so the batch id decides between them), and a paused and a closed one of
  higher priority, which must hand out nothing. 10,000 trainers are registered.
* History: in every batch the first half of the items (in queue order) have submitted reviews,
  by distinct trainers: the first 80% of that half as many as the overlap (complete), the last
  20% fewer (still open, at the head of the queue). Those open ones were reviewed by 200
  "regular" trainers, so a regular's own history sits at the head of the queue, where a pick
  must step over it. Each trainer's queue position per batch is what the pick leaves behind
  (the last item it gave them, with the assignment sequence of that moment).
* Leases: 2,000 trainers take an item through the real pick (`assign_next_item`), so the leases
  sit at the head of the queue as they would: 1,800 taken 20 minutes ago, 200 taken 40 minutes
  ago (their 30-minute leases have ended, so the first pick after them looks at those items
  again).
* One trainer asking, alone: `--asks` times (default 2,000; `--quick` 200), a trainer who holds
  no lease (chosen at random, regulars included) asks. Timed separately: the pick alone
  (`storage.assignment.assign_next_item`) and the whole `ReviewService.next_item` (the pick,
  reading the assignment, the item and its draft: what the bot does before it sends the item).
  After each ask the trainer submits the item (untimed), so 2,000 leases stay held. Then 100
  regulars lose their queue positions, as after migration 0005 (which starts with none): their
  first pick steps over their own reviews once; their next one starts from the new position.
* While 50 trainers review at once: 50 other trainers loop in this process on the same database
  as the bot does (`ReviewService.next_item`, four score taps, submit), twice: flat out for
  `--seconds`/5 (no pause at all: the database and this event loop are saturated, so latency
  is mostly queueing behind the others' statements), and paced for `--seconds` (default 10;
  `--quick` 2) with `--think` (default 0.2 s) before each tap, still far faster than people
  read; paced trainers start spread over one review's time. Meanwhile one more trainer asks
  and submits as above, one ask every 10 ms. Printed: that trainer's next-item latency, the 50
  reviewers' own, and how many reviews the 50 completed. This is one process and one event
  loop, as in the bot.
* The database is the bot's `storage.database.Database`, with its WAL checkpointer (which
  keeps SQLite's checkpoints out of the commits: before it, one commit in a few hundred waited
  for the copy and pushed the pick's p99 at 1M items from 0.55 ms to 5.9 ms).
* Printed as well: how long the pick's statements ran inside its write transaction (p50/p99:
  the time it keeps every other write waiting), and the EXPLAIN QUERY PLAN of each statement of
  the pick on the largest database.

Run from the repo root: `.venv/bin/python -m bench.assignment_scale [--sizes 10000,100000]
[--asks N] [--seconds S] [--quick]`. The 1M database takes about a minute to build.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from bench.common import machine_line, percentile
from bot.clock import stamp, utc_now
from bot.config import Settings
from bot.review import ReviewService
from bot.rubric import DEFAULT_RUBRIC
from storage import assignment, reviews
from storage.database import Database, Transaction
from storage.records import Trainer
from storage.sqlite_backend import SQLiteDatabase

T = TypeVar("T")
TARGET_P99_MS = 5.0
TARGET_GROWTH = 2.0
TRAINERS = 10_000
LEASES = 2_000
ENDED_LEASES = 200
REGULARS = 200
REVIEWERS = 50
# (name, priority, overlap, share of the items, status)
BATCHES = (
    ("urgent", 5, 1, 0.10, "open"),
    ("main", 3, 3, 0.35, "open"),
    ("main-b", 3, 2, 0.25, "open"),
    ("backlog", 0, 1, 0.20, "open"),
    ("on-hold", 9, 1, 0.05, "paused"),
    ("finished", 9, 1, 0.05, "closed"),
)
SENTENCES = (
    "Jakarta adalah ibu kota Indonesia dan kota terbesar di negara itu.",
    "The answer explains the steps clearly and names its sources.",
    "Nasi goreng biasanya disajikan dengan telur mata sapi dan kerupuk.",
    "A short, kind reply that still answers what was asked.",
    "Candi Borobudur dibangun pada abad ke-9 di Jawa Tengah.",
)


class TimedDatabase(SQLiteDatabase):
    """The bot's SQLite Database, recording how long each pick's statements ran inside its
    write transaction (from BEGIN IMMEDIATE to just before COMMIT: the time it keeps others from
    writing; SQLite drives the work to its end in one step, so nothing else runs meanwhile)."""

    held: list[float]

    async def write(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        if work is not assignment._assign:
            return await super().write(work, *args, **kwargs)

        async def timed(tx: Transaction, *values: Any) -> T:
            started = time.perf_counter()
            try:
                return await work(tx, *values)
            finally:
                self.held.append(time.perf_counter() - started)

        return await super().write(timed, *args)


@dataclass
class Series:
    """Latencies of one kind of call, in seconds, and the process's CPU time per call when
    nothing else runs in it (a wall time far above its CPU time waited for a core or a disk)."""

    values: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def line(self) -> str:
        p50, p99 = percentile(self.values, 0.5), percentile(self.values, 0.99)
        worst = max(self.values, default=float("nan"))
        cpu = ""
        if self.cpu:
            cpu = (
                f"; CPU p50 {percentile(self.cpu, 0.5) * 1e3:.2f} ms,"
                f" p99 {percentile(self.cpu, 0.99) * 1e3:.2f} ms"
            )
        return (
            f"p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, max {worst * 1e3:.1f} ms "
            f"({len(self.values):,} asks{cpu})"
        )

    @property
    def p99_ms(self) -> float:
        return percentile(self.values, 0.99) * 1e3


@dataclass
class Busy:
    """One run of the reviewers: the lone asker's latencies, theirs, and reviews done."""

    think: float
    asker: Series = field(default_factory=Series)
    reviewers: Series = field(default_factory=Series)
    reviews: int = 0
    seconds: float = 0.0

    @property
    def how(self) -> str:
        return f"{self.think:g} s before each tap" if self.think else "flat out"


@dataclass
class Alone:
    """One trainer asking at a time: the pick, the whole next_item, the pick's write time."""

    pick: Series = field(default_factory=Series)
    next_item: Series = field(default_factory=Series)
    held: list[float] = field(default_factory=list)


@dataclass
class Regulars:
    """Trainers with many reviews on items still open at the head of the queue."""

    history: float  # median count of their reviews on open items
    first: Series = field(default_factory=Series)  # with no queue position
    then: Series = field(default_factory=Series)  # the next pick, with the position it left


@dataclass
class SizeResult:
    items: int
    alone: Alone
    regulars: Regulars
    busy: list[Busy]


# -- building the database -------------------------------------------------------------------


def build(path: Path, items: int, rng: random.Random) -> dict[int, int]:
    """Batches, items, trainers, history and queue positions; returns batch id -> overlap."""
    now = utc_now()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    created = stamp(now - timedelta(days=30))
    conn.executemany(
        "INSERT INTO trainers (user_id, chat_id, name, language, role, status, created_at)"
        " VALUES (?, ?, ?, ?, 'trainer', 'active', ?)",
        [
            (uid, uid, f"Trainer {uid}", "id" if uid % 3 else "en", created)
            for uid in range(1, TRAINERS + 1)
        ],
    )
    regulars = list(range(1, REGULARS + 1))
    everyone = list(range(1, TRAINERS + 1))
    rubric = DEFAULT_RUBRIC.to_json()
    overlaps: dict[int, int] = {}
    assignment_id = 0
    positions: dict[tuple[int, int], tuple[int, int]] = {}
    item_id = 0
    reviewed_at = now - timedelta(days=10)
    for name, priority, overlap, share, status in BATCHES:
        count = max(4, round(items * share))
        (batch_id,) = conn.execute(
            "INSERT INTO batches (name, rubric, overlap, status, priority, item_count, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (name, rubric, overlap, status, priority, count, created),
        ).fetchone()
        overlaps[batch_id] = overlap
        reviewed = count // 2
        complete_until = int(reviewed * 0.8)
        item_rows = []
        review_rows = []
        for n in range(count):
            item_id += 1
            done = 0
            if n < complete_until:
                done = overlap
            elif n < reviewed:
                done = rng.randint(1, overlap - 1) if overlap > 1 else overlap
            prompt = f"Pertanyaan {n}: {rng.choice(SENTENCES)}"
            response = " ".join(rng.choice(SENTENCES) for _ in range(5))
            item_rows.append(
                (item_id, batch_id, f"q-{n:07d}", prompt, response, done, int(done >= overlap))
            )
            pool = regulars if complete_until <= n < reviewed else everyone
            for trainer in rng.sample(pool, done):
                assignment_id += 1
                reviewed_at += timedelta(milliseconds=200)
                review_rows.append(
                    (
                        assignment_id,
                        item_id,
                        trainer,
                        stamp(reviewed_at),
                        stamp(reviewed_at + timedelta(minutes=30)),
                        stamp(reviewed_at + timedelta(minutes=2)),
                    )
                )
                if status == "open":
                    positions[(trainer, batch_id)] = (item_id, assignment_id)
            if len(item_rows) >= 50_000:
                _insert(conn, item_rows, review_rows)
        _insert(conn, item_rows, review_rows)
    conn.executemany(
        "INSERT INTO queue_positions (trainer_id, batch_id, item_id, seq) VALUES (?, ?, ?, ?)",
        [(t, b, item, seq) for (t, b), (item, seq) in positions.items()],
    )
    conn.execute("COMMIT")
    conn.close()
    return overlaps


def _insert(conn: sqlite3.Connection, items: list, assignments: list) -> None:
    conn.executemany(
        "INSERT INTO items (id, batch_id, external_id, prompt, response, done_count, complete)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        items,
    )
    conn.executemany(
        "INSERT INTO assignments (id, item_id, trainer_id, status, assigned_at,"
        " lease_expires_at, submitted_at, criterion) VALUES (?, ?, ?, 'submitted', ?, ?, ?, 4)",
        assignments,
    )
    items.clear()
    assignments.clear()


async def take_leases(db: Database, holders: list[int]) -> None:
    """The lease holders take their items through the real pick, 20 or 40 minutes ago."""
    now = utc_now()
    for n, trainer in enumerate(holders):
        taken = now - timedelta(minutes=40 if n < ENDED_LEASES else 20)
        got = await assignment.assign_next_item(
            db, trainer, stamp(taken), stamp(taken + timedelta(minutes=30))
        )
        assert got is not None, "the queue ran dry while taking leases"


# -- measuring ---------------------------------------------------------------------------------


async def load_trainers(db: Database, user_ids: list[int]) -> dict[int, Trainer]:
    rows = await db.fetchall(
        f"SELECT * FROM trainers WHERE user_id IN ({', '.join('?' * len(user_ids))})", user_ids
    )
    return {row["user_id"]: Trainer.from_row(row) for row in rows}


async def ask_and_submit(
    db: Database,
    service: ReviewService,
    trainer: Trainer,
    series: Series,
    *,
    whole: bool,
    alone: bool = False,
) -> None:
    """One ask, timed (the pick alone, or the whole next_item); then the item is submitted."""
    now = utc_now()
    cpu = time.process_time()
    started = time.perf_counter()
    if whole:
        view, _ = await service.next_item(trainer)
        series.values.append(time.perf_counter() - started)
        assert view is not None, "nothing left to hand out"
        assignment_id = view.assignment.id
    else:
        leased = await assignment.assign_next_item(
            db, trainer.user_id, stamp(now), stamp(now + timedelta(minutes=30))
        )
        series.values.append(time.perf_counter() - started)
        assert leased is not None, "nothing left to hand out"
        assignment_id = leased.id
    if alone:  # nothing else runs in this process: its CPU time is the ask's
        series.cpu.append(time.process_time() - cpu)
    assert await reviews.submit_assignment(db, assignment_id, stamp(utc_now()))


async def review_loop(
    service: ReviewService, trainer: Trainer, busy: Busy, until: float, start: float
) -> None:
    """A trainer reviewing: next item, four scores, submit; `busy.think` before each tap."""
    criteria = len(DEFAULT_RUBRIC.criteria)
    await asyncio.sleep(start)
    while time.perf_counter() < until:
        started = time.perf_counter()
        view, _ = await service.next_item(trainer)
        busy.reviewers.values.append(time.perf_counter() - started)
        if view is None:
            return
        for index in range(criteria):
            await asyncio.sleep(busy.think)
            await service.score(trainer, view.assignment.id, index, 4)
        await asyncio.sleep(busy.think)
        _, missing = await service.submit(trainer, view.assignment.id)
        assert missing is None
        busy.reviews += 1
        await asyncio.sleep(busy.think)


async def reviewing(
    db: Database,
    service: ReviewService,
    people: dict[int, Trainer],
    reviewers: list[int],
    askers: list[int],
    busy: Busy,
    seconds: float,
    rng: random.Random,
) -> Busy:
    """50 trainers review for `seconds` while one more asks (and submits) every 10 ms."""
    until = time.perf_counter() + seconds

    async def lone_asker() -> None:
        while time.perf_counter() < until:
            trainer = people[rng.choice(askers)]
            await ask_and_submit(db, service, trainer, busy.asker, whole=True)
            await asyncio.sleep(0.01)

    started = time.perf_counter()
    await asyncio.gather(
        lone_asker(),
        *(
            # Paced trainers start spread over one review's time, not all at the same instant.
            review_loop(service, people[uid], busy, until, rng.uniform(0, busy.think * 6))
            for uid in reviewers
        ),
    )
    busy.seconds = time.perf_counter() - started
    return busy


async def measure(
    path: Path, items: int, asks: int, seconds: float, think_seconds: float, rng: random.Random
) -> SizeResult:
    db = await TimedDatabase.connect(path)
    db.held = []
    try:
        settings = Settings(telegram_bot_token=None, database_path=path)
        service = ReviewService(db, settings)
        everyone = list(range(1, TRAINERS + 1))
        rng.shuffle(everyone)
        holders = everyone[:LEASES]
        reviewers = everyone[LEASES : LEASES + REVIEWERS]
        askers = everyone[LEASES + REVIEWERS :]
        await take_leases(db, holders)
        people = await load_trainers(db, reviewers + askers)

        alone = await asking_alone(db, service, people, askers, asks, rng)
        regulars = await regulars_without_position(db, [t for t in askers if t <= REGULARS])
        busy = [
            # Flat out, the 50 finish a review every millisecond or two: a fifth of the time
            # keeps the small database from running out of items.
            await reviewing(db, service, people, reviewers, askers, Busy(think), length, rng)
            for think, length in ((0.0, seconds / 5), (think_seconds, seconds))
        ]
        return SizeResult(items, alone, regulars, busy)
    finally:
        await db.close()


async def asking_alone(
    db: TimedDatabase,
    service: ReviewService,
    people: dict[int, Trainer],
    askers: list[int],
    asks: int,
    rng: random.Random,
) -> Alone:
    """`asks` asks one after the other, every other one timed as the pick alone."""
    alone = Alone()
    db.held = alone.held
    for n in range(asks):
        trainer = people[rng.choice(askers)]
        series = alone.pick if n % 2 == 0 else alone.next_item
        await ask_and_submit(db, service, trainer, series, whole=n % 2 == 1, alone=True)
    db.held = []
    return alone


async def regulars_without_position(db: Database, trainers: list[int]) -> Regulars:
    """Regulars' first pick with no queue position, as right after migration 0005 (the one
    pick that steps over their own reviews at the head of the queue), then their next one."""
    trainers = trainers[:100]
    marks = ", ".join("?" * len(trainers))
    counts = await db.fetchall(
        "SELECT COUNT(*) FROM assignments a JOIN items i ON i.id = a.item_id"
        f" WHERE i.complete = 0 AND a.trainer_id IN ({marks}) GROUP BY a.trainer_id",
        trainers,
    )
    regulars = Regulars(statistics.median(row[0] for row in counts) if counts else 0)
    await db.execute(f"DELETE FROM queue_positions WHERE trainer_id IN ({marks})", trainers)
    for series in (regulars.first, regulars.then):
        for trainer in trainers:
            now = utc_now()
            started = time.perf_counter()
            leased = await assignment.assign_next_item(
                db, trainer, stamp(now), stamp(now + timedelta(minutes=30))
            )
            series.values.append(time.perf_counter() - started)
            assert leased is not None, "nothing left to hand out"
            assert await reviews.submit_assignment(db, leased.id, stamp(utc_now()))
    return regulars


def print_alone(alone: Alone, label: str) -> None:
    held = alone.held
    print(f"  alone{label}, the pick (assign_next_item): {alone.pick.line()}")
    print(f"  alone{label}, ReviewService.next_item:     {alone.next_item.line()}")
    print(
        f"  alone{label}, the pick's statements inside its write transaction: p50 "
        f"{ms(percentile(held, 0.5))}, p99 {ms(percentile(held, 0.99))} ({len(held):,} picks)"
    )


def print_busy(busy: Busy, label: str) -> None:
    print(
        f"  {REVIEWERS} reviewing ({busy.how}){label}: {busy.reviews:,} reviews in "
        f"{busy.seconds:.1f} s ({busy.reviews / busy.seconds:.0f}/s)"
    )
    print(f"    one more trainer asking, next_item: {busy.asker.line()}")
    print(f"    the {REVIEWERS} reviewers' own next_item: {busy.reviewers.line()}")


async def print_plans(path: Path) -> None:
    db = await Database.open(path)
    try:
        params = {
            "trainer": 1,
            "batch": 2,
            "position": 100,
            "seq": 1,
            "limit": assignment.CANDIDATES,
            "l0": "id",  # the trainer's language (the candidates read has one range per language)
            "now": stamp(utc_now()),
            "lease": stamp(utc_now()),
            "c0": 1,
            "c1": 2,
        }
        statements = {
            "queue (open batches, positions, due lease ends)": assignment._QUEUE_SQL,
            "candidates (came back + after the position)": assignment._CANDIDATES_SQL,
            "claim (guarded INSERT ... SELECT)": assignment._CLAIM_SQL.format(ids=":c0, :c1"),
            "mark full (candidates tried)": assignment._MARK_FULL_SQL.format(ids=":c0, :c1"),
            "lease ends due (look again)": assignment._LEASES_ENDED_SQL,
        }
        print("query plans (EXPLAIN QUERY PLAN):")
        for name, sql in statements.items():
            print(f"  {name}:")
            for row in await db.fetchall("EXPLAIN QUERY PLAN " + sql, params):
                print(f"    {row['detail']}")
    finally:
        await db.close()


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


async def run(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.sizes.split(",")]
    print("bench.assignment_scale: next-item latency at 10k / 100k / 1M items")
    print(machine_line())
    folder = Path(tempfile.mkdtemp(prefix="nilai-bench-assign-"))
    rng = random.Random(6)
    results: list[SizeResult] = []
    try:
        for items in sizes:
            path = folder / f"nilai-{items}.db"
            await (await Database.open(path)).close()
            started = time.perf_counter()
            build(path, items, rng)
            print(
                f"\n{items:,} items: database built in {time.perf_counter() - started:.1f} s "
                f"({path.stat().st_size / 1e6:.0f} MB; {TRAINERS:,} trainers, "
                f"reviews on half the items)"
            )
            result = await measure(path, items, args.asks, args.seconds, args.think, rng)
            results.append(result)
            print_alone(result.alone, "")
            regulars = result.regulars
            print(
                f"  regulars (median {regulars.history:g} own reviews on items still open), "
                f"first pick with no queue position (as after migration 0005): "
                f"{regulars.first.line()}"
            )
            print(f"    and their next pick, from the position it left: {regulars.then.line()}")
            for busy in result.busy:
                print_busy(busy, "")
            if items != sizes[-1]:
                remove_database(path)
        print()
        await print_plans(folder / f"nilai-{sizes[-1]}.db")
        print()
        first, last = results[0], results[-1]
        for kind in ("pick", "next_item"):
            p99 = getattr(last.alone, kind).p99_ms
            growth = p99 / getattr(first.alone, kind).p99_ms
            verdict = "meets" if p99 <= TARGET_P99_MS and growth <= TARGET_GROWTH else "misses"
            print(
                f"RESULT {kind} alone: p99 {p99:.2f} ms at {last.items:,} items "
                f"(target <= {TARGET_P99_MS:g} ms), growth from {first.items:,}: "
                f"{growth:.2f}x (target <= {TARGET_GROWTH:g}x): {verdict}"
            )
        for busy in last.busy:
            print(
                f"RESULT with {REVIEWERS} reviewing ({busy.how}) at {last.items:,} items: "
                f"one asker next_item p50 {percentile(busy.asker.values, 0.5) * 1e3:.2f} ms, "
                f"p99 {busy.asker.p99_ms:.2f} ms; reviewers' next_item p50 "
                f"{percentile(busy.reviewers.values, 0.5) * 1e3:.2f} ms, p99 "
                f"{busy.reviewers.p99_ms:.2f} ms"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="item counts, comma-separated (default 10k,100k,1M)")
    parser.add_argument("--asks", type=int, help="timed asks alone per size (default 2,000)")
    parser.add_argument(
        "--seconds", type=float, help="seconds paced (default 10); a fifth of that flat out"
    )
    parser.add_argument(
        "--think", type=float, default=0.2, help="pause before each tap, paced run (default 0.2 s)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 10k and 20k items")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = "10000,20000" if args.quick else "10000,100000,1000000"
    args.asks = args.asks or (200 if args.quick else 2000)
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
