"""Queries of the export buttons claimed: an "Include unreviewed" button runs its export once,
whichever bot process on the database gets the tap (migration 0019)."""

from __future__ import annotations

from storage.database import Database, current_request

_CLAIM = (
    "INSERT INTO export_claims (chat_id, message_id, claimed_at) VALUES (?, ?, ?)"
    " ON CONFLICT (chat_id, message_id) DO UPDATE SET claimed_at = excluded.claimed_at"
    " WHERE export_claims.claimed_at < ?"
)


async def claim_button(
    db: Database, chat_id: int, message_id: int, now: str, older_than: str
) -> bool:
    """Claim the button on message `message_id` of `chat_id` for one export; False if it was
    claimed already at `older_than` or later (and not released since): an older claim is an
    export that never finished, taken over. Committed when this returns, with the tap's
    request mark: the tap's effect."""
    return await db.execute(_CLAIM, (chat_id, message_id, now, older_than)) == 1


async def release_button(db: Database, chat_id: int, message_id: int, claimed_at: str) -> None:
    """Let the button be used again (its export, claimed at `claimed_at`, failed); a later
    claim of it stays. Written outside the tap's request mark: the export runs after the tap
    was recorded as handled."""
    mark = current_request.set(None)
    try:
        await db.execute(
            "DELETE FROM export_claims WHERE chat_id = ? AND message_id = ? AND claimed_at = ?",
            (chat_id, message_id, claimed_at),
        )
    finally:
        current_request.reset(mark)
