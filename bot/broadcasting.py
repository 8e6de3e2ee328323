"""Broadcast plans: who gets a batch announcement or a coordinator's message, and what came of it.

Every recipient has a delivery row, created with the broadcast in one transaction. A sender
claims pending rows a page at a time (`sending`), sends, and records the outcomes (`sent`,
`blocked`, `failed`) in the same transaction that claims the next page. So a restart continues
from the rows still `pending`, and nobody is sent the broadcast twice.

The crash window: a row is `sending` from its claim until its outcome is recorded. If the process
dies in between, the message may or may not have reached Telegram, and the Bot API offers no way
to ask. We choose at-most-once: at the next start the coordinator is told how many such rows
there are and why, and they become `failed` (counted, not resent), because a duplicate
announcement to a trainer is worse than one missing (they still get items with /next). The window
is small: the sender claims a tenth of a second's worth at a time, just before sending it, so
the rows claimed and not yet recorded are the sends in flight and a page or two around them (see
`handlers/broadcasts.py`); a clean stop (SIGTERM) leaves no row `sending` (see
`Broadcasting.record`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.clock import Clock, stamp, utc_now
from storage import broadcasts
from storage.database import Database


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the trainer blocked the bot; they are marked unreachable
    FAILED = "failed"  # any other error, after the rate limiter's retries


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    kind: str  # 'batch' or 'announcement'
    batch_id: int | None
    batch_name: str | None
    text: str | None
    created_by: int
    report_chat_id: int
    report_message_id: int | None
    report_language: str
    done: bool


@dataclass(frozen=True, slots=True)
class Recipient:
    trainer_id: int
    chat_id: int
    language: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one recipient's message."""

    trainer_id: int
    outcome: Outcome
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    left: int = 0  # pending, or claimed and not yet recorded

    @property
    def total(self) -> int:
        return self.sent + self.blocked + self.failed + self.left

    def plus(self, outcome: Outcome) -> DeliveryCounts:
        """These counts after one more delivery finished with `outcome`."""
        return DeliveryCounts(
            sent=self.sent + (outcome is Outcome.SENT),
            blocked=self.blocked + (outcome is Outcome.BLOCKED),
            failed=self.failed + (outcome is Outcome.FAILED),
            left=max(self.left - 1, 0),
        )


class DraftOutcome(StrEnum):
    """What a Send or Cancel tap on an /announce preview came to."""

    SENT = "sent"  # sent now: the broadcast exists and is to be launched
    CANCELLED = "cancelled"  # cancelled now: nothing goes out
    ALREADY_SENT = "already_sent"  # a second tap (or one after a restart): nothing new
    ALREADY_CANCELLED = "already_cancelled"
    NOT_YOURS = "not_yours"  # only the coordinator who wrote it decides
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DraftDecision:
    outcome: DraftOutcome
    text: str = ""
    broadcast_id: int | None = None


class Broadcasting:
    """Creating broadcasts and keeping their delivery rows; sending is the caller's part."""

    def __init__(self, db: Database, default_language: str, clock: Clock = utc_now):
        self.db = db
        self.default_language = default_language
        self.clock = clock

    async def announce_batch(
        self, batch_id: int, coordinator_id: int, report_chat_id: int
    ) -> Broadcast | None:
        """The announcement of a batch (created once per batch); None if the batch is unknown."""
        created = await broadcasts.create_broadcast(
            self.db,
            kind="batch",
            batch_id=batch_id,
            text=None,
            created_by=coordinator_id,
            report_chat_id=report_chat_id,
            now=stamp(self.clock()),
        )
        return None if created is None else await self.get(created[0])

    async def announce_text(self, text: str, coordinator_id: int, report_chat_id: int) -> Broadcast:
        """A coordinator's free-text message to every active, reachable trainer."""
        created = await broadcasts.create_broadcast(
            self.db,
            kind="announcement",
            batch_id=None,
            text=text,
            created_by=coordinator_id,
            report_chat_id=report_chat_id,
            now=stamp(self.clock()),
        )
        assert created is not None
        broadcast = await self.get(created[0])
        assert broadcast is not None
        return broadcast

    async def recipients(self, coordinator_id: int) -> int:
        """How many trainers an announcement by `coordinator_id` would reach now."""
        return await broadcasts.count_recipients(self.db, coordinator_id)

    async def save_draft(self, text: str, coordinator_id: int, chat_id: int) -> int:
        """Store an /announce text until its author taps Send or Cancel; the draft's id."""
        return await broadcasts.insert_draft(
            self.db, created_by=coordinator_id, chat_id=chat_id, text=text, now=stamp(self.clock())
        )

    async def decide_draft(self, draft_id: int, actor_id: int, *, send: bool) -> DraftDecision:
        """Send or cancel a draft once: a repeated tap, a redelivered one or another
        coordinator's finds nothing to do and is told why."""
        row = await broadcasts.decide_draft(
            self.db, draft_id, actor_id=actor_id, send=send, now=stamp(self.clock())
        )
        if row is None:
            return DraftDecision(DraftOutcome.UNKNOWN)
        if row.created_by != actor_id:
            return DraftDecision(DraftOutcome.NOT_YOURS)
        if row.decided_now:
            outcome = DraftOutcome.SENT if row.status == "sent" else DraftOutcome.CANCELLED
        elif row.status == "sent":
            outcome = DraftOutcome.ALREADY_SENT
        else:
            outcome = DraftOutcome.ALREADY_CANCELLED
        return DraftDecision(outcome, row.text, row.broadcast_id)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await broadcasts.get_broadcast(self.db, broadcast_id)
        if row is None:
            return None
        return Broadcast(
            id=row["id"],
            kind=row["kind"],
            batch_id=row["batch_id"],
            batch_name=row["batch_name"],
            text=row["text"],
            created_by=row["created_by"],
            report_chat_id=row["report_chat_id"],
            report_message_id=row["report_message_id"],
            report_language=row["creator_language"] or self.default_language,
            done=row["status"] == "done",
        )

    async def unfinished(self) -> list[int]:
        """Broadcasts still sending (after a restart: the ones to resume)."""
        return await broadcasts.unfinished_broadcasts(self.db)

    async def unconfirmed(self, broadcast_id: int) -> int:
        """After a crash: deliveries whose message may or may not have arrived."""
        return await broadcasts.count_unconfirmed(self.db, broadcast_id)

    async def give_up_unconfirmed(self, broadcast_id: int) -> int:
        """After a crash: deliveries left `sending` count as failed (at-most-once, see above)."""
        return await broadcasts.fail_unconfirmed(self.db, broadcast_id, stamp(self.clock()))

    async def set_report_message(self, broadcast_id: int, message_id: int) -> None:
        await broadcasts.set_report_message(self.db, broadcast_id, message_id)

    async def claim(
        self, broadcast_id: int, limit: int, finished: Sequence[Delivery] = ()
    ) -> list[Recipient]:
        """Record `finished` and claim up to `limit` pending recipients, in one transaction."""
        rows = await broadcasts.record_and_claim(
            self.db,
            broadcast_id,
            outcomes=_outcome_rows(finished),
            claim=limit,
            now=stamp(self.clock()),
        )
        return [Recipient(trainer_id, chat_id, language) for trainer_id, chat_id, language in rows]

    async def record(
        self, broadcast_id: int, finished: Sequence[Delivery], release: Sequence[int] = ()
    ) -> None:
        """Record `finished`, and put claimed but unsent recipients back to pending (a clean
        stop), so the next start sends them."""
        if not finished and not release:
            return
        await broadcasts.record_and_claim(
            self.db,
            broadcast_id,
            outcomes=_outcome_rows(finished),
            release=release,
            now=stamp(self.clock()),
        )

    async def counts(self, broadcast_id: int) -> DeliveryCounts:
        by_status = await broadcasts.delivery_counts(self.db, broadcast_id)
        return DeliveryCounts(
            sent=by_status.get("sent", 0),
            blocked=by_status.get("blocked", 0),
            failed=by_status.get("failed", 0),
            left=by_status.get("pending", 0) + by_status.get("sending", 0),
        )

    async def finish(self, broadcast_id: int) -> bool:
        """Mark the broadcast done; False if it already was."""
        return await broadcasts.finish_broadcast(self.db, broadcast_id, stamp(self.clock()))


def _outcome_rows(finished: Sequence[Delivery]) -> list[broadcasts.OutcomeRow]:
    return [(d.trainer_id, d.outcome.value, d.message_id) for d in finished]
