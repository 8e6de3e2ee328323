"""The services a running bot shares, built once by the composition root.

Every domain service is built here, once, over the `Database` it is given (SQLite or
PostgreSQL alike), and handlers and jobs reach each as `context.services.<name>`: none builds a
service of its own or calls a storage function with the database (tests/test_services.py
checks it). Services are shared by every update, so they keep no state per request; the few
that keep state per process say so where they are built.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.batch_events import BatchEvents
from bot.batches import Batches
from bot.broadcasting import Broadcasting
from bot.chat_exports import Exports
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.corrections import CorrectionService
from bot.daily_sends import DailySendService
from bot.error_alerts import ErrorAlerts
from bot.flagged import FlaggedService
from bot.gold import GoldService
from bot.onboarding import Onboarding
from bot.panels import Panels
from bot.privacy import Privacy
from bot.progress import ProgressService
from bot.quality import Quality
from bot.report import Reports
from bot.review import ReviewService
from bot.review_languages import ReviewLanguages
from bot.rewrite_review import RewriteReviews
from bot.team import TeamService
from bot.timezones import Timezones
from bot.trainer_days import TrainerDays
from bot.update_log import UpdateLog
from bot.uploads import Uploads
from storage.database import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database  # for the composition root and the jobs it owns (backups, closing), not handlers
    onboarding: Onboarding
    review: ReviewService
    updates: UpdateLog
    clock: Clock
    broadcasts: Broadcasting
    panels: Panels  # per-process state: live panels and sittings (bot/panels.py)
    corrections: CorrectionService
    privacy: Privacy
    timezones: Timezones
    days: TrainerDays  # a trainer's day: reminders, summaries, /stats's streak
    team: TeamService  # /trainers, /invite, /quota, /pause, /resume; who the coordinators are
    progress: ProgressService  # /progress, with each batch's agreement
    uploads: Uploads  # a coordinator's uploaded batch or rubric file, checked then opened
    batches: Batches  # /batches and its buttons
    gold: GoldService  # gold evidence, pauses and their notices
    rewrite_reviews: RewriteReviews  # /review, /reviewer
    flagged: FlaggedService  # /flagged
    review_languages: ReviewLanguages  # /lang's review languages
    quality: Quality  # acceptance (/stats) and gold accuracy per criterion (the report's CSV)
    reports: Reports  # the daily report's figures
    exports: Exports  # /export and the export buttons
    batch_events: BatchEvents  # completed batches, announced once
    daily_sends: DailySendService  # per-process state: one daily check at a time (the sender's)
    error_alerts: ErrorAlerts  # per-process state: when each distinct error was last told

    @classmethod
    def build(cls, settings: Settings, db: Database, clock: Clock = utc_now) -> Services:
        review = ReviewService(db, settings, clock)
        onboarding = Onboarding(db, settings, clock)
        return cls(
            settings=settings,
            db=db,
            onboarding=onboarding,
            review=review,
            updates=UpdateLog(db, clock),
            clock=clock,
            broadcasts=Broadcasting(db, settings.default_language, clock),
            panels=Panels.build(db, clock),
            corrections=CorrectionService(db, settings, review, clock),
            privacy=Privacy(db, settings, clock),
            timezones=Timezones(db, settings),
            days=TrainerDays(review),
            team=TeamService(db, settings, onboarding, clock),
            progress=ProgressService(db, settings, clock),
            uploads=Uploads(db, settings, clock),
            batches=Batches(db, clock),
            gold=GoldService(db, settings, clock),
            rewrite_reviews=RewriteReviews(db, settings, clock),
            flagged=FlaggedService(db),
            review_languages=ReviewLanguages(db),
            quality=Quality(db),
            reports=Reports(db, settings),
            exports=Exports(db, settings),
            batch_events=BatchEvents(db),
            daily_sends=DailySendService(db, settings, clock),
            error_alerts=ErrorAlerts(db, clock),
        )
