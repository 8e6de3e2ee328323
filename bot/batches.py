"""Importing batches: validate the whole file first, then store it in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.batch_format import (
    BatchFormatError,
    BatchScan,
    ParsedItem,
    iter_batch_items,
    scan_batch_file,
)
from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.review import item_row_json
from bot.rubric import DEFAULT_RUBRIC, Rubric
from storage import batches
from storage.batches import BatchExistsError, ItemRow
from storage.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportResult:
    batch_id: int
    name: str
    items: int
    scan: BatchScan


def _rows(items: Iterator[ParsedItem]) -> Iterator[ItemRow]:
    for item in items:
        yield (
            item.external_id,
            item.prompt,
            item.response,
            item_row_json(list(item.context)),
            int(item.chat_form),
            item_row_json(item.metadata),
            item_row_json(
                {key: list(bounds) for key, bounds in item.gold.items()} if item.gold else None
            ),
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
    clock: Clock = utc_now,
) -> ImportResult:
    """Import a JSONL/CSV batch; BatchFormatError (nothing stored) if any line is bad."""
    name = name.strip()
    if not name:
        raise ValueError("the batch needs a name")
    if await batches.batch_exists(db, name):
        raise BatchExistsError(name)
    scan = scan_batch_file(path, criteria=rubric.criteria, scale=rubric.scale)
    if not scan.ok:
        raise BatchFormatError(scan)
    batch_id, count = await batches.create_batch_with_items(
        db,
        name=name,
        rubric_json=rubric.to_json(),
        overlap=overlap or settings.default_overlap,
        priority=priority,
        items=_rows(iter_batch_items(path, criteria=rubric.criteria, scale=rubric.scale)),
        now=stamp(clock()),
    )
    log.info("imported batch %r: %d items", name, count)
    return ImportResult(batch_id=batch_id, name=name, items=count, scan=scan)
