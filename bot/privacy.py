"""Privacy (UU PDP No. 27/2022): the notice a trainer agrees to before their first item, a
trainer's own data as a file (/mydata), and deleting their identity (/deleteme).

The notice is the catalog's (`privacy.notice`) until a coordinator replaces it with their
organisation's; every replacement or reset is a new version, and a trainer who agreed to an
older one is asked again. Deleting an identity keeps the trainer's judgments under the
pseudonym exports already used for them (see storage/privacy.py), so datasets stay whole.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.exports import load_pseudonyms
from bot.i18n import t
from storage import privacy as store
from storage.database import Database
from storage.privacy import StoredNotice

log = logging.getLogger(__name__)

MAX_NOTICE_CHARS = 3500  # leaves room in one 4096-character message for the lines around it


class Consent(StrEnum):
    AGREED = "agreed"
    ALREADY = "already"  # a double tap, or a redelivered one
    OUTDATED = "outdated"  # the button of a notice replaced since


@dataclass(frozen=True, slots=True)
class Notice:
    version: int
    text: str  # Telegram HTML
    custom: bool  # the organisation's own text, not the catalog's


class Privacy:
    """The notice in use and who agreed to it.

    Several processes may share the database (PostgreSQL), and any of them may publish a new
    version or record an agreement, so nothing here remembers either: the consent check a
    review tap goes through is one read of the trainer's agreed version and the version in use
    (both by primary key; inline on SQLite, so no extra trip there). Only a version's text is
    kept, since a version never changes once stored."""

    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now):
        self.db = db
        self.settings = settings
        self.clock = clock
        self._stored: StoredNotice | None = None  # the last version read, with its text

    async def _current(self) -> StoredNotice:
        """The notice in use: its version read anew, its text only when the version is new."""
        version = await store.current_version(self.db)
        if self._stored is None or self._stored.version != version:
            self._stored = await store.current_notice(self.db)
        return self._stored

    async def notice(self, language: str) -> Notice:
        """The notice as a trainer reads it in `language`."""
        stored = await self._current()
        if stored.text is None:
            return Notice(stored.version, t(language, "privacy.notice"), custom=False)
        return Notice(stored.version, stored.text, custom=True)

    async def has_agreed(self, user_id: int) -> bool:
        """Whether the trainer agreed to the current version of the notice."""
        agreed, current = await store.consent_of(self.db, user_id)
        return agreed == current

    async def agree(self, user_id: int, version: int) -> Consent:
        """Record that the trainer agreed to `version` (audited), if it is still the current."""
        if version != await store.current_version(self.db):
            return Consent.OUTDATED
        # A version published elsewhere just now leaves this agreement outdated: has_agreed
        # compares with the version in use, so the trainer is asked again.
        recorded = await store.record_consent(self.db, user_id, version, now=stamp(self.clock()))
        return Consent.AGREED if recorded else Consent.ALREADY

    async def agreed_before(self, user_id: int) -> bool:
        """Whether the trainer agreed to some earlier version (then the notice "changed")."""
        return await store.agreed_version(self.db, user_id) is not None

    async def agreed_at(self, user_id: int) -> str | None:
        return await store.agreed_at(self.db, user_id)

    async def replace_notice(self, actor_id: int, text: str | None) -> int:
        """The organisation's notice (HTML), or None for the catalog's, as a new version that
        everyone agrees to again; the version in use."""
        if text is not None and not text.strip():
            raise ValueError("an empty notice")
        current = await self._current()
        if text is None and current.text is None:
            return current.version  # already the catalog's: nobody needs to agree again
        version = await store.replace_notice(
            self.db, text, actor_id=actor_id, now=stamp(self.clock())
        )
        log.info("privacy notice version %d by coordinator %s", version, actor_id)
        return version

    async def my_data(self, user_id: int) -> bytes | None:
        """Everything stored about the trainer, as a JSON file (audited); None if unknown."""
        data = await store.personal_data(self.db, user_id)
        if data is None:
            return None
        now = stamp(self.clock())
        document = {
            "generated_at": now,
            "pseudonym_in_exports": await self.pseudonym(user_id),
            "profile": data["profile"],
            "reviews": _reviews(data),
            "deliveries": data["deliveries"],
            "queue_positions": data["queue_positions"],
            "audit": data["audit"],
        }
        await store.record_export_of_own_data(self.db, user_id, now=now)
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")

    async def pseudonym(self, user_id: int) -> str:
        """What exports call the trainer."""
        return (await load_pseudonyms(self.db, self.settings))(user_id)

    async def delete_identity(self, user_id: int) -> bool:
        """Forget who the trainer is; their judgments stay under their pseudonym."""
        new_id = await store.delete_identity(
            self.db, user_id, pseudonym=await self.pseudonym(user_id), now=stamp(self.clock())
        )
        if new_id is None:
            return False
        log.info("a trainer deleted their identity (kept as %s)", new_id)  # never the old id
        return True


def _reviews(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each assignment with its scores, flags, texts and revisions."""
    by_id: dict[int, dict[str, Any]] = {}
    for assignment in data["assignments"]:
        review = dict(assignment, scores={}, flags=[], judgment=None, revisions=[])
        by_id[assignment["id"]] = review
    for score in data["scores"]:
        by_id[score["assignment_id"]]["scores"][score["criterion"]] = score["score"]
    for flag in data["flags"]:
        by_id[flag["assignment_id"]]["flags"].append(flag["flag"])
    for judgment in data["judgments"]:
        by_id[judgment["assignment_id"]]["judgment"] = judgment
    for revision in data["revisions"]:
        by_id[revision["assignment_id"]]["revisions"].append(revision)
    return list(by_id.values())
