"""/reminders: whether a trainer wants the daily reminder (trainers.reminders, migration 0015)."""

from __future__ import annotations

from storage.database import Database


async def set_reminders(db: Database, user_id: int, on: bool) -> None:
    """On or off (set, not toggle: the same value twice changes nothing)."""
    await db.execute("UPDATE trainers SET reminders = ? WHERE user_id = ?", (int(on), user_id))
