"""Queries on invite codes."""

from __future__ import annotations

from storage.database import Database


async def insert_invite(
    db: Database,
    *,
    code: str,
    role: str,
    uses: int,
    expires_at: str | None,
    created_by: int | None,
    now: str,
) -> None:
    await db.execute(
        "INSERT INTO invites (code, role, uses_left, expires_at, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (code, role, uses, expires_at, created_by, now),
    )
