"""SQLite behind `storage/database.py`: connection setup, the single writer, and migrations.

SQLite has one writer at a time, so writes are serialised by one lock and run as short
`BEGIN IMMEDIATE` transactions; reads run beside them, which WAL allows. This is the only module
with SQLite-specific settings (pragmas); the SQL elsewhere in `storage/` is written once for
both backends.

Where statements run. A tap's reads and its write take tens of microseconds in SQLite, while a
trip to an aiosqlite thread costs far more: the thread wakes, and every sqlite3 call hands the
interpreter lock over and back (measured under 50 trainers: about 1,250 context switches and 13
ms of system CPU per review, against 25 and 2 ms inline). So short statements run inline, on
the event loop's own thread, through a plain sqlite3 connection that never waits: its busy
timeout is 0 and a progress handler stops any statement running longer than `INLINE_STEPS`
SQLite steps (well under a millisecond). A statement stopped that way, or finding the write
lock held by another process, is run again on aiosqlite's threads (reader, or writer with its
5 s busy timeout), where waiting holds up nobody else. Long work (imports, exports, migrations)
uses those threads directly.

A write's work is an `async def` over a `Transaction`, yet here it never waits: every statement
of `_SyncTransaction` runs at once on the sqlite3 connection, so the work is driven to its end
in one step (`_drive`), inline or on the writer's thread, exactly as plain synchronous code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.database import (
    Database,
    Params,
    Row,
    Transaction,
    current_request,
    migration_files,
    statements,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_PRAGMAS = (
    # First: a connection opened while another process migrates a new file waits for its lock
    # (switching a new file to WAL takes one) instead of failing at once.
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    # NORMAL in WAL mode survives a crash of the process (the bot), which is what "never lose
    # an acknowledged rating" needs; only a power cut may drop the last transactions.
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)

# SQLite copies the WAL back into the database file inside whichever commit crosses
# wal_autocheckpoint pages (1,000 by default): that commit, a trainer's tap, then takes
# milliseconds instead of a fraction of one. So a checkpointer of its own copies it every
# CHECKPOINT_SECONDS (PASSIVE: it neither waits for nor blocks the writer or the readers), and
# the writer's own checkpoint stays only as a backstop should the checkpointer fall behind.
CHECKPOINT_SECONDS = 0.5
INLINE_STEPS = 50_000  # SQLite VM steps an inline statement may take (well under 1 ms)
_STEPS_PER_CHECK = 1_000
_MOVE_TO_THREAD = frozenset({sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_WRITER_AUTOCHECKPOINT = "PRAGMA wal_autocheckpoint = 20000"  # pages (~80 MB of WAL)


class _SyncTransaction(Transaction):
    """A transaction on a plain sqlite3 connection: each statement runs at once, so a work
    function over it never waits and `_drive` can run it to its end in one step."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return self._conn.execute(sql, params).fetchone()

    async def chunks(self, sql: str, params: Params, size: int) -> AsyncIterator[list[tuple]]:
        cursor = self._conn.execute(sql, params)
        cursor.row_factory = None
        while rows := cursor.fetchmany(size):
            yield rows


class _AioTransaction(Transaction):
    """A transaction on an aiosqlite connection (blocks of long work, snapshots)."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection):
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def chunks(self, sql: str, params: Params, size: int) -> AsyncIterator[list[tuple]]:
        async with self._conn.execute(sql, params) as cursor:
            cursor._cursor.row_factory = None  # plain tuples: the fastest rows for long reads
            while rows := await cursor.fetchmany(size):
                yield list(rows)


def _drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never waits to its end, here and now (see the module docstring)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a SQLite write's work waited on something other than the database")


class SQLiteDatabase(Database):
    """Writer and reader connections to one SQLite file."""

    dialect = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._checkpointer: asyncio.Task | None = None
        self._checkpoints: aiosqlite.Connection | None = None  # the checkpointer's connection
        self._inline: sqlite3.Connection | None = None
        self._inline_checks = 0

    @classmethod
    async def connect(cls, path: Path, *, migrate: bool = True) -> SQLiteDatabase:
        """Open (creating the folder and file if needed) and bring the schema up to date."""
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        reader = await _connect(path)
        db = cls(path, writer, reader)
        if migrate:
            await db.migrate()
        if str(path) != ":memory:":
            db._inline = db._connect_inline()
            await writer.execute(_WRITER_AUTOCHECKPOINT)
            db._checkpoints = await _connect(path)
            db._checkpointer = asyncio.create_task(
                _checkpoint_every(db._checkpoints, CHECKPOINT_SECONDS),
                name=f"wal-checkpoint {path.name}",
            )
        return db

    async def close(self) -> None:
        """Close the connections (the checkpointer's after a last checkpoint); safe twice."""
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._checkpoints is not None:
            # The last checkpoint here, not in the task: a task cancelled by a closing event
            # loop must not start work on a thread whose answer finds the loop gone.
            with contextlib.suppress(aiosqlite.Error):
                await self._checkpoints.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            with contextlib.suppress(ValueError):
                await self._checkpoints.close()
            self._checkpoints = None
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        for conn in (self._reader, self._writer):
            with contextlib.suppress(ValueError):  # already closed
                await conn.close()

    def write_fault(self, error: BaseException) -> str | None:
        return write_fault(error)

    # -- inline statements (see the module docstring) ----------------------------------------

    def _connect_inline(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        conn.execute("PRAGMA busy_timeout = 0")  # never wait on the event loop's thread
        conn.execute(_WRITER_AUTOCHECKPOINT)  # it writes too: checkpoints are the checkpointer's
        conn.set_progress_handler(self._count_steps, _STEPS_PER_CHECK)
        return conn

    def _count_steps(self) -> int:
        self._inline_checks += 1
        return int(self._inline_checks * _STEPS_PER_CHECK > INLINE_STEPS)  # non-zero: stop it

    def _run_inline(self, work: Callable[[sqlite3.Connection], T]) -> T | _Moved:
        """`work` on the inline connection, or MOVED if it must run on a thread instead."""
        assert self._inline is not None
        self._inline_checks = 0
        try:
            return work(self._inline)
        except sqlite3.OperationalError as error:
            code = getattr(error, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _MOVE_TO_THREAD:  # extended codes too
                return MOVED
            raise

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a read: inline when quick, else (in one trip) on the reader's thread,
        whose statement is finished before the next read starts."""
        if self._inline is not None:
            rows = self._run_inline(lambda conn: conn.execute(sql, params).fetchall())
            if rows is not MOVED:
                return rows
        return list(await self._reader.execute_fetchall(sql, params))

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Transaction]:
        """A read-only view frozen at entry, on its own connection (long exports).

        WAL keeps the view consistent while the writer goes on committing; the first read
        fixes it.
        """
        conn = await _connect(self.path)
        try:
            await conn.execute("PRAGMA query_only = ON")
            await conn.execute("BEGIN")
            await (await conn.execute("SELECT COUNT(*) FROM schema_migrations")).close()
            yield _AioTransaction(conn)
        finally:
            with contextlib.suppress(aiosqlite.Error, ValueError):
                await conn.rollback()
            await conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction; committed when the block ends, rolled back on any error.

        If the caller is handling a request whose id must be recorded (see `RequestMark`),
        the first transaction records it too: the effect and "this request was handled" are
        committed together, in one write.
        """
        mark = current_request.get()
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield _AioTransaction(self._writer)
                if mark is not None and not mark.recorded:
                    await self._writer.execute(mark.sql, mark.params)
                await self._writer.commit()
            except BaseException:
                # Also when COMMIT fails (SQLITE_BUSY leaves the transaction open), and when the
                # task is cancelled with BEGIN still queued on the writer's thread: the rollback
                # queues behind it (and does nothing if no transaction is open).
                await asyncio.shield(self._writer.rollback())
                raise
            if mark is not None:
                mark.recorded = True

    async def write(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run `work(tx, *args)` as one write transaction: BEGIN IMMEDIATE, the work, the
        request mark, COMMIT (or ROLLBACK), inline when quick, else in a single trip to the
        writer's thread (then `work` runs again from the start, after the inline rollback).
        """
        mark = current_request.get()
        pending_mark = mark if mark is not None and not mark.recorded else None

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = _drive(work(_SyncTransaction(conn), *args, **kwargs))
                if pending_mark is not None:
                    conn.execute(pending_mark.sql, pending_mark.params)
                conn.commit()
            except BaseException:
                # Also when COMMIT itself fails (SQLITE_BUSY leaves the transaction open).
                if conn.in_transaction:
                    conn.rollback()
                raise
            return result

        async with self._write_lock:
            result = MOVED if self._inline is None else self._run_inline(transaction)
            if result is MOVED:
                result = await _on_thread(self._writer, transaction)
        if pending_mark is not None:
            pending_mark.recorded = True
        return result

    async def migrate(self) -> list[str]:
        """Apply the numbered `.sql` files not applied yet, each in its own transaction."""
        async with self._write_lock:
            await self._writer.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL"
                " DEFAULT CURRENT_TIMESTAMP)"
            )
            await self._writer.commit()
        applied = {row[0] for row in await self.fetchall("SELECT version FROM schema_migrations")}
        done: list[str] = []
        for version, name, sql in migration_files(self.dialect):
            if version in applied:
                continue
            async with self.transaction() as tx:
                # Under the write lock, looked at again: another process opening the same new
                # file at the same moment may have applied it meanwhile.
                if await tx.fetchone(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ):
                    continue
                for statement in statements(sql):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
                )
            log.info("applied migration %s", name)
            done.append(name)
        return done


# SQLite's answers meaning "this write cannot be stored right now" (the disk is full, the file
# is read-only, an I/O error, the lock held past busy_timeout), unlike a bug in a statement.
_WRITE_FAULTS = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
    }
)


def write_fault(error: BaseException) -> str | None:
    """SQLite's short reason (e.g. "database or disk is full") when `error` means a write could
    not be stored now and may work later; None for any other error."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(error, sqlite3.Error) and code is not None and code & 0xFF in _WRITE_FAULTS:
        return str(error)
    return None


async def _checkpoint_every(conn: aiosqlite.Connection, seconds: float) -> None:
    """Copy the WAL into the database file now and then, off the writer's commits."""
    failing = False
    while True:
        await asyncio.sleep(seconds)
        try:
            await conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            failing = False
        except aiosqlite.Error as error:
            if not failing:  # once, not every half second
                log.warning("WAL checkpoint failed (the writer checkpoints instead): %s", error)
            failing = True


class _Moved:
    """What `_run_inline` returns when the work must run on a thread."""


MOVED = _Moved()


async def _on_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` with the raw sqlite3 connection on aiosqlite's own thread for it.

    aiosqlite offers this only as `Connection._execute` (what its public methods use); the
    version is pinned in pyproject.toml and tests/test_storage.py fails if it goes away.
    """
    return await conn._execute(lambda: work(conn._conn))


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    try:
        for pragma in _PRAGMAS:
            await _patiently(conn, pragma)
    except BaseException:
        await conn.close()
        raise
    return conn


async def _patiently(conn: aiosqlite.Connection, pragma: str) -> None:
    """A pragma, tried again for up to five seconds while the file is locked: switching a new
    file to WAL while another process migrates it can fail at once, without waiting out the
    busy timeout (SQLite does not wait where waiting could deadlock)."""
    for attempt in range(50):
        try:
            await conn.execute(pragma)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 49:
                raise
            await asyncio.sleep(0.1)
