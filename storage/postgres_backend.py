"""PostgreSQL behind `storage/database.py`, through asyncpg: for several bot processes on one
database (`DATABASE_URL=postgresql://...`).

What differs from SQLite lives here and only here:
- Placeholders: the queries are written with `?` (or `:name` and a dict); each statement is
  translated once to asyncpg's `$1, $2, ...` (`translate`), and asyncpg prepares and caches it.
- Types: the migrations say INTEGER and REAL as SQLite does; here every INTEGER is a BIGINT
  (Telegram ids are 64-bit) and an `id INTEGER PRIMARY KEY` an identity column, the key SQLite
  gives such a column by itself (`ddl`). SUM and AVG answer `numeric`, which is read back as an
  int when whole and a float otherwise, as SQLite answers.
- Isolation: SQLite runs one write at a time; here writes from many connections and processes
  run at once, so every write transaction is SERIALIZABLE: PostgreSQL then guarantees the
  outcome of some one-at-a-time order, or fails a transaction with a serialization failure (or
  a deadlock), and `write` runs the work again from the start. That keeps every invariant the
  queries were written for (a trainer never holding two items, a claim taken once) across
  processes, without a lock per query. The writes that take room on an item (the pick, the
  take-up of a swept lease) instead take one turn across processes (`write_in_turn`, an
  advisory lock) and run at READ COMMITTED: one at a time, each statement seeing every commit
  before it, so an item is never handed out beyond its overlap and the busiest write of all
  never fails and runs again.
- Migrations take an advisory lock, so two processes starting at once never both migrate.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg

from storage.database import (
    Database,
    Params,
    RequestMark,
    Row,
    Transaction,
    Turn,
    current_request,
    migration_files,
    statements,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# Advisory lock keys (64-bit, one space for the whole database): a trainer's lock is their
# Telegram user id (positive), the bot's own locks are negative.
MIGRATION_LOCK = -1
LEADER_LOCK = -2
# How long the leader connection may take to say it is still there (`still_leading`).
LEADER_ANSWER_SECONDS = 5.0
# max_pred_locks_per_transaction the server should have (see PostgresDatabase._check_settings).
PRED_LOCKS_WANTED = 256
# Connections of each process for the trainers' locks (beside its pool and the leader's).
LOCK_CONNECTIONS = 4
# The most writes of one turn run in one transaction (PostgresDatabase._together).
TURN_GROUP = 16
# How long a process waits between tries for a trainer's lock another process holds.
_LOCK_POLL = (0.001, 0.02)  # first and longest pause, seconds
# SQLSTATEs after which the same transaction, run again, may well succeed.
_RETRY = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_MAX_ATTEMPTS = 30
# The pause before a write runs again: random, up to 2 ms after its first collision, doubling
# with each one after it up to this (a busy, slow machine needs more than 30 tries of a few
# ms: one bench run there saw writes fail all their tries).
_LONGEST_PAUSE = 0.25
# SQLSTATE classes meaning "cannot store this now" (disk full, too many connections, the
# server shutting down or unreachable) rather than a bug in a statement.
_FAULT_CLASSES = ("53", "57", "08")


@lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """`sql` with `?`, `?N` or `:name` placeholders as `$N`; with the names in order when the
    statement uses `:name` (the parameters then come as a dict). Quoted text and comments are
    left alone."""
    out: list[str] = []
    names: list[str] = []
    count = 0
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:  # '' inside a literal
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif char == "?":
            match = _NUMBER.match(sql, i + 1)
            if match:
                out.append(f"${match.group()}")
                i = match.end()
            else:
                count += 1
                out.append(f"${count}")
                i += 1
        elif char == ":" and i + 1 < n and sql[i + 1] == ":":
            out.append("::")  # a cast
            i += 2
        elif char == ":" and (match := _NAME.match(sql, i + 1)):
            name = match.group()
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i = match.end()
        else:
            out.append(char)
            i += 1
    return "".join(out), (tuple(names) if names else None)


_NUMBER = re.compile(r"\d+")
_NAME = re.compile(r"[A-Za-z_]\w*")


def _args(sql: str, params: Params) -> tuple[str, Sequence[Any]]:
    text, names = translate(sql)
    if names is not None:
        assert isinstance(params, dict), f"named placeholders need a dict: {sql[:80]}"
        return text, [params[name] for name in names]
    return text, params


def ddl(sql: str) -> str:
    """A migration's statement as PostgreSQL takes it (see the module docstring)."""
    sql = _IDENTITY.sub(r"\1 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
    sql = _INTEGER.sub("BIGINT", sql)
    return _REAL.sub("DOUBLE PRECISION", sql)


_IDENTITY = re.compile(r"\b(id)\s+INTEGER\s+PRIMARY\s+KEY\b(?!\s+REFERENCES)", re.IGNORECASE)
_INTEGER = re.compile(r"\bINTEGER\b", re.IGNORECASE)
_REAL = re.compile(r"\bREAL\b", re.IGNORECASE)


def _turn_key(turn: Turn) -> int:
    """A turn's advisory lock key: negative (trainers' keys are their positive ids), below the
    bot's own fixed keys, the same in every process."""
    return -1000 - zlib.crc32(turn.name.encode())


def _changed(status: str) -> int:
    """Rows changed, from asyncpg's status line ("UPDATE 3", "INSERT 0 1", "SELECT 2")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _numeric(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
    )


async def _reset(conn: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool: nothing, unless a transaction was
    left open. asyncpg's own reset (unlock every advisory lock, close cursors, UNLISTEN, RESET
    ALL) is one more round trip on every read and write, for state this bot never leaves
    behind: `write_in_turn`'s lock ends with its transaction, and the trainers' and the
    leader's locks live on connections of their own, outside the pool."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class _PgTransaction(Transaction):
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        text, args = _args(sql, params)
        return _changed(await self._conn.execute(text, *args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        text, names = translate(sql)
        if names is not None:
            rows = [[row[name] for name in names] for row in rows]  # type: ignore[call-overload]
        await self._conn.executemany(text, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        text, args = _args(sql, params)
        return await self._conn.fetch(text, *args)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        text, args = _args(sql, params)
        return await self._conn.fetchrow(text, *args)

    async def chunks(self, sql: str, params: Params, size: int) -> AsyncIterator[list[tuple]]:
        text, args = _args(sql, params)
        cursor = await self._conn.cursor(text, *args)
        while rows := await cursor.fetch(size):
            yield [tuple(row) for row in rows]

    async def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        await self._conn.copy_records_to_table(table, columns=list(columns), records=rows)

    async def set_identity_past(self, table: str, largest: int) -> None:
        sequence = await self._conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
        if sequence is not None:
            await self._conn.execute("SELECT setval($1, $2, true)", sequence, max(largest, 1))


class PostgresDatabase(Database):
    """A pool of asyncpg connections to one PostgreSQL database."""

    dialect = "postgresql"
    shared = True

    def __init__(self, url: str, pool: asyncpg.Pool):
        self.url = url
        self._pool = pool
        # The trainers' locks, taken without waiting, on LOCK_CONNECTIONS connections of their
        # own: a trainer's lock and unlock always on the same one (by user id), and each
        # connection runs one statement at a time, so several spread the queue of every tap's
        # two lock statements (one was a tenth of the bot's samples with 4 processes).
        self._locks = [_LockConnection(url) for _ in range(LOCK_CONNECTIONS)]
        self._leader = _LockConnection(url)  # holds LEADER_LOCK while this process leads
        self._leading = False
        self._turns: dict[str, asyncio.Lock] = {}  # write_in_turn's queue in this process
        self._waiting: dict[str, collections.deque[_Turned]] = {}  # its writes, by turn name
        self.retries = 0  # writes run again after a serialization failure (benchmarks)

    @classmethod
    async def connect(
        cls, url: str, *, migrate: bool = True, pool_size: int = 10
    ) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=pool_size,
            init=_setup,
            reset=_reset,
            statement_cache_size=1024,
        )
        db = cls(url, pool)
        await db._check_settings()
        if migrate:
            try:
                await db.migrate()
            except BaseException:
                await pool.close()
                raise
        return db

    async def _check_settings(self) -> None:
        """Say once at start if the server tracks too few reads for SERIALIZABLE: past
        max_pred_locks_per_transaction / 2 rows of one table a transaction's read locks become
        one lock on the whole table, and every write there then conflicts with it, so the
        pick fails and runs again far more often than it must (README: 256 or more)."""
        value = await self._pool.fetchval("SHOW max_pred_locks_per_transaction")
        if int(value) < PRED_LOCKS_WANTED:
            log.warning(
                "PostgreSQL's max_pred_locks_per_transaction is %s; set it to %d or more"
                " (postgresql.conf, then restart the server), or writes collide far more often",
                value,
                PRED_LOCKS_WANTED,
            )

    async def close(self) -> None:
        for locks in self._locks:
            await locks.close()
        await self._leader.close()
        self._leading = False
        if not self._pool.is_closing():
            await self._pool.close()

    async def refresh_statistics(self, table: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(f"ANALYZE {table}")

    @asynccontextmanager
    async def user_lock(self, user_id: int) -> AsyncIterator[None]:
        """The trainer's advisory lock, on a connection of its own: tried without waiting (so
        one busy trainer never holds up the others' locks), again after a short pause while
        another process holds it, and released when the block ends (or with the connection,
        should this process die)."""
        pause = _LOCK_POLL[0]
        locks = self._locks[user_id % len(self._locks)]
        while not await locks.value("SELECT pg_try_advisory_lock($1)", user_id):
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LOCK_POLL[1])
        try:
            yield
        finally:
            with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                await asyncio.shield(locks.value("SELECT pg_advisory_unlock($1)", user_id))

    async def is_leader(self) -> bool:
        """Whether this process holds LEADER_LOCK, trying for it if not: the lock lives as long
        as its connection, so when the leader dies the next process to ask takes over."""
        if self._leading and self._leader.alive():
            return True
        try:
            self._leading = bool(
                await self._leader.value("SELECT pg_try_advisory_lock($1)", LEADER_LOCK)
            )
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as error:
            log.warning("could not ask for the leadership: %s", error)
            self._leading = False
        return self._leading

    async def still_leading(self) -> bool:
        """Whether this process still holds LEADER_LOCK, asked on the leader connection itself
        and never opening it again (a new connection would not hold the lock). The lock is a
        session lock this bot never unlocks, so it is held exactly as long as that session
        answers: a connection the server dropped (terminated, restarted, idle too long) is
        noticed by this one small query, and one that does not answer within
        LEADER_ANSWER_SECONDS is dropped here, so its lock goes too and another process can
        lead. The next `is_leader` tries for the lock again on a new connection."""
        if self._leading and not await self._leader.answers(LEADER_ANSWER_SECONDS):
            self._leading = False
        return self._leading

    def write_fault(self, error: BaseException) -> str | None:
        return write_fault(error)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        text, args = _args(sql, params)
        return await self._pool.fetch(text, *args)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        text, args = _args(sql, params)
        return await self._pool.fetchrow(text, *args)

    async def write(self, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`work(tx, *args)` in one SERIALIZABLE transaction with the request mark, run again
        from the start after a serialization failure or a deadlock."""
        async with self._pool.acquire() as conn:
            return await self._write_on(conn, work, *args, **kwargs)

    async def write_in_turn(
        self, turn: Turn, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
    ) -> T:
        """`write` under the turn's advisory lock, at READ COMMITTED: each statement sees every
        commit before it, the previous turn's included.

        The turn keeps the writes that decide over the same rows (the pick and the take-up of a
        swept lease, over the room left on an item) one at a time, so SERIALIZABLE's checks
        would only add failures: measured, they failed most picks (the pick reads index pages
        that every Submit writes, and PostgreSQL tracks index reads by page) and each failure
        ran again with the turn held. Writes outside the turn may only change what a turn's
        work decides towards more room (a Submit, a skip, a sweep), which READ COMMITTED's next
        statement sees.

        The lock is a transaction lock taken in the same round trip as BEGIN (with the turn's
        opening statement after it) and released by the commit: no statement runs before it,
        and none is needed to release it. In this process the turns queue on an asyncio lock
        first, so one pool connection at most waits on the database's lock (two, for a moment,
        when the caller running a group is cancelled: the group goes on, shielded, and the
        next caller begins the next one).
        The pick turn's opening may wait for a row lock of a write outside the turn (a Submit
        of an item still UNDATED); a deadlock there is detected and the turn runs again."""
        begin = (
            f"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({_turn_key(turn)})"
        )
        if turn.opening:
            begin = f"{begin}; {turn.opening}"
        done = asyncio.get_running_loop().create_future()
        entry = _Turned(work, args, kwargs, current_request.get(), done)
        waiting = self._waiting.setdefault(turn.name, collections.deque())
        waiting.append(entry)
        try:
            async with self._turns.setdefault(turn.name, asyncio.Lock()):
                while entry in waiting:  # else an earlier turn took it along
                    group = [waiting.popleft() for _ in range(min(len(waiting), TURN_GROUP))]
                    # Shielded: the others' writes must not fail with this caller.
                    await asyncio.shield(self._together(group, begin))
            # Shielded too: cancelling this caller must not cancel the outcome the group sets.
            return await asyncio.shield(entry.done)
        except asyncio.CancelledError:
            if entry in waiting:
                waiting.remove(entry)
            else:  # its write goes on; nobody reads the outcome
                entry.done.add_done_callback(_retrieved)
            raise

    async def _together(self, group: list[_Turned], begin: str) -> None:
        """The turn's writes waiting in this process, in one transaction of the turn (up to
        TURN_GROUP of them, in the order they came): the turn's own round trips (BEGIN with
        the lock and the opening, COMMIT) are paid once for all, and the next turn waits that
        much less (measured: with one process flat out, every round trip waited ~6 ms for the
        event loop, and the picks queued for seconds behind each other's ten). Each write sees
        the ones before it, as if they had taken turns one by one. If the group fails, each
        runs again in a transaction of its own, so only the failing one fails."""
        current_request.set(None)  # each write's own mark is stored with it (`_each`)
        try:
            try:
                await self._commit(group, begin)
            except Exception:
                if len(group) == 1:
                    raise
                for entry in group:  # each on a connection of its own: the group's may be lost
                    try:
                        await self._commit([entry], begin)
                    except Exception as error:
                        _settle(entry.done, error=error)
        except Exception as error:
            _settle(group[0].done, error=error)
        except BaseException:
            for entry in group:
                entry.done.cancel()
            raise

    async def _commit(self, group: list[_Turned], begin: str) -> None:
        """The writes in one transaction of the turn; each gets its result once it committed."""
        async with self._pool.acquire() as conn:
            results = await self._write_on(conn, _each, group, begin=begin)
        for entry, result in zip(group, results, strict=True):
            if entry.mark is not None:
                entry.mark.recorded = True
            _settle(entry.done, result=result)

    async def _write_on(
        self,
        conn: asyncpg.Connection,
        work: Callable[..., Awaitable[T]],
        *args: Any,
        begin: str = "BEGIN ISOLATION LEVEL SERIALIZABLE",
        **kwargs: Any,
    ) -> T:
        """`work` in one transaction begun by `begin` (one round trip, no parameters), with the
        request mark, run again after a serialization failure or a deadlock. An open
        transaction that fails or is cancelled is rolled back when the connection goes back to
        the pool (`_reset`)."""
        mark = current_request.get()
        pending_mark = mark if mark is not None and not mark.recorded else None
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                await conn.execute(begin)
                result = await work(_PgTransaction(conn), *args, **kwargs)
                if pending_mark is not None:
                    text, values = _args(pending_mark.sql, pending_mark.params)
                    await conn.execute(text, *values)
                await conn.execute("COMMIT")
                break
            except asyncpg.PostgresError as error:
                await _roll_back(conn)  # if the failure did not end it (at COMMIT)
                if error.sqlstate not in _RETRY or attempt == _MAX_ATTEMPTS:
                    raise
                self.retries += 1
                # A random pause spreads the retries of transactions that collided; it grows,
                # so writes that keep colliding back off instead of colliding again at once.
                await asyncio.sleep(
                    random.uniform(0, min(0.002 * 2 ** (attempt - 1), _LONGEST_PAUSE))
                )
            except Exception:
                # The work's own error: end the transaction here, so the connection is ready
                # for the next write (a turn runs several on one, `_together`).
                await _roll_back(conn)
                raise
        if pending_mark is not None:
            pending_mark.recorded = True
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        mark = current_request.get()
        async with self._pool.acquire() as conn, conn.transaction(isolation="serializable"):
            yield _PgTransaction(conn)
            if mark is not None and not mark.recorded:
                text, values = _args(mark.sql, mark.params)
                await conn.execute(text, *values)
        if mark is not None:
            mark.recorded = True

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Transaction]:
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield _PgTransaction(conn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the pool held for the block (advisory locks held across writes)."""
        async with self._pool.acquire() as conn:
            yield conn

    async def migrate(self) -> list[str]:
        """Apply the migrations not applied yet, under an advisory lock: a second process
        starting at the same moment waits, then finds them applied."""
        done: list[str] = []
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL"
                    " DEFAULT CURRENT_TIMESTAMP)"
                )
                applied = {
                    row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")
                }
                for version, name, sql in migration_files(self.dialect):
                    if version in applied:
                        continue
                    async with conn.transaction():
                        for statement in statements(sql):
                            try:
                                await conn.execute(ddl(statement))
                            except asyncpg.PostgresError as error:
                                error.args = (f"{name}: {error} in: {statement[:200]}",)
                                raise
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            version,
                            name,
                        )
                    log.info("applied migration %s", name)
                    done.append(name)
            finally:
                with contextlib.suppress(asyncpg.PostgresError, OSError):
                    await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        return done


@dataclass(eq=False, slots=True)
class _Turned:
    """A write waiting for its turn (`write_in_turn`), and its outcome once the turn ran it."""

    work: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    mark: RequestMark | None
    done: asyncio.Future[Any]


async def _each(tx: Transaction, group: list[_Turned]) -> list[Any]:
    """Each write of a turn's group in order, each with its request mark."""
    results, marked = [], set()
    for entry in group:
        results.append(await entry.work(tx, *entry.args, **entry.kwargs))
        mark = entry.mark
        if mark is not None and not mark.recorded and id(mark) not in marked:
            await tx.execute(mark.sql, mark.params)
            marked.add(id(mark))
    return results


async def _roll_back(conn: asyncpg.Connection) -> None:
    """End the connection's open transaction, if any (a connection already broken is left to
    the pool)."""
    if conn.is_in_transaction():
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await conn.execute("ROLLBACK")


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    """Give a waiting write its outcome, unless it has one already."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Read a future's outcome that nobody awaits any more (no "never retrieved" warning)."""
    if not future.cancelled():
        future.exception()


class _LockConnection:
    """One connection of its own for session-level advisory locks, used by one statement at a
    time, opened again if it was lost (the locks it held went with it)."""

    def __init__(self, url: str):
        self._url = url
        self._conn: asyncpg.Connection | None = None
        self._guard = asyncio.Lock()

    def alive(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def value(self, sql: str, *args: Any) -> Any:
        async with self._guard:
            if not self.alive():
                self._conn = await asyncpg.connect(self._url)
            assert self._conn is not None
            return await self._conn.fetchval(sql, *args)

    async def answers(self, seconds: float) -> bool:
        """Whether the connection is open and answers within `seconds`, without opening it
        again (the locks it held would not come back); one that fails or is silent is dropped."""
        async with self._guard:
            if self._conn is None or self._conn.is_closed():
                return False
            try:
                await self._conn.fetchval("SELECT 1", timeout=seconds)
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError, TimeoutError):
                self._conn.terminate()
                self._conn = None
                return False
            return True

    async def close(self) -> None:
        async with self._guard:
            if self.alive():
                assert self._conn is not None
                with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                    await self._conn.close()
            self._conn = None


def write_fault(error: BaseException) -> str | None:
    """PostgreSQL's short reason when `error` means a write cannot be stored now (disk full,
    too many connections, the server going away) and may work later; None otherwise."""
    if isinstance(error, asyncpg.PostgresError):
        state = error.sqlstate or ""
        return str(error) if state[:2] in _FAULT_CLASSES else None
    if isinstance(error, asyncpg.InterfaceError | ConnectionError):
        return str(error) or type(error).__name__
    return None
