"""The one way many messages go out: rows claimed from the database a small page at a time,
handed at BROADCAST_RATE to a few concurrent workers, each outcome kept for the next claim.

Broadcasts (`handlers/broadcasts.py`) and the scheduler's daily sends (`handlers/scheduled.py`)
both send this way, because both promise "at most once" across a crash: a row is claimed
(`sending`) just before it is sent and its outcome is recorded in the transaction of the next
claim, so the rows a crash leaves in doubt are the sends in flight and a page or two around
them. Rows wait for their turn here (a page at most), not claimed by the dozen in the rate
limiter's queue (`handlers/sending.py` paces the requests themselves as bulk).

Only the leader sends in bulk (handlers/leadership.py), so before every claim the feed asks
whether this process still leads (`Leadership.still_leads`: on PostgreSQL one small query on
the leader connection, the session that holds the lock; on SQLite always yes). A leader that
lost its lock while alive (its connection dropped, and another process may already lead and
resume the same sends) so stops within one claim: the sends handed out finish, the rows
claimed and not handed out come back from `unsent()` like on a stop, and the new leader's
take-over goes on with them. The question is asked here rather than fenced inside each claim's
transaction: the lock lives on another session than the claim's, so a fenced claim could lose
it just after checking and would stop no sooner; it would need the fence in every claim query
(broadcasts', daily sends') and a read of the server's whole lock table (`pg_locks`) ten
times a second, where here one place covers every bulk send and a `SELECT 1` on a connection
nobody else uses is enough. Claims come about ten a second whatever the rate (`claim_size`),
so asking at each one costs ten tiny round trips a second, on the leader only.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from aiolimiter import AsyncLimiter
from telegram.ext import Application

from handlers.leadership import Leadership

Row = TypeVar("Row")  # a claimed recipient
Done = TypeVar("Done")  # what became of one


def claim_size(rate: int) -> int:
    """Rows claimed at a time: a tenth of a second's worth (ten small commits a second)."""
    return max(1, math.ceil(rate / 10))


def concurrency(rate: int) -> int:
    """Sends in flight: a third of a second's worth, enough for `rate` at Telegram's usual
    0.1-0.3 s per request, and few enough that a crash leaves only a handful unconfirmed (paid
    broadcasts at hundreds a second need more in flight)."""
    return min(128, max(2, math.ceil(rate / 3)))


class PacedSends(Generic[Row, Done]):
    """Feeds claimed rows at `rate` a second to `concurrency(rate)` workers running `deliver`,
    while `leads()` (by default: this process still leads) says yes before each claim."""

    def __init__(
        self,
        application: Application,
        rate: int,
        deliver: Callable[[Row], Awaitable[Done]],
        leads: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.application = application
        self._leads = leads if leads is not None else Leadership.of(application).still_leads
        self.lost_leadership = False  # the feed stopped because another process leads now
        self.page_size = claim_size(rate)
        self.width = concurrency(rate)
        self._pace = AsyncLimiter(rate, 1)
        self._queue: asyncio.Queue[tuple[Row] | None] = asyncio.Queue(maxsize=1)
        self._deliver = deliver
        self._finished: list[Done] = []
        self._waiting: list[Row] = []  # of the page claimed last, the rows not handed out yet

    def unsent(self) -> list[Row]:
        """The rows claimed and never handed out (after `run`, however it ended): to be put
        back, so they are sent later rather than counted lost."""
        return list(self._waiting)

    def take_finished(self) -> list[Done]:
        """The outcomes since the last call, to be recorded (with the next claim)."""
        finished, self._finished = self._finished, []
        return finished

    async def run(
        self,
        claim: Callable[[list[Done]], Awaitable[Sequence[Row]]],
        more: Callable[[], bool] = lambda: False,
    ) -> list[Row]:
        """Send until `claim(finished outcomes)` finds nothing (and `more()` says nothing new
        was decided meanwhile), the bot stops, or this process no longer leads
        (`lost_leadership`). Returns the rows claimed and never handed out (also `unsent()`,
        which holds them however `run` ended), to be put back; the outcomes of the last sends
        are left for `take_finished`. If a claim fails, the sends in flight still finish (their
        outcomes are kept) before the error is raised."""
        workers = [asyncio.create_task(self._work()) for _ in range(self.width)]
        try:
            try:
                await self._feed(claim, more)
            finally:
                for _ in workers:  # the workers finish what they were handed, then stop
                    await self._queue.put(None)
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()  # only matters if this task itself was cancelled
        return self.unsent()

    async def _feed(
        self,
        claim: Callable[[list[Done]], Awaitable[Sequence[Row]]],
        more: Callable[[], bool],
    ) -> None:
        while True:
            if not await self._leads():
                # Another process leads (or soon will) and resumes these sends: claim no more.
                self.lost_leadership = True
                return
            finished = self.take_finished()
            try:
                page = await claim(finished)
            except BaseException:
                # The claim did not record these outcomes: keep them for whoever records next.
                self._finished[:0] = finished
                raise
            if not page:
                if not more():
                    return
                continue
            self._waiting = list(page)
            while self._waiting:
                if not self.application.running:
                    return
                await self._pace.acquire()
                await self._queue.put((self._waiting[0],))
                self._waiting.pop(0)

    async def _work(self) -> None:
        while (item := await self._queue.get()) is not None:
            done = await self._deliver(item[0])
            # Appended only now: `take_finished` may have swapped the list during the send.
            self._finished.append(done)
