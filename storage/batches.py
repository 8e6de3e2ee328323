"""Queries on batches and the items they hold."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from storage.database import Database

ItemRow = tuple[str, str, str, str | None, int, str | None, str | None]
"""external_id, prompt, response, context JSON, chat_form, metadata JSON, gold JSON."""

_CHUNK = 5_000


class BatchExistsError(ValueError):
    """A batch with this name exists already."""


async def batch_exists(db: Database, name: str) -> bool:
    return await db.fetchval("SELECT 1 FROM batches WHERE name = ?", (name,)) is not None


async def create_batch_with_items(
    db: Database,
    *,
    name: str,
    rubric_json: str,
    overlap: int,
    priority: int,
    items: Iterable[ItemRow],
    now: str,
) -> tuple[int, int]:
    """Insert a batch and all its items in one transaction, so a failure stores nothing.

    `items` is consumed lazily in chunks: the file's rows are never all in memory at once.
    Returns (batch id, item count).
    """
    async with db.transaction() as conn:
        async with conn.execute("SELECT 1 FROM batches WHERE name = ?", (name,)) as cursor:
            if await cursor.fetchone() is not None:
                raise BatchExistsError(name)
        cursor = await conn.execute(
            "INSERT INTO batches (name, rubric, overlap, priority, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, rubric_json, overlap, priority, now),
        )
        batch_id = cursor.lastrowid
        count = 0
        iterator: Iterator[ItemRow] = iter(items)
        while chunk := list(islice(iterator, _CHUNK)):
            await conn.executemany(
                "INSERT INTO items (batch_id, external_id, prompt, response, context, chat_form,"
                " metadata, gold) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(batch_id, *row) for row in chunk],
            )
            count += len(chunk)
        await conn.execute("UPDATE batches SET item_count = ? WHERE id = ?", (count, batch_id))
        return batch_id, count


async def get_batch(db: Database, name: str) -> dict[str, Any] | None:
    row = await db.fetchone("SELECT * FROM batches WHERE name = ?", (name,))
    return None if row is None else dict(row)
