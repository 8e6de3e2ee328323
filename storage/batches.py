"""Queries on batches and the items they hold."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from storage.audit import record_change
from storage.database import Database, Transaction
from storage.gold import GOLD_ITEM

ItemRow = tuple[str, str, str, str | None, int, str | None, str | None, str | None]
"""external_id, prompt, response, context JSON, chat_form, metadata JSON, gold JSON, lang (an
ISO 639-1 code). Rows of tests and benchmarks may stop before lang: their items have none."""


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

    Items arrive in chunks from an async iterator (never all in memory), each chunk stored by
    `insert_items`. External ids must be unique (ValueError otherwise). Returns (batch id, item
    count). The importer (`bot.batches`) uses the steps below itself, to report duplicates.
    """
    batch_id = await begin_import(
        db, name=name, rubric_json=rubric_json, overlap=overlap, priority=priority, now=now
    )
    count = 0
    try:
        async for chunk in chunks:
            if await insert_items(db, batch_id, chunk):
                raise ValueError(f"batch {name!r}: an external id appears twice")
            count += len(chunk)
        await finish_import(db, batch_id, count=count, status=status)
    except BaseException:
        await delete_batch(db, batch_id)
        raise
    return batch_id, count


async def begin_import(
    db: Database,
    *,
    name: str,
    rubric_json: str,
    overlap: int,
    priority: int,
    now: str,
    deadline: str | None = None,
    gold_rate: float = 0.1,
    extra_reviews: int = 0,
    disagreement: int | None = None,
) -> int:
    """Create the batch to import into, paused and marked `importing`: no trainer sees it, nor
    does /batches, until `finish_import`. Raises BatchExistsError if the name is taken. The
    gold rate and dynamic overlap (`extra_reviews` with `disagreement`) are its quality
    options (migration 0016)."""
    return await db.write(
        _begin_import,
        name,
        rubric_json,
        overlap,
        priority,
        now,
        deadline,
        gold_rate,
        extra_reviews,
        disagreement,
    )


async def _begin_import(
    tx: Transaction,
    name: str,
    rubric_json: str,
    overlap: int,
    priority: int,
    now: str,
    deadline: str | None,
    gold_rate: float,
    extra_reviews: int,
    disagreement: int | None,
) -> int:
    if await tx.fetchone("SELECT 1 FROM batches WHERE name = ?", (name,)) is not None:
        raise BatchExistsError(name)
    batch_id = await tx.fetchval(
        "INSERT INTO batches (name, rubric, overlap, priority, deadline, status, importing,"
        " created_at, gold_rate, extra_reviews, disagreement)"
        " VALUES (?, ?, ?, ?, ?, 'paused', 1, ?, ?, ?, ?) RETURNING id",
        (
            name,
            rubric_json,
            overlap,
            priority,
            deadline,
            now,
            gold_rate,
            extra_reviews,
            disagreement,
        ),
    )
    assert batch_id is not None
    await add_rubric_version(tx, batch_id, rubric_json, now)
    return batch_id


async def add_rubric_version(tx: Transaction, batch_id: int, rubric_json: str, now: str) -> int:
    """Number the batch's rubric (with its guidelines) as its current version: judgments
    submitted from now on record it (provenance)."""
    version = await tx.fetchval(
        "INSERT INTO rubric_versions (batch_id, rubric, created_at) VALUES (?, ?, ?) RETURNING id",
        (batch_id, rubric_json, now),
    )
    assert version is not None
    await tx.execute("UPDATE batches SET rubric_version = ? WHERE id = ?", (version, batch_id))
    return version


async def insert_items(db: Database, batch_id: int, rows: list[ItemRow]) -> list[int]:
    """Store a chunk of items in one short transaction (other writers wait at most one chunk).

    The batch's unique index on external ids finds duplicates, so the importer keeps no set of
    ids: a row whose id the batch holds already (from this chunk or an earlier one) is left out,
    and its position in `rows` is returned. Rows are numbered in insertion order, so the rows
    this transaction stored, read back in order, show which ones were left out.
    """
    async with db.transaction() as tx:
        before = await tx.fetchval("SELECT COALESCE(MAX(id), 0) FROM items")
        # The batch id is written into the statement (an int, so safe) rather than prepended
        # to each of thousands of rows.
        with_lang = bool(rows) and len(rows[0]) > 7
        await tx.executemany(
            "INSERT INTO items (batch_id, external_id, prompt, response, context, chat_form,"
            f" metadata, gold, complete{', lang' if with_lang else ''})"
            f" VALUES ({int(batch_id)}, ?1, ?2, ?3, ?4, ?5, ?6, ?7,"
            f" CASE WHEN CAST(?7 AS TEXT) IS NULL THEN 0 ELSE {GOLD_ITEM} END"
            f"{', ?8' if with_lang else ''})"
            " ON CONFLICT (batch_id, external_id) DO NOTHING",
            rows,
        )
        # The rows this transaction stored are the batch's rows numbered after `before`.
        # (`+batch_id`: walk that id range, never every item of the batch by its index.)
        stored_count = await tx.fetchval(
            "SELECT COUNT(*) FROM items WHERE +batch_id = ? AND id > ?", (batch_id, before)
        )
        if stored_count == len(rows):
            return []
        stored = [
            stored_row[0]
            for stored_row in await tx.fetchall(
                "SELECT external_id FROM items WHERE batch_id = ? AND id > ? ORDER BY id",
                (batch_id, before),
            )
        ]
    left_out: list[int] = []
    next_stored = 0
    for position, row in enumerate(rows):
        if next_stored < len(stored) and stored[next_stored] == row[0]:
            next_stored += 1
        else:
            left_out.append(position)
    return left_out


async def finish_import(db: Database, batch_id: int, *, count: int, status: str) -> None:
    """Show the imported batch: its item count, its status, no longer `importing`."""
    await db.execute(
        "UPDATE batches SET item_count = ?, status = ?, importing = 0 WHERE id = ?",
        (count, status, batch_id),
    )
    await db.refresh_statistics("items")


async def delete_batch(db: Database, batch_id: int, chunk: int = 5_000) -> None:
    """Remove a batch that failed to import, a chunk of items per transaction."""
    while await db.execute(
        "DELETE FROM items WHERE id IN (SELECT id FROM items WHERE batch_id = ? LIMIT ?)",
        (batch_id, chunk),
    ):
        pass
    await db.write(_delete_batch_row, batch_id)


async def _delete_batch_row(tx: Transaction, batch_id: int) -> None:
    changed = await tx.execute(
        "UPDATE batches SET rubric_version = NULL WHERE id = ? AND importing = 1", (batch_id,)
    )
    if changed == 1:
        await tx.execute("DELETE FROM rubric_versions WHERE batch_id = ?", (batch_id,))
        await tx.execute("DELETE FROM batches WHERE id = ?", (batch_id,))


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


@dataclasses.dataclass(frozen=True, slots=True)
class BatchProgress:
    """A batch as /batches lists it. Gold items are not part of its progress: `items`,
    `complete` and `reviews` count ordinary items only; `gold` counts the gold items."""

    id: int
    name: str
    status: str
    priority: int
    overlap: int
    items: int
    complete: int
    reviews: int
    deadline: str | None = None  # YYYY-MM-DD (bot/deadlines.py)
    gold: int = 0
    gold_rate: float = 0.1
    extra_reviews: int = 0  # dynamic overlap: at most this many extra reviews per item
    disagreement: int | None = None  # ... when scores are this far apart; None: off
    extra: int = 0  # extra reviews the items were given so far

    @property
    def wanted(self) -> int:
        return self.items * self.overlap + self.extra


# Counted on the covering index items_progress (batch_id, complete, lang, done_count): no item
# row is read. A gold item (complete = 2) counts only as gold.
LIST_BATCHES_SQL = (
    "SELECT b.id, b.name, b.status, b.priority, b.overlap,"
    f" b.item_count - COALESCE(SUM(CASE WHEN i.complete = {GOLD_ITEM} THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN i.complete = 1 THEN 1 ELSE 0 END), 0),"
    f" COALESCE(SUM(CASE WHEN i.complete = {GOLD_ITEM} THEN 0 ELSE i.done_count END), 0),"
    " b.deadline,"
    f" COALESCE(SUM(CASE WHEN i.complete = {GOLD_ITEM} THEN 1 ELSE 0 END), 0),"
    " b.gold_rate, b.extra_reviews, b.disagreement"
    " FROM batches b LEFT JOIN items i ON i.batch_id = b.id"
    " WHERE b.importing = 0"
    " GROUP BY b.id, b.name, b.status, b.priority, b.overlap, b.item_count, b.deadline,"
    " b.gold_rate, b.extra_reviews, b.disagreement"
    " ORDER BY CASE b.status WHEN 'open' THEN 0 WHEN 'paused' THEN 1 ELSE 2 END,"
    " b.priority DESC, b.id DESC"
)


async def list_batches(db: Database) -> list[BatchProgress]:
    """Every batch with its counts, aggregated in SQL (one indexed pass over items); the extra
    reviews are read only for batches with dynamic overlap on."""
    listed = [BatchProgress(*row) for row in await db.fetchall(LIST_BATCHES_SQL)]
    dynamic = [batch.id for batch in listed if batch.extra_reviews > 0]
    extras = await extra_reviews_given(db, dynamic)
    return [
        dataclasses.replace(batch, extra=extras[batch.id]) if batch.id in extras else batch
        for batch in listed
    ]


async def extra_reviews_given(db: Database, batch_ids: list[int]) -> dict[int, int]:
    """Per batch: the extra reviews its ordinary items were given for disagreement (these
    read item rows: `extra` is not in the covering index, so only dynamic batches ask)."""
    if not batch_ids:
        return {}
    marks = ", ".join("?" for _ in batch_ids)
    rows = await db.fetchall(
        "SELECT batch_id, SUM(extra) FROM items"
        f" WHERE batch_id IN ({marks}) AND complete <> {GOLD_ITEM} AND extra > 0"
        " GROUP BY batch_id",
        batch_ids,
    )
    return {batch_id: total for batch_id, total in rows}


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
    return await db.write(_update_batch, batch_id, actor_id, now, status, priority_change)


async def _update_batch(
    tx: Transaction,
    batch_id: int,
    actor_id: int,
    now: str,
    status: str | None,
    priority_change: int,
) -> dict[str, Any] | None:
    row = await tx.fetchone("SELECT name, status, priority FROM batches WHERE id = ?", (batch_id,))
    if row is None:
        return None
    new_status = status or row["status"]
    new_priority = row["priority"] + priority_change
    if (new_status, new_priority) != (row["status"], row["priority"]):
        await tx.execute(
            "UPDATE batches SET status = ?, priority = ? WHERE id = ?",
            (new_status, new_priority, batch_id),
        )
        detail = (
            f"{row['status']} -> {new_status}"
            if status
            else f"priority {row['priority']} -> {new_priority}"
        )
        await record_change(
            tx,
            actor_id=actor_id,
            action="batch." + (status or "priority"),
            target=f"batch:{batch_id}",
            detail=detail,
            now=now,
        )
    return {"id": batch_id, "name": row["name"], "status": new_status, "priority": new_priority}
