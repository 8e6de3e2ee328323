"""The jobs that must run once for the whole bot run on one process: the leader.

Several bot processes may share one PostgreSQL database (issue 10). The lease sweeper, the daily
sends, batch events, the quality notices a crash left unsent, the update-log prune and every bulk
send (broadcasts, announcements) must happen once for the whole bot, and the bulk rate
(BROADCAST_RATE) must hold for the whole bot, not per process. So they run only on the leader:
`Database.is_leader()` (an advisory lock held on a connection of its own on PostgreSQL; always
True on the one SQLite process).

- `leader_only(job)` is the one wrapper: it asks before the job's body and skips it elsewhere.
- The `leadership` job (PostgreSQL only) asks every `LEADERSHIP_SECONDS`, so when the leader
  dies (its lock goes with its connection) another process takes over within that time, and a
  graceful stop hands over at the next ask.
- Taking over runs the start-up recovery that needs one process: resume interrupted broadcasts
  and give up the daily sends a crash left in doubt (handlers/broadcasts.py, handlers/
  scheduled.py), exactly as a single process does at start. On SQLite that happens once, at
  start, as before.
- Every bulk send asks `Leadership.still_leads()` before each claim (handlers/paced_sends.py),
  so a leader that loses its lock while alive (its leader connection dropped) stops within a
  claim, puts back what it claimed and did not send, and leaves the rest to the new leader.
- Broadcasts started by a coordinator on whatever process got the command are stored as always;
  the leader starts them at once when it got the command itself, else picks them up within
  `PICKUP_SECONDS` (the `broadcast-pickup` job, PostgreSQL only).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

from telegram.ext import Application

from handlers.context import SERVICES_KEY, NilaiContext

log = logging.getLogger(__name__)

LEADERSHIP_SECONDS = 15.0  # how often every process asks: leadership moves within a minute
PICKUP_SECONDS = 2.0  # how soon the leader starts a broadcast stored by another process
LEADERSHIP_JOB = "leadership"
PICKUP_JOB = "broadcast-pickup"
_KEY = "leadership"  # bot_data

TakeOver = Callable[[Application], Awaitable[None]]
JobCallback = Callable[[NilaiContext], Awaitable[None]]


class Leadership:
    """Whether this process leads, and the work to do when it becomes the leader."""

    def __init__(self, application: Application, take_over: TakeOver | None = None):
        self.application = application
        self.take_over = take_over
        self.leading = False
        self._asking = asyncio.Lock()

    @classmethod
    def install(cls, application: Application, take_over: TakeOver) -> Leadership:
        leadership = application.bot_data[_KEY] = cls(application, take_over)
        return leadership

    @classmethod
    def of(cls, application: Application) -> Leadership:
        leadership = application.bot_data.get(_KEY)
        if leadership is None:
            leadership = application.bot_data[_KEY] = cls(application)
        return leadership

    async def check(self) -> bool:
        """Whether this process leads now (asking the database); on becoming the leader, the
        take-over work first. A take-over that fails is tried again at the next ask."""
        async with self._asking:
            db = self.application.bot_data[SERVICES_KEY].db
            leading = await db.is_leader()
            if leading and not self.leading:
                if db.shared:
                    log.info("this process leads: it runs the once-per-bot jobs and bulk sends")
                if self.take_over is not None:
                    await self.take_over(self.application)
            elif self.leading and not leading:
                log.warning("this process no longer leads: another one runs the jobs")
            self.leading = leading
            return leading

    async def still_leads(self) -> bool:
        """Whether this process still leads, asked of the database now without trying for the
        leadership (bulk sends ask before each claim). Losing it is said once, here or in
        `check`; the next `check` tries for it again, with the take-over work if it gets it."""
        db = self.application.bot_data[SERVICES_KEY].db
        leading = await db.still_leading()
        if self.leading and not leading:
            log.warning("this process lost the leadership: its bulk sends stop, the leader resumes")
            self.leading = False
        return leading


def leader_only(job: JobCallback) -> JobCallback:
    """`job`, run only on the leader (every process registers it; the others skip it)."""

    @functools.wraps(job)
    async def on_the_leader(context: NilaiContext) -> None:
        if await Leadership.of(context.application).check():
            await job(context)

    return on_the_leader


async def keep_asking(context: NilaiContext) -> None:
    """The `leadership` job: ask, so a dead leader's work moves here within a minute."""
    await Leadership.of(context.application).check()
