"""The daily reminders, summaries and reports: the per-minute job that decides them, and the
sender that sends what was decided.

Deciding (`bot/daily_sends.py`) records one row per send, so the sender only ever sends rows:
it claims a small page of `due` ones at a time, hands them at BROADCAST_RATE to a few workers,
and records each outcome with the next claim, as broadcasts do (`handlers/paced_sends.py`).
Each send is the kind's own function (`handlers/daily_messages.py`, `handlers/reports.py`), a
bulk send paced with every other (`handlers/sending.py`), so 10,000 reminders on one minute go
out at the bulk rate while trainers' taps are answered at once. A send whose local date has
passed is skipped unsent, and so is one resumed long after its decision into quiet hours. One
failing recipient never stops the others: a 403 records `blocked` and marks them unreachable,
any other error `failed`.

Reminders and summaries are worded from the trainer's day as it is when they go out (the
clock); a report is the report of its scheduled moment (its decision), whenever it goes out.

The sender runs as a task of the Application, so `Application.stop()` waits for it: it finishes
the sends in flight and puts the claimed, unsent rows back to `due`, and the next start goes on
with them. After a crash, every row left `sending` is in doubt, which is more than the sends in
flight: the rest of the claimed page, and the sends already made whose outcome waited for the
next claim to be recorded. Whether each reached Telegram cannot be told, so at the next start
they all become `lost`, are counted in the log, and are never resent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from telegram import Bot
from telegram.error import Forbidden
from telegram.ext import Application

from bot.clock import parse_stamp
from bot.daily_sends import Claimed, DailyDecisions, DailySendService, Kind, Outcome
from bot.onboarding import Trainer
from bot.services import Services
from handlers.context import SERVICES_KEY, NilaiContext
from handlers.daily_messages import send_reminder, send_summary
from handlers.paced_sends import PacedSends
from handlers.reports import send_report

log = logging.getLogger(__name__)

SendFunction = Callable[[Bot, Services, Trainer, datetime], Awaitable[bool]]
"""Sends one daily message; False when skipped at send time. Raises Forbidden when blocked."""

JOB_NAME = "daily-sends"
_ENGINE = "daily_sends.engine"  # bot_data key


def message_senders() -> dict[Kind, SendFunction]:
    """Each kind's send function: the messages are worded by their own modules."""
    return {Kind.REMINDER: send_reminder, Kind.SUMMARY: send_summary, Kind.REPORT: send_report}


async def daily_check(context: NilaiContext) -> None:
    """The per-minute job: decide what fell due since the last check, and send it."""
    await DailySends.of(context.application).check()


class DailySends:
    """The daily sends of one running bot: its decisions and its one sender."""

    def __init__(self, application: Application):
        self.application = application
        self.services: Services = application.bot_data[SERVICES_KEY]
        self.daily_sends: DailySendService = self.services.daily_sends
        self.senders = message_senders()
        self._sender: asyncio.Task | None = None
        self._more = False  # rows were decided while the sender ran: it claims again

    @property
    def decisions(self) -> DailyDecisions:
        """The check alone, which starts no sender (tests decide without sending)."""
        return self.daily_sends.decisions

    def take_more(self) -> bool:
        """Whether rows were decided since the sender last looked (it then claims again)."""
        more, self._more = self._more, False
        return more

    @classmethod
    def of(cls, application: Application) -> DailySends:
        engine = application.bot_data.get(_ENGINE)
        if engine is None:
            engine = application.bot_data[_ENGINE] = cls(application)
        return engine

    async def start_up(self) -> None:
        """At each start: give up the sends a crash cut off, keep the window of the last check
        (the first start ever opens it now), and go on with the sends already decided."""
        lost = await self.daily_sends.start_up()
        if lost:
            log.warning(
                "%d daily messages may have been lost in a crash (not resent): %s",
                sum(lost.values()),
                ", ".join(f"{count} {kind}" for kind, count in sorted(lost.items())),
            )
        silenced = self.daily_sends.schedule.silenced()
        if silenced:
            log.warning(
                "%s inside QUIET_HOURS: never sent (move the time or QUIET_HOURS)",
                " and ".join(f"{kind.value.upper()}_TIME" for kind in silenced),
            )
        if await self.daily_sends.has_due():
            self.launch()

    async def check(self) -> int:
        """One per-minute check: decide, then start the sender if anything waits; how many
        sends were decided now."""
        decided = await self.daily_sends.check()
        if decided or (self._sender is None and await self.daily_sends.has_due()):
            self.launch()
        return decided

    def launch(self) -> None:
        """Start the sender (if it runs, it claims again before it ends)."""
        if self._sender is not None:
            self._more = True
            return
        if not self.application.running:  # at start-up: stop() would not await a task made now
            assert self.application.job_queue is not None
            self.application.job_queue.run_once(
                _launch_job, when=0, name="daily-sender", job_kwargs={"misfire_grace_time": None}
            )
            return
        task = self.application.create_task(self._send(), name="daily-sender")
        self._sender = task
        task.add_done_callback(self._sender_done)

    def _sender_done(self, task: asyncio.Task) -> None:
        if self._sender is not task:
            return
        self._sender = None
        # Rows decided while it was winding down (after its last look) go out now, not a
        # minute later at the next check.
        if self.take_more() and self.application.running:
            self.launch()

    async def wait_idle(self) -> None:
        """Until no sender runs (tests and benches wait for the sends of a check)."""
        while self._sender is not None:
            await asyncio.wait({self._sender})

    async def _send(self) -> None:
        try:
            await _Sender(self).run()
        except Exception:  # the unsent claims went back to due; the next check sends them
            log.exception("the daily sender stopped")


async def _launch_job(context: NilaiContext) -> None:
    DailySends.of(context.application).launch()


class _Sender:
    """Claims due rows a small page at a time, sends them through a few workers at the bulk
    rate, and records each outcome with the next claim (`PacedSends`)."""

    def __init__(self, engine: DailySends):
        self.engine = engine
        self.application = engine.application
        self.services = engine.services
        self.daily_sends = engine.daily_sends
        self.sends = PacedSends(
            self.application, self.services.settings.broadcast_rate, self._deliver
        )
        self.counts: dict[str, int] = {}

    async def run(self) -> None:
        try:
            await self.sends.run(self._claim, more=self.engine.take_more)
        finally:
            # Claimed and never handed out (a stop, or a failed claim): back to due.
            released = [(c.kind, c.trainer.user_id, c.local_date) for c in self.sends.unsent()]
            await self.daily_sends.record_and_claim(
                outcomes=self.sends.take_finished(), release=released
            )
        if self.counts:
            log.info("daily sends: %s", ", ".join(f"{n} {s}" for s, n in self.counts.items()))

    async def _claim(self, outcomes: list[Outcome]) -> list[Claimed]:
        """The next page of due rows, recording the outcomes so far in the same step."""
        return await self.daily_sends.record_and_claim(
            outcomes=outcomes, claim=self.sends.page_size
        )

    async def _deliver(self, claimed: Claimed) -> Outcome:
        status = await self._send(claimed)
        self.counts[status] = self.counts.get(status, 0) + 1
        return (claimed.kind, claimed.trainer.user_id, claimed.local_date, status)

    async def _send(self, claimed: Claimed) -> str:
        kind, trainer = Kind(claimed.kind), claimed.trainer
        now, decided_at = self.services.clock(), parse_stamp(claimed.decided_at)
        # A trainer's message tells their day as it is now; the report is the one of its time.
        moment = decided_at if kind is Kind.REPORT else now
        send = self.engine.senders[kind]
        try:
            if not self.daily_sends.still_to_send(claimed, now):
                return "skipped"
            sent = await send(self.application.bot, self.services, trainer, moment)
        except Forbidden:
            return "blocked"
        except Exception as error:  # one recipient's failure must not stop the others
            log.warning("daily %s to %s failed: %r", kind, trainer.chat_id, error)
            return "failed"
        return "sent" if sent else "skipped"
