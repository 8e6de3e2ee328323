"""Queries on trainers (and coordinators, who are trainers with another role)."""

from __future__ import annotations

from storage.database import Database, Transaction
from storage.records import Trainer


async def get_trainer(db: Database, user_id: int) -> Trainer | None:
    row = await db.fetchone("SELECT * FROM trainers WHERE user_id = ?", (user_id,))
    return None if row is None else Trainer.from_row(row)


async def insert_trainer(
    db: Database,
    *,
    user_id: int,
    chat_id: int,
    name: str,
    username: str | None,
    language: str,
    role: str,
    invite_code: str | None,
    now: str,
) -> bool:
    """Register a user; False if they already were (a redelivered /start changes nothing)."""
    changed = await db.execute(
        "INSERT INTO trainers (user_id, chat_id, name, username, language, role, invite_code,"
        " created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO NOTHING",
        (user_id, chat_id, name, username, language, role, invite_code, now, now),
    )
    return changed == 1


async def register_with_invite(
    db: Database,
    *,
    code: str,
    user_id: int,
    chat_id: int,
    name: str,
    username: str | None,
    language: str,
    now: str,
) -> str | None:
    """Use one invite and register the user in one transaction; the role, or None if invalid."""
    return await db.write(
        _register_with_invite, code, user_id, chat_id, name, username, language, now
    )


async def _register_with_invite(
    conn: Transaction,
    code: str,
    user_id: int,
    chat_id: int,
    name: str,
    username: str | None,
    language: str,
    now: str,
) -> str | None:
    used = await conn.execute(
        "UPDATE invites SET uses_left = uses_left - 1"
        " WHERE code = ? AND uses_left > 0 AND (expires_at IS NULL OR expires_at > ?)",
        (code, now),
    )
    if used != 1:
        return None
    role = await conn.fetchval("SELECT role FROM invites WHERE code = ?", (code,))
    await conn.execute(
        "INSERT INTO trainers (user_id, chat_id, name, username, language, role, invite_code,"
        " created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (user_id, chat_id, name, username, language, role, code, now, now),
    )
    return role


async def set_timezone(db: Database, user_id: int, timezone: str) -> None:
    await db.execute("UPDATE trainers SET timezone = ? WHERE user_id = ?", (timezone, user_id))


async def set_reachable(db: Database, user_id: int, reachable: bool) -> None:
    await db.execute(
        "UPDATE trainers SET reachable = ? WHERE user_id = ?", (int(reachable), user_id)
    )


async def update_profile(db: Database, user_id: int, name: str, username: str | None) -> None:
    """Keep the Telegram name and @username current, so coordinators can address people."""
    await db.execute(
        "UPDATE trainers SET name = ?, username = ? WHERE user_id = ?", (name, username, user_id)
    )


async def set_role(db: Database, user_id: int, role: str) -> None:
    await db.execute("UPDATE trainers SET role = ? WHERE user_id = ?", (role, user_id))


async def coordinators(db: Database) -> list[Trainer]:
    """Every coordinator (configured or invited), for alerts."""
    rows = await db.fetchall("SELECT * FROM trainers WHERE role = 'coordinator' ORDER BY user_id")
    return [Trainer.from_row(row) for row in rows]
