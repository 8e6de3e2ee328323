"""Queries about the messages that show an item: which one is its live panel."""

from __future__ import annotations

from storage.database import Database


async def live_panel(db: Database, assignment_id: int) -> tuple[int, int] | None:
    """(chat id, message id) of the newest panel sent for an assignment, if any."""
    row = await db.fetchone(
        "SELECT chat_id, message_id FROM assignment_messages"
        " WHERE assignment_id = ? AND kind = 'panel' ORDER BY message_id DESC LIMIT 1",
        (assignment_id,),
    )
    return None if row is None else (row[0], row[1])
