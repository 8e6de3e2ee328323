"""Copying a whole SQLite project into another database (PostgreSQL): `python -m bot copy-db`.

Everything goes through the neutral interface of `storage/database.py` (`insert_many`, COPY on
PostgreSQL, and `set_identity_past` for the id counters); what is SQLite's own is only the
reading of the source's schema (PRAGMA table_info / foreign_key_list: the source is always the
SQLite file).

How it goes (`copy_database`):
- the source is read from one snapshot, the target written in ONE transaction: a copy that
  fails or does not match leaves the target as it was (empty);
- the target must have the source's migrations and no row in any table, else `CopyRefused`;
- every table but schema_migrations, in an order the foreign keys accept, read from the
  schema (`table_plan`): a table after the tables it points at. A cycle (batches and
  rubric_versions point at each other) is broken on a nullable column: its rows go in with
  that column empty and get it once the table it points at is filled;
- rows go over in chunks (`insert_many`), then each identity counter is set past the largest
  id, so the next row inserted without an id gets a fresh one;
- checked before the commit: per table, the row count and a checksum of the rows read back
  from the target equal the source's (`CopyMismatch` names the tables that differ).

The checksum is the sum (mod 2**256) of a SHA-256 per row over its values normalised (int,
float, text, None, bytes, each tagged by type through `repr`): a multiset digest, so it does
not depend on the order rows are read in (text keys sort differently in SQLite and under a
PostgreSQL collation), yet any changed, missing or extra row changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.database import Database, Transaction

CHUNK_ROWS = 5_000
SKIPPED = frozenset({"schema_migrations"})  # each side has its own, checked equal instead

# on_progress(phase, table, rows done, rows in the table); phase is "copying" or "checking"
Progress = Callable[[str, str, int, int], Awaitable[None]]


class CopyError(Exception):
    """A copy that cannot be made; the message says why, in one line, for the operator."""


class CopyRefused(CopyError):
    """The target is not an empty database of the source's schema: nothing was changed."""


class CopyMismatch(CopyError):
    """The rows read back differ from the source's: the copy was rolled back."""

    def __init__(self, tables: list[TableCopy]):
        self.tables = tables
        names = ", ".join(
            f"{t.name} ({_rows(t.source_rows)} in the source, {t.target_rows:,} in the target"
            + (", checksums differ" if t.source_rows == t.target_rows else "")
            + ")"
            for t in tables
        )
        super().__init__(f"the copy does not match the source in {names}")


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class TableSpec:
    """One table to copy, as the source's schema describes it."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the primary key's columns (rowid when it has none)
    deferred: tuple[str, ...] = ()  # nullable foreign keys filled after the tables they need
    identity: bool = False  # `id INTEGER PRIMARY KEY`: an identity column on PostgreSQL


@dataclass
class TableCopy:
    """What happened to one table."""

    name: str
    source_rows: int = 0
    target_rows: int = 0
    source_sum: int = 0
    target_sum: int = 0

    @property
    def matched(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum

    @property
    def checksum(self) -> str:
        return f"{self.source_sum % 2**256:064x}"


@dataclass
class CopyReport:
    tables: list[TableCopy] = field(default_factory=list)
    identities: dict[str, int] = field(default_factory=dict)  # table -> largest id

    @property
    def rows(self) -> int:
        return sum(table.source_rows for table in self.tables)


async def copy_database(
    source: Database,
    target: Database,
    *,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Progress | None = None,
) -> CopyReport:
    """Copy every row of the SQLite `source` into the empty `target`; see the module
    docstring. Raises CopyRefused (nothing changed) or CopyMismatch (rolled back)."""
    if source.dialect != "sqlite":
        raise CopyRefused("the source must be a SQLite database")

    async def progress(phase: str, table: str, done: int, total: int) -> None:
        if on_progress is not None:
            await on_progress(phase, table, done, total)

    report = CopyReport()
    async with source.snapshot() as src:
        specs = await table_plan(src)
        totals = {s.name: await src.fetchval(f"SELECT COUNT(*) FROM {_q(s.name)}") for s in specs}
        versions = await _versions(src)
        async with target.transaction() as dst:
            await _check_target(dst, specs, versions)
            for spec in specs:
                copied = TableCopy(spec.name)
                report.tables.append(copied)
                await progress("copying", spec.name, 0, totals[spec.name])
                columns = [column.lower() for column in spec.columns]
                deferred = {spec.columns.index(column) for column in spec.deferred}
                async for rows in src.chunks(_select_sql(spec), (), chunk_rows):
                    for row in rows:
                        copied.source_sum += _row_digest(row)
                    copied.source_rows += len(rows)
                    if deferred:
                        rows = [
                            tuple(None if i in deferred else v for i, v in enumerate(row))
                            for row in rows
                        ]
                    await dst.insert_many(spec.name.lower(), columns, rows)
                    await progress("copying", spec.name, copied.source_rows, totals[spec.name])
            for spec in specs:
                if spec.deferred:
                    await _fill_deferred(src, dst, spec, chunk_rows)
            for copied, spec in zip(report.tables, specs, strict=True):
                await progress("checking", spec.name, 0, copied.source_rows)
                async for rows in dst.chunks(_select_sql(spec), (), chunk_rows):
                    for row in rows:
                        copied.target_sum += _row_digest(row)
                    copied.target_rows += len(rows)
                    await progress("checking", spec.name, copied.target_rows, copied.source_rows)
            differ = [copied for copied in report.tables if not copied.matched]
            if differ:
                raise CopyMismatch(differ)  # rolls the target's transaction back
            for spec in specs:
                if spec.identity and totals[spec.name]:
                    largest = await src.fetchval(f"SELECT MAX(id) FROM {_q(spec.name)}")
                    await dst.set_identity_past(spec.name.lower(), largest)
                    report.identities[spec.name] = largest
    return report


async def table_plan(src: Transaction) -> list[TableSpec]:
    """The source's tables (but SKIPPED) in an order the foreign keys accept, from its schema:
    each after every table it points at, a cycle broken on a nullable column (deferred)."""
    names = [
        row[0]
        for row in await src.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
        if row[0] not in SKIPPED
    ]
    columns: dict[str, list[tuple[str, str, bool, int]]] = {}  # name, type, not null, pk
    needs: dict[str, dict[int, tuple[str, list[str]]]] = {}  # table -> fk id -> (table, cols)
    for name in names:
        info = await src.fetchall(f"PRAGMA table_info({_q(name)})")
        columns[name] = [(r[1], str(r[2]).upper(), bool(r[3]), int(r[5])) for r in info]
        keys: dict[int, tuple[str, list[str]]] = {}
        for row in await src.fetchall(f"PRAGMA foreign_key_list({_q(name)})"):
            keys.setdefault(int(row[0]), (str(row[2]), []))[1].append(str(row[3]))
        needs[name] = keys
    nullable = {
        name: {c for c, _, notnull, pk in columns[name] if not notnull and not pk} for name in names
    }
    pending = {name: dict(needs[name]) for name in names}
    deferred: dict[str, list[str]] = {name: [] for name in names}
    order: list[str] = []
    while pending:
        ready = [
            name
            for name, keys in pending.items()
            if all(other not in pending for other, _ in keys.values())
        ]
        if not ready:  # a cycle (or a table pointing at itself): put off a nullable key on it
            for name in sorted(pending):
                breakable = [
                    fk
                    for fk, (other, cols) in sorted(pending[name].items())
                    if set(cols) <= nullable[name] and _reaches(pending, other, name)
                ]
                if breakable:
                    fk = breakable[0]
                    deferred[name].extend(pending[name].pop(fk)[1])
                    break
            else:
                raise CopyError(f"no order of {', '.join(sorted(pending))} satisfies their keys")
            continue
        for name in sorted(ready):
            order.append(name)
            del pending[name]
    plan = []
    for name in order:
        cols = columns[name]
        key = tuple(c for c, _, _, pk in sorted(cols, key=lambda c: c[3]) if pk) or ("rowid",)
        identity = key == ("id",) and next(t for c, t, _, _ in cols if c == "id") == "INTEGER"
        plan.append(
            TableSpec(
                name,
                tuple(c for c, _, _, _ in cols),
                key,
                tuple(dict.fromkeys(deferred[name])),
                identity,
            )
        )
    return plan


def _reaches(pending: dict[str, dict[int, tuple[str, list[str]]]], start: str, goal: str) -> bool:
    """Whether `goal` is reached from `start` along the foreign keys still pending."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name in seen or name not in pending:
            continue
        seen.add(name)
        todo.extend(other for other, _ in pending[name].values())
    return False


async def _versions(tx: Transaction) -> list[int]:
    return [row[0] for row in await tx.fetchall("SELECT version FROM schema_migrations ORDER BY 1")]


async def _check_target(dst: Transaction, specs: list[TableSpec], versions: list[int]) -> None:
    """Refuse a target of another schema version, or holding any row."""
    theirs = await _versions(dst)
    if theirs != versions:
        raise CopyRefused(
            f"the target's schema is at migration {max(theirs, default=0)}, the source's at "
            f"{max(versions, default=0)}: run both with the same version of the bot"
        )
    holding = []
    for spec in specs:
        if await dst.fetchone(f"SELECT 1 FROM {_q(spec.name)} LIMIT 1") is not None:
            holding.append(spec.name)
    if holding:
        shown = ", ".join(holding[:5]) + (
            f" and {len(holding) - 5} more" if len(holding) > 5 else ""
        )
        raise CopyRefused(
            f"the target database is not empty (rows in {shown}); copy-db only fills an empty "
            "database: nothing was changed"
        )


async def _fill_deferred(
    src: Transaction, dst: Transaction, spec: TableSpec, chunk_rows: int
) -> None:
    """Set the deferred columns, now that the rows they point at are there."""
    columns = ", ".join(_q(c) for c in (*spec.deferred, *spec.key))
    where = " OR ".join(f"{_q(c)} IS NOT NULL" for c in spec.deferred)
    update = (
        f"UPDATE {_q(spec.name)} SET "
        + ", ".join(f"{_q(c)} = ?" for c in spec.deferred)
        + " WHERE "
        + " AND ".join(f"{_q(c)} = ?" for c in spec.key)
    )
    async for rows in src.chunks(
        f"SELECT {columns} FROM {_q(spec.name)} WHERE {where}", (), chunk_rows
    ):
        await dst.executemany(update, rows)


def _select_sql(spec: TableSpec) -> str:
    columns = ", ".join(_q(c) for c in spec.columns)
    return f"SELECT {columns} FROM {_q(spec.name)}"


def _q(name: str) -> str:
    """A quoted identifier; lower case, as PostgreSQL folded the migrations' unquoted names."""
    return '"' + name.lower().replace('"', '""') + '"'


def _normal(value: Any) -> Any:
    if value is None or isinstance(value, str | float):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise CopyError(f"a value of an unexpected type: {type(value).__name__}")


def _row_digest(row: Sequence[Any]) -> int:
    text = repr(tuple(_normal(value) for value in row))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest, "big")


def row_checksum(rows: Sequence[Sequence[Any]]) -> str:
    """The checksum of a table's rows, as `copy_database` computes it (for tests, reports)."""
    return f"{sum(_row_digest(row) for row in rows) % 2**256:064x}"
