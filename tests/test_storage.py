"""Storage: migrations from an empty file, and the constraints that keep the data honest."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.config import Settings
from storage.database import Database, Transaction, Turn
from tests.conftest import postgres_server

# A broken constraint, as either backend's driver reports it.
INTEGRITY = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)

TABLES = {
    "trainers",
    "invites",
    "batches",
    "items",
    "assignments",
    "judgments",
    "scores",
    "flags",
    "assignment_messages",
    "processed_updates",
    "bot_facts",
    "schema_migrations",
}


async def test_migrations_build_the_schema_from_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "nilai.db"
    db = await Database.open(path)
    try:
        rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert {row[0] for row in rows} >= TABLES
        assert await db.fetchval("SELECT COUNT(*) FROM schema_migrations") >= 1
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
    finally:
        await db.close()
    assert path.is_file()


async def test_migrating_twice_changes_nothing(db: Database, settings: Settings) -> None:
    assert await db.migrate() == []
    again = await Database.open(settings.database_target)
    try:
        assert await again.migrate() == []
    finally:
        await again.close()


async def test_two_processes_starting_at_once_migrate_a_postgresql_database_once() -> None:
    """The migration's advisory lock: both come up, every migration is applied exactly once."""
    import asyncio

    server = postgres_server()
    url = await server.new_database(migrated=False)
    try:
        first, second = await asyncio.gather(Database.open(url), Database.open(url))
        try:
            rows = await first.fetchall("SELECT version FROM schema_migrations ORDER BY version")
            versions = [row[0] for row in rows]
            assert versions == sorted(set(versions)) and len(versions) >= 17
            tables = await second.fetchall(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
            assert {row[0] for row in tables} >= TABLES
        finally:
            await first.close()
            await second.close()
    finally:
        await server.drop_database(url)


async def _seed(db: Database) -> None:
    """One trainer, batch, item and assignment, each with id 1 (no explicit ids: on
    PostgreSQL an explicit id would not move the id counter on)."""
    now = "2026-11-25T03:00:00.000000+00:00"
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO trainers (user_id, chat_id, language, role, created_at)"
            " VALUES (1, 1, 'en', 'trainer', ?)",
            (now,),
        )
        await conn.execute(
            "INSERT INTO batches (name, rubric, overlap, created_at) VALUES ('b', '{}', 2, ?)",
            (now,),
        )
        await conn.execute(
            "INSERT INTO items (batch_id, external_id, prompt, response) VALUES (1, 'x', 'p', 'r')"
        )
        await conn.execute(
            "INSERT INTO assignments (item_id, trainer_id, assigned_at, lease_expires_at)"
            " VALUES (1, 1, ?, ?)",
            (now, now),
        )


@pytest.mark.parametrize(
    "statement",
    [
        # a trainer never gets the same item twice
        "INSERT INTO assignments (item_id, trainer_id, assigned_at, lease_expires_at)"
        " VALUES (1, 1, 'now', 'now')",
        # external ids are unique within a batch
        "INSERT INTO items (batch_id, external_id, prompt, response) VALUES (1, 'x', 'p', 'r')",
        "INSERT INTO batches (name, rubric, overlap, created_at) VALUES ('b', '{}', 1, 'now')",
        "INSERT INTO batches (name, rubric, overlap, created_at) VALUES ('c', '{}', 0, 'now')",
        "UPDATE assignments SET status = 'lost' WHERE id = 1",
        "UPDATE trainers SET role = 'admin' WHERE user_id = 1",
        "UPDATE trainers SET language = 'fr' WHERE user_id = 1",
        "INSERT INTO invites (code, role, uses_left, created_at) VALUES ('c', 'trainer', -1, 'n')",
        "INSERT INTO scores (assignment_id, criterion, score, updated_at) VALUES (99, 'a', 1, 'n')",
        "INSERT INTO assignment_messages (chat_id, message_id, assignment_id, kind)"
        " VALUES (1, 1, 1, 'sticker')",
    ],
)
async def test_constraints_refuse_bad_rows(db: Database, statement: str) -> None:
    await _seed(db)
    with pytest.raises(INTEGRITY):
        await db.execute(statement)


async def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    await _seed(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO items (batch_id, external_id, prompt, response)"
                " VALUES (1, 'y', 'p', 'r')"
            )
            raise RuntimeError("crash in the middle")
    assert await db.fetchval("SELECT COUNT(*) FROM items") == 1


async def test_a_read_sees_every_write_committed_before_it(db: Database) -> None:
    """Many concurrent readers and a writer: a read started after a commit sees it."""
    import asyncio

    await db.execute("INSERT INTO bot_facts (name, value) VALUES ('n', '0')")

    async def reader() -> None:
        for _ in range(50):
            await db.fetchall("SELECT name, value FROM bot_facts")

    async def writer() -> None:
        for number in range(1, 51):
            await db.execute("UPDATE bot_facts SET value = ? WHERE name = 'n'", (str(number),))
            assert await db.fetchval("SELECT value FROM bot_facts WHERE name = 'n'") == str(number)

    await asyncio.gather(writer(), *(reader() for _ in range(8)))


async def _insert_two_then_fail(tx: Transaction, fail: bool) -> int:
    await tx.execute("INSERT INTO bot_facts (name, value) VALUES ('a', '1')")
    await tx.execute("INSERT INTO bot_facts (name, value) VALUES ('b', '2')")
    if fail:
        raise RuntimeError("crash in the middle")
    return 2


async def test_a_write_runs_whole_or_not_at_all(db: Database) -> None:
    with pytest.raises(RuntimeError):
        await db.write(_insert_two_then_fail, True)
    assert await db.fetchval("SELECT COUNT(*) FROM bot_facts") == 0
    assert await db.write(_insert_two_then_fail, False) == 2
    assert await db.fetchval("SELECT COUNT(*) FROM bot_facts") == 2


async def test_a_write_records_the_request_it_belongs_to_with_its_effect(db: Database) -> None:
    from storage import updates

    mark = updates.begin_update(77, "2026-12-01T00:00:00Z")
    try:
        with pytest.raises(RuntimeError):
            await db.write(_insert_two_then_fail, True)
        assert not mark.recorded and not await updates.was_processed(db, 77)
        await db.write(_insert_two_then_fail, False)
        assert mark.recorded and await updates.was_processed(db, 77)
    finally:
        await updates.finish_update(db, mark)


async def test_concurrent_read_then_write_works_count_every_one(db: Database) -> None:
    """Many writes at once, each reading a counter then storing it plus one: none is lost.
    SQLite runs them one at a time; PostgreSQL runs them at once, SERIALIZABLE, and runs a
    write that lost a race again from the start."""
    import asyncio

    await db.execute("INSERT INTO bot_facts (name, value) VALUES ('n', '0')")

    async def bump(tx: Transaction) -> None:
        value = int(await tx.fetchval("SELECT value FROM bot_facts WHERE name = 'n'"))
        if tx.dialect == "postgresql":  # (a SQLite write's work never waits: it runs alone)
            await asyncio.sleep(0)  # let the others read the same value meanwhile
        await tx.execute("UPDATE bot_facts SET value = ? WHERE name = 'n'", (str(value + 1),))

    await asyncio.gather(*(db.write(bump) for _ in range(40)))
    assert await db.fetchval("SELECT value FROM bot_facts WHERE name = 'n'") == "40"


async def test_writes_and_transactions_take_turns_on_the_one_writer(sqlite_db: Database) -> None:
    """`write` (one trip to the writer's thread) and `transaction` (one per statement) share
    the writer: neither sees the other's half-done work."""
    import asyncio

    db = sqlite_db

    async def slow_transaction() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO bot_facts (name, value) VALUES ('slow', 'x')")
            await asyncio.sleep(0.05)
            await conn.execute("UPDATE bot_facts SET value = 'done' WHERE name = 'slow'")

    async def read_slow(tx: Transaction) -> str | None:
        return await tx.fetchval("SELECT value FROM bot_facts WHERE name = 'slow'")

    task = asyncio.create_task(slow_transaction())
    await asyncio.sleep(0.01)
    assert await db.write(read_slow) == "done"
    await task


async def test_a_commit_that_fails_leaves_the_writer_ready_for_the_next_write(
    sqlite_db: Database,
) -> None:
    """A deferred foreign key fails at COMMIT: the transaction is rolled back, not left open."""
    db = sqlite_db

    async def orphan(tx: Transaction) -> None:
        await tx.execute("PRAGMA defer_foreign_keys = ON")
        await tx.execute(
            "INSERT INTO items (batch_id, external_id, prompt, response)"
            " VALUES (999, 'x', 'p', 'r')"
        )

    with pytest.raises(INTEGRITY):
        await db.write(orphan)
    with pytest.raises(INTEGRITY):
        async with db.transaction() as conn:
            await conn.execute("PRAGMA defer_foreign_keys = ON")
            await conn.execute(
                "INSERT INTO items (batch_id, external_id, prompt, response)"
                " VALUES (999, 'y', 'p', 'r')"
            )
    assert await db.execute("INSERT INTO bot_facts (name, value) VALUES ('after', '1')") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM items") == 0


async def test_the_wal_is_copied_into_the_database_file_off_the_writers_commits(
    tmp_path: Path,
) -> None:
    """A commit never pays for the checkpoint: the checkpointer copies the WAL meanwhile."""
    import asyncio

    path = tmp_path / "nilai.db"
    db = await Database.open(path)
    try:
        before = path.stat().st_size

        async def fill(tx: Transaction) -> None:
            await tx.executemany(
                "INSERT INTO bot_facts (name, value) VALUES (?, ?)",
                [(f"fact {n}", "x" * 4000) for n in range(1500)],  # ~1,500 pages
            )

        await db.write(fill)
        # Far below the writer's own backstop (20,000 pages), so only the checkpointer copies.
        for _ in range(100):
            if path.stat().st_size > before + 4_000_000:
                break
            await asyncio.sleep(0.1)
        assert path.stat().st_size > before + 4_000_000
    finally:
        await db.close()


async def test_a_long_read_or_write_moves_off_the_event_loop_and_still_gives_its_answer(
    sqlite_db: Database,
) -> None:
    """Short statements run inline; one past INLINE_STEPS is stopped and run on a thread."""
    from storage import sqlite_backend as database

    db = sqlite_db

    count = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)"
        " SELECT COUNT(*) FROM n"
    )
    moved = db._run_inline(lambda conn: conn.execute(count).fetchall())
    assert moved is database.MOVED
    assert await db.fetchval(count) == 300_000

    async def insert_many(tx: Transaction) -> int:
        await tx.execute("INSERT INTO bot_facts (name, value) VALUES ('first', '1')")
        await tx.fetchall(count)  # too long inline: rolled back, then all of it again
        return 1

    assert await db.write(insert_many) == 1
    assert await db.fetchval("SELECT COUNT(*) FROM bot_facts WHERE name = 'first'") == 1


async def test_a_transaction_cancelled_while_it_begins_leaves_the_writer_usable(
    db: Database,
) -> None:
    import asyncio

    async def begins() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO bot_facts (name, value) VALUES ('never', '1')")

    for _ in range(5):
        task = asyncio.create_task(begins())
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert await db.execute("INSERT INTO bot_facts (name, value) VALUES ('after', '1')") == 1
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO bot_facts (name, value) VALUES ('and', '2')")
    assert await db.fetchval("SELECT COUNT(*) FROM bot_facts WHERE name = 'never'") == 0


async def test_migration_16_marks_gold_items_and_numbers_each_batch_rubric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An existing project upgrades: its gold items leave the ordinary queue (complete = 2), each
    batch's rubric becomes its version 1, and judgments already submitted record it."""
    import storage.sqlite_backend as database

    every = list(database.migration_files("sqlite"))
    earlier = [m for m in every if m[0] < 16]
    monkeypatch.setattr(database, "migration_files", lambda dialect: earlier)
    db = await Database.open(tmp_path / "nilai.db")
    try:
        now = "2026-12-01T10:00:00.000000+00:00"
        await db.execute(
            "INSERT INTO trainers (user_id, chat_id, language, role, created_at)"
            " VALUES (7, 7, 'en', 'trainer', ?)",
            (now,),
        )
        await db.execute(
            "INSERT INTO batches (id, name, rubric, overlap, created_at)"
            " VALUES (1, 'b', '{\"criteria\": []}', 1, ?)",
            (now,),
        )
        await db.execute(
            "INSERT INTO items (id, batch_id, external_id, prompt, response, gold)"
            " VALUES (1, 1, 'plain', 'p', 'r', NULL),"
            " (2, 1, 'gold', 'p', 'r', '{\"accuracy\": [4, 5]}')"
        )
        await db.execute(
            "INSERT INTO assignments (id, item_id, trainer_id, status, assigned_at,"
            " lease_expires_at, submitted_at) VALUES (1, 1, 7, 'submitted', ?, ?, ?),"
            " (2, 2, 7, 'active', ?, ?, NULL)",
            (now,) * 5,
        )
        monkeypatch.setattr(database, "migration_files", lambda dialect: every)
        assert "0016_quality.sql" in await db.migrate()
        completes = await db.fetchall("SELECT id, complete FROM items ORDER BY id")
        assert [tuple(row) for row in completes] == [(1, 0), (2, 2)]
        version = await db.fetchval("SELECT rubric_version FROM batches WHERE id = 1")
        assert await db.fetchval("SELECT rubric FROM rubric_versions WHERE id = ?", (version,)) == (
            '{"criteria": []}'
        )
        rows = await db.fetchall("SELECT id, rubric_version FROM assignments ORDER BY id")
        assert [tuple(row) for row in rows] == [(1, version), (2, None)]
    finally:
        await db.close()


async def test_a_trainers_lock_is_held_by_one_process_at_a_time_on_postgresql(
    db: Database, settings: Settings
) -> None:
    """Two processes (two Database objects) on one database: the second waits for the first
    to finish with trainer 5, not for trainer 6; on SQLite the lock holds nothing."""
    import asyncio

    other = await Database.open(settings.database_target)
    try:
        order: list[str] = []
        async with db.user_lock(5):
            second = asyncio.create_task(_locked(other, 5, order, "second"))
            async with other.user_lock(6):
                order.append("six")
            await asyncio.sleep(0.05)
            order.append("first done")
        await second
        if db.dialect == "postgresql":
            assert order == ["six", "first done", "second"]
        else:
            assert sorted(order) == ["first done", "second", "six"]
    finally:
        await other.close()


async def _locked(db: Database, user_id: int, order: list[str], name: str) -> None:
    async with db.user_lock(user_id):
        order.append(name)


async def test_one_process_leads_and_another_takes_over_when_it_dies(
    db: Database, settings: Settings
) -> None:
    other = await Database.open(settings.database_target)
    try:
        assert await db.is_leader()
        if db.dialect == "postgresql":
            assert not await other.is_leader()
            await db.close()  # the leader's connections go, as when its process is killed
            assert await other.is_leader()
        else:
            assert await other.is_leader()  # one SQLite process: always the leader
    finally:
        await other.close()


async def test_two_processes_opening_a_new_sqlite_file_at_once_migrate_it_once(
    tmp_path: Path,
) -> None:
    """The second waits for the write lock, then finds each migration applied and skips it."""
    import asyncio

    path = tmp_path / "new.db"
    opened = await asyncio.gather(*(Database.open(path) for _ in range(3)))
    try:
        rows = await opened[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
        versions = [row[0] for row in rows]
        assert versions == sorted(set(versions)) and len(versions) >= 17
    finally:
        for db in opened:
            await db.close()


TURN = Turn("test")


async def _insert_fact(tx: Transaction, name: str, fail: bool = False, pause: float = 0) -> str:
    await tx.execute("INSERT INTO bot_facts (name, value) VALUES (?, '1')", (name,))
    if tx.dialect == "postgresql":  # (a SQLite write's work never waits: it runs alone)
        await asyncio.sleep(pause)  # let the others queue for the turn meanwhile
    if fail:
        raise RuntimeError(f"{name} failed")
    return name


async def test_writes_taking_turns_at_once_each_get_their_own_outcome(db: Database) -> None:
    """PostgreSQL runs the writes waiting for one turn in one transaction: one that fails
    must fail alone, the others commit and get their own results."""
    names = [f"w{n}" for n in range(12)]
    outcomes = await asyncio.gather(
        *(db.write_in_turn(TURN, _insert_fact, name, name == "w5") for name in names),
        return_exceptions=True,
    )
    assert [str(o) if isinstance(o, RuntimeError) else o for o in outcomes] == [
        "w5 failed" if name == "w5" else name for name in names
    ]
    stored = await db.fetchall("SELECT name FROM bot_facts ORDER BY name")
    assert sorted(row[0] for row in stored) == sorted(set(names) - {"w5"})


async def test_a_caller_cancelled_while_it_waits_for_its_turn_fails_no_other(
    db: Database,
) -> None:
    if not db.shared:
        pytest.skip("SQLite runs each write at once: nothing waits for a turn")
    waiting = [asyncio.create_task(db.write_in_turn(TURN, _insert_fact, f"w{n}")) for n in range(8)]
    await asyncio.sleep(0)  # each has queued
    waiting[6].cancel()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(outcomes[6], asyncio.CancelledError)
    assert [o for n, o in enumerate(outcomes) if n != 6] == [f"w{n}" for n in range(8) if n != 6]
    # The cancelled write either never ran or ran whole: nothing half done.
    count = await db.fetchval("SELECT COUNT(*) FROM bot_facts")
    assert count in (7, 8)


async def test_writes_taking_turns_at_once_record_each_request_with_its_effect(
    db: Database,
) -> None:
    from storage import updates

    async def handled(update_id: int) -> str:
        mark = updates.begin_update(update_id, "2026-12-01T00:00:00Z")
        result = await db.write_in_turn(TURN, _insert_fact, f"u{update_id}")
        assert mark.recorded
        return result

    assert await asyncio.gather(*(handled(n) for n in range(1, 11))) == [
        f"u{n}" for n in range(1, 11)
    ]
    assert all([await updates.was_processed(db, n) for n in range(1, 11)])


async def test_callers_cancelled_while_their_group_runs_fail_no_other(db: Database) -> None:
    """The caller running a turn's group and one taken along are cancelled mid-group: the
    group still commits, and every other caller gets its own result."""
    if not db.shared:
        pytest.skip("SQLite runs each write at once: nothing waits for a turn")
    # Each write pauses 20 ms: the group is still running when its callers are cancelled.
    tasks = [
        asyncio.create_task(db.write_in_turn(TURN, _insert_fact, f"w{n}", pause=0.02))
        for n in range(6)
    ]
    assert await tasks[0] == "w0"  # alone in its turn; w1 now runs the group w1...w5
    await asyncio.sleep(0.005)
    tasks[1].cancel()
    await asyncio.sleep(0.005)
    tasks[2].cancel()  # it took the turn after w1 and waits for the group's outcome
    outcomes = await asyncio.gather(*tasks[1:], return_exceptions=True)
    assert [type(o) for o in outcomes[:2]] == [asyncio.CancelledError] * 2
    assert outcomes[2:] == ["w3", "w4", "w5"]
    # All committed (w1, on a slow machine cancelled before its group began, not at all).
    assert await db.fetchval("SELECT COUNT(*) FROM bot_facts") in (5, 6)
