"""The exports a coordinator asks for in chat (/export and the buttons under its outcome and a
completed batch's announcement): the batches to choose from, one batch's name by id, one
export with the agreement its manifest carries, and the claim of an "Include unreviewed"
button, held in the database so that its export runs once whichever process got the tap."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.agreement import BatchAgreement
from bot.clock import stamp
from bot.config import Settings
from bot.exports import ExportSummary, batch_choices
from bot.manifest import export_with_agreement
from storage import export_claims
from storage import exports as store
from storage.database import Database

# A claim this old is taken to be an export that never finished (its process was killed): the
# button works again. An export of the largest batch takes minutes, its sending up to 5.
CLAIM_HELD_FOR = timedelta(minutes=30)


class Exports:
    """Exports over one database and the bot's settings."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings

    async def choices(self) -> list[str]:
        """Names of the batches one can export, newest first."""
        return await batch_choices(self.db)

    async def batch_name(self, batch_id: int) -> str | None:
        """The name of the batch with this id, None if there is none (a button's batch gone)."""
        return await store.batch_name_of(self.db, batch_id)

    async def export(
        self, batch: str, fmt: str, path: Path, **options: Any
    ) -> tuple[ExportSummary, BatchAgreement | None]:
        """`export_with_agreement` into `path` (UnknownBatch, UnknownFormat as it raises)."""
        return await export_with_agreement(self.db, self.settings, batch, fmt, path, **options)

    async def claim_button(self, chat_id: int, message_id: int, now: datetime) -> bool:
        """Claim the export button on this message for one export; False if it is claimed
        already (by a tap handled here or in another process) less than CLAIM_HELD_FOR ago,
        unless released since."""
        return await export_claims.claim_button(
            self.db, chat_id, message_id, stamp(now), older_than=stamp(now - CLAIM_HELD_FOR)
        )

    async def release_button(self, chat_id: int, message_id: int, claimed_at: datetime) -> None:
        """The button's export (claimed at `claimed_at`) failed: it may be used again. A newer
        claim (an export that took over a stale one) stays."""
        await export_claims.release_button(self.db, chat_id, message_id, stamp(claimed_at))
