"""Logs: the token never appears, even inside a library's traceback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web

from bot.logging_setup import REDACTED, setup_logging
from handlers.callback_data import Action, encode
from tests.e2e import RunningBot, answered, assignment_of
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

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


def test_a_url_quoted_token_and_the_secret_part_alone_are_redacted_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with bot_logging("INFO", TOKEN):
        log = logging.getLogger("some.library")
        log.info("GET %s", "https://api.telegram.org/bot" + quote(TOKEN, safe="") + "/getMe")
        log.info("form: token=%s", quote_plus(TOKEN))
        log.warning("the key %s was refused", TOKEN.split(":")[1])
    output = capsys.readouterr().err
    assert output.count(REDACTED) == 3
    assert_no_token(output, TOKEN)


# --- an end-to-end run with Bot API faults --------------------------------------------------------

# A token of the real shape (bot id, colon, 35 characters), so nothing can match it by chance.
E2E_TOKEN = "7012345678:AAHk3v9Qx-2LmN_pR7sT1uVwXyZ0aBcDeFg"


def token_forms(token: str) -> list[str]:
    key = token.split(":", 1)[1]
    return [token, quote(token, safe=""), quote(token), quote_plus(token), key]


def assert_no_token(output: str, token: str) -> None:
    for form in token_forms(token):
        assert form not in output, f"{form!r} is in the log"


@contextmanager
def bot_logging(level: str, token: str) -> Iterator[None]:
    """The logging `python -m bot run` sets up (stderr, redacted), then pytest's back."""
    root = logging.getLogger()
    kept, kept_level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    setup_logging(level, [token, None])
    try:
        yield
    finally:
        root.handlers[:] = kept
        root.setLevel(kept_level)
        for name, quiet_level in quiet.items():
            logging.getLogger(name).setLevel(quiet_level)


class FlakyBotApi(FakeBotApi):
    """The fake Bot API that can also drop a connection without answering (a network error)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drops: dict[str, int] = {}

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if self.drops.get(method, 0) > 0:
            self.drops[method] -= 1
            assert request.transport is not None
            request.transport.abort()  # no HTTP answer at all: httpx sees a broken connection
            return web.Response()
        return await super()._handle_api(request)


@pytest.fixture
async def api() -> AsyncIterator[FlakyBotApi]:
    async with FlakyBotApi(token=E2E_TOKEN) as server:
        yield server


async def score(user: FakeUser, panel: FakeMessage, criterion: int) -> dict:
    return await user.tap(panel, data=encode(Action.SCORE, assignment_of(panel), criterion, 4))


class Everything(logging.Handler):
    """Every record as formatted, before any filter: to show the check is not vacuous."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_the_token_never_reaches_the_log_of_a_run_with_5xx_429_and_network_errors(
    api: FlakyBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rina = api.user(2001, "Rina", language_code="en")
    await nilai.onboard(rina)
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"prompt": "One", "response": "1"}\n{"prompt": "Two", "response": "2"}')
    await nilai.import_file(batch)
    panel = await nilai.next_item(rina)
    capsys.readouterr()
    raw = Everything()
    with bot_logging("DEBUG", E2E_TOKEN):
        # As if a library logged every request URL (httpx does, at INFO): redaction must hold.
        logging.getLogger("httpx").setLevel(logging.INFO)
        logging.getLogger().handlers.insert(0, raw)  # before the redacting handler
        try:
            api.fail_next("answerCallbackQuery", status=502, description="Bad Gateway")
            await score(rina, panel, 0)
            await api.wait_idle(quiet=0.1)
            api.fail_next("editMessageText", status=429, retry_after=1)
            await score(rina, panel, 1)
            await api.wait_idle(quiet=0.1, timeout=10)
            api.drops["answerCallbackQuery"] = 1
            api.drops["getUpdates"] = 1
            await score(rina, panel, 2)
            await api.wait_idle(quiet=0.3, timeout=15)
            api.fail_next("getUpdates", status=500)
            api.drops["sendMessage"] = 1
            update = await score(rina, panel, 3)
            await answered(api, update, wait=15)
            await api.wait_idle(quiet=0.3, timeout=15)
            since = api.mark()
            await rina.send("/stats")  # the bot works on after all of it
            await rina.wait_bot_message(since=since, timeout=15)
        finally:
            logging.getLogger().removeHandler(raw)
    output = capsys.readouterr().err
    assert any(E2E_TOKEN in line for line in raw.lines), "nothing logged an URL: check vacuous"
    assert "HTTP Request" in output and REDACTED in output
    assert "502" in output or "Bad Gateway" in output  # the faults did reach the log
    assert_no_token(output, E2E_TOKEN)
