"""Webhook mode: Telegram posts updates to the bot, which serves PTB's webhook server.

The fake Bot API delivers by POST once setWebhook was called; every bot here serves the real
PTB (tornado) webhook server on 127.0.0.1, so the secret check is PTB's own.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram.error import BadRequest

from bot.config import Settings
from handlers.callback_data import Action
from storage.database import Database
from storage.webhook import FACT, claim_webhook, forget_webhook
from tests.conftest import FakeClock
from tests.e2e import WEBHOOK_SECRET, RunningBot, answered, free_port, tap_action
from tests.fakebot import FakeBotApi

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def address(bot: RunningBot) -> str:
    """Where this bot itself serves the webhook (its WEBHOOK_URL may name another bot's)."""
    return f"http://127.0.0.1:{bot.settings.webhook_port}{bot.settings.webhook_path}"


async def post(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers=headers) as answer,
    ):
        return answer.status


def stranger_start(update_id: int, user_id: int = 3003) -> dict[str, Any]:
    """/start from someone the bot has never seen, as Telegram posts it."""
    user = {"id": user_id, "is_bot": False, "first_name": "Eve", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_800_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


@pytest.fixture
async def hooked(api: FakeBotApi, settings: Settings, clock: FakeClock) -> Any:
    """The real bot in webhook mode, served on a free local port."""
    running = RunningBot(api, settings, clock, webhook=True)
    await running.start()
    yield running
    await running.stop()


async def test_a_trainer_reviews_an_item_through_the_webhook(
    api: FakeBotApi, hooked: RunningBot, tmp_path: Path
) -> None:
    [set_call] = api.calls_to("setWebhook")
    assert set_call.params["url"] == hooked.settings.webhook_url
    assert set_call.params["secret_token"] == WEBHOOK_SECRET
    assert "callback_query" in set_call.params["allowed_updates"]
    assert set_call.params.get("drop_pending_updates") in (None, False)

    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"prompt": "Ibukota Australia?", "response": "Canberra."}))
    await hooked.import_file(batch, overlap=1)
    trainer = api.user(2001, "Rina", language_code="en")
    await hooked.onboard(trainer)
    panel = await hooked.next_item(trainer)
    assert "Canberra" in panel.plain_text()
    for index in range(4):
        update = await tap_action(trainer, panel, Action.SCORE, index, 4)
        await answered(api, update)
        await api.wait_idle(quiet=0.05)
    submit = await trainer.tap(panel, "Submit")
    assert "thank you" in await answered(api, submit)
    await api.wait_idle(quiet=0.05)

    assert await hooked.count("SELECT COUNT(*) FROM assignments WHERE status = 'submitted'") == 1
    assert await hooked.count("SELECT COUNT(*) FROM scores") == 4
    assert api.calls_to("getUpdates") == []  # every update came by POST
    assert api.webhook_deliveries and {d.status for d in api.webhook_deliveries} == {200}


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-of-the-right-shape-0123456789"])
async def test_a_post_without_the_right_secret_is_refused_and_changes_nothing(
    api: FakeBotApi, hooked: RunningBot, secret: str | None
) -> None:
    before = api.mark()
    status = await post(address(hooked), stranger_start(777), secret)
    assert status == 403
    await api.wait_idle(quiet=0.1)
    assert [call for call in api.calls[before:] if call.chat_id == 3003] == []
    assert await hooked.count("SELECT COUNT(*) FROM processed_updates") == 0
    # The same update with the secret is taken: only the header was missing.
    assert await post(address(hooked), stranger_start(777), WEBHOOK_SECRET) == 200
    await api.wait_for_call("sendMessage", lambda c: c.chat_id == 3003, since=before)


async def test_bots_sharing_the_webhook_settings_call_set_webhook_once(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    first = RunningBot(api, settings, clock, webhook=True)
    others = [
        RunningBot(api, settings, clock, webhook=True, webhook_url=first.settings.webhook_url)
        for _ in range(2)
    ]
    bots = [first, *others]
    # Migrated before: processes migrating one SQLite file at once is another matter (issue 10).
    await (await Database.open(settings.database_target)).close()
    try:
        await asyncio.gather(*(bot.start() for bot in bots))  # all at the same moment
        assert len(api.calls_to("setWebhook")) == 1
        for bot in bots:  # yet every one serves, and checks the secret
            assert await post(address(bot), stranger_start(900), "") == 403
            assert await post(address(bot), {"update_id": 1}, WEBHOOK_SECRET) == 200
        await others[0].restart()  # one process of several restarts: the webhook stays as it is
        assert len(api.calls_to("setWebhook")) == 1
    finally:
        for bot in bots:
            await bot.stop()


async def test_polling_forgets_the_webhook_so_the_next_webhook_start_sets_it_again(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    hooked = RunningBot(api, settings, clock, webhook=True)
    await hooked.start()
    await hooked.stop()
    polling = RunningBot(api, settings, clock)
    await polling.start()  # PTB deletes the webhook before its first getUpdates
    await api.wait_for_call("getUpdates", lambda c: c.ok)
    assert await polling.count("SELECT COUNT(*) FROM bot_facts WHERE name = ?", FACT) == 0
    await polling.stop()
    again = RunningBot(api, settings, clock, webhook=True, webhook_url=hooked.settings.webhook_url)
    await again.start()
    try:
        assert len(api.calls_to("setWebhook")) == 2
        assert api.webhook is not None and api.webhook["url"] == hooked.settings.webhook_url
    finally:
        await again.stop()


async def test_a_failed_set_webhook_gives_the_claim_back(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    api.fail_next("setWebhook", status=400, description="Bad Request: bad webhook")
    failing = RunningBot(api, settings, clock, webhook=True)
    with pytest.raises(BadRequest, match=r"(?i)bad webhook"):
        await failing.start()
    assert await failing.count("SELECT COUNT(*) FROM bot_facts WHERE name = ?", FACT) == 0
    await failing.stop()
    retried = RunningBot(api, settings, clock, webhook=True)
    await retried.start()
    try:
        assert [call.ok for call in api.calls_to("setWebhook")] == [False, True]
    finally:
        await retried.stop()


# --- the claim itself, on both backends ----------------------------------------------------------


async def test_only_a_write_that_changes_the_claim_wins_it(db: Database) -> None:
    url = "https://bot.example.org/hook"
    assert await db.write(claim_webhook, url, "a" * 32) is True
    assert await db.write(claim_webhook, url, "a" * 32) is False
    assert await db.write(claim_webhook, url, "b" * 32) is True  # a new secret: set it again
    assert await db.write(claim_webhook, url + "2", "b" * 32) is True  # a new URL too
    stored = await db.fetchval("SELECT value FROM bot_facts WHERE name = ?", (FACT,))
    assert "b" * 32 not in stored and stored.startswith(url + "2 sha256:")
    await db.write(forget_webhook)
    assert await db.write(claim_webhook, url + "2", "b" * 32) is True


async def test_of_many_claims_at_once_one_wins(db: Database) -> None:
    won = await asyncio.gather(
        *(db.write(claim_webhook, "https://bot.example.org/hook", "c" * 40) for _ in range(8))
    )
    assert won.count(True) == 1


# --- `python -m bot run` in webhook mode ---------------------------------------------------------


async def test_the_bot_command_serves_the_webhook_and_stops_cleanly(
    api: FakeBotApi, tmp_path: Path
) -> None:
    port = free_port()
    public = "https://bot.example.org/nilai/hook"  # a proxy would forward it to the port below
    api.webhook_targets = [f"http://127.0.0.1:{port}/nilai/hook"]
    env = api.bot_environment(
        tmp_path / "data" / "nilai.db",
        COORDINATOR_IDS="4242",
        WEBHOOK_URL=public,
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "run"),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        boss = api.user(4242, "Boss", language_code="en")
        await boss.send("/start")
        assert "coordinator" in (await boss.wait_bot_message(timeout=30)).plain_text()
        assert await post(api.webhook_targets[0], stranger_start(5), None) == 403
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log and WEBHOOK_SECRET not in log
    assert f"set the webhook to {public}" in log
    [set_call] = api.calls_to("setWebhook")
    assert set_call.params["url"] == public and set_call.params["secret_token"] == WEBHOOK_SECRET
    assert api.calls_to("getUpdates") == [] and api.calls_to("deleteWebhook") == []
