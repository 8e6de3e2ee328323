"""Batches: importing a file (validated whole first, then stored in one transaction), and the
coordinator's controls over open batches."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from pathlib import Path

from bot.batch_format import (
    BatchFormatError,
    BatchScan,
    ParsedItem,
    iter_batch_items,
    scan_batch_file,
    scan_items,
)
from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.review import item_row_json
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
    gold = {key: list(bounds) for key, bounds in item.gold.items()} if item.gold else None
    return (
        item.external_id,
        item.prompt,
        item.response,
        item_row_json(list(item.context)) if item.context else None,
        int(item.chat_form),
        item.metadata_json,
        item_row_json(gold),
    )


async def _chunks(
    items: Iterator[ParsedItem], scan: BatchScan, total: int, on_progress: Progress | None
) -> AsyncIterator[list[ItemRow]]:
    """Parse in a worker thread, a chunk at a time, so the bot keeps answering meanwhile.

    Parsing and storing take turns: both are mostly Python work under one interpreter lock,
    and overlapping them measured ~20% slower. If the file turns out bad, this raises
    BatchFormatError at the end, before the batch is shown: the importer deletes it.
    """

    def take() -> list[ItemRow]:
        return [_row(item) for item in islice(items, CHUNK)]

    done = 0
    while chunk := await asyncio.to_thread(take):
        yield chunk
        done += len(chunk)
        if on_progress is not None:
            await on_progress(min(done, total), total)
    if not scan.ok:
        raise BatchFormatError(scan)


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

    One pass: items are validated and inserted together in one transaction, which is rolled
    back if any line is bad (the error lists every problem). With `scan` from an earlier check
    (a chat upload) the file is only re-read and re-validated as it is stored.
    """
    name = name.strip()
    if not name:
        raise ValueError("the batch needs a name")
    if await batches.batch_exists(db, name):
        raise BatchExistsError(name)
    criteria, scale = rubric.criteria, rubric.scale
    if scan is None:
        scan = BatchScan()
        items = scan_items(path, scan, criteria=criteria, scale=scale)
        total = await asyncio.to_thread(_count_lines, path)
    elif scan.ok:
        items = iter_batch_items(path, criteria=criteria, scale=scale)
        total = scan.items
    else:
        raise BatchFormatError(scan)
    batch_id, count = await batches.create_batch_with_items(
        db,
        name=name,
        rubric_json=rubric.to_json(),
        overlap=overlap or settings.default_overlap,
        priority=priority,
        chunks=_chunks(items, scan, total, on_progress),
        now=stamp(clock()),
        status=status,
    )
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
