"""Backups (`python -m bot backup`) and restores: every row comes back, a restore never runs
under a running bot, and only a whole Nilai database is put back."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import _run
from bot.review import ReviewService
from storage.database import Database
from storage.sqlite_backup import BackupError, RunLock, backup, keep_newest, restore
from tests.cli_runner import run_cli
from tests.e2e import RunningBot
from tests.factories import make_batch, make_trainer, review_fully


def every_row(path: Path) -> dict[str, list[tuple]]:
    """Each table's rows, in order: what a restore must bring back."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " ORDER BY name"
            )
        ]
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in tables
        }
    finally:
        conn.close()


@pytest.fixture
async def reviewed(sqlite_db: Database, settings, clock) -> Path:
    """A database with a batch, trainers and submitted reviews, still open (as under the bot).
    Backups and restores are SQLite's own (a copy of its file), so the database is SQLite."""
    review = ReviewService(sqlite_db, settings, clock)
    await make_batch(sqlite_db, items=4, overlap=2)
    for user_id in (1, 2):
        trainer = await make_trainer(sqlite_db, user_id)
        view, _ = await review.next_item(trainer)
        assert view is not None
        await review_fully(review, trainer, view.assignment.id)
    assert sqlite_db.path is not None
    return sqlite_db.path


async def test_a_backup_made_while_the_database_is_open_has_every_row(
    reviewed: Path, sqlite_db: Database, tmp_path: Path
) -> None:
    target = tmp_path / "backups" / "copy.db"
    size = backup(reviewed, target)
    assert size == target.stat().st_size > 0
    assert every_row(target) == every_row(reviewed)
    assert every_row(target)["assignments"]  # there was something to copy
    assert not list(target.parent.glob("*.partial"))


async def test_a_restore_brings_back_every_row(
    reviewed: Path, sqlite_db: Database, tmp_path: Path
) -> None:
    target = tmp_path / "copy.db"
    backup(reviewed, target)
    before = every_row(reviewed)
    await sqlite_db.close()  # the bot is stopped for a restore
    conn = sqlite3.connect(reviewed)
    conn.execute("DELETE FROM scores")
    conn.commit()
    conn.close()
    assert every_row(reviewed) != before
    restore(target, reviewed)
    assert every_row(reviewed) == before


async def test_a_restore_is_refused_while_the_bot_runs(reviewed: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    backup(reviewed, target)
    running = RunLock(reviewed)
    assert running.acquire()
    try:
        with pytest.raises(BackupError, match="the bot is running"):
            restore(target, reviewed)
    finally:
        running.release()
    restore(target, reviewed)  # once it stopped


def test_the_bot_holds_the_run_lock_while_it_runs(settings, tmp_path: Path) -> None:
    seen: list[bool] = []

    def run_polling(running_settings) -> None:
        seen.append(RunLock(running_settings.database_path).acquire())

    assert _run(settings, run_polling) == 0
    assert seen == [False]  # held by the bot itself
    assert RunLock(settings.database_path).acquire()  # and given back when it stops


def test_a_second_bot_on_the_same_database_is_refused(settings, capsys) -> None:
    running = RunLock(settings.database_path)
    assert running.acquire()
    try:
        assert _run(settings, lambda _: pytest.fail("must not start")) == 2
    finally:
        running.release()
    assert "already running" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"not a database at all" * 100, "not a SQLite database"), (None, "not a Nilai database")],
)
def test_only_a_whole_nilai_database_is_restored(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    source = tmp_path / "other.db"
    if content is None:
        conn = sqlite3.connect(source)
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.commit()
        conn.close()
    else:
        source.write_bytes(content)
    database = tmp_path / "data" / "nilai.db"
    with pytest.raises(BackupError, match=reason):
        restore(source, database)
    assert not database.exists()


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    for stamp in ("20261201-030000", "20261202-030000", "20261203-030000"):
        (tmp_path / f"nilai-{stamp}.db").write_bytes(b"")
    gone = keep_newest(tmp_path, "nilai-*.db", 2)
    assert [path.name for path in gone] == ["nilai-20261201-030000.db"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "nilai-20261202-030000.db",
        "nilai-20261203-030000.db",
    ]


async def test_the_cli_backs_up_into_backup_dir_and_restores(
    reviewed: Path, sqlite_db: Database, tmp_path: Path
) -> None:
    before = every_row(reviewed)
    made = run_cli(tmp_path, "backup", database=reviewed, BACKUP_DIR=str(tmp_path / "b"))
    assert made.returncode == 0, made.stderr
    [copy] = (tmp_path / "b").glob("nilai-*.db")
    assert f"to {copy}" in made.stdout
    await sqlite_db.close()
    conn = sqlite3.connect(reviewed)
    conn.execute("DELETE FROM judgments")
    conn.commit()
    conn.close()
    back = run_cli(tmp_path, "restore", str(copy), database=reviewed)
    assert back.returncode == 0, back.stderr
    assert every_row(reviewed) == before
    missing = run_cli(tmp_path, "restore", "nowhere.db", database=reviewed)
    assert missing.returncode == 1 and "no such file" in missing.stderr


async def test_the_bot_backs_up_daily_at_backup_time_into_backup_dir(
    api, settings, clock, tmp_path: Path
) -> None:
    """One job, by a stable name, at BACKUP_TIME in TIMEZONE; running it writes a backup."""
    folder = tmp_path / "backups"
    settings = replace(settings, backup_dir=folder, backup_time=time(3, 15), backup_keep=1)
    for _ in range(2):  # a restart builds the schedule anew: still one job
        bot = RunningBot(api, settings, clock)
        await bot.start()
        try:
            [job] = bot.app.job_queue.get_jobs_by_name("daily-backup")
            local = job.next_t.astimezone(ZoneInfo(settings.timezone))
            assert (local.hour, local.minute) == (3, 15)
            await job.run(bot.app)
            clock.advance(seconds=1)  # the next backup gets a newer name
        finally:
            await bot.stop()
    [kept] = folder.glob("nilai-*.db")  # BACKUP_KEEP=1: the older one is gone
    assert every_row(kept) == every_row(settings.database_path)
