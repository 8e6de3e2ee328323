"""The coordinator's team: invites made in chat, the trainer list, and managing one trainer.

Plain values in, plain dataclasses out: no Telegram here. Every change is recorded in the
audit log (who, what, when) in the same transaction that makes it.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.anomalies import Anomaly, find_anomalies
from bot.clock import Clock, stamp, start_of_day, utc_now
from bot.config import Settings
from bot.onboarding import ROLES, Onboarding
from bot.quality import TrainerQuality, trainer_quality
from bot.review import quota_of
from storage import agreement, progress, team, trainers
from storage.database import Database
from storage.records import Trainer
from storage.team import Change, Work

__all__ = [
    "COORDINATOR_INVITE_DAYS",
    "INVITE_DAYS",
    "MAX_INVITE_DAYS",
    "MAX_INVITE_USES",
    "MAX_QUOTA",
    "PAGE_SIZE",
    "TRAINER_INVITE_USES",
    "InviteLink",
    "InviteRequest",
    "StatusOp",
    "TeamError",
    "TeamRefused",
    "TeamService",
    "TrainerChange",
    "TrainerLine",
    "TrainerPage",
    "invite_link",
    "open_batch_distances",
    "parse_invite_args",
]

log = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_QUOTA = 1000
MAX_INVITE_USES = 10_000
MAX_INVITE_DAYS = 365
# `/invite` alone: one link a coordinator can post for a whole team, which still runs out.
TRAINER_INVITE_USES = 100
INVITE_DAYS = 7
# A coordinator link can do everything a coordinator does, so it is for one person, for a day.
COORDINATOR_INVITE_DAYS = 1
_ROLE_WORDS = {"trainer": "trainer", "coordinator": "coordinator", "koordinator": "coordinator"}


class StatusOp(StrEnum):
    """What a coordinator can do to a trainer's status; the values are the audit actions."""

    PAUSE = "trainer.pause"
    RESUME = "trainer.resume"
    REMOVE = "trainer.remove"


# The status each operation leads to ("blocked" = removed: no items, past work kept).
_TARGET_STATUS = {StatusOp.PAUSE: "paused", StatusOp.RESUME: "active", StatusOp.REMOVE: "blocked"}


class TeamError(StrEnum):
    UNKNOWN_TRAINER = "unknown_trainer"
    BAD_QUOTA = "bad_quota"
    COORDINATOR = "coordinator"  # coordinators cannot be paused or removed from chat


class TeamRefused(Exception):
    def __init__(self, reason: TeamError):
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class InviteRequest:
    role: str = "trainer"
    uses: int = TRAINER_INVITE_USES
    days: int = INVITE_DAYS  # 0 = never expires, as on the command line


@dataclass(frozen=True, slots=True)
class InviteLink:
    code: str
    role: str
    uses: int
    expires_at: datetime | None
    link: str  # the t.me link, or the bare code if the bot's @username is unknown


@dataclass(frozen=True, slots=True)
class TrainerLine:
    """One row of /trainers."""

    trainer: Trainer
    today: int
    quota: int
    total: int
    last_seen: datetime | None
    anomalies: tuple[Anomaly, ...] = ()  # bot/anomalies.py, over the last 7 days
    distance: float | None = None  # mean distance from the others' scores, open batches
    quality: TrainerQuality | None = None  # acceptance, gold, gold pauses (bot/quality.py)


@dataclass(frozen=True, slots=True)
class TrainerPage:
    lines: list[TrainerLine]
    page: int  # 0-based, clamped to the pages there are
    pages: int
    count: int  # trainers in all


@dataclass(frozen=True, slots=True)
class TrainerChange:
    trainer: Trainer  # as it is after the change
    before: str | None  # quota or status before (None: the default quota)
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def parse_invite_args(args: list[str]) -> InviteRequest | None:
    """`[trainer] [uses] [days]` (each optional, in that order) or `coordinator` alone; None if
    malformed. Without numbers a trainer link is for many (`TRAINER_INVITE_USES`, for
    `INVITE_DAYS`); a coordinator link is always for one person and one day, so it takes none."""
    words = list(args)
    role = "trainer"
    if words and words[0].lower() in _ROLE_WORDS:
        role = _ROLE_WORDS[words.pop(0).lower()]
    if role == "coordinator":
        return None if words else InviteRequest("coordinator", 1, COORDINATOR_INVITE_DAYS)
    if len(words) > 2 or not all(word.isdecimal() and word.isascii() for word in words):
        return None
    numbers = [int(word) for word in words]
    uses = numbers[0] if numbers else TRAINER_INVITE_USES
    days = numbers[1] if len(numbers) > 1 else INVITE_DAYS
    if not 1 <= uses <= MAX_INVITE_USES or not 0 <= days <= MAX_INVITE_DAYS:
        return None
    return InviteRequest(role=role, uses=uses, days=days)


def invite_link(bot_username: str | None, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}" if bot_username else code


class TeamService:
    def __init__(
        self, db: Database, settings: Settings, onboarding: Onboarding, clock: Clock = utc_now
    ):
        self.db = db
        self.settings = settings
        self.onboarding = onboarding
        self.clock = clock

    # -- invites ---------------------------------------------------------------------------

    async def invite(
        self, request: InviteRequest, *, actor_id: int, bot_username: str | None
    ) -> InviteLink:
        """A new invite (the same kind `python -m bot invite` makes), logged."""
        assert request.role in ROLES
        invite = await self.onboarding.create_invite(
            role=request.role,
            uses=request.uses,
            days=request.days or None,
            created_by=actor_id,
        )
        await team.record_invite(
            self.db,
            invite.code,
            role=invite.role,
            uses=invite.uses_left,
            expires_at=invite.expires_at,
            actor_id=actor_id,
            now=stamp(self.clock()),
        )
        log.info("coordinator %s made an invite for %s", actor_id, invite.role)
        expires = datetime.fromisoformat(invite.expires_at) if invite.expires_at else None
        return InviteLink(
            invite.code,
            invite.role,
            invite.uses_left,
            expires,
            invite_link(bot_username, invite.code),
        )

    # -- the list --------------------------------------------------------------------------

    async def find(self, who: str) -> Trainer | None:
        """A trainer by `@username`, bare username, or numeric Telegram id."""
        who = who.strip()
        if who.isdecimal() and who.isascii():
            return await trainers.get_trainer(self.db, int(who))
        name = who.removeprefix("@")
        if not name:
            return None
        return await team.find_by_username(self.db, name)

    async def trainer(self, user_id: int) -> Trainer | None:
        """The trainer with that Telegram id, as stored (no promotion: see Onboarding)."""
        return await trainers.get_trainer(self.db, user_id)

    async def coordinators(self) -> list[Trainer]:
        """Every coordinator, reachable or not (callers skip the unreachable)."""
        return await trainers.coordinators(self.db)

    async def page(self, page: int) -> TrainerPage:
        """One page of /trainers: each trainer's day counted in their own timezone, as /stats."""
        count = await team.count_trainers(self.db)
        pages = max(1, -(-count // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        listed = await team.list_trainers(self.db, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        by_day: dict[str, list[int]] = {}
        now = self.clock()
        for entry in listed:
            zone = entry.trainer.timezone or self.settings.timezone
            by_day.setdefault(stamp(start_of_day(now, zone)), []).append(entry.trainer.user_id)
        work: dict[int, Work] = {}
        for today, user_ids in by_day.items():
            work.update(await team.work_of(self.db, user_ids, today=today))
        shown = [entry.trainer.user_id for entry in listed]
        found = await find_anomalies(self.db, now, shown)
        distances = await open_batch_distances(self.db, shown)
        qualities = await trainer_quality(self.db, shown)
        lines = []
        for entry in listed:
            done = work.get(entry.trainer.user_id, Work())
            seen = max(filter(None, (entry.last_seen_at, done.last_active_at)), default=None)
            lines.append(
                TrainerLine(
                    trainer=entry.trainer,
                    today=done.today,
                    quota=quota_of(entry.trainer, self.settings),
                    total=done.total,
                    last_seen=datetime.fromisoformat(seen) if seen else None,
                    anomalies=found.get(entry.trainer.user_id, ()),
                    distance=distances.get(entry.trainer.user_id),
                    quality=qualities.get(entry.trainer.user_id),
                )
            )
        return TrainerPage(lines=lines, page=page, pages=pages, count=count)

    # -- changes ---------------------------------------------------------------------------

    async def set_quota(self, user_id: int, quota: int, *, actor_id: int) -> TrainerChange:
        if not 1 <= quota <= MAX_QUOTA:
            raise TeamRefused(TeamError.BAD_QUOTA)
        change = await team.set_quota(
            self.db, user_id, quota, actor_id=actor_id, now=stamp(self.clock())
        )
        return await self._result(user_id, change, f"quota {quota}", actor_id)

    async def change_status(self, user_id: int, op: StatusOp, *, actor_id: int) -> TrainerChange:
        """Pause, resume or remove a trainer; coordinators are left alone."""
        trainer = await trainers.get_trainer(self.db, user_id)
        if trainer is None:
            raise TeamRefused(TeamError.UNKNOWN_TRAINER)
        if trainer.is_coordinator and op is not StatusOp.RESUME:
            raise TeamRefused(TeamError.COORDINATOR)
        change = await team.set_status(
            self.db,
            user_id,
            _TARGET_STATUS[op],
            action=op.value,
            actor_id=actor_id,
            now=stamp(self.clock()),
            release_items=op is StatusOp.REMOVE,
        )
        return await self._result(user_id, change, op.value, actor_id)

    async def _result(
        self, user_id: int, change: Change | None, what: str, actor_id: int
    ) -> TrainerChange:
        trainer = await trainers.get_trainer(self.db, user_id)
        if change is None or trainer is None:
            raise TeamRefused(TeamError.UNKNOWN_TRAINER)
        if change.changed:
            log.info("coordinator %s: trainer %s %s", actor_id, user_id, what)
        return TrainerChange(trainer=trainer, before=change.before, after=change.after)


async def open_batch_distances(db: Database, user_ids: Sequence[int]) -> dict[int, float]:
    """Each of `user_ids`' mean absolute distance from the other reviewers' mean, over every
    score of theirs in an open batch that has other reviewers (bot/agreement.py). One grouped
    statement per open batch reads the whole batch, so each batch's sums are kept until its
    reviews change (the same freshness the agreement figures use)."""
    cache = _distance_caches.setdefault(db, {})
    totals: dict[int, list[float]] = {}
    wanted = set(user_ids)
    for batch in await progress.open_batches(db):
        fresh = await agreement.freshness(db, batch.id)
        cached = cache.get(batch.id)
        if cached is None or cached[0] != fresh:
            cached = cache[batch.id] = (fresh, await agreement.trainer_distances(db, batch.id))
        for distance in cached[1]:
            if distance.trainer_id in wanted:
                sums = totals.setdefault(distance.trainer_id, [0.0, 0])
                sums[0] += distance.total
                sums[1] += distance.scores
    return {trainer_id: total / scores for trainer_id, (total, scores) in totals.items() if scores}


# Per open database (the bot has one; tests open many): batch id -> (freshness, distances).
_distance_caches: weakref.WeakKeyDictionary[
    Database, dict[int, tuple[tuple[int, int], list[agreement.TrainerDistance]]]
] = weakref.WeakKeyDictionary()
