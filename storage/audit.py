"""The audit log: who changed what about trainers and batches, and when."""

from __future__ import annotations

import aiosqlite

from storage.database import Database


async def record_change(
    conn: aiosqlite.Connection,
    *,
    actor_id: int,
    action: str,
    target: str,
    detail: str | None,
    now: str,
) -> None:
    """Record a change inside the transaction that makes it, so the log never disagrees."""
    await conn.execute(
        "INSERT INTO audit_log (actor_id, action, target, detail, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (actor_id, action, target, detail, now),
    )


async def changes_of(db: Database, target: str) -> list[tuple[int, str, str | None, str]]:
    rows = await db.fetchall(
        "SELECT actor_id, action, detail, created_at FROM audit_log WHERE target = ? ORDER BY id",
        (target,),
    )
    return [tuple(row) for row in rows]
