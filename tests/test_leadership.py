"""A leader that loses its lock while alive (handlers/leadership.py): its bulk sends stop
within a claim and give back what they claimed, so the new leader's resume is the only sender
and BROADCAST_RATE holds for the whole bot. PostgreSQL only: the one SQLite process always
leads."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from handlers.context import SERVICES_KEY
from handlers.leadership import Leadership
from handlers.paced_sends import PacedSends
from storage.postgres_backend import LEADER_LOCK, PostgresDatabase

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

KILLED_AT = 3  # the claim during which the leader connection is killed


async def leader_backend(outside: asyncpg.Connection) -> int:
    """The server process holding LEADER_LOCK, as an operator finds it in pg_locks."""
    key = LEADER_LOCK & 0xFFFF_FFFF_FFFF_FFFF  # a bigint key: its high and low 32 bits
    pid = await outside.fetchval(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = $1 AND objid = $2 AND objsubid = 1",
        key >> 32,
        key & 0xFFFF_FFFF,
    )
    assert pid is not None
    return pid


async def kill(outside: asyncpg.Connection, pid: int) -> None:
    """Terminate a server process and wait until it is gone (its locks with it)."""
    assert await outside.fetchval("SELECT pg_terminate_backend($1)", pid)
    while await outside.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
        await outside.execute("SELECT pg_sleep(0.01)")


async def test_a_leader_whose_lock_connection_is_killed_stops_within_a_claim(
    postgres_url: str,
) -> None:
    db = await PostgresDatabase.connect(postgres_url, migrate=False)
    outside = await asyncpg.connect(postgres_url)
    app: Any = SimpleNamespace(running=True, bot_data={SERVICES_KEY: SimpleNamespace(db=db)})
    try:
        assert await Leadership.of(app).check()

        async def deliver(row: int) -> int:
            return row

        sends: PacedSends[int, int] = PacedSends(app, 10_000, deliver)
        pages = iter(range(0, 50 * sends.page_size, sends.page_size))  # far more than needed
        claimed: list[int] = []
        recorded: list[int] = []
        claims = 0

        async def claim(finished: list[int]) -> list[int]:
            nonlocal claims
            claims += 1
            recorded.extend(finished)
            if claims == KILLED_AT:  # its connection dropped, the process itself alive
                await kill(outside, await leader_backend(outside))
            start = next(pages, None)
            page = [] if start is None else list(range(start, start + sends.page_size))
            claimed.extend(page)
            return page

        unsent = await sends.run(claim)
        recorded.extend(sends.take_finished())

        assert claims == KILLED_AT  # no claim once the loss could be seen
        assert sends.lost_leadership
        assert not Leadership.of(app).leading
        assert sorted(recorded + unsent) == claimed  # every claimed row sent or given back
        other = await PostgresDatabase.connect(postgres_url, migrate=False)
        try:
            assert await other.is_leader()  # the server released the lock: another leads now
        finally:
            await other.close()
    finally:
        await outside.close()
        await db.close()
