"""Who may use the bot: invites, registration through `/start <code>`, language choice."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.i18n import language_for
from storage import invites, languages, trainers
from storage.database import Database
from storage.records import Invite, Trainer

__all__ = ["Invite", "Onboarding", "Trainer"]

log = logging.getLogger(__name__)
ROLES = ("trainer", "coordinator")


class StartOutcome(StrEnum):
    REGISTERED = "registered"
    WELCOME_BACK = "welcome_back"
    NEED_INVITE = "need_invite"
    INVALID_INVITE = "invalid_invite"


@dataclass(frozen=True, slots=True)
class StartResult:
    outcome: StartOutcome
    trainer: Trainer | None
    language: str


@dataclass(frozen=True, slots=True)
class TelegramUser:
    """The parts of a Telegram user that registration needs (no Telegram types here)."""

    user_id: int
    chat_id: int
    name: str
    username: str | None
    language_code: str | None


class Onboarding:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now):
        self.db = db
        self.settings = settings
        self.clock = clock

    async def trainer(self, user_id: int) -> Trainer | None:
        """The registered user, promoted to coordinator once COORDINATOR_IDS lists them."""
        trainer = await trainers.get_trainer(self.db, user_id)
        if (
            trainer is not None
            and not trainer.is_coordinator
            and user_id in self.settings.coordinator_ids
        ):
            await trainers.set_role(self.db, user_id, "coordinator")
            log.info("user %s is a coordinator now (COORDINATOR_IDS)", user_id)
            trainer = replace(trainer, role="coordinator")
        return trainer

    async def start(self, user: TelegramUser, code: str | None) -> StartResult:
        """Register with an invite (or as a configured coordinator); nothing stored otherwise."""
        language = language_for(user.language_code, self.settings.default_language)
        existing = await trainers.get_trainer(self.db, user.user_id)
        if existing is not None:
            return StartResult(StartOutcome.WELCOME_BACK, existing, existing.language)
        now = stamp(self.clock())
        fields = dict(
            user_id=user.user_id,
            chat_id=user.chat_id,
            name=user.name,
            username=user.username,
            language=language,
            now=now,
        )
        if user.user_id in self.settings.coordinator_ids:
            await trainers.insert_trainer(self.db, role="coordinator", invite_code=None, **fields)
        elif not code:
            return StartResult(StartOutcome.NEED_INVITE, None, language)
        elif await trainers.register_with_invite(self.db, code=code, **fields) is None:
            log.info("user %s used an invalid invite", user.user_id)
            return StartResult(StartOutcome.INVALID_INVITE, None, language)
        trainer = await trainers.get_trainer(self.db, user.user_id)
        assert trainer is not None
        log.info("user %s registered as %s", user.user_id, trainer.role)
        return StartResult(StartOutcome.REGISTERED, trainer, trainer.language)

    async def refresh_profile(self, trainer: Trainer, name: str, username: str | None) -> Trainer:
        """Store a changed Telegram name or @username (a write only when they changed)."""
        if (trainer.name, trainer.username) == (name, username):
            return trainer
        await trainers.update_profile(self.db, trainer.user_id, name, username)
        return replace(trainer, name=name, username=username)

    async def set_language(self, trainer: Trainer, language: str) -> None:
        """The bot's language for this trainer; their review languages follow it until they
        choose their own (storage.languages.set_interface_language)."""
        await languages.set_interface_language(self.db, trainer.user_id, language)

    async def create_invite(
        self,
        *,
        role: str = "trainer",
        uses: int = 1,
        days: int | None = 7,
        created_by: int | None = None,
    ) -> Invite:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if uses < 1:
            raise ValueError("uses must be at least 1")
        now = self.clock()
        expires = stamp(now + timedelta(days=days)) if days else None
        code = secrets.token_urlsafe(9)
        await invites.insert_invite(
            self.db,
            code=code,
            role=role,
            uses=uses,
            expires_at=expires,
            created_by=created_by,
            now=stamp(now),
        )
        log.info("invite created for %s (%s uses)", role, uses)
        return Invite(code=code, role=role, uses_left=uses, expires_at=expires)

    async def set_reachable(self, user_id: int, reachable: bool) -> None:
        await trainers.set_reachable(self.db, user_id, reachable)
