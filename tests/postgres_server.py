"""A throwaway PostgreSQL server for the tests, started from the local binaries.

Where it comes from, in order: `TEST_DATABASE_URL` (a server someone runs; each test gets a
database of its own made on it), else PostgreSQL's binaries (`pg_ctl`, `initdb`; on Debian in
/usr/lib/postgresql/<version>/bin) started on a free port in a temporary folder for this test
run and stopped at its end. `initdb` refuses to run as root, and CI runs as root, so as root
the server runs as the `postgres` system user. Where neither exists the PostgreSQL variants
are skipped with one line saying why.

Each test gets a new database cloned from a template that holds the migrated schema (CREATE
DATABASE ... TEMPLATE), so a test starts from an empty, migrated database in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from itertools import count
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TEMPLATE = "nilai_template"
_names = count(1)


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(versions[0]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One server for the whole test run; `new_database()` hands out fresh databases."""

    def __init__(self) -> None:
        self.url: str | None = None  # the admin address (database `postgres`)
        self.why_not: str | None = None
        self._folder: Path | None = None
        self._bin: Path | None = None
        self._as_postgres = False
        self._template_ready = False
        self._reused: str | None = None
        self.leaked_sessions = 0  # sessions earlier tests left open, ended by clean_database

    def start(self) -> None:
        given = os.environ.get("TEST_DATABASE_URL", "").strip()
        if given:
            self.url = given
            return
        self._bin = _binaries()
        if self._bin is None:
            self.why_not = "no PostgreSQL (set TEST_DATABASE_URL, or install its server binaries)"
            return
        self._as_postgres = os.geteuid() == 0
        folder = Path(tempfile.mkdtemp(prefix="nilai-pg-"))
        self._folder = folder
        data = folder / "data"
        if self._as_postgres:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                self.why_not = "running as root and there is no `postgres` user to run initdb"
                return
            os.chown(folder, user.pw_uid, user.pw_gid)
        port = _free_port()
        try:
            self._run(
                "initdb",
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off -c max_connections=150"
                # SERIALIZABLE tracks what each transaction read with predicate locks; past
                # max_pred_locks_per_transaction / 2 on one table it locks the whole table, and
                # every write to it then conflicts. The pick reads more rows than the default
                # 64 allows, so the README asks production servers for this setting too.
                " -c max_pred_locks_per_transaction=1024"
                " -c shared_buffers=64MB"
            )
            self._run(
                "pg_ctl",
                "-D",
                str(data),
                "-l",
                str(folder / "log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
        except (subprocess.CalledProcessError, OSError) as error:
            detail = getattr(error, "stderr", b"") or b""
            self.why_not = f"PostgreSQL did not start: {error} {detail.decode()[-300:]}"
            return
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        assert self._bin is not None
        command = [str(self._bin / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        if self._folder is None:
            return
        if self.url is not None:
            data = self._folder / "data"
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = None

    def address_of(self, name: str) -> str:
        assert self.url is not None
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    async def new_database(self, *, migrated: bool = True) -> str:
        """The address of a new, empty database of its own: migrated, or not even that."""
        import asyncpg

        from storage.database import Database

        assert self.url is not None
        admin = await asyncpg.connect(self.url)
        try:
            if not self._template_ready:
                await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
                await admin.execute(f"CREATE DATABASE {TEMPLATE}")
                migrated = await Database.open(self.address_of(TEMPLATE))
                await migrated.close()
                self._template_ready = True
            name = f"nilai_test_{os.getpid()}_{next(_names)}_{int(time.time() * 1000) % 10**6}"
            for attempt in range(50):  # the template is busy while another clone is made
                try:
                    template = TEMPLATE if migrated else "template0"
                    await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
                    break
                except asyncpg.ObjectInUseError:
                    await asyncio.sleep(0.05 * (attempt + 1))
            return self.address_of(name)
        finally:
            await admin.close()

    async def clean_database(self) -> str:
        """The address of this test run's own database, emptied (every row deleted, every id
        counter back at 1): about a millisecond, where a new database takes a third of a
        second."""
        import asyncpg

        if self._reused is None:
            self._reused = await self.new_database()
            return self._reused
        conn = await asyncpg.connect(self._reused)
        try:
            # A session an earlier test left open (a connection never closed, idle in a
            # transaction) would hold its uncommitted rows: an insert of the same key waits for
            # it forever. Every test closes its pools first, so what is left here is a leak.
            leaked = await conn.fetchval(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if leaked:
                self.leaked_sessions += leaked
            tables = [
                row[0]
                for row in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    " AND tablename <> 'schema_migrations'"
                )
            ]
            sequences = [
                row[0]
                for row in await conn.fetch(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
                )
            ]
            async with conn.transaction():
                # Foreign keys are not checked while replicating: the tables empty in any order.
                await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.execute("".join(f"DELETE FROM {table};" for table in tables))
                for sequence in sequences:
                    await conn.execute("SELECT setval($1, 1, false)", sequence)
        finally:
            await conn.close()
        return self._reused

    async def drop_database(self, url: str) -> None:
        import asyncpg

        assert self.url is not None
        name = urlsplit(url).path.lstrip("/")
        admin = await asyncpg.connect(self.url)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()
