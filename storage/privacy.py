"""Queries of privacy: the notice and who agreed to it, a trainer's own data, and deletion.

A trainer's Telegram id is the key of their `trainers` row and is copied into every row about
them. Deleting their identity moves all of that to a fresh negative id (a tombstone row that
keeps only the export pseudonym), so past judgments stay whole and nothing holds the id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.assignment import items_released_by
from storage.audit import record_change, target_of_trainer
from storage.corrections import restore_reopened
from storage.database import Database, Transaction

BUILTIN_VERSION = 1  # the catalog's notice; a coordinator's notices get higher versions

# Every column that holds a trainer's user id, as (table, column). Foreign keys to
# trainers (user_id) must all be here (tests/test_privacy.py checks the schema), else deleting
# the old row fails and nothing changes.
TRAINER_ID_COLUMNS = (
    ("assignments", "trainer_id"),
    ("deliveries", "trainer_id"),
    ("queue_positions", "trainer_id"),
    ("audit_log", "actor_id"),
    ("invites", "created_by"),
    ("broadcasts", "created_by"),
    ("uploads", "coordinator_id"),
    ("privacy_notices", "set_by"),
    ("text_parts", "trainer_id"),
    ("text_refusals", "trainer_id"),
    ("sitting_ends", "trainer_id"),
    ("guidelines_shown", "trainer_id"),
    ("announcement_drafts", "created_by"),
    ("daily_sends", "trainer_id"),
    ("gold_answers", "trainer_id"),
    ("gold_pauses", "trainer_id"),
    ("gold_pauses", "lifted_by"),
    ("rewrite_reviews", "reviewer_id"),
    ("rewrite_skips", "reviewer_id"),
)
# Columns that hold the trainer's private chat id (equal to the user id in Telegram).
CHAT_ID_COLUMNS = (
    ("broadcasts", "report_chat_id"),
    ("text_parts", "chat_id"),
    ("announcement_drafts", "chat_id"),
    ("export_claims", "chat_id"),
)


@dataclass(frozen=True, slots=True)
class StoredNotice:
    version: int
    text: str | None  # None: the catalog's text


async def current_notice(db: Database) -> StoredNotice:
    row = await db.fetchone(
        "SELECT version, text FROM privacy_notices ORDER BY version DESC LIMIT 1"
    )
    if row is None:
        return StoredNotice(BUILTIN_VERSION, None)
    return StoredNotice(row["version"], row["text"])


async def current_version(db: Database) -> int:
    """The version in use: one read of the primary key's last entry."""
    return await db.fetchval("SELECT MAX(version) FROM privacy_notices") or BUILTIN_VERSION


async def consent_of(db: Database, user_id: int) -> tuple[int | None, int]:
    """(the version the trainer agreed to, None if none or no such trainer; the version in
    use), in one read: the consent check every review tap goes through."""
    row = await db.fetchone(
        "SELECT (SELECT privacy_version FROM trainers WHERE user_id = ?),"
        " (SELECT MAX(version) FROM privacy_notices)",
        (user_id,),
    )
    return row[0], row[1] or BUILTIN_VERSION


async def replace_notice(db: Database, text: str | None, *, actor_id: int, now: str) -> int:
    """Store a new notice (None: back to the catalog's) as the next version; audited."""
    return await db.write(_replace_notice, text, actor_id, now)


async def _replace_notice(tx: Transaction, text: str | None, actor_id: int, now: str) -> int:
    latest = await tx.fetchval("SELECT MAX(version) FROM privacy_notices") or BUILTIN_VERSION
    version = latest + 1
    await tx.execute(
        "INSERT INTO privacy_notices (version, text, set_by, created_at) VALUES (?, ?, ?, ?)",
        (version, text, actor_id, now),
    )
    await record_change(
        tx,
        actor_id=actor_id,
        action="privacy.notice_reset" if text is None else "privacy.notice_set",
        target=f"privacy_notice:{version}",
        detail=None if text is None else f"{len(text)} characters",
        now=now,
    )
    return version


async def agreed_version(db: Database, user_id: int) -> int | None:
    return await db.fetchval("SELECT privacy_version FROM trainers WHERE user_id = ?", (user_id,))


async def agreed_at(db: Database, user_id: int) -> str | None:
    return await db.fetchval("SELECT privacy_agreed_at FROM trainers WHERE user_id = ?", (user_id,))


async def record_consent(db: Database, user_id: int, version: int, *, now: str) -> bool:
    """The trainer agreed to `version`; False if they already had (a double tap), unaudited."""
    return await db.write(_record_consent, user_id, version, now)


async def _record_consent(tx: Transaction, user_id: int, version: int, now: str) -> bool:
    changed = await tx.execute(
        "UPDATE trainers SET privacy_version = ?, privacy_agreed_at = ?"
        " WHERE user_id = ? AND (privacy_version IS NULL OR privacy_version <> ?)",
        (version, now, user_id, version),
    )
    if changed != 1:
        return False
    await record_change(
        tx,
        actor_id=user_id,
        action="privacy.agree",
        target=target_of_trainer(user_id),
        detail=f"version {version}",
        now=now,
    )
    return True


async def record_export_of_own_data(db: Database, user_id: int, *, now: str) -> None:
    await db.write(_record_export_of_own_data, user_id, now)


async def _record_export_of_own_data(tx: Transaction, user_id: int, now: str) -> None:
    await record_change(
        tx,
        actor_id=user_id,
        action="privacy.mydata",
        target=target_of_trainer(user_id),
        detail=None,
        now=now,
    )


async def kept_pseudonyms(db: Database) -> dict[int, str]:
    """Tombstone id -> the pseudonym its judgments were exported under (a team is small)."""
    rows = await db.fetchall("SELECT user_id, pseudonym FROM trainers WHERE pseudonym IS NOT NULL")
    return {row[0]: row[1] for row in rows}


# -- a trainer's own data (/mydata) ----------------------------------------------------------


async def personal_data(db: Database, user_id: int) -> dict[str, Any] | None:
    """Every row about one trainer, as plain values; None if there is no such trainer."""
    profile = await db.fetchone("SELECT * FROM trainers WHERE user_id = ?", (user_id,))
    if profile is None:
        return None
    mine = "SELECT id FROM assignments WHERE trainer_id = ?"
    queries = {
        "assignments": (
            "SELECT a.*, i.external_id AS item_external_id, b.name AS batch"
            " FROM assignments a JOIN items i ON i.id = a.item_id"
            " JOIN batches b ON b.id = i.batch_id WHERE a.trainer_id = ? ORDER BY a.id"
        ),
        "scores": f"SELECT * FROM scores WHERE assignment_id IN ({mine}) ORDER BY assignment_id",
        "flags": f"SELECT * FROM flags WHERE assignment_id IN ({mine}) ORDER BY assignment_id",
        "judgments": f"SELECT * FROM judgments WHERE assignment_id IN ({mine})",
        "revisions": (
            f"SELECT * FROM judgment_revisions WHERE assignment_id IN ({mine}) ORDER BY id"
        ),
        "deliveries": (
            "SELECT d.*, b.kind, b.text, b.batch_id FROM deliveries d"
            " JOIN broadcasts b ON b.id = d.broadcast_id"
            " WHERE d.trainer_id = ? ORDER BY d.broadcast_id"
        ),
        "queue_positions": "SELECT * FROM queue_positions WHERE trainer_id = ?",
    }
    data: dict[str, Any] = {"profile": dict(profile)}
    for name, sql in queries.items():
        data[name] = [dict(row) for row in await db.fetchall(sql, (user_id,))]
    me = target_of_trainer(user_id)
    data["audit"] = [
        _own_audit_entry(row, user_id, me)
        for row in await db.fetchall(
            "SELECT id, actor_id, action, target, detail, created_at FROM audit_log"
            " WHERE actor_id = ? OR target = ? ORDER BY id",
            (user_id, me),
        )
    ]
    return data


def _own_audit_entry(row: Any, user_id: int, me: str) -> dict[str, Any]:
    """An audit entry as the trainer may see it: about them or by them, and nobody else's id
    (the coordinator who paused them, the trainer a coordinator paused)."""
    target = row["target"]
    if target == me:
        target = "you"
    elif target is not None and target.startswith("trainer:"):
        target = "another trainer"
    return {
        "id": row["id"],
        "by": "you" if row["actor_id"] == user_id else "a coordinator",
        "action": row["action"],
        "target": target,
        "detail": row["detail"],
        "created_at": row["created_at"],
    }


# -- deleting an identity (/deleteme) --------------------------------------------------------


async def delete_identity(db: Database, user_id: int, *, pseudonym: str, now: str) -> int | None:
    """Move the trainer to a fresh negative id that keeps only `pseudonym`, and forget
    everything that identified them; the new id, or None if they were not registered."""
    return await db.write(_delete_identity, user_id, pseudonym, now)


async def _delete_identity(tx: Transaction, user_id: int, pseudonym: str, now: str) -> int | None:
    row = await tx.fetchone(
        "SELECT chat_id FROM trainers WHERE user_id = ? AND deleted_at IS NULL", (user_id,)
    )
    if row is None:
        return None
    chat_id = row[0]
    lowest = await tx.fetchval("SELECT MIN(user_id) FROM trainers")
    new_id = min(lowest, 0) - 1
    await _insert_tombstone(tx, user_id, new_id, pseudonym, now)
    await restore_reopened(tx, user_id)  # an Undo in progress keeps its submission
    await items_released_by(tx, user_id)  # open items go back to the queue at once
    await tx.execute(
        "UPDATE assignments SET status = 'expired' WHERE trainer_id = ? AND status = 'active'",
        (user_id,),
    )
    for table, column in TRAINER_ID_COLUMNS:
        await tx.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (new_id, user_id))
    for table, column in CHAT_ID_COLUMNS:
        await tx.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (new_id, chat_id))
    await tx.execute(
        "UPDATE audit_log SET target = ? WHERE target = ?",
        (target_of_trainer(new_id), target_of_trainer(user_id)),
    )
    # Which chat messages were items: only for replies, which can no longer come.
    await tx.execute("DELETE FROM assignment_messages WHERE chat_id = ?", (chat_id,))
    await tx.execute("DELETE FROM trainers WHERE user_id = ?", (user_id,))
    await record_change(
        tx,
        actor_id=new_id,
        action="privacy.delete",
        target=target_of_trainer(new_id),
        detail=None,  # nothing that would name them again
        now=now,
    )
    return new_id


async def _insert_tombstone(
    tx: Transaction, user_id: int, new_id: int, pseudonym: str, now: str
) -> None:
    """The row past judgments point to: no name, username, chat, invite, time zone or review
    languages; blocked and unreachable, so no list, broadcast or item reaches it."""
    await tx.execute(
        "INSERT INTO trainers (user_id, chat_id, name, username, language, timezone,"
        " daily_quota, role, status, reachable, invite_code, created_at, last_seen_at,"
        " review_languages, privacy_version, privacy_agreed_at, pseudonym, deleted_at)"
        " SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), '', NULL, language, NULL, daily_quota,"
        " 'trainer', 'blocked', 0, NULL, created_at, NULL, NULL, privacy_version,"
        " privacy_agreed_at, CAST(? AS TEXT), CAST(? AS TEXT)"
        " FROM trainers WHERE user_id = ?",
        (new_id, new_id, pseudonym, now, user_id),
    )
