"""The review loop as a service: which item a trainer sees, and what their taps change.

Plain values in, plain dataclasses out: no Telegram here. Every method that changes state
commits before it returns, so a handler can acknowledge a tap right after calling it.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.batch_progress import BatchProgress
from bot.clock import Clock, after, stamp, start_of_day, utc_now
from bot.config import Settings
from bot.gold import GoldJudged, GoldRule
from bot.leases import Leases
from bot.rubric import Rubric
from bot.texts import Refused, Stored, TextRefused, Texts
from storage import reviews
from storage.assignment import assign_next_item, item_still_wanted
from storage.database import Database
from storage.records import Assignment, Draft, Item, Trainer

__all__ = ["Draft", "ItemView", "ReviewService"]

log = logging.getLogger(__name__)

ALL_SCORED = -1
_ITEM_CACHE_SIZE = 2048
_TODAY_CACHE_SIZE = 10_000


class Refusal(StrEnum):
    """Why a tap on an assignment changed nothing."""

    MISSING = "missing"
    NOT_YOURS = "not_yours"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"
    EXPIRED = "expired"  # swept, and the item no longer needs this trainer (bot/leases.py)


@dataclass(frozen=True, slots=True)
class ItemView:
    """Everything needed to show an item and its rating panel."""

    assignment: Assignment
    item: Item
    rubric: Rubric
    draft: Draft
    done_today: int
    quota: int
    criterion: str | None  # the criterion being scored now; None once all are scored
    batch_done: int = 0  # the batch's complete items (bot/batch_progress.py: cached briefly)
    batch_items: int = 0
    resubmitted: bool = False  # just submitted again after Undo (counted once, announced once)
    gold: GoldJudged | None = None  # a gold item's first answer, as judged (bot/gold.py)


@dataclass(frozen=True, slots=True)
class Stats:
    today: int
    quota: int
    total: int
    skipped: int


class AssignmentRefused(Exception):
    def __init__(self, reason: Refusal):
        super().__init__(reason.value)
        self.reason = reason


_REFUSAL_OF_TEXT = {
    Refused.MISSING: Refusal.MISSING,
    Refused.NOT_YOURS: Refusal.NOT_YOURS,
    Refused.SKIPPED: Refusal.SKIPPED,
    Refused.CLOSED: Refusal.SUBMITTED,
    Refused.REVIEWED: Refusal.SUBMITTED,
    Refused.BLANK: Refusal.MISSING,  # nothing but spaces: there is no text to store
}


def quota_of(trainer: Trainer, settings: Settings) -> int:
    """The trainer's daily quota: their own, else DAILY_QUOTA (the one rule, for every user)."""
    return trainer.daily_quota or settings.daily_quota


class ReviewService:
    """Hands out items and records judgments for trainers."""

    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now):
        self.db = db
        self.settings = settings
        self.clock = clock
        self._items: OrderedDict[int, tuple[Item, Rubric]] = OrderedDict()
        self._today: dict[int, tuple[str, int]] = {}
        # Other processes on the database (PostgreSQL) record Submits too: count every time.
        self._count_always = db.shared
        self.batch_progress = BatchProgress(db, clock)
        self.texts = Texts(db, settings, clock)
        self.leases = Leases(db, settings, clock)

    # -- reading -------------------------------------------------------------------------

    async def _item(self, item_id: int) -> tuple[Item, Rubric]:
        """Items never change once imported, so recently shown ones are kept in memory."""
        cached = self._items.get(item_id)
        if cached is not None:
            self._items.move_to_end(item_id)
            return cached
        item = await reviews.get_item(self.db, item_id)
        if item is None:
            raise AssignmentRefused(Refusal.MISSING)
        entry = (item, Rubric.from_dict(item.rubric))
        self._items[item_id] = entry
        if len(self._items) > _ITEM_CACHE_SIZE:
            self._items.popitem(last=False)
        return entry

    def quota_of(self, trainer: Trainer) -> int:
        return quota_of(trainer, self.settings)

    async def done_today(self, trainer: Trainer) -> int:
        """Submissions since the trainer's local midnight; counted once a day, then kept up
        to date by `submit` (every panel shows it, so it must not cost a query per tap)."""
        day = stamp(start_of_day(self.clock(), trainer.timezone or self.settings.timezone))
        cached = None if self._count_always else self._today.get(trainer.user_id)
        if cached is not None and cached[0] == day:
            return cached[1]
        count = await reviews.count_submitted(self.db, trainer.user_id, day)
        self._today[trainer.user_id] = (day, count)
        if len(self._today) > _TODAY_CACHE_SIZE:
            self._today.pop(next(iter(self._today)))
        return count

    async def view(
        self, trainer: Trainer, assignment: Assignment, draft: Draft | None = None
    ) -> ItemView:
        item, rubric = await self._item(assignment.item_id)
        if draft is None:
            draft = await reviews.get_draft(self.db, assignment.id)
        index = assignment.criterion
        criterion = rubric.criteria[index] if 0 <= index < len(rubric.criteria) else None
        batch_done, batch_items = await self.batch_progress.of(item.batch_id)
        return ItemView(
            assignment=assignment,
            item=item,
            rubric=rubric,
            draft=draft,
            done_today=await self.done_today(trainer),
            quota=self.quota_of(trainer),
            criterion=criterion,
            batch_done=batch_done,
            batch_items=batch_items,
        )

    async def owned(
        self, trainer: Trainer, assignment_id: int, *, finished_ok: bool = False
    ) -> Assignment:
        """The trainer's own assignment, still open unless `finished_ok`; else a refusal."""
        assignment = await reviews.get_assignment(self.db, assignment_id)
        return self._check_owned(trainer, assignment, assignment_id, finished_ok)

    async def owned_view(
        self,
        trainer: Trainer,
        assignment_id: int,
        *,
        finished_ok: bool = False,
        late_ok: bool = False,
    ) -> ItemView:
        """`owned`, with its view: assignment and draft come in one read (a tap's only one).

        A swept lease is taken up again if its item still needs the trainer; else the tap is
        refused (Refusal.EXPIRED). With `late_ok` (Submit, Skip) a swept lease is left as it
        is: neither renewed nor refused, so a Submit after the time ran out is marked late
        whether or not the sweep got there first."""
        assignment, draft = await reviews.get_assignment_and_draft(self.db, assignment_id)
        assignment = self._check_owned(trainer, assignment, assignment_id, finished_ok)
        if assignment.status == "expired" and not (finished_ok or late_ok):
            renewed = await self.leases.take_up(trainer, assignment)
            if renewed is None:
                raise AssignmentRefused(Refusal.EXPIRED)
            assignment = renewed
        return await self.view(trainer, assignment, draft)

    def _check_owned(
        self,
        trainer: Trainer,
        assignment: Assignment | None,
        assignment_id: int,
        finished_ok: bool,
    ) -> Assignment:
        if assignment is None:
            raise AssignmentRefused(Refusal.MISSING)
        if assignment.trainer_id != trainer.user_id:
            log.warning(
                "user %s tapped assignment %s of user %s: refused",
                trainer.user_id,
                assignment_id,
                assignment.trainer_id,
            )
            raise AssignmentRefused(Refusal.NOT_YOURS)
        if not finished_ok and assignment.status in ("submitted", "skipped"):
            raise AssignmentRefused(Refusal(assignment.status))
        return assignment

    async def stats(self, trainer: Trainer) -> Stats:
        return Stats(
            today=await self.done_today(trainer),
            quota=self.quota_of(trainer),
            total=await reviews.count_submitted(self.db, trainer.user_id),
            skipped=await reviews.count_skipped(self.db, trainer.user_id),
        )

    # -- handing out items -----------------------------------------------------------------

    async def next_item(self, trainer: Trainer) -> tuple[ItemView | None, bool]:
        """The trainer's open item (resumed=True) or a newly leased one; (None, False) if none.

        A trainer holds at most one item. An expired lease is renewed if the item still needs
        this trainer; otherwise it is given up (a late submit of it is still kept). If the
        sweep expired the open item since it was read, the renewal is a take-up (bot/leases.py)
        and, refused, a new item is picked.
        """
        now = self.clock()
        lease = stamp(after(now, self.settings.lease_minutes))
        active = await reviews.get_active_assignment(self.db, trainer.user_id)
        if active is not None:
            ended = active.lease_expires_at <= stamp(now)
            if not ended or await item_still_wanted(self.db, active, stamp(now)):
                renewed = await self.leases.renew_open(active)
                if renewed is not None:
                    return await self.view(trainer, renewed), True
            else:
                await reviews.expire_assignment(self.db, active.id)
        else:
            swept = await self.leases.offer_back(trainer)
            if swept is not None:  # shown again: its panel in the chat says the time ran out
                return await self.view(trainer, swept), False
        assignment = await assign_next_item(self.db, trainer.user_id, stamp(now), lease)
        if assignment is None:
            return None, False
        log.info("trainer %s got item %s", trainer.user_id, assignment.item_id)
        return await self.view(trainer, assignment), False

    async def remember_messages(
        self, assignment_id: int, chat_id: int, message_ids: list[int]
    ) -> None:
        """Record the messages showing an item: replies to any of them are rewrites."""
        kinds = ["item"] * (len(message_ids) - 1) + ["panel"]
        await reviews.link_messages(
            self.db, assignment_id, chat_id, list(zip(message_ids, kinds, strict=True))
        )

    async def remember_prompt(
        self, assignment_id: int, chat_id: int, message_id: int, field: str
    ) -> None:
        await reviews.link_messages(
            self.db, assignment_id, chat_id, [(message_id, f"{field}_prompt")]
        )

    # -- taps ------------------------------------------------------------------------------

    async def score(
        self, trainer: Trainer, assignment_id: int, criterion_index: int, score: int
    ) -> ItemView:
        view = await self.owned_view(trainer, assignment_id)
        assignment, rubric = view.assignment, view.rubric
        if not 0 <= criterion_index < len(rubric.criteria) or score not in rubric.scores:
            raise AssignmentRefused(Refusal.MISSING)
        criterion = rubric.criteria[criterion_index]
        following = _next_unscored(rubric, {*view.draft.scores, criterion}, criterion_index)
        await reviews.set_score(
            self.db, assignment.id, criterion, score, following, stamp(self.clock())
        )
        # The new state is known: build it instead of reading it back (a tap stays cheap).
        view.draft.scores[criterion] = score
        return replace(
            view,
            assignment=replace(assignment, criterion=following),
            criterion=rubric.criteria[following] if following != ALL_SCORED else None,
        )

    async def choose_criterion(
        self, trainer: Trainer, assignment_id: int, criterion_index: int
    ) -> ItemView:
        view = await self.owned_view(trainer, assignment_id)
        if not 0 <= criterion_index < len(view.rubric.criteria):
            raise AssignmentRefused(Refusal.MISSING)
        await reviews.set_criterion(self.db, assignment_id, criterion_index)
        return _at_criterion(view, criterion_index)

    async def set_flag(
        self, trainer: Trainer, assignment_id: int, flag_index: int, on: bool
    ) -> tuple[ItemView, str]:
        view = await self.owned_view(trainer, assignment_id)
        if not 0 <= flag_index < len(view.rubric.flags):
            raise AssignmentRefused(Refusal.MISSING)
        flag = view.rubric.flags[flag_index]
        await reviews.set_flag(self.db, assignment_id, flag, on)
        flags = view.draft.flags | {flag} if on else view.draft.flags - {flag}
        return replace(view, draft=replace(view.draft, flags=frozenset(flags))), flag

    async def set_text(
        self,
        trainer: Trainer,
        assignment_id: int,
        field: str,
        text: str,
        *,
        chat_id: int,
        message_id: int,
    ) -> Stored:
        """Store the trainer's message `message_id` as the rewrite or note (replacing any
        earlier one; after Submit, a correction under the edit window)."""
        try:
            return await self.texts.put(
                trainer, (assignment_id, field), text, chat_id=chat_id, message_id=message_id
            )
        except TextRefused as refused:
            raise AssignmentRefused(_REFUSAL_OF_TEXT[refused.reason]) from refused

    async def message_link(self, chat_id: int, message_id: int) -> tuple[int, str] | None:
        """(assignment id, kind) of a chat message that shows or answers an item."""
        return await reviews.find_message(self.db, chat_id, message_id)

    async def open_view(self, trainer: Trainer, assignment_id: int) -> tuple[ItemView, int] | None:
        """The view and panel message of an assignment still open, for a refresh."""
        assignment = await reviews.get_assignment(self.db, assignment_id)
        if assignment is None or assignment.status in ("submitted", "skipped"):
            return None
        panel_id = await reviews.panel_message_id(self.db, assignment_id)
        if panel_id is None:
            return None
        return await self.view(trainer, assignment), panel_id

    async def reached_chat(self, assignment_id: int) -> bool:
        """Whether the item's panel was delivered (its message ids are recorded only after
        Telegram accepted every part): a lease whose item never arrived is not "shown"."""
        return await reviews.panel_message_id(self.db, assignment_id) is not None

    async def submit(self, trainer: Trainer, assignment_id: int) -> tuple[ItemView, str | None]:
        """Submit; returns the final view, and the first unscored criterion if it could not."""
        view = await self.owned_view(trainer, assignment_id, late_ok=True)
        for index, key in enumerate(view.rubric.criteria):
            if key not in view.draft.scores:
                await reviews.set_criterion(self.db, assignment_id, index)
                return _at_criterion(view, index), key
        now, rule = stamp(self.clock()), GoldRule.of(self.settings)
        submitted, judged = await reviews.submit_judged(self.db, assignment_id, now, rule)
        if submitted is None:
            raise AssignmentRefused(Refusal.SUBMITTED)
        self._count_submitted_today(trainer)
        log.info("trainer %s submitted assignment %s", trainer.user_id, assignment_id)
        again = submitted is reviews.Submitted.AGAIN
        return replace(view, resubmitted=again, gold=judged), None

    def _count_submitted_today(self, trainer: Trainer) -> None:
        """One more today: submitted now, so it falls in the cached local day if any."""
        day = stamp(start_of_day(self.clock(), trainer.timezone or self.settings.timezone))
        cached = self._today.get(trainer.user_id)
        if cached is not None and cached[0] == day:
            self._today[trainer.user_id] = (day, cached[1] + 1)
        else:
            self._today.pop(trainer.user_id, None)

    def recount_today(self, trainer_id: int) -> None:
        """Today's count is read again next time: a submission went back to a draft (Undo)."""
        self._today.pop(trainer_id, None)

    async def skip(self, trainer: Trainer, assignment_id: int, reason: str) -> ItemView:
        view = await self.owned_view(trainer, assignment_id, late_ok=True)
        if not await reviews.skip_assignment(self.db, assignment_id, reason):
            raise AssignmentRefused(Refusal.SKIPPED)
        log.info("trainer %s skipped assignment %s (%s)", trainer.user_id, assignment_id, reason)
        return view


def _at_criterion(view: ItemView, index: int) -> ItemView:
    """The view once criterion `index` is the one being scored (the new state is known: it
    is built, not read back, so a tap stays one read and one write)."""
    return replace(
        view,
        assignment=replace(view.assignment, criterion=index),
        criterion=view.rubric.criteria[index],
    )


def _next_unscored(rubric: Rubric, scored: set[str], current: int) -> int:
    """Index of the next criterion without a score after `current`, or ALL_SCORED."""
    count = len(rubric.criteria)
    for step in range(1, count + 1):
        index = (current + step) % count
        if rubric.criteria[index] not in scored:
            return index
    return ALL_SCORED


def item_row_json(value: object) -> str | None:
    """JSON text for an optional stored field (metadata, gold, context)."""
    return None if value in (None, (), {}) else json.dumps(value, ensure_ascii=False)
