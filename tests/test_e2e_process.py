"""The bot as an operator runs it: `python -m bot run` in its own process, stopped by a signal."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from tests.fakebot import FakeBotApi


async def start_bot_process(
    api: FakeBotApi, tmp_path: Path, token: str | None = None
) -> asyncio.subprocess.Process:
    env = api.bot_environment(tmp_path / "data" / "nilai.db", COORDINATOR_IDS="4242")
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_the_bot_cleanly(
    api: FakeBotApi, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    process = await start_bot_process(api, tmp_path)
    try:
        boss = api.user(4242, "Boss", language_code="en")
        await boss.send("/start")
        welcome = await boss.wait_bot_message(timeout=30)
        assert "coordinator" in welcome.plain_text()
        process.send_signal(stop_signal)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert api.token not in log and api.token.split(":")[1] not in log
    assert "running as @" in log and "database closed" in log
    # one readable line per event: timestamp, level, source, message
    assert all(line[:4].isdigit() for line in log.strip().splitlines()), log
    # the database is intact and the coordinator was stored before the stop
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "nilai.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT role FROM trainers").fetchall() == [("coordinator",)]


async def test_a_refused_token_is_one_clear_line_without_the_token(
    api: FakeBotApi, tmp_path: Path
) -> None:
    wrong = "123456:WRONG-SECRET-TOKEN"
    process = await start_bot_process(api, tmp_path, token=wrong)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = (stdout + stderr).decode()
    assert process.returncode == 2, log
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in log
    assert "Traceback" not in log and "WRONG-SECRET-TOKEN" not in log


async def test_an_unreachable_bot_api_is_one_clear_line(tmp_path: Path) -> None:
    nowhere = FakeBotApi()  # never started: its settings, then a port nobody listens on
    nowhere.base_url = "http://127.0.0.1:9/bot"
    process = await start_bot_process(nowhere, tmp_path)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    log = (stdout + stderr).decode()
    assert process.returncode == 1, log
    assert "cannot reach the Bot API at http://127.0.0.1:9/bot" in log
    assert "Traceback" not in log and "TEST-TOKEN" not in log
