"""`python -m bot copy-db --to postgresql://...`: a SQLite project holding every kind of row,
copied to PostgreSQL and compared row by row; an occupied target and a running bot refused; the
identity counters set past the copied ids; a copy that does not match is rolled back."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.gold import GoldService
from bot.privacy import Privacy
from storage import (
    bot_facts,
    broadcasts,
    export_claims,
    guidance,
    invites,
    rewrite_reviews,
    sittings,
    updates,
    uploads,
)
from storage.copy import CopyMismatch, CopyRefused, copy_database, table_plan
from storage.corrections import reopen
from storage.database import Database
from storage.sqlite_backup import RunLock
from tests.cli_runner import run_cli
from tests.conftest import FakeClock, postgres_server
from tests.factories import NOW, make_trainer
from tests.test_exports import ANA, BUDI, CITRA, reviewed_pilot

DEWI = 1004
COORDINATOR = 9000
LATER = "2026-11-25T05:00:00.000000+00:00"


async def fill_every_table(db: Database, settings: Settings, clock: FakeClock, tmp: Path) -> None:
    """The pilot of tests/test_exports.py (the import, reviews, rewrites, notes, flags, rewrite
    reviews), and beside it the rows of every other flow."""
    case = await reviewed_pilot(db, settings, clock, tmp)
    batch_id = await db.fetchval("SELECT id FROM batches WHERE name = 'pilot'")
    await make_trainer(db, COORDINATOR, role="coordinator")
    await make_trainer(db, DEWI)
    # Undo: the judgment is reopened (its first answer kept as a revision), then submitted again.
    ana_multi = await db.fetchone(
        "SELECT a.id, a.submitted_at FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE a.trainer_id = ? AND i.external_id = 'multi-001'",
        (ANA,),
    )
    assert await reopen(db, ana_multi[0], ana_multi[1], LATER)
    _, missing = await case.review.submit(case.trainers[ANA], ana_multi[0])
    assert missing is None
    # A rewrite review skipped (the open one, in Citra's chat).
    opened = await db.fetchval("SELECT assignment_id FROM rewrite_reviews WHERE status = 'open'")
    await rewrite_reviews.skip(db, opened, CITRA, now=LATER)
    # An announcement: its draft, the broadcast, one delivery recorded.
    await broadcasts.insert_draft(
        db, created_by=COORDINATOR, chat_id=COORDINATOR, text="Halo semua", now=NOW
    )
    created = await broadcasts.create_broadcast(
        db,
        kind="announcement",
        batch_id=None,
        text="Halo semua",
        created_by=COORDINATOR,
        report_chat_id=COORDINATOR,
        now=NOW,
    )
    assert created is not None
    claimed = await broadcasts.record_and_claim(db, created[0], outcomes=(), claim=2, now=NOW)
    assert claimed
    await broadcasts.record_and_claim(
        db, created[0], outcomes=[(claimed[0][0], "sent", 777)], now=LATER
    )
    # A gold pause, lifted by the coordinator (the lift is audited).
    await db.execute(
        "INSERT INTO gold_pauses (trainer_id, batch_id, paused_at) VALUES (?, ?, ?)",
        (BUDI, batch_id, NOW),
    )
    await GoldService(db, settings, clock).lift(BUDI, batch_id, COORDINATOR)
    # The scheduler's sends, the guidelines shown, an upload waiting, an invite, a fact.
    await db.execute(
        "INSERT INTO daily_sends (kind, trainer_id, local_date, status, decided_at)"
        " VALUES ('reminder', ?, '2026-11-25', 'sent', ?)",
        (ANA, NOW),
    )
    await guidance.mark_guidelines_shown(db, CITRA, batch_id, NOW)
    await uploads.create_upload(
        db,
        coordinator_id=COORDINATOR,
        file_path=str(tmp / "upload.jsonl"),
        file_name="upload.jsonl",
        batch_name="next",
        overlap=2,
        priority=1,
        deadline="2026-12-20",
        gold_rate=0.25,
        rubric_json=None,
        item_count=10,
        now=NOW,
    )
    await invites.insert_invite(
        db,
        code="abc123",
        role="trainer",
        uses=5,
        expires_at=None,
        created_by=COORDINATOR,
        now=NOW,
    )
    await bot_facts.set_fact(db, "bot_username", "nilai_bot")
    # A sitting summed up; an export button claimed; the rest of a refused text refused.
    await sittings.mark_ended(db, ANA, NOW)
    assert await export_claims.claim_button(db, COORDINATOR, 1, NOW, older_than=NOW)
    await db.execute(
        "INSERT INTO text_refusals (trainer_id, assignment_id, field, reason, refused_at)"
        " VALUES (?, ?, 'rewrite', 'closed', ?)",
        (ANA, ana_multi[0], NOW),
    )
    # A handled update, recorded with the write it made.
    mark = updates.begin_update(424242, NOW)
    await bot_facts.set_fact(db, "last_seen", "ünïcode ✓ 'quoted' \"double\"")
    await updates.finish_update(db, mark)
    # Privacy: an organisation's notice, and an erasure (Dewi's identity forgotten).
    privacy = Privacy(db, settings, clock)
    await privacy.replace_notice(COORDINATOR, "<b>Our notice</b>")
    assert await privacy.delete_identity(DEWI)


def schema_tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name <> 'schema_migrations' ORDER BY name"
            )
        ]


def sqlite_rows(path: Path, table: str, columns: list[str]) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute(f"SELECT {', '.join(columns)} FROM {table}"), key=repr)


def columns_of(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


async def pg_rows(url: str, table: str, columns: list[str]) -> list[tuple]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table}")
    finally:
        await conn.close()
    return sorted((tuple(row) for row in rows), key=repr)


@pytest.fixture
async def project(
    sqlite_db: Database, settings: Settings, clock: FakeClock, tmp_path: Path
) -> Path:
    """The SQLite project, holding a row in every table, closed (as with the bot stopped)."""
    await fill_every_table(sqlite_db, settings, clock, tmp_path)
    return settings.database_path


@pytest.fixture
async def target() -> AsyncIterator[str]:
    """A new, migrated, empty PostgreSQL database (skipped without PostgreSQL)."""
    server = postgres_server()
    url = await server.new_database()
    yield url
    await server.drop_database(url)


def copy_cli(tmp_path: Path, database: Path, url: str) -> Any:
    return run_cli(tmp_path, "copy-db", "--to", url, database=database)


async def test_every_table_holds_a_row_so_the_round_trip_covers_the_schema(project: Path) -> None:
    empty = [
        table
        for table in schema_tables(project)
        if not sqlite_rows(project, table, columns_of(project, table))
    ]
    assert empty == [], f"fill_every_table leaves these tables empty: {empty}"


async def test_the_order_follows_the_foreign_keys_read_from_the_schema(project: Path) -> None:
    db = await Database.open(project)
    try:
        async with db.snapshot() as tx:
            plan = await table_plan(tx)
    finally:
        await db.close()
    assert sorted(spec.name for spec in plan) == schema_tables(project)
    position = {spec.name: index for index, spec in enumerate(plan)}
    deferred = {(spec.name, column) for spec in plan for column in spec.deferred}
    assert deferred == {("batches", "rubric_version")}  # the cycle with rubric_versions
    with sqlite3.connect(project) as conn:
        for spec in plan:
            for row in conn.execute(f"PRAGMA foreign_key_list({spec.name})"):
                if (spec.name, row[3]) not in deferred and row[2] != spec.name:
                    assert position[row[2]] < position[spec.name], (spec.name, row[2])


async def test_a_round_trip_keeps_every_row_of_every_table(
    project: Path, target: str, tmp_path: Path
) -> None:
    result = copy_cli(tmp_path, project, target)
    assert result.returncode == 0, result.stderr
    assert "every table's row count and checksum match" in result.stdout
    assert "copying assignments" in result.stderr and "checking assignments" in result.stderr
    for table in schema_tables(project):
        columns = columns_of(project, table)
        source = sqlite_rows(project, table, columns)
        assert source, table
        assert await pg_rows(target, table, columns) == source, table


async def test_after_the_copy_new_rows_get_fresh_ids(project: Path, target: str) -> None:
    source = await Database.open(project)
    pg = await Database.open(target)
    try:
        report = await copy_database(source, pg)
        assert report.identities  # batches, items, assignments, audit_log, ...
        for table, largest in report.identities.items():
            assert largest == await source.fetchval(f"SELECT MAX(id) FROM {table}")
        batch_id = await pg.fetchval(
            "INSERT INTO rubric_versions (batch_id, rubric, created_at)"
            " SELECT id, rubric, ? FROM batches WHERE name = 'pilot' RETURNING id",
            (LATER,),
        )
        assert batch_id == report.identities["rubric_versions"] + 1
        audit_id = await pg.fetchval(
            "INSERT INTO audit_log (actor_id, action, target, detail, created_at)"
            " VALUES (?, 'test', 'x', NULL, ?) RETURNING id",
            (COORDINATOR, LATER),
        )
        assert audit_id == report.identities["audit_log"] + 1
    finally:
        await pg.close()
        await source.close()


async def test_a_target_holding_rows_is_refused_and_left_alone(
    project: Path, target: str, tmp_path: Path
) -> None:
    pg = await Database.open(target)
    try:
        await make_trainer(pg, 4242)
    finally:
        await pg.close()
    result = copy_cli(tmp_path, project, target)
    assert result.returncode == 2
    assert "not empty" in result.stderr and "trainers" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert await pg_rows(target, "trainers", ["user_id"]) == [(4242,)]
    assert await pg_rows(target, "batches", ["id"]) == []


async def test_copying_while_the_bot_runs_is_refused(
    project: Path, target: str, tmp_path: Path
) -> None:
    lock = RunLock(project)  # what `python -m bot run` holds
    assert lock.acquire()
    try:
        result = copy_cli(tmp_path, project, target)
    finally:
        lock.release()
    assert result.returncode == 2
    assert "the bot is running" in result.stderr
    assert await pg_rows(target, "trainers", ["user_id"]) == []


class _Lossy(Database):
    """The target, but an invite goes missing on the way and a fact's value changes."""

    def __init__(self, inner: Database):
        self._inner = inner
        self.dialect, self.shared = inner.dialect, inner.shared

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        async with self._inner.transaction() as tx:
            real = tx.insert_many

            async def insert_many(table: str, columns: Any, rows: Any) -> None:
                rows = list(rows)
                if table == "invites":
                    rows = rows[1:]  # a row lost
                elif table == "bot_facts":
                    rows = [(rows[0][0], rows[0][1] + " "), *rows[1:]]  # a value changed
                await real(table, columns, rows)

            tx.insert_many = insert_many  # type: ignore[method-assign]
            yield tx

    async def close(self) -> None: ...
    async def fetchall(self, sql: str, params: Any = ()) -> Any: ...
    async def write(self, work: Any, *args: Any, **kwargs: Any) -> Any: ...
    def snapshot(self) -> Any: ...
    async def migrate(self) -> list[str]: ...
    def write_fault(self, error: BaseException) -> str | None: ...


async def test_a_copy_that_differs_names_the_table_and_keeps_nothing(
    project: Path, target: str
) -> None:
    source = await Database.open(project)
    pg = await Database.open(target)
    try:
        with pytest.raises(CopyMismatch, match=r"bot_facts .*checksums differ") as caught:
            await copy_database(source, _Lossy(pg))
        assert [table.name for table in caught.value.tables] == ["bot_facts", "invites"]
        assert "invites (1 row in the source, 0 in the target)" in str(caught.value)
        assert await pg.fetchval("SELECT COUNT(*) FROM trainers") == 0  # rolled back
        with pytest.raises(CopyRefused):  # and the source of another schema version
            await pg.execute("DELETE FROM schema_migrations WHERE version = 17")
            await copy_database(source, pg)
    finally:
        await pg.close()
        await source.close()


def test_the_target_must_be_a_postgresql_address(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "copy-db", "--to", str(tmp_path / "other.db"))
    assert result.returncode == 2 and "postgresql://" in result.stderr


def test_without_a_database_there_is_nothing_to_copy(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "copy-db", "--to", "postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 2 and "nothing to copy" in result.stderr
