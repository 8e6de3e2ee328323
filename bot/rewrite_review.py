"""Rewrite review, the service: who may review, the next rewrite (locked for its reviewer for
REVIEW_LOCK_MINUTES), and each step of a decision. The storage rules (which rewrite, the guarded
writes) are in storage/rewrite_reviews.py; handlers/rewrite_review.py words it all.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock, stamp
from bot.config import Settings
from bot.onboarding import Trainer
from storage import flagged, rewrite_reviews
from storage.database import Database
from storage.rewrite_reviews import Decision, Rewrite, Step

# Why a rewrite was rejected, by the index its button carries (catalog: rewrite_review.reason_*).
REASONS = ("not_better", "wrong", "unsafe", "tone", "other")
MAX_COMMENT = 2000  # characters: the writer's message quotes it whole, within Telegram's limit


class UnknownBatch(Exception):
    """/review named a batch that does not exist."""


def may_review(trainer: Trainer | None) -> bool:
    """Coordinators, and trainers a coordinator made reviewers."""
    return trainer is not None and (trainer.is_coordinator or trainer.reviewer)


class RewriteReviews:
    def __init__(self, db: Database, settings: Settings, clock: Clock):
        self.db = db
        self.lock_minutes = settings.review_lock_minutes
        self.clock = clock

    async def batch_id(self, name: str) -> int:
        """The id of the batch /review names, or UnknownBatch."""
        found = await flagged.batch_named(self.db, name)
        if found is None:
            raise UnknownBatch(name)
        return found.id

    async def next_for(self, reviewer: Trainer, batch_id: int | None) -> Rewrite | None:
        """The reviewer's next rewrite, now locked for them; None when none is left."""
        now = self.clock()
        return await rewrite_reviews.open_next(
            self.db,
            reviewer.user_id,
            batch_id,
            now=stamp(now),
            locked_until=stamp(now + timedelta(minutes=self.lock_minutes)),
        )

    async def accept(self, reviewer: Trainer, assignment_id: int) -> Decision | Step:
        return await rewrite_reviews.decide(
            self.db, assignment_id, reviewer.user_id, accepted=True, now=stamp(self.clock())
        )

    async def start_reject(self, reviewer: Trainer, assignment_id: int) -> Step:
        return await rewrite_reviews.start_reject(self.db, assignment_id, reviewer.user_id)

    async def choose_reason(self, reviewer: Trainer, assignment_id: int, index: int) -> Step:
        """A reason by its button's index (an index out of range is forged: MISSING)."""
        if not 0 <= index < len(REASONS):
            return Step.MISSING
        return await rewrite_reviews.choose_reason(
            self.db, assignment_id, reviewer.user_id, REASONS[index]
        )

    async def remember_question(
        self, reviewer: Trainer, assignment_id: int, message_id: int
    ) -> Step:
        return await rewrite_reviews.remember_comment_prompt(
            self.db, assignment_id, reviewer.user_id, message_id
        )

    async def reject(
        self, reviewer: Trainer, assignment_id: int, comment: str | None
    ) -> Decision | Step:
        """The rejection completed, with the reviewer's comment (None: "No comment")."""
        return await rewrite_reviews.decide(
            self.db,
            assignment_id,
            reviewer.user_id,
            accepted=False,
            comment=comment,
            now=stamp(self.clock()),
        )

    async def skip(self, reviewer: Trainer, assignment_id: int) -> Step:
        return await rewrite_reviews.skip(
            self.db, assignment_id, reviewer.user_id, now=stamp(self.clock())
        )

    async def asking_comment(self, reviewer: Trainer, message_id: int) -> tuple[int, str] | None:
        """(assignment id, status) if that message is the reviewer's comment question."""
        return await rewrite_reviews.review_asking_comment(self.db, reviewer.user_id, message_id)

    async def notified(self, assignment_id: int) -> None:
        await rewrite_reviews.mark_notified(self.db, assignment_id, now=stamp(self.clock()))

    async def set_reviewer(self, user_id: int, reviewer: bool, *, actor_id: int) -> bool:
        return await rewrite_reviews.set_reviewer(
            self.db, user_id, reviewer, actor_id=actor_id, now=stamp(self.clock())
        )
