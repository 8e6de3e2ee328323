"""One readable log line per event, and never the bot token."""

from __future__ import annotations

import logging

# These libraries log every request URL at INFO, and the Bot API URL contains the token.
_QUIET = ("httpx", "httpcore", "apscheduler", "aiosqlite")


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        force=True,
    )
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
