"""Queries on invite codes."""

from __future__ import annotations

from storage.database import Database
from storage.records import Invite


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


async def get_invite(db: Database, code: str) -> Invite | None:
    row = await db.fetchone(
        "SELECT code, role, uses_left, expires_at FROM invites WHERE code = ?", (code,)
    )
    return None if row is None else Invite(*row)
