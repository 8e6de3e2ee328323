"""Rewrite review, the service: who may review, the next rewrite (locked for its reviewer for
REVIEW_LOCK_MINUTES), and each step of a decision. The storage rules (which rewrite, the guarded
writes) are in storage/rewrite_reviews.py; handlers/rewrite_review.py words it all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

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
    """Each step of reviewing rewrites, at the clock's moment: the handlers call these, the
    storage module holds the guarded writes. Every step returns what changed or why nothing
    did (`Step`), so a handler answers a tap only after its effect is committed."""

    def __init__(self, db: Database, settings: Settings, clock: Clock):
        self.db = db
        self.lock_minutes = settings.review_lock_minutes
        # A rewrite is offered once its writer can no longer correct it (bot/edit_window.py).
        self.settle_minutes = settings.edit_window_minutes
        self.clock = clock

    async def batch_id(self, name: str) -> int:
        """The id of the batch /review names, or UnknownBatch."""
        found = await flagged.batch_named(self.db, name)
        if found is None:
            raise UnknownBatch(name)
        return found.id

    async def next_for(self, reviewer: Trainer, batch_id: int | None) -> Rewrite | None:
        """The reviewer's next rewrite, now locked for them; None when none is left. Only a
        rewrite submitted at least EDIT_WINDOW_MINUTES ago is offered: its writer can no longer
        change it, so the reviewer decides on the text they read."""
        now = self.clock()
        return await rewrite_reviews.open_next(
            self.db,
            reviewer.user_id,
            batch_id,
            now=stamp(now),
            settled=stamp(now - timedelta(minutes=max(self.settle_minutes, 0))),
            locked_until=stamp(now + timedelta(minutes=self.lock_minutes)),
        )

    async def accept(self, reviewer: Trainer, assignment_id: int) -> Decision | Step:
        """Accept tapped: the decision (the writer is to be thanked), or why nothing changed."""
        return await rewrite_reviews.decide(
            self.db, assignment_id, reviewer.user_id, accepted=True, now=stamp(self.clock())
        )

    async def start_reject(self, reviewer: Trainer, assignment_id: int) -> Step:
        """Reject tapped: the review now waits for a reason."""
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
        """The comment question sent: a reply to that message is the reviewer's comment."""
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
        """Skip tapped: the rewrite stays free for other reviewers, never shown to this one."""
        return await rewrite_reviews.skip(
            self.db, assignment_id, reviewer.user_id, now=stamp(self.clock())
        )

    async def asking_comment(self, reviewer: Trainer, message_id: int) -> tuple[int, str] | None:
        """(assignment id, status) if that message is the reviewer's comment question."""
        return await rewrite_reviews.review_asking_comment(self.db, reviewer.user_id, message_id)

    async def claim_notice(self, assignment_id: int) -> bool:
        """Claim the writer's notice of a decision before sending it: False, claimed already
        (sent, or being sent, by the other path)."""
        return await rewrite_reviews.claim_notice(self.db, assignment_id, now=stamp(self.clock()))

    async def claim_untold(self, now: datetime, limit: int) -> list[Decision]:
        """Decisions at least a minute old whose notice was never claimed (the process
        stopped in between), claimed now: the job sends them."""
        return await rewrite_reviews.claim_untold(
            self.db,
            now=stamp(now),
            decided_before=stamp(now - timedelta(minutes=1)),
            limit=limit,
        )

    async def set_reviewer(self, user_id: int, reviewer: bool, *, actor_id: int) -> bool:
        """/reviewer on|off, audited; whether anything changed."""
        return await rewrite_reviews.set_reviewer(
            self.db, user_id, reviewer, actor_id=actor_id, now=stamp(self.clock())
        )
