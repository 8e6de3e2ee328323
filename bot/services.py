"""The services a running bot shares, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.broadcasting import Broadcasting
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.onboarding import Onboarding
from bot.review import ReviewService
from bot.update_log import UpdateLog
from storage.database import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    onboarding: Onboarding
    review: ReviewService
    updates: UpdateLog
    clock: Clock
    broadcasts: Broadcasting

    @classmethod
    def build(cls, settings: Settings, db: Database, clock: Clock = utc_now) -> Services:
        return cls(
            settings=settings,
            db=db,
            onboarding=Onboarding(db, settings, clock),
            review=ReviewService(db, settings, clock),
            updates=UpdateLog(db, clock),
            clock=clock,
            broadcasts=Broadcasting(db, settings.default_language, clock),
        )
