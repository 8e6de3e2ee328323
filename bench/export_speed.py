"""Export speed: `python -m bot export` of a large batch, every format, against sqlite3 itself.

Target (issue 6): "Export of 1,000,000 judgments: `raw` within 1.5x of the `sqlite3` shell
printing the same rows as JSON; every format measured; peak RSS <= 200 MB whatever the size".

How it is measured:

* The schema is made by `python -m bot migrate`; then rows are inserted directly with Python's
  sqlite3 module into every table the exports read (`storage/exports.py`): a batch of
  N submitted judgments (default 1,000,000; `--quick`: 20,000) with overlap 3, so N/3 items
  (realistic Indonesian/English texts of a few hundred characters, metadata, one in ten in chat
  form with earlier turns, some control items, made by `bench.import_speed.make_item`), 300
  trainers, one assignment + judgment (a note on one in ten, a rewrite on three in ten) + four
  scores each, flags on about one in six; of the rewrites, seven in ten accepted by a reviewer
  and one in ten rejected with a reason and a comment (`rewrite_reviews`), the rest
  unreviewed; every judgment made under the batch's one rubric version. Reviews of
  neighbouring items interleave in time, as when several trainers work through a queue, so an
  item's judgments are not adjacent rows.
  A second batch holds N/10 judgments: the same figures at a tenth of the size, and the
  export's memory shown not to grow with N.
* For each batch, timed alternately, `--repeat` times each (default 3; 1 with `--quick`), page
  cache warm:
  - `python -m bot export --batch B --format F -o out` for F in raw, sft, dpo, ratings (a
    subprocess, as an operator runs it): wall time, and its peak RSS (VmHWM, polled every
    10 ms; see `bench.import_speed.PeakWatcher` for why not `ru_maxrss`);
  - the `sqlite3` command-line shell (if installed; otherwise Python's sqlite3 module running the
    same SQL and writing the lines, which the output says) printing the same judgments as `raw`
    as JSON lines with `json_object()`: the same fields from the same joins (item, trainer,
    scores as an object, flags as an array, note, rewrite, times, late, whether the item is
    gold, the rewrite's review and reviewer, the rubric version), ordered the same way.
    It prints the trainer's and reviewer's ids where the export prints keyed pseudonyms (SQLite
    has no HMAC), and the rubric version's id where the export prints its two SHA-256s.
  The raw export and the shell's output are checked to hold the same number of lines and, on a
  sample of lines, the same items, texts, scores and flags.
* Printed per batch: each format's median (and best) and rate, the shell's, the ratio raw /
  sqlite3 against the 1.5x target, and the peak RSS of each format against the 200 MB target;
  the machine's load before and after (the ratio compares runs made side by side, so a busy
  machine shifts it less than the times).

Run from the repo root: `.venv/bin/python -m bench.export_speed [--judgments N] [--quick]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import machine_line, median_and_best
from bench.import_speed import PeakWatcher, cli_environment, make_item

TARGET_RATIO = 1.5
TARGET_RSS_MB = 200
OVERLAP = 3
TRAINERS = 300
TIMEOUT_SECONDS = 3600  # one export; a hang must not run forever
SECRET = "bench-pseudonym-secret-0123456789"
START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)

# The same judgments as `--format raw`, one JSON line each, in the same order. CROSS JOIN fixes
# the plan the export itself follows (items in id order, each one's judgments by key): left to
# choose without statistics (the bot never runs ANALYZE), SQLite walks the assignments and sorts
# the whole result in a temporary B-tree, which is slower, so the reference would flatter us.
# The id range keeps the walk to the batch's own items, not every item of the database.
# Where the export prints keyed pseudonyms and a rubric version's hashes, the shell prints ids
# (SQLite has neither HMAC nor SHA-256).
SQLITE_JSON = """
SELECT json_object(
  'batch', b.name, 'item_id', i.external_id, 'prompt', i.prompt, 'response', i.response,
  'context', json(COALESCE(i.context, '[]')),
  'chat_form', json(CASE WHEN i.chat_form THEN 'true' ELSE 'false' END),
  'metadata', json(i.metadata), 'gold', json(i.gold),
  'trainer', a.trainer_id,
  'scores', (SELECT json_group_object(s.criterion, s.score) FROM scores s
             WHERE s.assignment_id = a.id),
  'flags', (SELECT json_group_array(f.flag) FROM flags f WHERE f.assignment_id = a.id),
  'note', j.note, 'rewrite', j.rewrite,
  'assigned_at', a.assigned_at, 'submitted_at', a.submitted_at,
  'late', json(CASE WHEN a.late THEN 'true' ELSE 'false' END),
  'gold_item', json(CASE WHEN i.complete = 2 THEN 'true' ELSE 'false' END),
  'review_status', CASE WHEN j.rewrite IS NULL THEN NULL
    WHEN r.status IN ('accepted', 'rejected') THEN r.status ELSE 'unreviewed' END,
  'review_reason', r.reason, 'review_comment', r.comment, 'reviewer', r.reviewer_id,
  'rubric_criteria_sha256', a.rubric_version, 'rubric_guidelines_sha256', a.rubric_version)
FROM batches b
CROSS JOIN items i ON +i.batch_id = b.id
  AND i.id BETWEEN (SELECT min(id) FROM items WHERE batch_id = b.id)
  AND (SELECT max(id) FROM items WHERE batch_id = b.id)
CROSS JOIN assignments a ON a.item_id = i.id AND a.status = 'submitted'
LEFT JOIN judgments j ON j.assignment_id = a.id
LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id
WHERE b.name = '{batch}'
ORDER BY i.id, a.id;
"""

_NOTES = (
    "Jawabannya terlalu panjang untuk pertanyaan sesederhana ini.",
    "The answer ignores the second half of the question.",
    "Nada bahasanya kurang ramah.",
    "Cites a regulation that does not exist.",
)
_REWRITES = (
    "Singkatnya, hal ini terjadi karena beberapa faktor. Pertama, periksa kebutuhan Anda. "
    "Kedua, bandingkan pilihan yang ada dengan tenang, lalu tanyakan kepada ahlinya bila ragu.",
    "In short, it depends on a few things. First, check what you actually need. Then compare "
    "the options calmly, and ask a qualified person if anything is unclear. I hope this helps!",
    "Ibu kota Australia adalah Canberra, bukan Sydney. Canberra dipilih sebagai jalan tengah "
    "antara Sydney dan Melbourne yang dulu bersaing menjadi ibu kota.",
)
_FLAGS = ("factual_error", "unsafe", "biased", "personal_data", "other")


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


# -- building the database ----------------------------------------------------------------------


def migrate(database: Path, workdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=workdir,
        env=cli_environment(database),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed: {result.stderr}")


def build_database(database: Path, workdir: Path, batches: dict[str, int], seed: int = 7) -> None:
    """Each batch in `batches` (name -> judgments) with its items, assignments and ratings."""
    from bot.rubric import DEFAULT_RUBRIC

    migrate(database, workdir)
    rng = random.Random(seed)
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    trainer_ids = list(range(100_001, 100_001 + TRAINERS))
    conn.executemany(
        "INSERT INTO trainers (user_id, chat_id, name, language, role, status, created_at)"
        " VALUES (?, ?, ?, ?, 'trainer', 'active', ?)",
        [
            (user_id, user_id, f"Trainer {user_id}", "id" if user_id % 3 else "en", stamp(START))
            for user_id in trainer_ids
        ],
    )
    for batch_name, judgments in batches.items():
        items = -(-judgments // OVERLAP)
        cursor = conn.execute(
            "INSERT INTO batches (name, rubric, overlap, item_count, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (batch_name, DEFAULT_RUBRIC.to_json(), OVERLAP, items, stamp(START)),
        )
        batch_id = cursor.lastrowid
        version = conn.execute(
            "INSERT INTO rubric_versions (batch_id, rubric, created_at) VALUES (?, ?, ?)",
            (batch_id, DEFAULT_RUBRIC.to_json(), stamp(START)),
        ).lastrowid
        conn.execute("UPDATE batches SET rubric_version = ? WHERE id = ?", (version, batch_id))
        first_item = _insert_items(conn, rng, batch_id, items, judgments)
        _insert_reviews(conn, rng, first_item, items, judgments, trainer_ids)
        conn.execute(
            "UPDATE assignments SET rubric_version = ? WHERE rubric_version IS NULL", (version,)
        )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _insert_items(
    conn: sqlite3.Connection, rng: random.Random, batch_id: int, items: int, judgments: int
) -> int:
    """The batch's items (each reviewed OVERLAP times, the last one maybe fewer); first id."""
    first = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]) + 1
    rows = []
    for index in range(items):
        item = make_item(rng, index + 1)
        if "messages" in item:
            turns = item["messages"]
            prompt, response = turns[-2]["content"], turns[-1]["content"]
            context, chat_form = json.dumps(turns[:-2], ensure_ascii=False), 1
        else:
            prompt, response, context, chat_form = item["prompt"], item["response"], None, 0
        reviews = min(OVERLAP, judgments - index * OVERLAP)
        gold = item.get("gold")
        rows.append(
            (
                first + index,
                batch_id,
                item["id"],
                prompt,
                response,
                context,
                chat_form,
                json.dumps(item["metadata"], ensure_ascii=False),
                json.dumps(gold) if gold else None,
                reviews,
                int(reviews >= OVERLAP),
            )
        )
        if len(rows) >= 20_000:
            _insert_item_rows(conn, rows)
            rows.clear()
    _insert_item_rows(conn, rows)
    return first


def _insert_item_rows(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO items (id, batch_id, external_id, prompt, response, context, chat_form,"
        " metadata, gold, done_count, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _insert_reviews(
    conn: sqlite3.Connection,
    rng: random.Random,
    first_item: int,
    items: int,
    judgments: int,
    trainer_ids: list[int],
) -> None:
    """One submitted assignment per judgment, in time order: an item's reviews come a while
    apart (a window of ~2,000 items), as trainers work through the queue side by side."""
    keys = [
        (index + rng.uniform(0, 2_000), first_item + index)
        for index in range(items)
        for _ in range(min(OVERLAP, judgments - index * OVERLAP))
    ]
    keys.sort()
    used: dict[int, set[int]] = {}
    next_id = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM assignments").fetchone()[0]) + 1
    assignments, texts, scores, flags, reviews = [], [], [], [], []
    for order, (_, item_id) in enumerate(keys):
        assignment_id = next_id + order
        taken = used.setdefault(item_id, set())
        trainer = rng.choice(trainer_ids)
        while trainer in taken:
            trainer = rng.choice(trainer_ids)
        taken.add(trainer)
        if len(taken) >= OVERLAP:
            del used[item_id]
        assigned = START + timedelta(seconds=order * 2)
        submitted = assigned + timedelta(seconds=rng.randint(30, 600))
        late = int(rng.random() < 0.01)
        assignments.append(
            (
                assignment_id,
                item_id,
                trainer,
                stamp(assigned),
                stamp(assigned + timedelta(minutes=30)),
                stamp(submitted),
                late,
            )
        )
        note = rng.choice(_NOTES) if rng.random() < 0.1 else None
        rewrite = rng.choice(_REWRITES) if rng.random() < 0.3 else None
        texts.append((assignment_id, note, rewrite, stamp(submitted)))
        decision = rng.random()
        if rewrite is not None and decision < 0.8:
            rejected = decision >= 0.7
            reviews.append(
                (
                    assignment_id,
                    "rejected" if rejected else "accepted",
                    rng.choice(trainer_ids),
                    stamp(submitted),
                    "factually_wrong" if rejected else None,
                    "Coba cek lagi angka di paragraf kedua." if rejected else None,
                )
            )
        for criterion in ("accuracy", "language", "safety", "helpfulness"):
            scores.append((assignment_id, criterion, rng.randint(1, 5), stamp(submitted)))
        if rng.random() < 0.15:
            for flag in rng.sample(_FLAGS, rng.choice((1, 1, 1, 2))):
                flags.append((assignment_id, flag))
        if len(assignments) >= 20_000:
            _insert_review_rows(conn, assignments, texts, scores, flags, reviews)
    _insert_review_rows(conn, assignments, texts, scores, flags, reviews)


def _insert_review_rows(
    conn: sqlite3.Connection,
    assignments: list,
    texts: list,
    scores: list,
    flags: list,
    reviews: list,
) -> None:
    conn.executemany(
        "INSERT INTO assignments (id, item_id, trainer_id, status, assigned_at, lease_expires_at,"
        " submitted_at, late, criterion) VALUES (?, ?, ?, 'submitted', ?, ?, ?, ?, 4)",
        assignments,
    )
    conn.executemany(
        "INSERT INTO judgments (assignment_id, note, rewrite, updated_at) VALUES (?, ?, ?, ?)",
        texts,
    )
    conn.executemany(
        "INSERT INTO scores (assignment_id, criterion, score, updated_at) VALUES (?, ?, ?, ?)",
        scores,
    )
    conn.executemany("INSERT INTO flags (assignment_id, flag) VALUES (?, ?)", flags)
    conn.executemany(
        "INSERT INTO rewrite_reviews (assignment_id, status, reviewer_id, opened_at,"
        " locked_until, reason, comment, decided_at) VALUES (?, ?, ?, ?4, ?4, ?, ?, ?4)",
        reviews,
    )
    for rows in (assignments, texts, scores, flags, reviews):
        rows.clear()


# -- the two exporters ------------------------------------------------------------------------


@dataclass
class Measured:
    seconds: float
    peak_rss_kib: int


def run_watched(command: list[str], workdir: Path, env: dict[str, str], stdout: Path) -> Measured:
    """Run `command` with stdout to a file: its wall time and its own peak RSS (VmHWM)."""
    with stdout.open("wb") as out, tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=out, stderr=errors, stdin=subprocess.DEVNULL
        )
        watcher = PeakWatcher(process.pid)
        watcher.start()
        try:
            process.wait(timeout=TIMEOUT_SECONDS)
        finally:
            seconds = time.perf_counter() - started
            peak = watcher.finish()
            if process.returncode is None:
                process.kill()
                process.wait()
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read()[-2000:].decode("utf-8", "replace")
            raise RuntimeError(f"{command[:4]} failed ({process.returncode}): {tail}")
    return Measured(seconds, peak)


FORMATS = ("raw", "sft", "dpo", "ratings")


def export_command(batch: str, fmt: str, output: Path) -> list[str]:
    command = [sys.executable, "-m", "bot", "export", "--batch", batch, "--format", fmt]
    return [*command, "-o", str(output)]


def export_environment(database: Path) -> dict[str, str]:
    env = cli_environment(database)
    env["PSEUDONYM_SECRET"] = SECRET
    return env


def run_sqlite(database: Path, batch: str, output: Path, workdir: Path) -> tuple[Measured, str]:
    """The sqlite3 shell printing the rows as JSON; Python's sqlite3 module if it is missing."""
    sql = SQLITE_JSON.format(batch=batch.replace("'", "''"))
    shell = shutil.which("sqlite3")
    if shell is not None:
        command = [shell, "-readonly", "-batch", "-noheader", "-list", str(database), sql]
        return run_watched(command, workdir, dict(os.environ), output), f"sqlite3 shell {shell}"
    script = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True)\n"
        "with open(sys.argv[2], 'w', encoding='utf-8') as out:\n"
        "    for (line,) in conn.execute(sys.argv[3]):\n"
        "        out.write(line + '\\n')\n"
    )
    command = [sys.executable, "-c", script, str(database), str(output), sql]
    measured = run_watched(command, workdir, dict(os.environ), workdir / "sqlite.stdout")
    return measured, "no sqlite3 shell: Python's sqlite3 module running the same SQL"


# -- checking the outputs agree ---------------------------------------------------------------


def check_same_rows(export: Path, reference: Path, sample_every: int) -> int:
    """Same line count, and the same judgment on sampled lines; returns the line count."""
    count = 0
    with export.open(encoding="utf-8") as ours, reference.open(encoding="utf-8") as theirs:
        for count, (line, other) in enumerate(zip(ours, theirs, strict=True), start=1):
            if count % sample_every and count != 1:
                continue
            a, b = json.loads(line), json.loads(other)
            for key in ("batch", "item_id", "prompt", "response", "context", "chat_form", "late"):
                assert a[key] == b[key], (count, key)
            for key in ("metadata", "gold", "note", "rewrite", "assigned_at", "submitted_at"):
                assert a[key] == b[key], (count, key)
            for key in ("gold_item", "review_status", "review_reason", "review_comment"):
                assert a[key] == b[key], (count, key)
            assert (a["reviewer"] is None) == (b["reviewer"] is None), (count, "reviewer")
            assert a["scores"] == b["scores"], (count, "scores")
            assert sorted(a["flags"]) == sorted(b["flags"]), (count, "flags")
    return count


def warm(path: Path) -> None:
    """Read the database once so both exporters start from a warm page cache."""
    digest = hashlib.blake2b(digest_size=8)
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block[:64])


# -- report -------------------------------------------------------------------------------------


def mb(kib: float) -> str:
    return f"{kib * 1024 / 1e6:.0f} MB"


def load_line() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class BatchFigures:
    judgments: int
    runs: dict[str, list[Measured]]  # format (or "sqlite3") -> its runs
    sizes: dict[str, int]  # format (or "sqlite3") -> bytes of output

    def median(self, name: str) -> float:
        return statistics.median([m.seconds for m in self.runs[name]])

    def peak(self, name: str) -> int:
        return max(m.peak_rss_kib for m in self.runs[name])


def measure_batch(
    database: Path, folder: Path, batch: str, judgments: int, repeat: int
) -> BatchFigures:
    """Every format and the shell, `repeat` rounds, alternating; the raw export checked."""
    env = export_environment(database)
    outputs = {fmt: folder / f"{batch}.{fmt}" for fmt in FORMATS}
    reference = folder / f"{batch}.sqlite3.jsonl"
    runs: dict[str, list[Measured]] = {name: [] for name in (*FORMATS, "sqlite3")}
    how = ""
    for _ in range(repeat):
        for fmt in FORMATS:
            # Each run writes a new file: replacing or truncating last round's (1 GB at 1M)
            # makes ext4 flush or free it inside the timed run (auto_da_alloc).
            outputs[fmt].unlink(missing_ok=True)
            command = export_command(batch, fmt, outputs[fmt])
            runs[fmt].append(run_watched(command, folder, env, folder / "stdout"))
            if fmt == "raw":
                reference.unlink(missing_ok=True)
                measured, how = run_sqlite(database, batch, reference, folder)
                runs["sqlite3"].append(measured)
    lines = check_same_rows(outputs["raw"], reference, sample_every=max(1, judgments // 2000))
    if lines != judgments:
        raise RuntimeError(f"the raw export of {batch} has {lines:,} lines, not {judgments:,}")
    sizes = {fmt: path.stat().st_size for fmt, path in outputs.items()}
    sizes["sqlite3"] = reference.stat().st_size
    print(f"reference: {how}")
    print(
        f"outputs: {lines:,} lines each, the same judgments on a sample of lines; "
        f"export {sizes['raw'] / 1e6:.0f} MB, sqlite3 {sizes['sqlite3'] / 1e6:.0f} MB"
    )
    for path in (*outputs.values(), reference):
        path.unlink()
    return BatchFigures(judgments, runs, sizes)


def report(figures: BatchFigures) -> None:
    n = figures.judgments
    for fmt in FORMATS:
        seconds = [m.seconds for m in figures.runs[fmt]]
        rate = n / figures.median(fmt)
        print(
            f"export {fmt} ({n:,} judgments): {median_and_best(seconds)} "
            f"({rate:,.0f} judgments/s, {figures.sizes[fmt] / 1e6:.0f} MB), "
            f"peak RSS {mb(figures.peak(fmt))}"
        )
    shell = [m.seconds for m in figures.runs["sqlite3"]]
    print(
        f"sqlite3 JSON ({n:,} rows): {median_and_best(shell)}"
        f" ({n / figures.median('sqlite3'):,.0f} rows/s), peak RSS {mb(figures.peak('sqlite3'))}"
    )
    ratio = figures.median("raw") / figures.median("sqlite3")
    runs = zip(figures.runs["raw"], figures.runs["sqlite3"], strict=True)
    pairs = [export.seconds / shell.seconds for export, shell in runs]
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(
        f"ratio export / sqlite3 ({n:,}): {ratio:.2f}x (run by run: "
        f"{', '.join(f'{r:.2f}' for r in pairs)}); target <= {TARGET_RATIO}x: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judgments", type=int, help="judgments in the batch (default 1,000,000)")
    parser.add_argument("--repeat", type=int, help="rounds of every exporter (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 judgments, once")
    parser.add_argument("--keep", type=Path, help="build the database here and keep it")
    args = parser.parse_args(argv)
    judgments = args.judgments or (20_000 if args.quick else 1_000_000)
    tenth = max(OVERLAP, judgments // 10)
    repeat = max(1, args.repeat or (1 if args.quick else 3))

    print("bench.export_speed: python -m bot export (every format) vs sqlite3 printing JSON")
    print(machine_line())
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nilai-bench-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        database = folder / "nilai.db"
        if not database.exists():
            started = time.perf_counter()
            build_database(database, folder, {"bench": judgments, "bench-tenth": tenth})
            print(
                f"database: {judgments:,} + {tenth:,} submitted judgments "
                f"({database.stat().st_size / 1e6:.0f} MB), built in "
                f"{time.perf_counter() - started:.1f} s"
            )
        else:  # a kept database: bring its schema up to date (new indexes)
            migrate(database, folder)
        warm(database)
        results = {}
        for batch, count in (("bench-tenth", tenth), ("bench", judgments)):
            print(f"-- batch {batch!r}: {count:,} judgments ({load_line()})")
            results[batch] = measure_batch(database, folder, batch, count, repeat)
            report(results[batch])
        full, small = results["bench"], results["bench-tenth"]
        peak = max(full.peak(fmt) for fmt in FORMATS)
        peak_small = max(small.peak(fmt) for fmt in FORMATS)
        verdict = "meets" if peak * 1024 <= TARGET_RSS_MB * 1e6 else "misses"
        print(
            f"export peak RSS: {mb(peak)} for {judgments:,} judgments, {mb(peak_small)} for "
            f"{tenth:,} (the largest of any format); target < {TARGET_RSS_MB} MB: {verdict}"
        )
        ratio = full.median("raw") / full.median("sqlite3")
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        print(
            f"RESULT raw {full.median('raw'):.2f} s vs sqlite3 {full.median('sqlite3'):.2f} s "
            f"for {judgments:,} judgments: ratio export / sqlite3: {ratio:.2f}x; "
            f"target <= {TARGET_RATIO}x: {verdict} ({load_line()} at the end)"
        )
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
