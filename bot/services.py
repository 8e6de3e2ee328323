"""The services a running bot shares, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.broadcasting import Broadcasting
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.corrections import CorrectionService
from bot.onboarding import Onboarding
from bot.panels import Panels
from bot.privacy import Privacy
from bot.review import ReviewService
from bot.timezones import Timezones
from bot.trainer_days import TrainerDays
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
    panels: Panels
    corrections: CorrectionService
    privacy: Privacy
    timezones: Timezones
    days: TrainerDays  # a trainer's day: reminders, summaries, /stats's streak

    @classmethod
    def build(cls, settings: Settings, db: Database, clock: Clock = utc_now) -> Services:
        review = ReviewService(db, settings, clock)
        return cls(
            settings=settings,
            db=db,
            onboarding=Onboarding(db, settings, clock),
            review=review,
            updates=UpdateLog(db, clock),
            clock=clock,
            broadcasts=Broadcasting(db, settings.default_language, clock),
            panels=Panels.build(db, clock),
            corrections=CorrectionService(db, settings, review, clock),
            privacy=Privacy(db, settings, clock),
            timezones=Timezones(db, settings),
            days=TrainerDays(review),
        )
