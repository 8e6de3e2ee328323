"""Backups of the SQLite file while the bot runs, and putting one back while it does not.

SQLite-only (PostgreSQL has pg_dump): the online backup API copies a consistent snapshot page by
page while the bot goes on writing (WAL: readers and the writer do not block each other). A copy
is written beside its target and renamed into place, so a crash never leaves half a backup.

Restoring replaces the database file, which must not happen under a running bot: `python -m bot
run` holds `RunLock` (an exclusive `flock` on `<database>.run-lock`) for as long as it runs, and
a restore takes the same lock first, or refuses.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path
from types import TracebackType


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the operator."""


class RunLock:
    """Held while the bot runs, and by a restore: at most one of them at a time."""

    def __init__(self, database_path: Path):
        self.path = database_path.with_name(database_path.name + ".run-lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if someone holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        if not self.acquire():
            raise BackupError(f"{self.path} is held: is the bot already running?")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


def backup(database_path: Path, target: Path) -> int:
    """Copy the database to `target` as one consistent snapshot; the copy's size in bytes."""
    if not database_path.exists():
        raise BackupError(f"no database at {database_path}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _copy(database_path, partial)
    _check(partial)
    partial.replace(target)
    return target.stat().st_size


def restore(source: Path, database_path: Path) -> int:
    """Put a backup back in place of the database; refuses while the bot runs. The size."""
    if not source.exists():
        raise BackupError(f"no such file: {source}")
    _check(source)
    lock = RunLock(database_path)
    if not lock.acquire():
        raise BackupError("the bot is running: stop it first, then restore")
    try:
        database_path.parent.mkdir(parents=True, exist_ok=True)
        partial = database_path.with_name(database_path.name + ".restoring")
        partial.unlink(missing_ok=True)
        _copy(source, partial)
        for leftover in ("-wal", "-shm"):  # the replaced file's log must not be replayed on it
            database_path.with_name(database_path.name + leftover).unlink(missing_ok=True)
        partial.replace(database_path)
    finally:
        lock.release()
    return database_path.stat().st_size


def keep_newest(folder: Path, pattern: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` files matching `pattern` (by name: they carry their
    time); the ones deleted."""
    found = sorted(folder.glob(pattern))
    gone = found[:-keep] if keep > 0 else found
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()


def _check(path: Path) -> None:
    """The file is a whole Nilai database (integrity checked, migrations recorded)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
            migrated = conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'"
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a SQLite database ({error})") from None
    if verdict != "ok":
        raise BackupError(f"{path} is damaged: {verdict}")
    if not migrated:
        raise BackupError(f"{path} is not a Nilai database (no schema_migrations table)")
