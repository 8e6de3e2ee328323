"""Privacy: the notice a trainer agrees to, /mydata and /deleteme."""

from __future__ import annotations

from telegram.ext import BaseHandler


def handlers() -> list[BaseHandler]:
    return []
