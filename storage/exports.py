"""Streaming reads for exports, all from one snapshot of the database (`snapshot`).

A batch can hold a million judgments, so nothing here loads them all. One long read walks the
batch's item ids in order (`Transaction.chunks`); each chunk of items (an id range) is then read
in one or two statements, and the next chunk is read (on SQLite, on the connection's thread,
where it runs without Python's lock) while the caller writes the current one; the snapshot's
statements still run one at a time (asyncpg refuses a second one on a connection while one is
under way). The lines of `raw`, `sft` and `dpo` come out of SQL as JSON bytes, built by the
dialect's module (`storage/sqlite_json.py` or `storage/postgres_json.py`, chosen in
`ExportSnapshot`), `raw`'s trainer added by the caller (a keyed pseudonym); the other queries
here are portable. Callers get plain values, never a driver's types.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from storage import postgres_json, sqlite_json
from storage.database import Database, Transaction
from storage.export_json import WHITESPACE
from storage.gold import GOLD_ITEM

T = TypeVar("T")

_ALL_ROWS = 1 << 20  # rows a chunk of `_all` may take: in practice one chunk, one trip


@dataclass(frozen=True, slots=True)
class ExportBatch:
    id: int
    name: str
    rubric_json: str
    rubric_version: int | None  # the current version's id (rubric_versions)


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """What an export's manifest says of its batch, read in the export's snapshot."""

    items: int
    gold_items: int
    submitted_reviews: int
    gold_reviews: int  # of the submitted reviews, those of gold items


@dataclass(frozen=True, slots=True)
class RewriteCounts:
    """The batch's non-blank rewrites outside gold items, by review: a decision (accepted,
    rejected), or none yet (unreviewed, also while a reviewer has one open)."""

    accepted: int = 0
    rejected: int = 0
    unreviewed: int = 0


ItemScores = tuple[
    list[tuple[int, str]],
    list[tuple[int, str | None, int | None]],
    list[tuple[int, str, int]],
]
"""Items (id, external id), the scores of their submitted judgments (item id, criterion,
score; None for an item with none), in no particular order, and per item and flag how many
reviewers raised it (item id, flag, reviewers; only flags raised)."""


class ExportSnapshot:
    """The reads of one export, every one seeing the same moment."""

    def __init__(self, tx: Transaction):
        self._tx = tx
        # The dialect's JSON lines: the one place that chooses between them.
        self._json = postgres_json if tx.dialect == "postgresql" else sqlite_json
        # One statement of the snapshot at a time, the read-ahead's included.
        self._turn = asyncio.Lock()
        self._reads: set[_ReadAhead[Any]] = set()

    async def find_batch(self, name: str) -> ExportBatch | None:
        row = await self._one(
            "SELECT id, name, rubric, rubric_version FROM batches WHERE name = ?", (name,)
        )
        return None if row is None else ExportBatch(*row)

    async def batch_counts(self, batch_id: int) -> BatchCounts:
        items, gold = await self._one(
            "SELECT COUNT(*), COUNT(gold) FROM items WHERE batch_id = ?", (batch_id,)
        )
        reviews, gold_reviews = await self._one(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN i.complete = ? THEN 1 ELSE 0 END), 0)"
            " FROM items i CROSS JOIN assignments a"
            " WHERE a.item_id = i.id AND i.batch_id = ? AND a.status = 'submitted'",
            (GOLD_ITEM, batch_id),
        )
        return BatchCounts(
            items=items, gold_items=gold, submitted_reviews=reviews, gold_reviews=gold_reviews
        )

    async def rewrite_counts(self, batch_id: int, *, differing: bool = False) -> RewriteCounts:
        """The batch's rewrites (non-blank, outside gold items) by review status; `differing`:
        only those that differ from their answer (both stripped), the ones dpo can take."""
        differs = " AND trim(j.rewrite, ?) <> trim(i.response, ?)" if differing else ""
        rows = await self._all(
            "SELECT CASE WHEN r.status IN ('accepted', 'rejected') THEN r.status"
            " ELSE 'unreviewed' END, COUNT(*) FROM items i"
            " CROSS JOIN assignments a CROSS JOIN judgments j"
            " LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id"
            " WHERE a.item_id = i.id AND a.status = 'submitted' AND j.assignment_id = a.id"
            " AND i.batch_id = ? AND i.complete <> ? AND j.rewrite IS NOT NULL"
            f" AND trim(j.rewrite, ?) <> ''{differs}"
            " GROUP BY CASE WHEN r.status IN ('accepted', 'rejected') THEN r.status"
            " ELSE 'unreviewed' END",
            (batch_id, GOLD_ITEM, *[WHITESPACE] * (3 if differing else 1)),
        )
        return RewriteCounts(**dict(rows))

    async def rubric_versions(self, batch_id: int) -> dict[int, str]:
        """Every rubric version of the batch: id -> its rubric JSON as stored."""
        rows = await self._all(
            "SELECT id, rubric FROM rubric_versions WHERE batch_id = ? ORDER BY id", (batch_id,)
        )
        return dict(rows)

    async def judgments_per_version(self, batch_id: int) -> dict[int | None, int]:
        """How many submitted judgments of the batch each rubric version has (None: made
        before versions were recorded)."""
        rows = await self._all(
            "SELECT a.rubric_version, COUNT(*) FROM items i CROSS JOIN assignments a"
            " WHERE a.item_id = i.id AND i.batch_id = ? AND a.status = 'submitted'"
            " GROUP BY a.rubric_version",
            (batch_id,),
        )
        return dict(rows)

    async def has_chat_form(self, batch_id: int) -> bool:
        sql = "SELECT 1 FROM items WHERE batch_id = ? AND chat_form = 1 LIMIT 1"
        return await self._one(sql, (batch_id,)) is not None

    async def raw_lines(
        self,
        batch: ExportBatch,
        criteria: Sequence[str],
        flags: Sequence[str],
        scale: tuple[int, int],
        trainer: Callable[[int], bytes],
        line_end: Callable[[int | None, int | None], bytes],
        chunk_items: int,
    ) -> AsyncIterator[tuple[int, int, bytes]]:
        """(items read, judgments, their `raw` lines) for the batch's items in id order,
        `chunk_items` at a time. Scores and flags follow the rubric's `criteria` and `flags`;
        `trainer` gives the JSON text that names a trainer (`,"trainer":...`), `line_end` the
        text that ends a line from the rewrite's reviewer (None: none decided) and the rubric
        version the judgment was made under (closing brace and newline included)."""
        head_sql, head_params = self._json.raw_heads(batch.name)
        tails = self._json.RawTails(criteria, flags, scale)

        # id -> its text: a team is small, and so are its reviewers and the rubric's versions
        names: dict[int, bytes] = {}
        ends: dict[tuple[int | None, int | None], bytes] = {}

        async def read(chunk: tuple[int, int, int]) -> tuple[int, bytes]:
            heads = dict(await self._all(head_sql, (*chunk, *head_params)))
            if not heads:
                return 0, b""
            rows = await self._all(tails.sql, (*chunk, *tails.params))
            named, decoded, ended, parts = names.get, tails.decoded.get, ends.get, []
            for item_id, trainer_id, code, end, reviewer_id, version_id in rows:
                key = (reviewer_id, version_id)
                parts += (
                    heads[item_id],
                    named(trainer_id) or names.setdefault(trainer_id, trainer(trainer_id)),
                    decoded(code) or tails.marks(code),
                    end,
                    ended(key) or ends.setdefault(key, line_end(reviewer_id, version_id)),
                )
            return len(rows), b"".join(parts)

        async for items, (count, text) in self._chunks(batch.id, chunk_items, read):
            yield items, count, text

    def rewrite_lines(
        self,
        batch: ExportBatch,
        fmt: str,
        conversational: bool,
        all_rewrites: bool,
        chunk_items: int,
    ) -> AsyncIterator[tuple[int, list[tuple[int | None, bytes]]]]:
        """(items read, their (rubric version, JSON line)) of `sft` or `dpo`
        (`conversational`: chat form): accepted rewrites, with `all_rewrites` unreviewed ones
        too, never rejected ones nor gold items'."""
        sql, params = (
            self._json.sft_lines(all_rewrites)
            if fmt == "sft"
            else self._json.dpo_lines(conversational, all_rewrites)
        )

        async def read(chunk: tuple[int, int, int]) -> list[tuple[int | None, bytes]]:
            return [(row[0], row[1]) for row in await self._all(sql, (*chunk, *params))]

        return self._chunks(batch.id, chunk_items, read)

    def item_scores(self, batch_id: int, chunk_items: int) -> AsyncIterator[tuple[int, ItemScores]]:
        """(items read, their ids and external ids, every score of their submitted judgments
        as (item id, criterion, score), criterion and score None for an item with none, and
        how many reviewers raised each flag on each item), in item order."""
        names_sql = (
            "SELECT i.id, i.external_id FROM items i"
            " WHERE +i.batch_id = ? AND i.id BETWEEN ? AND ? ORDER BY i.id"
        )
        # No GROUP BY: sorting the scores cost more than counting them in the caller. LEFT
        # JOINs keep the walk from the chunk's items (SQLite joins them in the order written);
        # an item without scores comes back as one row of NULLs.
        scores_sql = (
            "SELECT i.id, s.criterion, s.score FROM items i"
            " LEFT JOIN assignments a ON a.item_id = i.id AND a.status = 'submitted'"
            " LEFT JOIN scores s ON s.assignment_id = a.id"
            " WHERE +i.batch_id = ? AND i.id BETWEEN ? AND ?"
        )

        # Flags are few (one judgment in six or so): grouping them costs little. CROSS JOIN
        # keeps the walk from the chunk's items; left to choose, SQLite walks every submitted
        # assignment of the database for each chunk. (Its conditions are in WHERE: PostgreSQL
        # takes no ON after CROSS JOIN.)
        flags_sql = (
            "SELECT i.id, f.flag, COUNT(DISTINCT a.trainer_id) FROM items i"
            " CROSS JOIN assignments a CROSS JOIN flags f"
            " WHERE a.item_id = i.id AND a.status = 'submitted' AND f.assignment_id = a.id"
            " AND +i.batch_id = ? AND i.id BETWEEN ? AND ? GROUP BY i.id, f.flag"
        )

        async def read(chunk: tuple[int, int, int]) -> ItemScores:
            return (
                await self._all(names_sql, chunk),
                await self._all(scores_sql, chunk),
                await self._all(flags_sql, chunk),
            )

        return self._chunks(batch_id, chunk_items, read)

    async def _chunks(
        self,
        batch_id: int,
        chunk_items: int,
        read: Callable[[tuple[int, int, int]], Awaitable[T]],
    ) -> AsyncIterator[tuple[int, T]]:
        """`read` of each chunk's (batch id, first item id, last item id), with the number of
        items in it; the next chunk is read while the caller handles this one (`_ReadAhead`)."""
        ahead: _ReadAhead[T] = _ReadAhead(
            self._turn,
            self._tx.chunks(
                "SELECT id FROM items WHERE batch_id = ? ORDER BY id", (batch_id,), chunk_items
            ),
            lambda ids: read((batch_id, ids[0][0], ids[-1][0])),
        )
        self._reads.add(ahead)
        try:
            while (chunk := await ahead.next()) is not None:
                yield chunk
        finally:
            await ahead.finish()
            self._reads.discard(ahead)

    async def end(self) -> None:
        """Finish every read still under way (a caller that stopped reading early and left
        its iterator open), before the snapshot itself ends."""
        for ahead in list(self._reads):
            await ahead.finish()
        self._reads.clear()

    async def _one(self, sql: str, params: Sequence[Any]) -> tuple | None:
        async with self._turn:
            row = await self._tx.fetchone(sql, params)
        return None if row is None else tuple(row)

    async def _all(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        """Every row, as plain tuples (the fastest rows to unpack, a chunk at a time)."""
        rows: list[tuple] = []
        async with self._turn:
            async for part in self._tx.chunks(sql, params, _ALL_ROWS):
                rows += part
        return rows


class _ReadAhead(Generic[T]):
    """The chunks of one long read of item ids, each read (`read`) while the caller handles
    the one before.

    The long read stays open between its steps; each step, like every other statement of the
    snapshot, takes its turn (`turn`: asyncpg refuses a second statement on a connection while
    one is under way; aiosqlite would queue it). Once the caller stops, the read under way is
    let finish rather than cancelled: a statement cancelled mid-way on PostgreSQL leaves a
    cancel request racing the snapshot's next statements, and on SQLite a cancelled read runs
    to its end on the connection's thread anyway. It is one chunk."""

    def __init__(
        self,
        turn: asyncio.Lock,
        ids: AsyncIterator[list[tuple]],
        read: Callable[[list[tuple]], Awaitable[T]],
    ):
        self._turn = turn
        self._ids = ids
        self._read = read
        self._pending: asyncio.Future[tuple[int, T] | None] | None = None
        self._finished = False

    async def next(self) -> tuple[int, T] | None:
        """The next chunk's (items in it, what `read` gave), None after the last one."""
        pending = self._pending or asyncio.ensure_future(self._chunk())
        self._pending = None
        chunk = await pending
        if chunk is not None:
            self._pending = asyncio.ensure_future(self._chunk())
        return chunk

    async def _chunk(self) -> tuple[int, T] | None:
        async with self._turn:
            ids = await anext(self._ids, None)
        if not ids:
            return None
        return len(ids), await self._read(ids)

    async def finish(self) -> None:
        """Let the read under way finish (its rows and errors unwanted), end the long read."""
        if self._finished:
            return
        self._finished = True
        pending, self._pending = self._pending, None
        if pending is not None:
            if not pending.done():
                with contextlib.suppress(Exception):
                    await pending
            elif not pending.cancelled():
                pending.exception()  # looked at: asyncio logs no "never retrieved" for it
        close = getattr(self._ids, "aclose", None)  # the long read is a generator
        if close is not None:
            async with self._turn:
                await close()


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[ExportSnapshot]:
    """The reads of one export, frozen at the first one (`Database.snapshot`)."""
    async with db.snapshot() as tx:
        snap = ExportSnapshot(tx)
        try:
            yield snap
        finally:
            await snap.end()


async def batch_id_of(db: Database, name: str) -> int | None:
    row = await db.fetchone("SELECT id FROM batches WHERE name = ?", (name,))
    return None if row is None else row[0]


async def batch_name_of(db: Database, batch_id: int) -> str | None:
    """The name of the batch with this id, None if there is none."""
    row = await db.fetchone("SELECT name FROM batches WHERE id = ?", (batch_id,))
    return None if row is None else row[0]


async def item_count_of(db: Database, batch_id: int) -> int:
    """How many items the batch has (kept on the batch row at import)."""
    return await db.fetchval("SELECT item_count FROM batches WHERE id = ?", (batch_id,), default=0)


async def batch_names(db: Database) -> list[str]:
    """Every batch's name, newest first (to list the choices after a typo)."""
    return [row[0] for row in await db.fetchall("SELECT name FROM batches ORDER BY id DESC")]


async def keep_first_fact(db: Database, name: str, value: str) -> str:
    """Store `value` under `name` unless a value is there already; the value that stays.

    Two first exports at once must agree on one secret, so this never overwrites.
    """
    return await db.write(_keep_first_fact, name, value)


async def _keep_first_fact(tx: Transaction, name: str, value: str) -> str:
    await tx.execute(
        "INSERT INTO bot_facts (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (name, value),
    )
    return await tx.fetchval("SELECT value FROM bot_facts WHERE name = ?", (name,))
