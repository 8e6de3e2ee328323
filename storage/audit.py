"""The audit log: who changed what about trainers and batches, and when."""

from __future__ import annotations

from storage.database import Transaction


async def record_change(
    conn: Transaction,
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


def target_of_trainer(user_id: int) -> str:
    """How audit entries name a trainer they are about (what /mydata and /deleteme look for)."""
    return f"trainer:{user_id}"
