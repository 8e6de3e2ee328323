"""Scripted days of reviewing for the daily-message tests: submitted reviews at chosen moments,
written straight into the database (each of its own item, in a batch of its own)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import stamp
from storage.database import Database
from tests.factories import make_batch


async def add_reviews(db: Database, trainer_id: int, moments: list[datetime], name: str) -> None:
    """Reviews submitted by `trainer_id` at these moments. The batch is closed, so its items
    are never handed out (they would look like work left)."""
    batch = await make_batch(db, name, items=len(moments), overlap=1)
    await db.execute("UPDATE batches SET status = 'closed' WHERE id = ?", (batch,))
    rows = await db.fetchall("SELECT id FROM items WHERE batch_id = ? ORDER BY id", (batch,))
    async with db.transaction() as conn:
        for row, moment in zip(rows, moments, strict=True):
            await conn.execute(
                "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
                " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
                (row["id"], trainer_id, stamp(moment), stamp(moment), stamp(moment)),
            )
