"""Small named facts the bot learns while running (e.g. its @username)."""

from __future__ import annotations

from storage.database import Database


async def set_fact(db: Database, name: str, value: str) -> None:
    await db.execute(
        "INSERT INTO bot_facts (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


async def get_fact(db: Database, name: str) -> str | None:
    return await db.fetchval("SELECT value FROM bot_facts WHERE name = ?", (name,))


async def delete_fact(db: Database, name: str) -> None:
    await db.execute("DELETE FROM bot_facts WHERE name = ?", (name,))
