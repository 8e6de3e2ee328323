"""One readable line per event, and never the bot token."""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus

# These libraries log every request URL at INFO, and the Bot API URL contains the token.
_QUIET = ("httpx", "httpcore", "apscheduler", "aiosqlite")
REDACTED = "<token>"


class RedactSecrets(logging.Filter):
    """Replaces secrets in every record, tracebacks included (a library may still print an
    URL or an error message that contains the token), also percent-encoded as in an URL.

    For a bot token (`<bot id>:<secret>`) the part after the colon is the secret, so it is
    redacted wherever it appears, whatever was done to the colon.
    """

    def __init__(self, secrets: list[str]):
        super().__init__()
        forms: set[str] = set()
        for secret in filter(None, secrets):
            forms |= {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
            bot_id, colon, key = secret.partition(":")
            if colon and bot_id.isdigit() and len(key) >= 8:
                forms |= {key, quote(key, safe="")}
        # Longest first, so a whole token goes before the part of it that is its secret.
        self.secrets = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class ShortNetworkErrors(logging.Filter):
    """PTB logs a failed network retry (e.g. at start, Telegram unreachable) with a full
    traceback; one line with the reason says the same, readably."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.getMessage().startswith("Network Retry Loop"):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def setup_logging(level: str = "INFO", secrets: list[str | None] | None = None) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        force=True,
    )
    redact = RedactSecrets([secret for secret in secrets or [] if secret])
    for handler in logging.getLogger().handlers:
        handler.addFilter(ShortNetworkErrors())
        handler.addFilter(redact)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
