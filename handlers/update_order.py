"""Concurrent updates, but one user's updates strictly in order.

Many trainers tap at once, so updates are handled concurrently; a single trainer's taps must
not overtake each other (a score, then Submit), and a redelivered update must see the first
one finished. So updates are serialised per user and run in parallel across users.

Several bot processes on one PostgreSQL database may each get any update: a trainer's two taps
can reach two processes at once. So each update also holds the trainer's lock in the database
(`Database.user_lock`: an advisory lock on PostgreSQL, nothing on the one SQLite process), taken
after the in-process lock, so a process only ever asks the database for a lock no other update
of its own holds or waits for. Work an update leaves running (its panel edit, handlers/
panel_edits.py) keeps the database lock until it is done (`settled`), so another process's next
update of that trainer never overtakes it; this process's own next update goes on at once (the
lock is its own already).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

UserLock = Callable[[int], AbstractAsyncContextManager[None]]
Settled = Callable[[int], Awaitable[None]]
SETTLE_SECONDS = 10.0  # the longest a trainer's lock waits for an update's edits


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256, user_lock: UserLock | None = None):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        # The database's lock on a user across processes; set by the composition root once the
        # database is open (`Database.user_lock`).
        self.user_lock: UserLock | None = user_lock
        # Until the work an update left running for a user is done (set with `user_lock` when
        # several processes share the database; None: the lock ends with the update).
        self.settled: Settled | None = None
        self._releasing: set[asyncio.Task] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _user_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                if self.user_lock is None:
                    await coroutine
                else:
                    await self._locked(key, self.user_lock(key), coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else queued: forget the lock, memory stays flat
                del self._waiting[key]
                del self._locks[key]

    async def _locked(
        self, key: int, held: AbstractAsyncContextManager[None], coroutine: Awaitable[Any]
    ) -> None:
        """The update under the user's database lock, released when the update and the work it
        left running for the user (`settled`) are done, the latter in the background."""
        await held.__aenter__()
        try:
            await coroutine
        except BaseException as error:
            await held.__aexit__(type(error), error, error.__traceback__)
            raise
        if self.settled is None:
            await held.__aexit__(None, None, None)
            return
        task = asyncio.get_running_loop().create_task(self._release_after(key, held))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release_after(self, key: int, held: AbstractAsyncContextManager[None]) -> None:
        assert self.settled is not None
        try:
            async with asyncio.timeout(SETTLE_SECONDS):
                await self.settled(key)
        except TimeoutError:
            log.warning("user %s: edits still on their way after %.0f s", key, SETTLE_SECONDS)
        finally:
            await held.__aexit__(None, None, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """The database locks still held for edits on their way are given back."""
        while self._releasing:
            await asyncio.gather(*list(self._releasing), return_exceptions=True)


def _user_key(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None
