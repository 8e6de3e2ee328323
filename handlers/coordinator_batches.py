"""Coordinators' batches in chat: uploads, the open/discard decision, /batches and its buttons."""

from __future__ import annotations

from telegram.ext import BaseHandler


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    return []
