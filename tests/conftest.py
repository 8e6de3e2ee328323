"""Shared fixtures: a fresh database in a temporary folder, settings, and a clock tests move."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from storage.assignment import GOLD_DRAW
from storage.database import Database
from tests.postgres_server import PostgresServer

os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22: RetryAfter.retry_after as timedelta

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
if not SAMPLES.is_dir():  # CI clones next to shared/, as does a developer checkout
    SAMPLES = Path(__file__).resolve().parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run slow stress variants")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using the `db` fixture runs on both backends: SQLite, then PostgreSQL."""
    if "db" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


_POSTGRES: PostgresServer | None = None


def postgres_server() -> PostgresServer:
    """This test run's PostgreSQL (tests/postgres_server.py), started on first use."""
    global _POSTGRES
    if _POSTGRES is None:
        _POSTGRES = PostgresServer()
        _POSTGRES.start()
    if _POSTGRES.url is None:
        pytest.skip(f"PostgreSQL variant skipped: {_POSTGRES.why_not}")
    return _POSTGRES


_SQLITE_TEMPLATE: Path | None = None


async def migrated_sqlite(path: Path) -> None:
    """Put a freshly migrated SQLite database at `path` (unless one is there): a copy of one
    migrated once per test run. Migrating takes about 70 ms of CPU, opening a migrated file 9;
    thousands of tests start from an empty database."""
    global _SQLITE_TEMPLATE
    if _SQLITE_TEMPLATE is None:
        template = Path(tempfile.mkdtemp(prefix="nilai-template-")) / "nilai.db"
        database = await Database.open(template)
        await database.close()  # a clean close: everything is in the main file
        _SQLITE_TEMPLATE = template
    _copy_unless_there(_SQLITE_TEMPLATE, path)


def _copy_unless_there(source: Path, path: Path) -> None:
    if not path.exists():
        shutil.copyfile(source, path)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _POSTGRES is not None:
        _POSTGRES.stop()
    if _SQLITE_TEMPLATE is not None:
        shutil.rmtree(_SQLITE_TEMPLATE.parent, ignore_errors=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database behind the test: "sqlite" unless the test is a PostgreSQL variant."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
async def postgres_url(backend: str) -> str | None:
    """A clean, migrated PostgreSQL database for a PostgreSQL variant; None on SQLite."""
    if backend != "postgresql":
        return None
    return await postgres_server().clean_database()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow stress variant: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


class FakeClock:
    """A clock that stands still until a test moves it (lease expiry, day boundaries)."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 25, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def gold_draw_seeded() -> None:
    """Every test sees the same gold draws (storage.assignment.GOLD_DRAW): with seed 0 the
    first 35 picks at the default gold rate (0.1) are ordinary items, so a test that does not
    look at gold gets the items of its batch in order."""
    GOLD_DRAW.seed(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str | None) -> Settings:
    return Settings(
        telegram_bot_token="123456:TEST-TOKEN",
        database_path=tmp_path / "nilai.db",
        database_url=postgres_url,
        coordinator_ids=frozenset({9000}),
        default_language="id",
        lease_minutes=30,
        default_overlap=2,
        daily_quota=5,
        backup_dir=tmp_path / "backups",  # a daily backup that falls due in a test stays here
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    if settings.database_url is None:
        await migrated_sqlite(settings.database_path)
    database = await Database.open(settings.database_target)
    yield database
    await database.close()


@pytest.fixture
async def sqlite_db(settings: Settings) -> AsyncIterator[Database]:
    """A SQLite database only, for tests of what is SQLite's own (the writer thread, WAL)."""
    await migrated_sqlite(settings.database_path)
    database = await Database.open(settings.database_path)
    yield database
    await database.close()


def with_overlap(settings: Settings, overlap: int) -> Settings:
    return replace(settings, default_overlap=overlap)


@pytest.fixture
async def api() -> AsyncIterator[Any]:
    from tests.fakebot import FakeBotApi

    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def nilai(api: Any, settings: Settings, clock: FakeClock) -> AsyncIterator[Any]:
    """The real bot, running against the fake Bot API on 127.0.0.1."""
    from tests.e2e import RunningBot

    running = RunningBot(api, settings, clock)
    if settings.database_url is None:
        await migrated_sqlite(settings.database_path)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def coordinator(api: Any, nilai: Any) -> Any:
    """The coordinator from settings (user 9000), started and welcomed."""
    boss = api.user(9000, "Boss", language_code="en")
    await boss.send("/start")
    await boss.wait_bot_message()
    return boss
