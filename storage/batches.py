"""Queries on batches and the items they hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from storage.audit import record_change
from storage.database import Database

ItemRow = tuple[str, str, str, str | None, int, str | None, str | None]
"""external_id, prompt, response, context JSON, chat_form, metadata JSON, gold JSON."""


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
    chunks: AsyncIterator[list[ItemRow]],
    now: str,
    status: str = "open",
) -> tuple[int, int]:
    """Insert a batch and its items; if anything fails (a bad line found late, a crash of the
    caller, an interrupt) the batch is deleted again, so a failed import leaves nothing.

    Items arrive in chunks from an async iterator (never all in memory) and each chunk is its
    own short transaction, so other writers wait at most one chunk. Until the last chunk is
    in, the batch is paused and marked `importing`: no trainer sees a half-imported batch.
    Returns (batch id, item count).
    """
    async with db.transaction() as conn:
        async with conn.execute("SELECT 1 FROM batches WHERE name = ?", (name,)) as cursor:
            if await cursor.fetchone() is not None:
                raise BatchExistsError(name)
        cursor = await conn.execute(
            "INSERT INTO batches (name, rubric, overlap, priority, status, importing, created_at)"
            " VALUES (?, ?, ?, ?, 'paused', 1, ?)",
            (name, rubric_json, overlap, priority, now),
        )
        batch_id = cursor.lastrowid
        assert batch_id is not None
    count = 0
    try:
        async for chunk in chunks:
            async with db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO items (batch_id, external_id, prompt, response, context,"
                    " chat_form, metadata, gold) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(batch_id, *row) for row in chunk],
                )
            count += len(chunk)
        await db.execute(
            "UPDATE batches SET item_count = ?, status = ?, importing = 0 WHERE id = ?",
            (count, status, batch_id),
        )
    except BaseException:
        await delete_batch(db, batch_id)
        raise
    return batch_id, count


async def delete_batch(db: Database, batch_id: int, chunk: int = 5_000) -> None:
    """Remove a batch that failed to import, a chunk of items per transaction."""
    while await db.execute(
        "DELETE FROM items WHERE id IN (SELECT id FROM items WHERE batch_id = ? LIMIT ?)",
        (batch_id, chunk),
    ):
        pass
    await db.execute("DELETE FROM batches WHERE id = ? AND importing = 1", (batch_id,))


async def discard_unfinished_imports(
    db: Database, *, started_before: str, name: str | None = None
) -> int:
    """Delete batches whose import a crash interrupted (started before `started_before`, or the
    one called `name`); an import still running in another process is younger and stays."""
    rows = await db.fetchall(
        "SELECT id FROM batches WHERE importing = 1 AND (created_at < ? OR name = ?)",
        (started_before, name),
    )
    for row in rows:
        await delete_batch(db, row[0])
    return len(rows)


@dataclass(frozen=True, slots=True)
class BatchProgress:
    id: int
    name: str
    status: str
    priority: int
    overlap: int
    items: int
    complete: int
    reviews: int

    @property
    def wanted(self) -> int:
        return self.items * self.overlap


async def list_batches(db: Database) -> list[BatchProgress]:
    """Every batch with its counts, aggregated in SQL (one indexed pass over items)."""
    rows = await db.fetchall(
        "SELECT b.id, b.name, b.status, b.priority, b.overlap, b.item_count,"
        " COALESCE(SUM(i.complete), 0), COALESCE(SUM(i.done_count), 0)"
        " FROM batches b LEFT JOIN items i ON i.batch_id = b.id"
        " WHERE b.importing = 0"
        " GROUP BY b.id, b.name, b.status, b.priority, b.overlap, b.item_count"
        " ORDER BY CASE b.status WHEN 'open' THEN 0 WHEN 'paused' THEN 1 ELSE 2 END,"
        " b.priority DESC, b.id DESC"
    )
    return [BatchProgress(*row) for row in rows]


async def update_batch(
    db: Database,
    batch_id: int,
    *,
    actor_id: int,
    now: str,
    status: str | None = None,
    priority_change: int = 0,
) -> dict[str, Any] | None:
    """Change a batch's status or priority and log it; the batch after, or None if unknown."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT name, status, priority FROM batches WHERE id = ?", (batch_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        new_status = status or row["status"]
        new_priority = row["priority"] + priority_change
        if (new_status, new_priority) != (row["status"], row["priority"]):
            await conn.execute(
                "UPDATE batches SET status = ?, priority = ? WHERE id = ?",
                (new_status, new_priority, batch_id),
            )
            detail = (
                f"{row['status']} -> {new_status}"
                if status
                else f"priority {row['priority']} -> {new_priority}"
            )
            await record_change(
                conn,
                actor_id=actor_id,
                action="batch." + (status or "priority"),
                target=f"batch:{batch_id}",
                detail=detail,
                now=now,
            )
        return {"id": batch_id, "name": row["name"], "status": new_status, "priority": new_priority}
