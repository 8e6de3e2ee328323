"""Undo after Submit, and the first answer of a judgment (what counts for a control item).

Undo reopens a just-submitted judgment as its trainer's draft, under the one correction rule
(`bot/edit_window.py`): within `EDIT_WINDOW_MINUTES` of its Submit and not once its rewrite has
been reviewed. What was submitted is kept as a revision; the trainer keeps the item's slot
(storage/corrections.py says how), and submits again from the same panel, which counts the item
once and stamps the judgment revised.

One open item per trainer, with Undo: the reopened judgment is the trainer's open item (/next
shows it) until it is submitted again or skipped. The item they were sent after it stays theirs,
lease and all, and is shown again when the reopened one is done; no new item is leased while
either is open (storage/assignment.py leases only to a trainer who holds none).

For a control (gold) item the first submitted answer is the one that counts: quality control
reads it with `first_answer`, whatever Undo or a text correction changed since.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.edit_window import still_correctable
from bot.review import AssignmentRefused, ItemView, Refusal, ReviewService
from storage import corrections
from storage.corrections import Answer
from storage.database import Database
from storage.records import Trainer

__all__ = ["Answer", "CorrectionService", "Undo", "UndoResult"]

log = logging.getLogger(__name__)


class Undo(StrEnum):
    """What an Undo tap did."""

    REOPENED = "reopened"  # the judgment is a draft again
    OPEN = "open"  # it was open already (a double tap, or never submitted): nothing changed
    TOO_LATE = "too_late"  # the edit window has ended
    REVIEWED = "reviewed"  # its rewrite has been reviewed


@dataclass(frozen=True, slots=True)
class UndoResult:
    outcome: Undo
    view: ItemView | None = None  # the reopened draft, for its panel (REOPENED and OPEN)
    panel_id: int | None = None  # its newest panel message, if it was ever delivered


class CorrectionService:
    """Undo for trainers, and first answers for quality control."""

    def __init__(
        self, db: Database, settings: Settings, review: ReviewService, clock: Clock = utc_now
    ):
        self.db = db
        self.settings = settings
        self.review = review
        self.clock = clock

    @property
    def window_minutes(self) -> int:
        """How long after Submit the Undo button works (0: no Undo)."""
        return self.settings.edit_window_minutes

    async def undo(self, trainer: Trainer, assignment_id: int) -> UndoResult:
        """Reopen the trainer's submitted judgment as a draft, if still correctable.

        Refuses (AssignmentRefused) an assignment that is not the trainer's, or was skipped.
        """
        for _ in range(2):  # a second look only if the state changed under the first
            state = await corrections.undo_state(self.db, assignment_id)
            outcome = self._decide(trainer, assignment_id, state)
            if outcome is not Undo.REOPENED:
                return await self._result(trainer, assignment_id, outcome)
            assert state is not None and state.submitted_at is not None
            now = stamp(self.clock())
            if await corrections.reopen(self.db, assignment_id, state.submitted_at, now):
                self.review.recount_today(trainer.user_id)
                log.info("trainer %s reopened assignment %s", trainer.user_id, assignment_id)
                return await self._result(trainer, assignment_id, Undo.REOPENED)
        return await self._result(trainer, assignment_id, Undo.OPEN)

    def _decide(
        self, trainer: Trainer, assignment_id: int, state: corrections.UndoState | None
    ) -> Undo:
        if state is None:
            raise AssignmentRefused(Refusal.MISSING)
        if state.trainer_id != trainer.user_id:
            log.warning(
                "user %s tapped Undo of assignment %s: refused", trainer.user_id, assignment_id
            )
            raise AssignmentRefused(Refusal.NOT_YOURS)
        if state.status == "skipped":
            raise AssignmentRefused(Refusal.SKIPPED)
        if state.status != "submitted":
            return Undo.OPEN
        if state.reviewed_at is not None:
            return Undo.REVIEWED
        if not still_correctable(
            state.submitted_at, state.reviewed_at, self.clock(), self.window_minutes
        ):
            return Undo.TOO_LATE
        return Undo.REOPENED

    async def _result(self, trainer: Trainer, assignment_id: int, outcome: Undo) -> UndoResult:
        if outcome not in (Undo.REOPENED, Undo.OPEN):
            return UndoResult(outcome)
        shown = await self.review.open_view(trainer, assignment_id)
        if shown is None:  # expired (the trainer was removed meanwhile), or never delivered
            return UndoResult(outcome)
        view, panel_id = shown
        return UndoResult(outcome, view, panel_id)

    async def first_answer(self, assignment_id: int) -> Answer | None:
        """The judgment as first submitted (scores, flags, note, rewrite, submitted_at); None
        if never submitted. For a control (gold) item this is the answer that counts: an Undo
        or a corrected text changes the judgment, not what its first Submit said."""
        return await corrections.first_answer(self.db, assignment_id)
