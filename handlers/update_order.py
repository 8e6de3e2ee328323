"""Concurrent updates, but one user's updates strictly in order.

Many trainers tap at once, so updates are handled concurrently; a single trainer's taps must
not overtake each other (a score, then Submit), and a redelivered update must see the first
one finished. So updates are serialised per user and run in parallel across users.

Several bot processes on one PostgreSQL database may each get any update: a trainer's two taps
can reach two processes at once. So each update also holds the trainer's lock in the database
(`Database.user_lock`: an advisory lock on PostgreSQL, nothing on the one SQLite process), taken
after the in-process lock, so a process only ever asks the database for a lock no other update
of its own holds or waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

UserLock = Callable[[int], AbstractAsyncContextManager[None]]


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256, user_lock: UserLock | None = None):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        # The database's lock on a user across processes; set by the composition root once the
        # database is open (`Database.user_lock`).
        self.user_lock: UserLock | None = user_lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _user_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                held = self.user_lock(key) if self.user_lock is not None else _NOTHING
                async with held:
                    await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else queued: forget the lock, memory stays flat
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


_NOTHING = contextlib.nullcontext()


def _user_key(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None
