"""Agreement speed: Krippendorff's alpha for every criterion of a large batch (bot/agreement.py).

Target (issue 9): "A batch of 100,000 items with 3 reviews each from 1,000 trainers gets its
alpha in under 2 s and 200 MB".

How it is measured:

* The schema is made by `Database.open` (migrations); then rows are inserted directly with
  Python's sqlite3 module: one batch of N items (default 100,000; `--quick`: 5,000) with the
  default rubric's 4 criteria, 1,000 trainers (`--quick`: 100), 3 submitted reviews per item
  from trainers picked at random, each scoring every criterion near the item's own "true"
  score (noise of one step either way), one in fifty items gold (left out of the figures).
* In a fresh process (so nothing from building the database is counted), page cache warm: the
  RSS before, then `batch_agreement` with an empty cache (the reads on the reader thread, the
  numpy part in a worker thread, as /progress runs it), `--repeat` times (default 3; each one
  with a fresh cache), then the peak RSS of the process (VmHWM), imports included.
* Printed: the wall time of each run (median and best), the alpha and item count per
  criterion, and the peak RSS, against the targets.

Run from the repo root: `.venv/bin/python -m bench.agreement_speed [--items N] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine_line, median_and_best

NOW = "2026-11-25T03:00:00.000000+00:00"
REVIEWS_PER_ITEM = 3
GOLD_EVERY = 50
TARGET_SECONDS = 2.0
TARGET_MB = 200


def build_database(database: Path, items: int, trainers: int, seed: int = 9) -> None:
    from bot.rubric import DEFAULT_RUBRIC
    from storage.database import Database

    async def migrate() -> None:
        db = await Database.open(database)
        await db.close()

    asyncio.run(migrate())
    rng = random.Random(seed)
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        conn.executemany(
            "INSERT INTO trainers (user_id, chat_id, name, language, role, status, created_at)"
            " VALUES (?, ?, ?, 'en', 'trainer', 'active', ?)",
            [(1000 + n, 1000 + n, f"Trainer {n}", NOW) for n in range(trainers)],
        )
        batch_id = conn.execute(
            "INSERT INTO batches (name, rubric, overlap, item_count, created_at)"
            " VALUES ('big', ?, ?, ?, ?)",
            (DEFAULT_RUBRIC.to_json(), REVIEWS_PER_ITEM, items, NOW),
        ).lastrowid
        conn.executemany(
            "INSERT INTO items (id, batch_id, external_id, prompt, response, gold, done_count,"
            " complete) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
            (
                (
                    n,
                    batch_id,
                    f"item-{n}",
                    f"Prompt {n}",
                    f"Answer {n}",
                    '{"accuracy": [4, 5]}' if n % GOLD_EVERY == 0 else None,
                    REVIEWS_PER_ITEM,
                )
                for n in range(1, items + 1)
            ),
        )
        assignments, scores = [], []
        assignment_id = 0
        for item in range(1, items + 1):
            truth = rng.randint(1, 5)
            for trainer in rng.sample(range(trainers), REVIEWS_PER_ITEM):
                assignment_id += 1
                assignments.append((assignment_id, item, 1000 + trainer, NOW, NOW, NOW))
                for criterion in DEFAULT_RUBRIC.criteria:
                    score = min(5, max(1, truth + rng.choice((-1, 0, 0, 1))))
                    scores.append((assignment_id, criterion, score, NOW))
        conn.executemany(
            "INSERT INTO assignments (id, item_id, trainer_id, status, assigned_at,"
            " lease_expires_at, submitted_at) VALUES (?, ?, ?, 'submitted', ?, ?, ?)",
            assignments,
        )
        conn.executemany(
            "INSERT INTO scores (assignment_id, criterion, score, updated_at) VALUES (?, ?, ?, ?)",
            scores,
        )
    conn.close()


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(database: Path, repeat: int) -> None:
    """Runs in the fresh process: times `batch_agreement` with an empty cache each time."""
    import bot.agreement as agreement
    from storage.database import Database

    db = await Database.open(database, migrate=False)
    try:
        batch_id = await db.fetchval("SELECT id FROM batches WHERE name = 'big'")
        print(f"  RSS before: {rss_mb('VmRSS'):.1f} MB (Python, numpy, krippendorff loaded)")
        times, figures = [], ()
        for run in range(1, repeat + 1):
            agreement._caches.clear()  # as after a new review: computed from scratch
            start = time.perf_counter()
            figures = await agreement.batch_agreement(db, batch_id)
            times.append(time.perf_counter() - start)
            print(f"  run {run}: {times[-1]:.2f} s")
        for figure in figures:
            alpha = "none" if figure.alpha is None else f"{figure.alpha:.4f}"
            print(f"  {figure.criterion}: alpha {alpha} on {figure.items:,} items")
        peak = rss_mb("VmHWM")
        target = f"target < {TARGET_SECONDS:.0f} s"
        print(f"RESULT alpha of every criterion: {median_and_best(times)} ({target})")
        print(f"RESULT peak RSS: {peak:.1f} MB (target < {TARGET_MB} MB)")
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, help="items in the batch (default 100,000)")
    parser.add_argument("--repeat", type=int, help="timed runs (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 items, once")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the fresh process
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    if args.measure is not None:
        asyncio.run(measure(args.measure, repeat))
        return 0
    items = args.items or (5_000 if args.quick else 100_000)
    trainers = 100 if args.quick else 1_000
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="nilai-agreement-") as workdir:
        database = Path(workdir) / "nilai.sqlite3"
        start = time.perf_counter()
        build_database(database, items, trainers)
        reviews = items * REVIEWS_PER_ITEM
        print(
            f"built: {items:,} items x {REVIEWS_PER_ITEM} reviews ({reviews:,}) from"
            f" {trainers:,} trainers, 4 criteria, in {time.perf_counter() - start:.1f} s"
        )
        Path(database).read_bytes()  # page cache warm
        command = [sys.executable, "-m", "bench.agreement_speed", "--measure", str(database)]
        result = subprocess.run([*command, "--repeat", str(repeat)], check=False)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
