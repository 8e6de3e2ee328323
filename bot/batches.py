"""Batches: importing a file (validated whole as it is stored, removed again if refused), and
the coordinator's controls over open batches."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.batch_format import (
    BatchFormatError,
    BatchScan,
    IdClaim,
    ParsedItem,
    first_uses,
    scan_batch_file,
    scan_records,
)
from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.rubric import DEFAULT_RUBRIC, Rubric
from storage import batches
from storage.batches import BatchExistsError, BatchProgress, ItemRow
from storage.database import Database

__all__ = ["BatchExistsError", "BatchProgress", "ImportResult", "import_batch_file"]

log = logging.getLogger(__name__)

CHUNK = 5_000
Progress = Callable[[int, int], Awaitable[None]]
"""Called with (items stored so far, items in the file) between chunks."""


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
    )


_json = json.JSONEncoder(ensure_ascii=False).encode


def _placeholder(record: ParsedItem | IdClaim) -> ItemRow:
    """Only the id: once the file is refused its rows are deleted, but later duplicates of
    its ids must still be found."""
    return (record.external_id, "", "", None, 0, None, None)


def _take(records: Iterator[ParsedItem | IdClaim]) -> list[ParsedItem | IdClaim]:
    """The next chunk of records (run in a worker thread: parsing is the slow part)."""
    chunk: list[ParsedItem | IdClaim] = []
    append = chunk.append
    for record in records:
        append(record)
        if len(chunk) >= CHUNK:
            break
    return chunk


class _Duplicates:
    """Records the database refused as duplicates: all counted, the first few kept."""

    def __init__(self, scan: BatchScan) -> None:
        self.scan = scan
        self.kept: list[ParsedItem | IdClaim] = []
        self.found = False

    def add(self, record: ParsedItem | IdClaim) -> None:
        if isinstance(record, IdClaim):
            return  # its line is refused already, for another reason
        self.found = True
        if len(self.kept) < self.scan.max_errors:
            self.kept.append(record)  # its reason is added by `report`
        else:
            self.scan.items -= 1
            self.scan.error_count += 1  # beyond the reasons shown: counted only

    def report(self, path: Path, rubric: Rubric) -> None:
        """Add a reason for each kept duplicate, naming the line its id was first used on."""
        if not self.kept:
            return
        first = first_uses(
            path,
            {record.external_id for record in self.kept},
            criteria=rubric.criteria,
            scale=rubric.scale,
            until_line=self.kept[-1].line,
        )
        for record in self.kept:
            first_line, first_generated = first.get(record.external_id, (None, False))
            self.scan.add_duplicate(record, first_line, first_generated)


def _count_lines(path: Path) -> int:
    """Roughly how many items a file holds (its lines), for progress: a fast binary count."""
    with path.open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) or 1


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
    rubric: Rubric = DEFAULT_RUBRIC,
    status: str = "open",
    clock: Clock = utc_now,
    scan: BatchScan | None = None,
    on_progress: Progress | None = None,
) -> ImportResult:
    """Import a JSONL/CSV batch; BatchFormatError (nothing stored) if any line is bad.

    One pass: items are validated and stored together, a chunk per transaction, into a batch
    hidden until the end; if any line is bad the batch is deleted again and the error lists
    every problem. Duplicate ids are found by the database's unique index as the rows go in
    (so memory stays flat whatever the size); a refused file is then read once more, up to its
    last duplicate, to name the lines those ids were first used on. `scan`, from an earlier
    check of the same file (a chat upload), only gives the item count for progress.
    """
    name = name.strip()
    if not name:
        raise ValueError("the batch needs a name")
    if await batches.batch_exists(db, name):
        raise BatchExistsError(name)
    if scan is not None and not scan.ok:
        raise BatchFormatError(scan)
    total = scan.items if scan is not None else await asyncio.to_thread(_count_lines, path)
    scan = BatchScan()
    records = scan_records(path, scan, criteria=rubric.criteria, scale=rubric.scale)
    duplicates = _Duplicates(scan)
    batch_id = await batches.begin_import(
        db,
        name=name,
        rubric_json=rubric.to_json(),
        overlap=overlap or settings.default_overlap,
        priority=priority,
        now=stamp(clock()),
    )
    count = 0
    try:
        # Parsing (in a worker thread) and storing take turns: both are mostly Python work
        # under one interpreter lock, and overlapping them measured slower.
        while chunk := await asyncio.to_thread(_take, records):
            if scan.error_count or duplicates.found:  # refused already: only ids matter now
                rows = [_placeholder(record) for record in chunk]
            else:
                rows = [_row(record) for record in chunk]  # type: ignore[arg-type]
            left_out = await batches.insert_items(db, batch_id, rows)
            for position in left_out:
                duplicates.add(chunk[position])
            count += len(rows) - len(left_out)
            if on_progress is not None and not scan.error_count:
                await on_progress(min(count, total), total)
        if scan.error_count or duplicates.found:
            await asyncio.to_thread(duplicates.report, path, rubric)
            raise BatchFormatError(scan)
        await batches.finish_import(db, batch_id, count=count, status=status)
    except BaseException:
        await batches.delete_batch(db, batch_id)
        raise
    if on_progress is not None:
        await on_progress(count, count)
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
