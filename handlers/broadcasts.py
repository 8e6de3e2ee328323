"""Broadcasts: batch announcements and /announce, paced, resumable, with a live progress report."""

from __future__ import annotations

from telegram.ext import Application, BaseHandler


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    return []


async def start_batch_broadcast(
    application: Application, batch_id: int, coordinator_id: int, report_chat_id: int
) -> None:
    """Announce an opened batch to every active trainer, reporting progress to the coordinator."""


async def resume_broadcasts(application: Application) -> None:
    """Continue broadcasts a crash or restart interrupted (called at every start)."""
