"""Queries on broadcasts and their deliveries: one row per recipient, claimed in pages.

A delivery goes `pending` -> `sending` (claimed, in one transaction with a page of others) ->
`sent` / `blocked` / `failed` (recorded in batches). Claiming and recording are combined in one
transaction, so a broadcast to 10,000 trainers costs a few commits a second, not one per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Connection, Database

OutcomeRow = tuple[int, str, int | None]
"""trainer id, final status ('sent', 'blocked' or 'failed'), message id when sent."""

RecipientRow = tuple[int, int, str]
"""trainer id, chat id, language."""

FINAL_STATUSES = ("sent", "blocked", "failed")


async def create_broadcast(
    db: Database,
    *,
    kind: str,
    batch_id: int | None,
    text: str | None,
    created_by: int,
    report_chat_id: int,
    now: str,
) -> tuple[int, bool] | None:
    """A broadcast with one pending delivery per active, reachable user (but its creator).

    All in one transaction, so a broadcast never exists with only part of its recipients.
    A batch is announced once: asking again returns the existing broadcast. Returns
    (broadcast id, created now), or None when the batch does not exist.
    """

    async def work(conn: Connection) -> tuple[int, bool] | None:
        if kind == "batch":
            if await conn.fetchone("SELECT 1 FROM batches WHERE id = ?", (batch_id,)) is None:
                return None
            existing = await conn.fetchone(
                "SELECT id FROM broadcasts WHERE kind = 'batch' AND batch_id = ?", (batch_id,)
            )
            if existing is not None:
                return existing[0], False
        broadcast_id = await _insert_broadcast(
            conn, kind, batch_id, text, created_by, report_chat_id, now
        )
        return broadcast_id, True

    return await db.write(work)


async def _insert_broadcast(
    conn: Connection,
    kind: str,
    batch_id: int | None,
    text: str | None,
    created_by: int,
    report_chat_id: int,
    now: str,
) -> int:
    """The broadcast row and its deliveries (the caller's transaction); its id."""
    broadcast_id = await conn.fetchval(
        "INSERT INTO broadcasts (kind, batch_id, text, created_by, report_chat_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (kind, batch_id, text, created_by, report_chat_id, now),
    )
    await conn.execute(
        "INSERT INTO deliveries (broadcast_id, trainer_id)"
        f" SELECT CAST(? AS BIGINT), user_id FROM trainers WHERE {_RECIPIENTS} ORDER BY user_id",
        (broadcast_id, created_by),
    )
    return broadcast_id


# Who a broadcast goes to: active, reachable, with a chat, and not the one who sent it.
_RECIPIENTS = "status = 'active' AND reachable = 1 AND chat_id IS NOT NULL AND user_id <> ?"


async def count_recipients(db: Database, created_by: int) -> int:
    """How many a broadcast by `created_by` would go to now (the preview says it)."""
    return await db.fetchval(
        f"SELECT COUNT(*) FROM trainers WHERE {_RECIPIENTS}", (created_by,), default=0
    )


# -- /announce drafts -----------------------------------------------------------------------------


async def insert_draft(db: Database, *, created_by: int, chat_id: int, text: str, now: str) -> int:
    """A stored /announce draft awaiting Send or Cancel; its id."""

    async def work(conn: Connection) -> int:
        return await conn.fetchval(
            "INSERT INTO announcement_drafts (created_by, chat_id, text, created_at)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            (created_by, chat_id, text, now),
        )

    return await db.write(work)


@dataclass(frozen=True, slots=True)
class DraftRow:
    """A draft as it is after a decision was asked for; `decided_now` if this call decided."""

    id: int
    created_by: int
    text: str
    status: str  # 'draft', 'sent' or 'cancelled'
    broadcast_id: int | None
    decided_now: bool


async def decide_draft(
    db: Database, draft_id: int, *, actor_id: int, send: bool, now: str
) -> DraftRow | None:
    """Send (the broadcast and its deliveries are created) or cancel a draft, in one
    transaction and only while it is still a draft and `actor_id` wrote it; None if unknown.

    The status guard makes a second tap, or a redelivered one, find nothing to change.
    """

    async def work(conn: Connection) -> DraftRow | None:
        row = await conn.fetchone(
            "SELECT id, created_by, chat_id, text, status, broadcast_id"
            " FROM announcement_drafts WHERE id = ?",
            (draft_id,),
        )
        if row is None:
            return None
        draft = DraftRow(row[0], row[1], row[3], row[4], row[5], decided_now=False)
        if draft.status != "draft" or draft.created_by != actor_id:
            return draft
        broadcast_id = None
        if send:
            broadcast_id = await _insert_broadcast(
                conn, "announcement", None, draft.text, actor_id, row[2], now
            )
        status = "sent" if send else "cancelled"
        await conn.execute(
            "UPDATE announcement_drafts SET status = ?, broadcast_id = ?, decided_at = ?"
            " WHERE id = ? AND status = 'draft'",
            (status, broadcast_id, now, draft_id),
        )
        return DraftRow(
            draft.id, draft.created_by, draft.text, status, broadcast_id, decided_now=True
        )

    return await db.write(work)


async def get_broadcast(db: Database, broadcast_id: int) -> dict[str, Any] | None:
    """The broadcast with its batch's name and its creator's language."""
    row = await db.fetchone(
        "SELECT b.id, b.kind, b.batch_id, b.text, b.created_by, b.report_chat_id,"
        " b.report_message_id, b.status, bt.name AS batch_name, c.language AS creator_language"
        " FROM broadcasts b LEFT JOIN batches bt ON bt.id = b.batch_id"
        " LEFT JOIN trainers c ON c.user_id = b.created_by WHERE b.id = ?",
        (broadcast_id,),
    )
    return None if row is None else dict(row)


async def unfinished_broadcasts(db: Database) -> list[int]:
    rows = await db.fetchall("SELECT id FROM broadcasts WHERE status = 'sending' ORDER BY id")
    return [row[0] for row in rows]


async def set_report_message(db: Database, broadcast_id: int, message_id: int) -> None:
    await db.execute(
        "UPDATE broadcasts SET report_message_id = ? WHERE id = ?", (message_id, broadcast_id)
    )


async def count_unconfirmed(db: Database, broadcast_id: int) -> int:
    """Deliveries left `sending`: claimed, and their outcome never recorded."""
    return await db.fetchval(
        "SELECT COUNT(*) FROM deliveries WHERE broadcast_id = ? AND status = 'sending'",
        (broadcast_id,),
    )


async def fail_unconfirmed(db: Database, broadcast_id: int, now: str) -> int:
    """Deliveries a crash left `sending` become `failed`: sent or not, they are not resent."""
    return await db.execute(
        "UPDATE deliveries SET status = 'failed', updated_at = ?"
        " WHERE broadcast_id = ? AND status = 'sending'",
        (now, broadcast_id),
    )


async def record_and_claim(
    db: Database,
    broadcast_id: int,
    *,
    outcomes: Sequence[OutcomeRow],
    release: Sequence[int] = (),
    claim: int = 0,
    now: str,
) -> list[RecipientRow]:
    """In one transaction: record finished deliveries, put unsent claimed ones back to pending,
    and claim up to `claim` pending ones (returned with each recipient's chat and language).

    A `blocked` outcome also marks the trainer unreachable, so later broadcasts skip them.
    """
    return await db.write(_record_and_claim, broadcast_id, outcomes, release, claim, now)


async def _record_and_claim(
    conn: Connection,
    broadcast_id: int,
    outcomes: Sequence[OutcomeRow],
    release: Sequence[int],
    claim: int,
    now: str,
) -> list[RecipientRow]:
    if outcomes:
        await conn.executemany(
            "UPDATE deliveries SET status = ?, message_id = ?, updated_at = ?"
            " WHERE broadcast_id = ? AND trainer_id = ? AND status = 'sending'",
            [
                (status, message_id, now, broadcast_id, trainer_id)
                for trainer_id, status, message_id in outcomes
            ],
        )
        blocked = [(trainer_id,) for trainer_id, status, _ in outcomes if status == "blocked"]
        if blocked:
            await conn.executemany("UPDATE trainers SET reachable = 0 WHERE user_id = ?", blocked)
    if release:
        await conn.executemany(
            "UPDATE deliveries SET status = 'pending', attempts = attempts - 1,"
            " updated_at = ? WHERE broadcast_id = ? AND trainer_id = ? AND status = 'sending'",
            [(now, broadcast_id, trainer_id) for trainer_id in release],
        )
    if claim <= 0:
        return []
    # The (broadcast_id, status) index finds pending rows without passing the finished ones.
    rows = await conn.fetchall(
        "SELECT d.trainer_id, t.chat_id, t.language FROM deliveries d"
        " JOIN trainers t ON t.user_id = d.trainer_id"
        " WHERE d.broadcast_id = ? AND d.status = 'pending' LIMIT ?",
        (broadcast_id, claim),
    )
    page = [(row[0], row[1], row[2]) for row in rows]
    # By the key alone: these rows were read as pending in this very transaction (one writer
    # on SQLite, SERIALIZABLE on PostgreSQL). A `status = 'pending'` here lets PostgreSQL pick
    # the (broadcast_id, status) index and walk every pending row for each one claimed.
    await conn.executemany(
        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ?"
        " WHERE broadcast_id = ? AND trainer_id = ?",
        [(now, broadcast_id, trainer_id) for trainer_id, _, _ in page],
    )
    return page


async def delivery_counts(db: Database, broadcast_id: int) -> dict[str, int]:
    """Deliveries per status (statuses without any are absent)."""
    rows = await db.fetchall(
        "SELECT status, COUNT(*) FROM deliveries WHERE broadcast_id = ? GROUP BY status",
        (broadcast_id,),
    )
    return {row[0]: row[1] for row in rows}


async def finish_broadcast(db: Database, broadcast_id: int, now: str) -> bool:
    """Mark done; False if it was already (or is unknown)."""
    changed = await db.execute(
        "UPDATE broadcasts SET status = 'done', finished_at = ?"
        " WHERE id = ? AND status = 'sending'",
        (now, broadcast_id),
    )
    return changed == 1
