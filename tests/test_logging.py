"""Logs: the token never appears, even inside a library's traceback."""

from __future__ import annotations

import logging

import pytest

from bot.logging_setup import REDACTED, setup_logging

TOKEN = "123456:SECRET-TOKEN-VALUE"


def test_the_token_is_redacted_from_messages_and_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    setup_logging("INFO", [TOKEN, None])
    log = logging.getLogger("some.library")
    log.info("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected")
    except RuntimeError:
        log.exception("failed")
    output = capsys.readouterr().err
    assert TOKEN not in output and "SECRET-TOKEN-VALUE" not in output
    assert output.count(REDACTED) == 2
    root.handlers[:] = kept  # give pytest its own handlers back
    root.setLevel(level)
