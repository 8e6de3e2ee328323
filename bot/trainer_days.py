"""A trainer's day as the daily messages and /stats tell it: done against the quota, the
streak, the total, and whether a reminder still makes sense.

Everything is read at the moment asked (`now`), by the trainer's own local date: the scheduler
decides a send a little before it goes out, and in between the trainer may have met the quota
or finished everything there was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import stamp, start_of_day
from bot.review import ReviewService
from bot.streaks import Days, days_of
from storage import leases, reminders, reviews, work_left
from storage.assignment import item_still_wanted
from storage.records import Trainer


@dataclass(frozen=True, slots=True)
class Reminder:
    """What a reminder says: reviews done today and the quota (always below it)."""

    done: int
    quota: int


@dataclass(frozen=True, slots=True)
class DaySummary:
    """One trainer's day for the evening summary."""

    done: int
    quota: int
    streak: int  # consecutive local days with the quota met (bot/streaks.py's rule)
    total: int  # every review they ever submitted

    @property
    def met(self) -> bool:
        return self.done >= self.quota


class TrainerDays:
    """Reads a trainer's day for the reminder, the summary and /stats, and keeps whether
    they want the reminder at all."""

    def __init__(self, review: ReviewService):
        self.review = review
        self.db = review.db
        self.zone = review.settings.timezone

    async def reminder(self, trainer: Trainer, now: datetime) -> Reminder | None:
        """The reminder to send, or None when it would be pointless: the quota is met today,
        or nothing is left for this trainer to review."""
        quota = self.review.quota_of(trainer)
        since = stamp(start_of_day(now, trainer.timezone or self.zone))
        done = await reviews.count_submitted(self.db, trainer.user_id, since)
        if done >= quota or not await self.has_work(trainer, now):
            return None
        return Reminder(done, quota)

    async def set_reminders(self, trainer: Trainer, on: bool) -> None:
        await reminders.set_reminders(self.db, trainer.user_id, on)

    async def has_work(self, trainer: Trainer, now: datetime) -> bool:
        """Whether /next would show an item now: the open one (a live lease, or an ended one
        whose item still needs this trainer, which /next renews), the swept one it offers back
        (bot/leases.py), or a new one; nothing is leased by asking."""
        at = stamp(now)
        held = await reviews.get_active_assignment(self.db, trainer.user_id)
        if held is not None:
            if held.lease_expires_at > at or await item_still_wanted(self.db, held, at):
                return True
        else:
            swept = await leases.last_swept(self.db, trainer.user_id)
            if swept is not None and await item_still_wanted(self.db, swept, at):
                return True
        return await work_left.could_take_new_item(self.db, trainer.user_id, at)

    async def summary(self, trainer: Trainer, now: datetime) -> DaySummary | None:
        """Today's figures, or None when the trainer submitted nothing today."""
        days = await self._days(trainer, now)
        if days.done_today == 0:
            return None
        total = await reviews.count_submitted(self.db, trainer.user_id)
        return DaySummary(days.done_today, days.quota, days.streak, total)

    async def streak(self, trainer: Trainer, now: datetime) -> int:
        return (await self._days(trainer, now)).streak

    async def _days(self, trainer: Trainer, now: datetime) -> Days:
        found = await days_of(
            self.db, [trainer], now, default_zone=self.zone, quota_of=self.review.quota_of
        )
        return found[trainer.user_id]
