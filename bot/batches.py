"""Batches: importing a file (validated whole as it is stored, removed again if refused), and
the coordinator's controls over open batches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import pickle
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import msgspec

from bot.batch_format import (
    HEAD_BYTES,
    BatchFormatError,
    BatchScan,
    IdClaim,
    ParsedItem,
    Problem,
    detect_format,
    duplicate_reason,
    first_uses,
    scan_batch_file,
    scan_records,
)
from bot.batch_options import DEFAULT_OPTIONS, QualityOptions
from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.rubric import DEFAULT_RUBRIC, Rubric
from storage import batches
from storage.batches import BatchExistsError, BatchProgress, ItemRow
from storage.database import Database

__all__ = [
    "BatchExistsError",
    "BatchProgress",
    "ImportProgress",
    "ImportResult",
    "import_batch_file",
]

log = logging.getLogger(__name__)

CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far an import is, reported between chunks (and once at the end)."""

    items: int  # items stored so far
    total: int | None  # items in the file, when known (see `import_batch_file`)
    fraction: float  # how much of the file is read, 0 to 1 (for a progress bar)


Progress = Callable[[ImportProgress], Awaitable[None]]


class ParserFailed(RuntimeError):
    """The process parsing a large file beside the inserts died; nothing was imported."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    batch_id: int
    name: str
    items: int
    scan: BatchScan


def _row(item: ParsedItem) -> ItemRow:
    # Context and gold as `bot.review.item_row_json` writes them (exports copy them as stored),
    # with one encoder made once: json.dumps with options makes one per call, a tenth of the
    # import's time. Tuples come out as JSON arrays.
    return (
        item.external_id,
        item.prompt,
        item.response,
        _json(item.context) if item.context else None,
        int(item.chat_form),
        item.metadata_json,
        _json(item.gold) if item.gold else None,  # criterion -> [low, high]
        item.lang,
    )


_json = json.JSONEncoder(ensure_ascii=False).encode


def _placeholder(record: ParsedItem | IdClaim) -> ItemRow:
    """Only the id: once the file is refused its rows are deleted, but later duplicates of
    its ids must still be found."""
    return (record.external_id, "", "", None, 0, None, None, None)


_GENERATED, _REFUSED_RECORD = 1, 2  # flags of a row in a chunk


@dataclass(slots=True)
class _Chunk:
    """The next rows to store, with what a duplicate's reason needs to know about each."""

    rows: list[ItemRow]  # from the parser process: lists, not tuples (both do as parameters)
    lines: list[int]
    flags: bytearray  # per row: _GENERATED (the id was made from the line), _REFUSED_RECORD
    refused: bool  # the file has a bad line so far: the rows are only ids


def _next_chunk(records: Iterator[ParsedItem | IdClaim], scan: BatchScan) -> _Chunk | None:
    """Read and check the next CHUNK records (parsing is the slow part: never on the loop)."""
    rows: list[ItemRow] = []
    lines: list[int] = []
    flags = bytearray()
    for record in records:
        if type(record) is ParsedItem and not scan.error_count:
            rows.append(_row(record))
            flags.append(_GENERATED if record.generated_id else 0)
        else:
            rows.append(_placeholder(record))
            refused_record = _REFUSED_RECORD if type(record) is IdClaim else 0
            flags.append(refused_record | (_GENERATED if record.generated_id else 0))
        lines.append(record.line)
        if len(rows) >= CHUNK:
            break
    return _Chunk(rows, lines, flags, bool(scan.error_count)) if rows else None


class _ParseHere:
    """Records parsed in a worker thread of this process, a chunk at a time.

    Parsing and storing take turns: both hold the interpreter lock, and a thread parsing
    beside the inserts slows them (each row's return from SQLite waits for the lock).
    """

    def __init__(self, path: Path, rubric: Rubric) -> None:
        self.scan = BatchScan()
        self.records = scan_records(path, self.scan, criteria=rubric.criteria, scale=rubric.scale)

    async def next_chunk(self) -> _Chunk | None:
        return await asyncio.to_thread(_next_chunk, self.records, self.scan)

    async def close(self) -> None:
        with contextlib.suppress(ValueError):  # still running in a thread: it ends by itself
            self.records.close()


class _ParseBeside:
    """Records parsed in a process of its own, a chunk ahead of the inserts here.

    Two cores then share the work: the parser reads, checks and builds the rows of the next
    chunk while this process stores the last one. Worth it for big files only (the process
    takes ~0.2 s to start); `scan` is complete once `next_chunk` returned None.
    """

    def __init__(self, path: Path, rubric: Rubric) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self.connection, child_end = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_parse_in_child,
            args=(path, tuple(rubric.criteria), rubric.scale, child_end),
            name="nilai-batch-parser",
            daemon=True,
        )
        self.process.start()
        child_end.close()
        self.scan = BatchScan()

    async def next_chunk(self) -> _Chunk | None:
        try:
            message = await asyncio.to_thread(self.connection.recv_bytes)
        except (EOFError, OSError):  # OSError: it died in the middle of a message
            raise ParserFailed("the batch parser process ended unexpectedly") from None
        kind, body = message[:1], memoryview(message)[1:]
        if kind == _CHUNK_MESSAGE:
            rows, lines, flags, refused = _MSGPACK_DECODE(body)
            return _Chunk(rows, lines, bytearray(flags), refused)
        if kind == _SCAN_MESSAGE:
            self.scan = pickle.loads(body)
            return None
        raise ParserFailed(f"the batch parser process failed: {bytes(body).decode()}")

    async def close(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.terminate()
        await asyncio.to_thread(self.process.join, 5)


# Messages from the parser process: a kind byte, then a chunk (msgpack: a tenth of pickle's
# cost for rows of strings), the final scan (pickled), or what went wrong (text).
_CHUNK_MESSAGE, _SCAN_MESSAGE, _ERROR_MESSAGE = b"c", b"s", b"e"
_MSGPACK_DECODE = msgspec.msgpack.Decoder().decode


def _parse_in_child(
    path: Path, criteria: tuple[str, ...], scale: tuple[int, int], connection: Connection
) -> None:
    """The parser process: every chunk down the pipe, then the scan (or what went wrong)."""
    encoder = msgspec.msgpack.Encoder()
    try:
        scan = BatchScan()
        records = scan_records(path, scan, criteria=criteria, scale=scale)
        while (chunk := _next_chunk(records, scan)) is not None:
            message = bytearray(_CHUNK_MESSAGE)
            encoder.encode_into(
                (chunk.rows, chunk.lines, bytes(chunk.flags), chunk.refused), message, 1
            )
            connection.send_bytes(message)
        connection.send_bytes(_SCAN_MESSAGE + pickle.dumps(scan))
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the importer is gone or stopping
    except Exception as error:  # reported, and the import fails cleanly
        with contextlib.suppress(OSError):
            connection.send_bytes(_ERROR_MESSAGE + f"{type(error).__name__}: {error}".encode())
    finally:
        connection.close()


PARSER_PROCESS_MIN_BYTES = 8 << 20
"""Files this big (~10,000 items) are parsed in a process beside the inserts, where there are
two cores: below this size starting the process (~0.2 s) costs more than it saves."""


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _parser(path: Path, rubric: Rubric) -> _ParseHere | _ParseBeside:
    """The parser process: measured on this 2-core machine, a 1,000,000-item file imports 1.5x
    as fast with it when the machine is quiet, and ~10% slower when other work keeps both cores
    busy (the rows are sent between processes); it also keeps the parsing off a running bot's
    interpreter lock, so trainers' taps are answered meanwhile."""
    if _cores() >= 2 and path.stat().st_size >= PARSER_PROCESS_MIN_BYTES:
        return _ParseBeside(path, rubric)
    return _ParseHere(path, rubric)


class _Duplicates:
    """Rows the database refused as duplicates: all counted, the first few kept."""

    def __init__(self) -> None:
        self.kept: list[IdClaim] = []
        self.beyond = 0  # more than the reasons shown: counted only

    @property
    def found(self) -> bool:
        return bool(self.kept)

    def add(self, chunk: _Chunk, position: int, max_errors: int) -> None:
        flags = chunk.flags[position]
        if flags & _REFUSED_RECORD:
            return  # its line is refused already, for another reason
        if len(self.kept) < max_errors:
            row = chunk.rows[position]
            self.kept.append(IdClaim(chunk.lines[position], row[0], bool(flags & _GENERATED)))
        else:
            self.beyond += 1

    def report(self, scan: BatchScan, path: Path, rubric: Rubric) -> None:
        """Add each duplicate to `scan`, naming the line its id was first used on."""
        scan.items -= self.beyond
        scan.error_count += self.beyond
        if not self.kept:
            return
        first = first_uses(
            path,
            {duplicate.external_id for duplicate in self.kept},
            criteria=rubric.criteria,
            scale=rubric.scale,
            until_line=self.kept[-1].line,
        )
        for duplicate in self.kept:
            first_line, first_generated = first.get(duplicate.external_id, (None, False))
            scan.items -= 1
            reason = duplicate_reason(
                duplicate.external_id, duplicate.generated_id, first_line, first_generated
            )
            scan.add_error(Problem(duplicate.line, reason.key, reason.params))


@dataclass(frozen=True, slots=True)
class _FileSize:
    lines: int
    items: int | None  # None: not known without parsing (CSV records may span lines)


async def _known(items: int) -> _FileSize:
    return _FileSize(lines=0, items=items)


def _measure(path: Path) -> _FileSize:
    """The file's lines (how far the parser is), and for JSONL its items: every line that is
    not blank is one item of a valid file (a refused file shows no progress after its first
    bad line). Read in blocks, without decoding: a second or so for a million items."""
    lines = filled = 0
    rest = b""
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            parts = (rest + block).split(b"\n")
            rest = parts.pop()
            lines += len(parts)
            filled += sum(1 for part in parts if part and not part.isspace())
    if rest:
        lines += 1
        filled += not rest.isspace()
    with path.open("rb") as f:
        jsonl = detect_format(path, f.read(HEAD_BYTES)) == "jsonl"
    return _FileSize(lines=max(lines, 1), items=filled if jsonl else None)


def _progress(count: int, size: _FileSize, last_line: int) -> ImportProgress:
    if size.items is not None:
        total = max(size.items, count)
        return ImportProgress(count, total, count / total if total else 1.0)
    return ImportProgress(count, None, min(last_line / size.lines, 1.0))


async def scan_file(path: Path, rubric: Rubric = DEFAULT_RUBRIC) -> BatchScan:
    """Validate a whole file off the event loop."""
    return await asyncio.to_thread(
        scan_batch_file, path, criteria=rubric.criteria, scale=rubric.scale
    )


async def import_batch_file(
    db: Database,
    settings: Settings,
    path: Path,
    *,
    name: str,
    overlap: int | None = None,
    priority: int = 0,
    deadline: date | None = None,
    rubric: Rubric = DEFAULT_RUBRIC,
    quality: QualityOptions = DEFAULT_OPTIONS,
    status: str = "open",
    clock: Clock = utc_now,
    scan: BatchScan | None = None,
    expected_items: int | None = None,
    on_progress: Progress | None = None,
) -> ImportResult:
    """Import a JSONL/CSV batch; BatchFormatError (nothing stored) if any line is bad.

    One pass: items are validated and stored together, a chunk per transaction, into a batch
    hidden until the end; if any line is bad the batch is deleted again and the error lists
    every problem. Duplicate ids are found by the database's unique index as the rows go in
    (so memory stays flat whatever the size); a refused file is then read once more, up to its
    last duplicate, to name the lines those ids were first used on.

    `deadline` is the last day (in TIMEZONE) the batch should finish on (bot/deadlines.py
    checks it; bot/forecast.py says whether the batch is on time). `quality` is its gold rate
    and dynamic overlap, checked by the caller (bot/batch_options.py).

    Progress counts items: `expected_items` (or `scan`), from an earlier check of the same file
    (a chat upload), gives their total; otherwise a JSONL file's lines that are not blank do,
    and for CSV (where a record may span lines) the total stays unknown and only the share of
    lines read is reported.
    """
    name = name.strip()
    if not name:
        raise ValueError("the batch needs a name")
    if await batches.batch_exists(db, name):
        raise BatchExistsError(name)
    if scan is not None and not scan.ok:
        raise BatchFormatError(scan)
    batch_id = await batches.begin_import(
        db,
        name=name,
        rubric_json=rubric.to_json(),
        overlap=overlap or settings.default_overlap,
        priority=priority,
        deadline=deadline.isoformat() if deadline else None,
        gold_rate=quality.gold_rate,
        extra_reviews=quality.extra_reviews,
        disagreement=quality.disagreement,
        now=stamp(clock()),
    )
    count = 0
    duplicates = _Duplicates()
    parser: _ParseHere | _ParseBeside | None = None
    if scan is not None:
        expected_items = scan.items
    # Measuring (for progress) reads the whole file: done while the first chunk is parsed.
    measured = asyncio.ensure_future(
        _known(expected_items) if expected_items is not None else asyncio.to_thread(_measure, path)
    )
    try:
        parser = _parser(path, rubric)
        while (chunk := await parser.next_chunk()) is not None:
            left_out = await batches.insert_items(db, batch_id, chunk.rows)
            for position in left_out:
                duplicates.add(chunk, position, parser.scan.max_errors)
            count += len(chunk.rows) - len(left_out)
            if on_progress is not None and not (chunk.refused or duplicates.found):
                await on_progress(_progress(count, await measured, chunk.lines[-1]))
        scan = parser.scan
        if scan.error_count or duplicates.found:
            await asyncio.to_thread(duplicates.report, scan, path, rubric)
            raise BatchFormatError(scan)
        await batches.finish_import(db, batch_id, count=count, status=status)
    except BaseException:
        await batches.delete_batch(db, batch_id)
        raise
    finally:
        if parser is not None:
            await parser.close()
        if not measured.done():
            measured.cancel()
    if on_progress is not None:
        await on_progress(ImportProgress(count, count, 1.0))
    log.info("imported batch %r: %d items", name, count)
    return ImportResult(batch_id=batch_id, name=name, items=count, scan=scan)


STALE_IMPORT = timedelta(hours=1)


async def discard_interrupted_imports(
    db: Database, *, clock: Clock = utc_now, name: str | None = None
) -> int:
    """Delete what a crash left of an import (older than an hour, or the batch `name`)."""
    removed = await batches.discard_unfinished_imports(
        db, started_before=stamp(clock() - STALE_IMPORT), name=name
    )
    if removed:
        log.info("removed %d batch(es) whose import was interrupted", removed)
    return removed


async def list_batches(db: Database) -> list[BatchProgress]:
    return await batches.list_batches(db)


BATCH_OPERATIONS = ("pause", "resume", "close", "priority_up", "priority_down")


async def change_batch(
    db: Database, batch_id: int, operation: str, *, actor_id: int, clock: Clock = utc_now
) -> dict | None:
    """Pause, resume (also a closed batch, so a slip is recoverable), close, or re-prioritise.

    A paused or closed batch hands out no new items; items trainers already hold still submit.
    """
    status = {"pause": "paused", "resume": "open", "close": "closed"}.get(operation)
    change = {"priority_up": 1, "priority_down": -1}.get(operation, 0)
    if status is None and not change:
        raise ValueError(operation)
    result = await batches.update_batch(
        db, batch_id, actor_id=actor_id, now=stamp(clock()), status=status, priority_change=change
    )
    if result is not None:
        log.info("coordinator %s: batch %r %s", actor_id, result["name"], operation)
    return result


class Batches:
    """The coordinators' /batches: the list with its figures, and one batch's operation."""

    def __init__(self, db: Database, clock: Clock = utc_now):
        self.db = db
        self.clock = clock

    async def listing(self) -> list[BatchProgress]:
        """Every batch with its progress, open and paused ones first."""
        return await list_batches(self.db)

    async def change(self, batch_id: int, operation: str, *, actor_id: int) -> dict | None:
        """`change_batch` at this clock's moment; None for an unknown batch."""
        return await change_batch(self.db, batch_id, operation, actor_id=actor_id, clock=self.clock)
