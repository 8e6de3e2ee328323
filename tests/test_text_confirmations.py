"""A text's one confirmation is edited by its later parts whichever bot process handles them
(docs/architecture.md, "Several processes"): the confirmation's message id is kept with the
text (migration 0020), not in the memory of the process that sent it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import Settings
from bot.review import ReviewService
from bot.texts import Confirmation, Mode, Texts
from storage.database import Database
from tests.conftest import FakeClock, migrated_sqlite
from tests.e2e import RunningBot, assignment_of
from tests.factories import make_batch, make_trainer
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser
from tests.test_multiprocess import address, two_bots

BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
CHAT = 1


def write_batch(tmp_path: Path) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_text(json.dumps({"prompt": "One", "response": "1"}), "utf-8")
    return path


def confirmations_sent(api: FakeBotApi, user: FakeUser, since: int) -> list[FakeMessage]:
    return [
        api.message(user.chat_id, call.result["message_id"])
        for call in api.calls_to("sendMessage")
        if call.index >= since and call.ok and call.chat_id == user.chat_id
    ]


async def rewrite(bot: RunningBot, assignment: int) -> str:
    return await bot.database.fetchval(
        "SELECT rewrite FROM judgments WHERE assignment_id = ?", (assignment,)
    )


async def test_a_next_part_on_another_texts_service_finds_the_first_parts_confirmation(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    """Two processes' services on one database: the confirmation kept by one is the other's."""
    await make_batch(db, items=1, overlap=1)
    trainer = await make_trainer(db, CHAT)
    view, _ = await ReviewService(db, settings, clock).next_item(trainer)
    assert view is not None
    here, there = Texts(db, settings, clock), Texts(db, settings, clock)
    target = (view.assignment.id, "rewrite")
    first = await here.receive(trainer, target, "One.", chat_id=CHAT, message_id=100)
    assert first is not None and first.result.confirmation is None
    sent = Confirmation(101, "texts.rewrite.adopted")
    await here.confirmed(first, 100, sent)
    clock.advance(seconds=1)
    second = await there.receive(trainer, None, "Two.", chat_id=CHAT, message_id=102)
    assert second is not None and second.mode is Mode.JOIN
    assert second.result.confirmation == sent
    clock.advance(seconds=10)  # a new text: its first part has no confirmation yet
    third = await there.receive(trainer, target, "Three.", chat_id=CHAT, message_id=103)
    assert third is not None and third.mode is Mode.NEW and third.result.confirmation is None


@BACKENDS
async def test_a_part_handled_after_a_restart_edits_the_first_parts_confirmation(
    api: FakeBotApi,
    settings: Settings,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A restarted bot is a new process's memory (on SQLite the only other process there is)."""
    # Telegram dates every part alike, however long the restart takes on a loaded machine.
    sent_at = api.now()
    monkeypatch.setattr(api, "now", lambda: sent_at)
    if settings.database_url is None:
        await migrated_sqlite(settings.database_path)
    nilai = RunningBot(api, settings, clock)
    await nilai.start()
    try:
        await nilai.import_file(write_batch(tmp_path))
        user = api.user(2001, "Rina", language_code="en")
        await nilai.onboard(user)
        panel = await nilai.next_item(user)
        await api.wait_idle(quiet=0.05)
        since = api.mark()
        await user.reply(panel, "First paragraph.")
        await user.wait_bot_message(since=since)
        await api.wait_idle(quiet=0.05)
        await nilai.restart()
        clock.advance(seconds=2)
        await user.send("Second paragraph.")  # within 3 s: the next part
        await api.wait_idle(quiet=0.1)
        (confirmation,) = confirmations_sent(api, user, since)
        assert "34 characters in 2 parts" in confirmation.plain_text()
        assert "edit any of its parts" in confirmation.plain_text()
        assert await rewrite(nilai, assignment_of(panel)) == "First paragraph.\nSecond paragraph."
    finally:
        await nilai.stop()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_the_parts_of_a_text_on_two_processes_edit_one_confirmation(
    api: FakeBotApi, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    async with two_bots(api, settings, clock) as (leader, other):
        await leader.import_file(write_batch(tmp_path), overlap=1)
        user = api.user(2001, "Rina", language_code="en")
        await leader.onboard(user)
        panel = await leader.next_item(user)
        await api.wait_idle(quiet=0.05)
        since, first_delivery = api.mark(), len(api.webhook_deliveries)
        parts = [("One.", leader), ("Two.", other), ("Three.", leader)]
        for index, (text, bot) in enumerate(parts):
            api.webhook_targets = [address(bot)]
            if index == 0:
                await user.reply(panel, text)
            else:
                clock.advance(seconds=1)
                await user.send(text)
            await api.wait_idle(quiet=0.1)
        handled_by = [d.url for d in api.webhook_deliveries[first_delivery:]]
        assert handled_by == [address(bot) for _, bot in parts]
        (confirmation,) = confirmations_sent(api, user, since)  # no second confirmation
        assert "Rewrite saved" in confirmation.plain_text()
        assert "in 3 parts" in confirmation.plain_text()
        assert await rewrite(leader, assignment_of(panel)) == "One.\nTwo.\nThree."
