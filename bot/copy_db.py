"""`python -m bot copy-db --to postgresql://...`: move a SQLite project to PostgreSQL.

The bot must be stopped: the copy takes the run lock the bot holds while it runs (and
`restore` takes), so it refuses while the bot runs on that file. The SQLite database at
DATABASE_PATH is migrated first, then copied whole, from one snapshot, into the target, which
must be an empty database (`Database.open` migrates it); the copy is checked (row count and
checksum per table) before it is committed. The work is storage/copy.py's.
"""

from __future__ import annotations

import argparse
import sys
import time
from urllib.parse import urlsplit

from bot.config import Settings
from storage.database import Database, is_postgres_url
from storage.sqlite_backup import RunLock

PROGRESS_EVERY = 0.2  # seconds between two progress lines of one table (a terminal's bar)
PROGRESS_EVERY_LOG = 5.0  # the same when stderr is not a terminal (a log, a service unit)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "copy-db",
        help="copy the SQLite database into an empty PostgreSQL database (stop the bot first)",
        description="Copy every row of the SQLite database at DATABASE_PATH into an empty "
        "PostgreSQL database, checked by row counts and a checksum per table; nothing is kept "
        "in the target unless everything matched. Refused while the bot runs on that file. "
        "Then set DATABASE_URL to the same address (README 'Moving an existing project').",
    )
    parser.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the target, postgresql://USER:PASSWORD@HOST:PORT/DATABASE (an empty database)",
    )


def shown(url: str) -> str:
    """The address without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{parts.username}:***@{host}{port}").geturl()


async def copy_db(settings: Settings, args: argparse.Namespace) -> int:
    from storage.copy import CopyError, CopyMismatch, CopyRefused, copy_database

    url: str = args.to
    if not is_postgres_url(url):
        print("error: --to must be a postgresql://... address", file=sys.stderr)
        return 2
    path = settings.database_path
    if not path.is_file():
        print(f"error: no database at {path} (DATABASE_PATH): nothing to copy", file=sys.stderr)
        return 2
    lock = RunLock(path)
    if not lock.acquire():
        print(
            f"error: {lock.path} is held: the bot is running on {path}; stop it, then copy",
            file=sys.stderr,
        )
        return 2
    try:
        source = await Database.open(path)  # migrated: the target gets the same version
        try:
            try:
                target = await Database.open(url, pool_size=2)
            except (OSError, ImportError) as error:
                print(f"error: cannot reach {shown(url)}: {error}", file=sys.stderr)
                return 1
            except Exception as error:  # asyncpg's: no such database, wrong password, ...
                if not type(error).__module__.startswith("asyncpg"):
                    raise
                print(f"error: cannot open {shown(url)}: {error}", file=sys.stderr)
                return 1
            started = time.monotonic()
            try:
                report = await copy_database(source, target, on_progress=Progress().update)
            finally:
                await target.close()
        finally:
            await source.close()
    except CopyRefused as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    except CopyMismatch as error:
        print(f"error: {error}; nothing was kept in the target", file=sys.stderr)
        return 1
    except CopyError as error:
        print(f"error: {error}; nothing was kept in the target", file=sys.stderr)
        return 1
    except Exception as error:
        if not type(error).__module__.startswith("asyncpg"):
            raise
        print(f"error: {shown(url)} refused a row: {error}; nothing was kept", file=sys.stderr)
        return 1
    finally:
        lock.release()
    seconds = time.monotonic() - started
    print(
        f"copied {report.rows:,} rows in {len(report.tables)} tables from {path} to "
        f"{shown(url)} in {seconds:.1f} s; every table's row count and checksum match"
    )
    return 0


class Progress:
    """The copy's progress on stderr: one bar per table and phase on a terminal, redrawn at
    most every PROGRESS_EVERY seconds; elsewhere a line when a table is done and one every
    PROGRESS_EVERY_LOG seconds during a long one."""

    def __init__(self) -> None:
        self.terminal = sys.stderr.isatty()
        self.every = PROGRESS_EVERY if self.terminal else PROGRESS_EVERY_LOG
        self._last = 0.0
        self._bar = None
        self._current: tuple[str, str] | None = None

    async def update(self, phase: str, table: str, done: int, total: int) -> None:
        now = time.monotonic()
        if (phase, table) != self._current:
            self._current = (phase, table)
            self._last = now
            if self.terminal:
                from bot.cli import ProgressBar

                self._bar = ProgressBar(f"{phase} {table}", unit="rows")
        finished = done >= total
        if not finished and now - self._last < self.every:
            return
        self._last = now
        if self.terminal and self._bar is not None:
            if total == 0:
                print(f"{phase} {table}: no rows", file=sys.stderr, flush=True)
            else:
                await self._bar.update(done, total)
        elif finished or done:
            print(f"{phase} {table}: {done:,}/{total:,} rows", file=sys.stderr, flush=True)
