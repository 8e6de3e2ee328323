"""Streaming reads for exports, meant to run inside `Database.snapshot()`.

A batch can hold a million judgments, so nothing here loads them all. A cursor walks the
batch's item ids in order (a covering index, no item text sorted); each chunk of items is then
read with its submitted judgments, scores and flags through keyed lookups. An item's text is
read once, however many trainers judged it. The next chunk is read (in aiosqlite's thread)
while the caller encodes the current one. The SQL stays portable to PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import aiosqlite

from storage.database import Database

Snapshot = aiosqlite.Connection
"""The connection `Database.snapshot()` yields: every read sees the same moment."""


@dataclass(frozen=True, slots=True)
class ExportBatch:
    id: int
    name: str
    rubric_json: str


class ExportItem(NamedTuple):
    """An item as stored: context, metadata and gold stay JSON text, to pass on untouched."""

    id: int
    external_id: str
    prompt: str
    response: str
    context_json: str | None
    chat_form: int
    metadata_json: str | None
    gold_json: str | None


class Judgment(NamedTuple):
    """One submitted judgment (tuples: a million of them are made cheaply). `scores` and
    `flags` follow the criteria and flags asked for: a score or None, a flag 1 or 0."""

    assignment_id: int
    item_id: int
    trainer_id: int
    assigned_at: str
    submitted_at: str
    late: int
    note: str | None
    rewrite: str | None
    scores: tuple[int | None, ...]
    flags: tuple[int, ...]


Reviewed = tuple[ExportItem, list[Judgment]]
"""An item with its submitted judgments, oldest assignment first."""

ScoreGroup = tuple[int, str, str | None, int | None, int]
"""item id, item external id, criterion, score, how many gave that score (None: no ratings)."""

_WITH_REWRITE = " AND j.rewrite IS NOT NULL AND j.rewrite <> ''"


def _marks(count: int) -> str:
    return ",".join("?" * count)


async def find_batch(conn: Snapshot, name: str) -> ExportBatch | None:
    async with conn.execute("SELECT id, name, rubric FROM batches WHERE name = ?", (name,)) as cur:
        row = await cur.fetchone()
    return None if row is None else ExportBatch(row[0], row[1], row[2])


async def batch_names(db: Database) -> list[str]:
    """Every batch's name, newest first (to list the choices after a typo)."""
    return [row[0] for row in await db.fetchall("SELECT name FROM batches ORDER BY id DESC")]


async def count_items(conn: Snapshot, batch_id: int) -> int:
    async with conn.execute("SELECT COUNT(*) FROM items WHERE batch_id = ?", (batch_id,)) as cur:
        return (await cur.fetchone())[0]


async def has_chat_form(conn: Snapshot, batch_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM items WHERE batch_id = ? AND chat_form = 1 LIMIT 1", (batch_id,)
    ) as cursor:
        return await cursor.fetchone() is not None


async def reviewed_items(
    conn: Snapshot,
    batch_id: int,
    *,
    criteria: Sequence[str] = (),
    flags: Sequence[str] = (),
    rewrites_only: bool = False,
    chunk_items: int = 250,
) -> AsyncIterator[tuple[int, list[Reviewed]]]:
    """The batch's items in id order, `chunk_items` at a time: (items read, those of them
    with submitted judgments, each with its judgments). `rewrites_only` keeps judgments with
    a rewrite; each judgment carries its scores of `criteria` and its `flags`, in that order.
    """
    async with conn.execute(
        "SELECT id FROM items WHERE batch_id = ? ORDER BY id", (batch_id,)
    ) as cursor:

        async def next_chunk() -> tuple[int, list[Reviewed]] | None:
            ids = [row[0] for row in await cursor.fetchmany(chunk_items)]
            if not ids:
                return None
            return len(ids), await _chunk(conn, ids, criteria, flags, rewrites_only)

        pending = asyncio.ensure_future(next_chunk())
        try:
            while (chunk := await pending) is not None:
                pending = asyncio.ensure_future(next_chunk())
                yield chunk
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending


async def _chunk(
    conn: Snapshot,
    item_ids: Sequence[int],
    criteria: Sequence[str],
    flags: Sequence[str],
    rewrites_only: bool,
) -> list[Reviewed]:
    # One row per judgment: each score and flag by primary key, in the order asked for.
    marks = "".join(
        [", (SELECT score FROM scores WHERE assignment_id = a.id AND criterion = ?)"]
        * len(criteria)
        + [", (SELECT COUNT(*) FROM flags WHERE assignment_id = a.id AND flag = ?)"] * len(flags)
    )
    rows = await _all(
        conn,
        "SELECT a.id, a.item_id, a.trainer_id, a.assigned_at, a.submitted_at, a.late, j.note,"
        f" j.rewrite{marks} FROM assignments a LEFT JOIN judgments j ON j.assignment_id = a.id"
        f" WHERE a.item_id IN ({_marks(len(item_ids))}) AND a.status = 'submitted'"
        + (_WITH_REWRITE if rewrites_only else "")
        + " ORDER BY a.item_id, a.id",
        [*criteria, *flags, *item_ids],
    )
    if not rows:
        return []
    split = 8 + len(criteria)
    judgments: dict[int, list[Judgment]] = {}
    for row in rows:
        judgments.setdefault(row[1], []).append(
            Judgment(*row[:8], tuple(row[8:split]), tuple(row[split:]))
        )
    items = await _all(
        conn,
        "SELECT id, external_id, prompt, response, context, chat_form, metadata, gold"
        f" FROM items WHERE id IN ({_marks(len(judgments))}) ORDER BY id",
        list(judgments),
    )
    return [(ExportItem(*item), judgments[item[0]]) for item in items]


async def _all(conn: Snapshot, sql: str, params: Sequence[Any]) -> list[Any]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def score_groups(
    conn: Snapshot, batch_id: int, *, chunk_rows: int = 2000
) -> AsyncIterator[list[ScoreGroup]]:
    """How many submitted judgments gave each score, per item and criterion, in item order.

    Every item appears, an item nobody has rated yet as one row with criterion None.
    """
    async with conn.execute(
        "SELECT i.id, i.external_id, s.criterion, s.score, COUNT(s.score)"
        " FROM items i"
        " LEFT JOIN assignments a ON a.item_id = i.id AND a.status = 'submitted'"
        " LEFT JOIN scores s ON s.assignment_id = a.id"
        " WHERE i.batch_id = ?"
        " GROUP BY i.id, i.external_id, s.criterion, s.score"
        " ORDER BY i.id, s.criterion, s.score",
        (batch_id,),
    ) as cursor:
        while rows := await cursor.fetchmany(chunk_rows):
            yield [tuple(row) for row in rows]


async def keep_first_fact(db: Database, name: str, value: str) -> str:
    """Store `value` under `name` unless a value is there already; the value that stays.

    Two first exports at once must agree on one secret, so this never overwrites.
    """
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO bot_facts (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, value),
        )
        async with conn.execute("SELECT value FROM bot_facts WHERE name = ?", (name,)) as cursor:
            return (await cursor.fetchone())[0]
