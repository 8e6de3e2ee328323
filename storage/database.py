"""The one interface every query module in `storage/` uses, whichever database is behind it.

Two backends implement it: SQLite (`storage/sqlite_backend.py`, the embedded default, a file at
`DATABASE_PATH`) and PostgreSQL through asyncpg (`storage/postgres_backend.py`, chosen by
`DATABASE_URL=postgresql://...`). The SQL of the queries is written once, with `?` (or `:name`
with a dict) placeholders, in the dialect both engines share; what differs between them
(placeholders, pragmas, `BEGIN IMMEDIATE`, isolation and locking, how a driver's errors read)
lives in the backend module alone. Nothing outside the backend modules sees a driver type.

A write is a function `async def work(tx, *args)` given to `Database.write`: it runs as one
transaction, committed when it returns, rolled back on any error, and it may be run again from
the start (SQLite moves a slow one to its writer thread; PostgreSQL retries a serialization
failure), so it touches nothing but the database. Reads outside a transaction go straight to
`Database.fetchone/fetchall/fetchval`.
"""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Turn:
    """Writes that take turns across processes (`Database.write_in_turn`).

    `opening` is a statement without parameters that every transaction of the turn runs
    first, for a duty the turn owes the writes made outside it (the pick's turn dates the items
    they gave back: storage/assignment.py). PostgreSQL sends it in the round trip that begins
    the transaction and takes the turn's lock, so it costs no round trip of its own."""

    name: str
    opening: str = ""


class Row(Protocol):
    """A row read: by position (`row[0]`) or by column name (`row["id"]`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Any: ...


class _Reads(ABC):
    """fetchone and fetchval from fetchall, for a transaction and the database alike."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Params = (), default: Any = None) -> Any:
        row = await self.fetchone(sql, params)
        return default if row is None else row[0]


class Transaction(_Reads):
    """Statements inside one transaction (a write's, or a snapshot's reads)."""

    dialect: str  # "sqlite" or "postgresql"

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query (or of an `INSERT ... RETURNING`)."""

    @abstractmethod
    def chunks(self, sql: str, params: Params, size: int) -> AsyncIterator[list[tuple]]:
        """The rows of a long query as plain tuples, `size` at a time (exports)."""

    async def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many rows into `table` at once (copy-db): PostgreSQL's COPY where it has
        it, else one INSERT per row."""
        marks = ", ".join("?" for _ in columns)
        await self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    async def set_identity_past(self, table: str, largest: int) -> None:
        """Move the id counter of `table` past `largest`, after rows were inserted with their
        ids given (copy-db). SQLite takes the next id from the largest one by itself."""
        return None


Connection = Transaction  # the name the query modules use for what a write is handed


@dataclass
class RequestMark:
    """A statement recording that the current request was handled (storage/updates.py).

    The first write a request makes records it too: the effect and "this request was handled"
    are committed together, so a redelivered request finds it and changes nothing.
    """

    sql: str
    params: tuple[Any, ...]
    recorded: bool = False


current_request: ContextVar[RequestMark | None] = ContextVar("current_request", default=None)


class Database(_Reads):
    """One database, SQLite or PostgreSQL; see the module docstring."""

    dialect: str  # "sqlite" or "postgresql"
    # Whether other bot processes may share it (PostgreSQL): then what one process keeps in
    # memory (a sitting, a panel, the updates it handled) is only part of the picture.
    shared: bool = False
    path: Path | None = None  # the SQLite file; None on PostgreSQL
    url: str | None = None  # the PostgreSQL address; None on SQLite

    @classmethod
    async def open(cls, target: Path | str, *, migrate: bool = True, **options: Any) -> Database:
        """Open `target`: a `postgresql://` address, else a SQLite file (created if needed);
        bring its schema up to date unless `migrate` is False."""
        if is_postgres_url(target):
            from storage.postgres_backend import PostgresDatabase

            return await PostgresDatabase.connect(str(target), migrate=migrate, **options)
        from storage.sqlite_backend import SQLiteDatabase

        return await SQLiteDatabase.connect(Path(target), migrate=migrate)

    @abstractmethod
    async def close(self) -> None:
        """Close every connection; safe twice."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a read outside any transaction."""

    @abstractmethod
    async def write(
        self,
        work: Callable[Concatenate[Transaction, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `await work(tx, *args)` as one write transaction, with the request mark; see the
        module docstring for why `work` may run more than once."""

    async def write_in_turn(
        self,
        turn: Turn,
        work: Callable[Concatenate[Transaction, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`write`, one at a time with every other write of the same `turn` across processes:
        for writes that many trainers make at once and that decide over the same rows (the
        pick reads the head of the one queue), where taking turns beats failing and running
        again. Every write that could make such a decision wrong (take room it counted) must
        be made in the same turn; other writes may only give room. SQLite runs every write in
        turn anyway (and runs the turn's opening first)."""
        return await self.write(_opened, turn.opening, work, *args, **kwargs)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single write statement in its own transaction; returns the rows changed."""
        return await self.write(_execute, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for many rows, in one transaction of its own."""
        rows = list(rows)
        await self.write(_executemany, sql, rows)

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """One long write transaction as a block (imports, migrations, bulk changes), committed
        when the block ends and rolled back on any error; never run again."""

    @abstractmethod
    def snapshot(self) -> AbstractAsyncContextManager[Transaction]:
        """A read-only view frozen at its first read, on a connection of its own (exports)."""

    @abstractmethod
    async def migrate(self) -> list[str]:
        """Apply the numbered migrations not applied yet; the names applied."""

    async def refresh_statistics(self, table: str) -> None:
        """Tell the query planner what a bulk load changed in `table` (after an import):
        PostgreSQL plans from statistics its autovacuum gathers only later, and until then may
        plan the pick over a big new batch as a scan. SQLite plans from the indexes alone."""
        return None

    def user_lock(self, user_id: int) -> AbstractAsyncContextManager[None]:
        """Hold `user_id`'s lock for the block, across every process on this database, so one
        trainer's updates are handled one at a time wherever they land. SQLite serves one
        process (its run lock sees to that), which orders them itself: nothing to hold."""
        return contextlib.nullcontext()

    async def is_leader(self) -> bool:
        """Whether this process runs the jobs that must run once for the whole bot (scheduled
        sends, bulk sends, the sweeper). The one SQLite process always does; on PostgreSQL one
        process at a time holds the leadership, and another takes it over if it dies."""
        return True

    async def still_leading(self) -> bool:
        """Whether this process still leads, asked of the database now rather than remembered,
        and never trying for the leadership (bulk sends ask before every claim, so a leader
        that lost its lock while alive stops within one). The one SQLite process always does."""
        return True

    @abstractmethod
    def write_fault(self, error: BaseException) -> str | None:
        """The driver's short reason when `error` means a write cannot be stored now but may
        be later (disk full, read-only, lock held too long), None for any other error."""


async def _execute(tx: Transaction, sql: str, params: Params) -> int:
    return await tx.execute(sql, params)


async def _executemany(tx: Transaction, sql: str, rows: list[Sequence[Any]]) -> None:
    await tx.executemany(sql, rows)


async def _opened(
    tx: Transaction, opening: str, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
) -> T:
    """A turn's work after its opening statement."""
    if opening:
        await tx.execute(opening)
    return await work(tx, *args, **kwargs)


def is_postgres_url(target: Path | str | None) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def write_fault(error: BaseException) -> str | None:
    """Either backend's short reason when `error` means a write could not be stored now and may
    work later (see `Database.write_fault`); None for any other error."""
    from storage import sqlite_backend

    reason = sqlite_backend.write_fault(error)
    if reason is None and type(error).__module__.startswith("asyncpg"):
        from storage import postgres_backend

        reason = postgres_backend.write_fault(error)
    return reason


def migration_files(dialect: str) -> Iterable[tuple[int, str, str]]:
    """The numbered migrations in order: (version, file name, SQL).

    `NNNN_name.sql` serves both backends; a `NNNN_name.<dialect>.sql` beside it replaces it on
    that backend only, where the SQL cannot be written once (named so, and kept rare)."""
    folder = resources.files("storage.migrations")
    chosen: dict[int, Any] = {}
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        match = _MIGRATION.fullmatch(entry.name)
        if match is None:
            continue
        version, only_for = int(match["version"]), match["dialect"]
        if only_for is None:
            chosen.setdefault(version, entry)
        elif only_for == dialect:
            chosen[version] = entry
    for version in sorted(chosen):
        entry = chosen[version]
        yield version, entry.name, entry.read_text(encoding="utf-8")


_MIGRATION = re.compile(r"(?P<version>\d{4})_\w+(?:\.(?P<dialect>sqlite|postgresql))?\.sql")


def statements(sql: str) -> list[str]:
    """Split a migration on `;` line ends (migrations hold no semicolons inside literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
