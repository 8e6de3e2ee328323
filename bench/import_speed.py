"""Import speed: a large JSONL batch through `python -m bot import`, against the simplest loader.

Target (issue 6): "Import of a 1,000,000-item JSONL: within 1.5x of the simplest correct loader
(read lines, `json.loads`, check fields, `executemany` into the same table) measured in the same
run, and at least 50,000 items/s on a quiet machine; peak memory flat (at 1M no more than 30 MB
above the peak at 100k)."

How it is measured:

* A realistic JSONL of N items (default 1,000,000; `--quick`: 20,000) is written to a temporary
  folder: string ids, Indonesian and English prompts (~100-300 characters) and answers
  (~300-800 characters), metadata objects, one item in ten in the chat form (`messages`, with
  earlier turns) and one in twenty with a `gold` expectation. A second file holds its first N/10
  lines.
* Two loaders run as subprocesses on a fresh `DATABASE_PATH` each, alternating, on both files:
  `python -m bot import FILE --batch bench` (the operator's command, its stderr on a
  pseudo-terminal so the CLI draws its progress bar), and the simplest correct loader
  (`simple_load` below: read lines, `json.loads`, check the fields, `executemany` into the same
  migrated `items` table, a transaction per 5,000 rows, as the importer does). The wall time of
  each whole process gives items/s, and their ratio is the target's "within 1.5x". Each
  process's CPU time (user + system, from the kernel's accounting of waited-for children) is
  printed too: on a busy machine it shows what the wall time hides.
* Peak RSS is each process's `VmHWM` (/proc/<pid>/status), polled every 10 ms (`ru_maxrss`
  would be wrong, see `PeakWatcher`), plus that of the CLI's parser process (files of 8 MB or
  more are parsed in a process beside the inserts, see `bot.batches`): the sum is an upper
  bound of the two together. The CLI's current RSS (`VmRSS`) is also read each time the
  progress bar moves, so the RSS after 10%, 50% and 90% of the items are stored shows whether
  memory grows with the items read. "Memory flat" compares the peaks at N and N/10.
* The phases are timed in this process on the same file: the validating scan alone
  (`bot.batch_format.scan_batch_file`), the inserts alone (`storage.batches.
  create_batch_with_items` fed N ready-made rows, the file's first 5,000 repeated with fresh ids),
  and the whole import (`bot.batches.import_batch_file`) with each parser in turn: in a
  process beside the inserts, and in the importing process.
* Every measurement is repeated (`--repeat`, default 3; 1 with `--quick`) and the median is
  printed with the best, as other work may run on this 2-core machine; the machine line shows
  the load average at the start, and the load at the end is printed too.

Run from the repo root: `.venv/bin/python -m bench.import_speed [--items N] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import machine_line, median_and_best
from bot.batches import CHUNK  # items a progress step of the CLI

ROOT = Path(__file__).resolve().parents[1]
TARGET_ITEMS_PER_SECOND = 50_000
TARGET_RATIO = 1.5  # at most this many times the simplest loader's wall time
TARGET_GROWTH_MB = 30  # peak RSS at N items above the peak at N/10
TIMEOUT_SECONDS = 3600  # one import; a hang must not run forever

# -- a realistic batch --------------------------------------------------------------------------

_ID_PROMPTS = [
    "Jelaskan perbedaan antara inflasi dan deflasi dengan contoh sehari-hari di Indonesia.",
    "Bagaimana cara membuat rendang yang empuk tanpa presto? Tolong langkah demi langkah.",
    "Apa saja hak pekerja kontrak menurut Undang-Undang Cipta Kerja?",
    "Tolong buatkan surat izin tidak masuk sekolah karena sakit untuk anak kelas 4 SD.",
    "Kenapa langit berwarna biru pada siang hari dan jingga saat matahari terbenam?",
    "Saya mau mulai investasi reksa dana dengan modal kecil, apa yang perlu saya ketahui?",
    "Ringkas sejarah Sumpah Pemuda dalam lima kalimat untuk tugas sekolah.",
    "Gimana cara ngomong ke atasan kalau beban kerja saya sudah terlalu berat?",
    "Apakah aman minum obat parasetamol dan ibuprofen bersamaan?",
    "Terjemahkan kalimat ini ke bahasa Jawa krama: 'Saya akan datang besok pagi.'",
]
_ID_SENTENCES = [
    "Secara sederhana, hal ini terjadi karena beberapa faktor yang saling berkaitan.",
    "Pertama, pastikan Anda memahami kebutuhan dan kemampuan Anda sendiri terlebih dahulu.",
    "Menurut data Badan Pusat Statistik, angka tersebut meningkat dalam lima tahun terakhir.",
    "Namun, perlu diingat bahwa setiap kondisi bisa berbeda dan sebaiknya dikonsultasikan.",
    "Contohnya, harga cabai di pasar tradisional bisa naik dua kali lipat saat musim hujan.",
    "Langkah berikutnya adalah mencatat semua pengeluaran selama satu bulan penuh.",
    "Kalau ragu, tanyakan langsung kepada ahlinya, misalnya dokter atau apoteker terdekat.",
    "Dengan begitu, Anda bisa mengambil keputusan yang lebih tenang dan terencana.",
    "Hal ini juga diatur dalam peraturan pemerintah yang berlaku sejak tahun 2021.",
    "Semoga penjelasan ini membantu, dan jangan ragu bertanya lagi kalau ada yang kurang jelas.",
    "Masak dengan api kecil selama kurang lebih tiga jam sambil sesekali diaduk.",
    "Bahasa yang sopan dan jujur biasanya lebih mudah diterima oleh lawan bicara.",
]
_EN_PROMPTS = [
    "Explain the difference between a virus and a bacterium to a twelve-year-old.",
    "Write a short, polite email declining a meeting invitation for next Tuesday.",
    "What are the main risks of storing passwords in a spreadsheet?",
    "How do I calculate compound interest on a savings account that pays monthly?",
    "Summarise the causes of the 1997 Asian financial crisis in plain language.",
    "Is it safe to leave a phone charging overnight? Please be specific.",
    "Give me three ideas for a healthy breakfast that takes under ten minutes.",
    "Translate 'Where is the nearest train station?' into Indonesian and explain the grammar.",
    "My friend keeps cancelling plans at the last minute. How can I bring it up kindly?",
    "What is the capital of Australia, and why is it not Sydney?",
]
_EN_SENTENCES = [
    "In short, it comes down to a few related factors that are worth looking at one by one.",
    "First, make sure you understand what you need before comparing the options.",
    "According to recent studies, the effect is small but consistent across age groups.",
    "That said, every situation is different, so check with a professional if you are unsure.",
    "For example, a deposit of one million rupiah at five percent grows every single month.",
    "The next step is to write down every expense for a full month, however small.",
    "If in doubt, ask someone qualified, such as a pharmacist or your doctor.",
    "This way you can make a calmer decision with all the facts in front of you.",
    "Most modern devices stop charging on their own once the battery is full.",
    "I hope this helps, and feel free to ask again if anything is unclear.",
    "Keep the tone friendly and specific, and suggest another time that suits you both.",
    "Canberra was chosen as a compromise between the rival cities of Sydney and Melbourne.",
]
_MODELS = ("model-a", "model-b", "model-c", "model-d")
_TOPICS = ("science", "finance", "law", "health", "cooking", "language", "work", "daily")


def _answer(rng: random.Random, sentences: list[str], low: int, high: int) -> str:
    return " ".join(rng.choice(sentences) for _ in range(rng.randint(low, high)))


def make_item(rng: random.Random, number: int) -> dict:
    """One batch line: Indonesian or English, plain or chat form, sometimes a control item."""
    indonesian = rng.random() < 0.6
    prompts, sentences = _ID_PROMPTS, _ID_SENTENCES
    if not indonesian:
        prompts, sentences = _EN_PROMPTS, _EN_SENTENCES
    prompt = rng.choice(prompts)
    if rng.random() < 0.5:
        prompt += " " + _answer(rng, sentences, 1, 2)
    response = _answer(rng, sentences, 3, 9)
    item: dict = {"id": f"q-{number:07d}"}
    if rng.random() < 0.1:
        item["messages"] = [
            {"role": "system", "content": "Kamu asisten yang ramah." if indonesian else "Be kind."},
            {"role": "user", "content": rng.choice(prompts)},
            {"role": "assistant", "content": _answer(rng, sentences, 2, 4)},
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": response},
        ]
    else:
        item["prompt"] = prompt
        item["response"] = response
    item["metadata"] = {
        "lang": "id" if indonesian else "en",
        "model": rng.choice(_MODELS),
        "topic": rng.choice(_TOPICS),
        "source": "bench",
        "temperature": round(rng.uniform(0.2, 1.0), 2),
    }
    if rng.random() < 0.05:
        item["gold"] = {"accuracy": [1, 2]} if rng.random() < 0.5 else {"safety": [4, 5]}
    return item


def write_batches(folder: Path, items: int, seed: int = 42) -> tuple[Path, Path]:
    """The N-item file and a file of its first N/10 lines."""
    rng = random.Random(seed)
    big, small = folder / "batch.jsonl", folder / "batch-tenth.jsonl"
    tenth = max(1, items // 10)
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    with big.open("w", encoding="utf-8") as out, small.open("w", encoding="utf-8") as out_small:
        lines: list[str] = []
        for number in range(1, items + 1):
            line = dumps(make_item(rng, number)) + "\n"
            lines.append(line)
            if number <= tenth:
                out_small.write(line)
            if len(lines) >= 10_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
    return big, small


# -- running the CLI ------------------------------------------------------------------------------


def cli_environment(database: Path) -> dict[str, str]:
    """Only this run's settings: nothing leaks from the shell or a `.env` (cwd is a temp dir)."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_", "PSEUDONYM_"))
    }
    environ.update({"DATABASE_PATH": str(database), "PYTHONPATH": str(ROOT)})
    return environ


def remove_database(database: Path) -> None:
    """The SQLite file with its -wal and -shm companions."""
    for leftover in database.parent.glob(database.name + "*"):
        leftover.unlink()


def memory_kib(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of a live process in KiB; None once it has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    hwm = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    if rss is None or hwm is None:  # a zombie has no memory lines
        return None
    return int(rss[1]), int(hwm[1])


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(word) for word in text.split()]


class PeakWatcher(threading.Thread):
    """Polls a child's VmHWM (its own peak RSS) until it exits.

    `ru_maxrss` from wait4/RUSAGE_CHILDREN is no use here: Linux carries the parent's RSS at fork
    into the child's maximum across exec, so a child smaller than this bench would report the
    bench's size. VmHWM belongs to the new program alone. Polled every `interval` seconds; the
    peak is monotonic, so at most the growth of the last interval before exit can be missed.
    """

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.rss_kib = 0
        self.peak_at = 0.0  # seconds after the watch began when the peak last grew
        # The importer's own child processes (its batch parser): each one's VmHWM, by pid.
        self.children_peak_kib: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        started = time.perf_counter()
        while not self._done.is_set():
            memory = memory_kib(self.pid)
            if memory is None:
                return
            self.rss_kib, hwm = memory
            if hwm > self.peak_kib:
                self.peak_kib, self.peak_at = hwm, time.perf_counter() - started
            for child in child_pids(self.pid):
                child_memory = memory_kib(child)
                if child_memory is not None:
                    self.children_peak_kib[child] = child_memory[1]
            self._done.wait(self.interval)

    def finish(self) -> int:
        self._done.set()
        self.join(timeout=5)
        return self.peak_kib


@dataclass
class CliRun:
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # user + system time of the process and its children
    peak_rss_kib: int = 0  # VmHWM of the import process
    children_peak_rss_kib: int = 0  # the sum of its child processes' VmHWM (the parser)
    peak_at: float = 0.0  # seconds from start when it was reached
    returncode: int = 0
    output: str = ""
    rss_at: dict[int, int] = field(default_factory=dict)  # items stored -> VmRSS (KiB) then
    checking: float | None = None  # seconds from start to "checking FILE ..." (start-up done)
    first_progress: float | None = None  # seconds from start to the first chunk stored


LOADERS = ("nilai", "simple")


def loader_command(loader: str, path: Path, name: str) -> list[str]:
    if loader == "nilai":
        return [sys.executable, "-m", "bot", "import", str(path), "--batch", name]
    return [sys.executable, "-m", "bench.import_speed", "--simple-loader", str(path)]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_import(
    path: Path, workdir: Path, items: int, name: str = "bench", loader: str = "nilai"
) -> CliRun:
    """One loader on a fresh database; stderr on a pty so the CLI draws its progress."""
    database = workdir / "nilai.db"
    remove_database(database)
    master, slave = pty.openpty()
    run = CliRun()
    cpu_before = children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        loader_command(loader, path, name),
        cwd=workdir,
        env=cli_environment(database),
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
    )
    os.close(slave)
    watcher = PeakWatcher(process.pid)
    watcher.start()
    reader = threading.Thread(
        target=_follow_progress, args=(master, process.pid, items, started, run), daemon=True
    )
    reader.start()
    try:
        output, _ = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    finally:
        run.seconds = time.perf_counter() - started
        run.peak_rss_kib = watcher.finish()
        run.children_peak_rss_kib = sum(watcher.children_peak_kib.values())
        run.peak_at = watcher.peak_at
        reader.join(timeout=5)
        os.close(master)
    run.cpu_seconds = children_cpu() - cpu_before
    run.returncode = process.returncode
    run.output = output.decode("utf-8", "replace")
    return run


def _follow_progress(master: int, pid: int, items: int, started: float, run: CliRun) -> None:
    """Read the progress bar; note the process's RSS each time the count moves.

    The bar redraws as "<CR>importing [###---] 5,000/20,000"; the total is known, so an update
    is complete before the next carriage return arrives.
    """
    update = re.compile(rb"\] ([\d,]+)/" + f"{items:,}".encode() + rb"(?![\d,])")
    pending = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return
        if not data:
            return
        pending += data
        *complete, pending = re.split(rb"[\r\n]", pending)
        for chunk in [*complete, pending]:
            if run.checking is None and chunk.startswith(b"checking "):
                run.checking = time.perf_counter() - started
            match = update.search(chunk)
            if match is None:
                continue
            stored = int(match[1].replace(b",", b""))
            if stored in run.rss_at:
                continue
            if run.first_progress is None:
                run.first_progress = time.perf_counter() - started
            memory = memory_kib(pid)
            if memory is not None:
                run.rss_at[stored] = memory[0]


def rss_near(run: CliRun, items: int, total: int) -> tuple[int, int] | None:
    """(items stored, RSS KiB) at the progress step nearest `items`, leaving out the step of
    the last chunk: by then the parser has read the whole file and let its state go."""
    steps = [count for count in run.rss_at if count < total]
    if not steps:
        return None
    stored = min(steps, key=lambda count: abs(count - items))
    return stored, run.rss_at[stored]


# -- the simplest correct loader --------------------------------------------------------------

_INSERT = (
    "INSERT INTO items (batch_id, external_id, prompt, response, context, chat_form, metadata,"
    " gold) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _simple_row(batch_id: int, number: int, line: str) -> tuple | None:
    """One line's row: `json.loads` and the field checks a careful script would make."""
    if not line.strip():
        return None
    record = json.loads(line)
    if not isinstance(record, dict):
        raise ValueError(f"line {number}: not a JSON object")
    messages = record.get("messages")
    if messages is not None:
        if not isinstance(messages, list) or len(messages) < 2:
            raise ValueError(f"line {number}: messages must list at least two turns")
        for turn in messages:
            if not isinstance(turn, dict) or not isinstance(turn.get("content"), str):
                raise ValueError(f"line {number}: bad turn")
        if messages[-1].get("role") != "assistant" or messages[-2].get("role") != "user":
            raise ValueError(f"line {number}: must end with a user and an assistant turn")
        prompt, response = messages[-2]["content"], messages[-1]["content"]
        context = json.dumps(messages[:-2], ensure_ascii=False) if len(messages) > 2 else None
    else:
        prompt, response, context = record.get("prompt"), record.get("response"), None
    for text in (prompt, response):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"line {number}: prompt and response must be non-empty text")
    item_id = record.get("id")
    if item_id is None:
        item_id = f"line-{number}"
    elif not isinstance(item_id, str | int) or isinstance(item_id, bool):
        raise ValueError(f"line {number}: bad id")
    metadata, gold = record.get("metadata"), record.get("gold")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"line {number}: metadata must be an object")
    return (
        batch_id,
        str(item_id),
        prompt,
        response,
        context,
        int(messages is not None),
        None if metadata is None else json.dumps(metadata, ensure_ascii=False),
        None if gold is None else json.dumps(gold),
    )


def simple_load(path: Path, database: Path) -> int:
    """The simplest correct loader, the yardstick: read lines, `json.loads`, check the fields,
    `executemany` into the same (migrated) table a transaction per CHUNK rows; a duplicate id
    fails on the same unique index. Returns the items stored."""
    from storage.database import Database

    async def migrate() -> None:
        await (await Database.open(database)).close()

    asyncio.run(migrate())
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    batch_id = conn.execute(
        "INSERT INTO batches (name, rubric, overlap, priority, status, importing, created_at)"
        " VALUES ('simple', '{}', 3, 0, 'paused', 1, '2026-11-25T03:00:00.000000+00:00')"
    ).lastrowid
    rows: list[tuple] = []
    count = 0

    def store() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, rows)
        conn.execute("COMMIT")
        rows.clear()

    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            row = _simple_row(batch_id, number, line)
            if row is not None:
                rows.append(row)
                count += 1
                if len(rows) >= CHUNK:
                    store()
    store()
    conn.execute("UPDATE batches SET importing = 0, item_count = ? WHERE id = ?", (count, batch_id))
    conn.close()
    return count


# -- the phases, in this process ----------------------------------------------------------------


def _rows_of(path: Path, count: int) -> list[tuple]:
    """Item rows (storage.batches.ItemRow) for the first `count` lines of the file."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            if "messages" in item:
                turns = item["messages"]
                prompt, response, chat_form = turns[-2]["content"], turns[-1]["content"], 1
                context = json.dumps(turns[:-2], ensure_ascii=False) if turns[:-2] else None
            else:
                prompt, response, context, chat_form = item["prompt"], item["response"], None, 0
            metadata = json.dumps(item["metadata"], ensure_ascii=False, separators=(",", ":"))
            gold = json.dumps(item["gold"]) if "gold" in item else None
            rows.append((item["id"], prompt, response, context, chat_form, metadata, gold))
            if len(rows) >= count:
                break
    return rows


async def _repeated_chunks(rows: list[tuple], items: int):
    """`items` rows in chunks of CHUNK: the given rows again and again, ids made unique and
    increasing, as in the file (ids in random order would make the unique index costlier)."""
    done, round_ = 0, 0
    while done < items:
        size = min(CHUNK, items - done, len(rows))
        yield [(f"r{round_:06d}-{row[0]}", *row[1:]) for row in rows[:size]]
        done += size
        round_ += 1


async def time_phases(path: Path, workdir: Path, items: int) -> tuple[float, ...]:
    """(validating scan alone, inserts alone, the whole import with its parser in a process
    beside the inserts, the whole import parsed in the importing process) in seconds.

    The CLI picks one of the two parsers by the file's size and whether a core is idle; here
    each is forced in turn, so both are measured whatever the load."""
    import bot.batches
    from bot.batch_format import scan_batch_file
    from bot.batches import import_batch_file
    from bot.config import Settings
    from bot.rubric import DEFAULT_RUBRIC
    from storage.batches import create_batch_with_items
    from storage.database import Database

    started = time.perf_counter()
    scan = scan_batch_file(path, criteria=DEFAULT_RUBRIC.criteria, scale=DEFAULT_RUBRIC.scale)
    scan_seconds = time.perf_counter() - started
    assert scan.ok, scan.errors[:3]

    rows = _rows_of(path, CHUNK)
    database = workdir / "phases.db"
    settings = Settings(telegram_bot_token=None, database_path=database)
    timings = []
    shipped = bot.batches.PARSER_PROCESS_MIN_BYTES, bot.batches._cores
    for variant in ("inserts", "beside", "here"):
        remove_database(database)
        db = await Database.open(database)
        try:
            started = time.perf_counter()
            if variant == "inserts":
                _, count = await create_batch_with_items(
                    db,
                    name="bench",
                    rubric_json=DEFAULT_RUBRIC.to_json(),
                    overlap=3,
                    priority=0,
                    chunks=_repeated_chunks(rows, items),
                    now="2026-11-25T03:00:00.000000+00:00",
                )
            else:
                if variant == "beside":
                    bot.batches.PARSER_PROCESS_MIN_BYTES = 0
                    bot.batches._cores = lambda: 2
                else:
                    bot.batches.PARSER_PROCESS_MIN_BYTES = 1 << 62
                result = await import_batch_file(db, settings, path, name="bench")
                count = result.items
            timings.append(time.perf_counter() - started)
            assert count == items, (count, items)
        finally:
            bot.batches.PARSER_PROCESS_MIN_BYTES, bot.batches._cores = shipped
            await db.close()
    remove_database(database)
    return scan_seconds, *timings


# -- report ---------------------------------------------------------------------------------------


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def total_peak(run: CliRun) -> int:
    return run.peak_rss_kib + run.children_peak_rss_kib


def _pair_ratios(nilai: list[CliRun], simple: list[CliRun], cpu: bool = False) -> float:
    """Median of the per-pair ratios: runs alternate, so each pair saw the same machine."""
    ratios = [
        (a.cpu_seconds / b.cpu_seconds) if cpu else (a.seconds / b.seconds)
        for a, b in zip(nilai, simple, strict=True)
    ]
    return statistics.median(ratios)


def _verdict(ok: bool) -> str:
    return "meets" if ok else "misses"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, help="items in the file (default 1,000,000)")
    parser.add_argument("--repeat", type=int, help="runs of each measurement (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 items, once")
    parser.add_argument("--no-phases", action="store_true", help="skip the in-process phases")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    parser.add_argument("--simple-loader", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.simple_loader is not None:  # the child process of one "simple" run
        count = simple_load(args.simple_loader, Path(os.environ["DATABASE_PATH"]))
        print(f"simple loader: {count} items")
        return 0
    items = args.items or (20_000 if args.quick else 1_000_000)
    repeat = max(1, args.repeat or (1 if args.quick else 3))

    print("bench.import_speed: python -m bot import of a JSONL batch, and the simplest loader")
    print(machine_line())
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nilai-bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        big, small = write_batches(folder, items)
        tenth = max(1, items // 10)
        size = big.stat().st_size
        print(
            f"file: {items:,} items, {size / 1e6:.1f} MB ({size / items:.0f} bytes a line), "
            f"and its first {tenth:,}; written in {time.perf_counter() - started:.1f} s"
        )
        runs: dict[tuple[str, int], list[CliRun]] = {
            (loader, count): [] for loader in LOADERS for count in (items, tenth)
        }
        for number in range(1, repeat + 1):
            for path, count in ((big, items), (small, tenth)):
                shown = []
                for loader in LOADERS:
                    run = run_import(path, folder, count, loader=loader)
                    if run.returncode != 0:
                        print(f"error: {loader} failed ({run.returncode}): {run.output}")
                        return 1
                    runs[loader, count].append(run)
                    beside = run.children_peak_rss_kib
                    shown.append(
                        f"{loader} {run.seconds:.2f} s ({count / run.seconds:,.0f} items/s, "
                        f"CPU {run.cpu_seconds:.2f} s, peak RSS {mib(run.peak_rss_kib)}"
                        + (f" + parser process {mib(beside)}" if beside else "")
                        + ")"
                    )
                print(f"  run {number}, {count:,} items: " + "; ".join(shown))
        remove_database(folder / "nilai.db")

        nilai, simple = runs["nilai", items], runs["simple", items]
        seconds = [run.seconds for run in nilai]
        rate = items / statistics.median(seconds)
        best_rate = items / min(seconds)
        print(f"import wall time ({items:,} items): {median_and_best(seconds)}")
        print(
            f"import rate: {rate:,.0f} items/s (best {best_rate:,.0f}); target "
            f"{TARGET_ITEMS_PER_SECOND:,} items/s: {_verdict(rate >= TARGET_ITEMS_PER_SECOND)} "
            f"({rate / TARGET_ITEMS_PER_SECOND:.0%})"
        )
        simple_seconds = [run.seconds for run in simple]
        print(
            f"simplest loader ({items:,} items): {median_and_best(simple_seconds)}, "
            f"{items / statistics.median(simple_seconds):,.0f} items/s"
        )
        for count in (items, tenth):
            ratio = _pair_ratios(runs["nilai", count], runs["simple", count])
            cpu_ratio = _pair_ratios(runs["nilai", count], runs["simple", count], cpu=True)
            print(
                f"ratio nilai / simplest loader at {count:,} items: {ratio:.2f}x wall time, "
                f"{cpu_ratio:.2f}x CPU time (median of {repeat} pairs); target <= "
                f"{TARGET_RATIO}x: {_verdict(ratio <= TARGET_RATIO)}"
            )
        starts = [run.checking for run in nilai if run.checking is not None]
        firsts = [run.first_progress for run in nilai if run.first_progress is not None]
        if starts and firsts:
            start, first = statistics.median(starts), statistics.median(firsts)
            print(
                f"cli timeline (median): start-up done at {start:.2f} s, first {CHUNK:,} items "
                f"stored at {first:.2f} s, all {items:,} at {statistics.median(seconds):.2f} s"
            )
        for loader in LOADERS:
            # With the parser process's peak added: an upper bound of the two together.
            peak = statistics.median([total_peak(run) for run in runs[loader, items]])
            peak_tenth = statistics.median([total_peak(run) for run in runs[loader, tenth]])
            growth_mb = (peak - peak_tenth) * 1024 / 1e6
            label = "peak RSS" if loader == "nilai" else "simplest loader's peak RSS"
            print(
                f"{label}: {mib(int(peak))} importing {items:,} items vs "
                f"{mib(int(peak_tenth))} importing {tenth:,} ({growth_mb:+.1f} MB for "
                f"x{items / tenth:.0f} items)"
                + (
                    f"; target <= +{TARGET_GROWTH_MB} MB: {_verdict(growth_mb <= TARGET_GROWTH_MB)}"
                    " (the import process and its parser process together)"
                    if loader == "nilai"
                    else ""
                )
            )
        last = nilai[-1]
        print(f"peak reached {last.peak_at:.2f} s into the {last.seconds:.2f} s run")
        points = [rss_near(last, share * items // 10, items) for share in (1, 5, 9)]
        known = [point for point in points if point is not None]
        if len(known) == 3 and known[0][0] < known[-1][0]:
            shown = ", ".join(f"{mib(rss)} after {stored:,}" for stored, rss in known)
            (first, low), (final, high) = known[0], known[-1]
            print(
                f"RSS during the import (items stored): {shown}: "
                f"{(high - low) * 1024 / (final - first):+.0f} bytes per item stored"
            )
        if not args.no_phases:
            phases = [asyncio.run(time_phases(big, folder, items)) for _ in range(repeat)]
            scan_s, insert_s, beside_s, here_s = (
                statistics.median(p[i] for p in phases) for i in range(4)
            )
            print(
                f"phases in-process (median of {repeat}): validating scan alone {scan_s:.2f} s "
                f"({items / scan_s:,.0f} items/s); inserts alone {insert_s:.2f} s "
                f"({items / insert_s:,.0f} items/s); the whole import with a parser process "
                f"beside {beside_s:.2f} s ({items / beside_s:,.0f} items/s), parsed in the "
                f"importing process {here_s:.2f} s ({items / here_s:,.0f} items/s)"
            )
            print(
                "(the CLI parses beside the inserts when the file has 8 MB or more and there "
                "are two cores; the run lines show the parser process's memory when it did)"
            )
        print(f"load at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
