"""Several bot processes on one PostgreSQL database (issue 10, "Several processes"), in process:
two real Applications (RunningBot) in webhook mode on one database, behind one fake Bot API.

- A trainer's two taps posted to the two processes at the same moment are handled one after the
  other (the trainer's advisory lock, handlers/update_order.py), and both take effect.
- A broadcast a coordinator starts on the process that does not lead is sent once, by the
  leader, at BROADCAST_RATE (handlers/leadership.py, handlers/broadcasts.py).
- The lease sweeper and a daily reminder run once with two processes.
- When the leader stops, the other process takes over.

Only PostgreSQL has several processes: without it every test here is skipped with the one line
of tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.error_alerts import ErrorAlerts, ErrorReport
from handlers import broadcasts, leadership
from handlers.callback_data import Action
from handlers.context import SERVICES_KEY
from handlers.leadership import Leadership
from handlers.scheduled import JOB_NAME as DAILY_JOB
from handlers.scheduled import DailySends
from storage import daily_sends, trainers
from storage.database import Database
from tests.conftest import FakeClock
from tests.e2e import RunningBot, answered, assignment_of, tap_action
from tests.factories import make_batch
from tests.fakebot import FakeBotApi
from tests.test_e2e_broadcasts import add_trainers

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

BOSS = 9000


def address(bot: RunningBot) -> str:
    """Where this bot serves the webhook itself (its WEBHOOK_URL names the first bot's)."""
    return f"http://127.0.0.1:{bot.settings.webhook_port}{bot.settings.webhook_path}"


@asynccontextmanager
async def two_bots(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[RunningBot, RunningBot]]:
    """Two bot processes on one PostgreSQL database: the first started leads. Updates go to
    them round robin unless a test posts them itself."""
    assert settings.database_url is not None
    leader = RunningBot(api, settings, clock, webhook=True)
    other = RunningBot(api, settings, clock, webhook=True, webhook_url=leader.settings.webhook_url)
    try:
        await leader.start()
        await other.start()
        api.webhook_targets = [address(leader), address(other)]
        assert Leadership.of(leader.app).leading
        assert not Leadership.of(other.app).leading
        yield leader, other
    finally:
        await other.stop()
        await leader.stop()


def write_batch(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "batch.jsonl"
    rows = [{"prompt": f"Prompt {n}", "response": f"Answer {n}"} for n in range(1, count + 1)]
    path.write_text("\n".join(json.dumps(row) for row in rows), "utf-8")
    return path


@dataclass
class Held:
    bot: str
    user_id: int
    start: float
    end: float = 0.0


def recording(
    name: str, lock: Callable[[int], AbstractAsyncContextManager[None]], log: list[Held]
) -> Callable[[int], AbstractAsyncContextManager[None]]:
    """The database's user lock, noting when each update held it."""

    @asynccontextmanager
    async def held(user_id: int) -> AsyncIterator[None]:
        async with lock(user_id):
            entry = Held(name, user_id, asyncio.get_running_loop().time())
            log.append(entry)
            try:
                yield
            finally:
                entry.end = asyncio.get_running_loop().time()

    return held


async def test_two_taps_of_one_trainer_on_two_processes_commit_one_after_the_other(
    api: FakeBotApi, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    async with two_bots(api, settings, clock) as (leader, other):
        await leader.import_file(write_batch(tmp_path, 2), overlap=1)
        trainer = api.user(2001, "Rina", language_code="en")
        await leader.onboard(trainer)
        panel = await leader.next_item(trainer)
        await api.wait_idle(quiet=0.05)
        held: list[Held] = []
        for bot in (leader, other):
            processor = bot.app.update_processor
            processor.user_lock = recording(address(bot), processor.user_lock, held)
        # Each tap's answer takes a while, inside the update: unordered, the two would overlap.
        api.delay_next("answerCallbackQuery", 0.3, times=2)
        api.webhook_held = True
        first = await tap_action(trainer, panel, Action.SCORE, 0, 4)
        second = await tap_action(trainer, panel, Action.FLAG, 0, 1)
        statuses = await api.deliver_at_once([(first, address(leader)), (second, address(other))])
        api.webhook_held = False
        assert statuses == [200, 200]
        await answered(api, first)
        await answered(api, second)
        await api.wait_idle(quiet=0.05)

        mine = sorted((h for h in held if h.user_id == trainer.user_id), key=lambda h: h.start)
        assert {h.bot for h in mine} == {address(leader), address(other)}
        assert mine[0].end <= mine[1].start, "the two taps were handled at the same time"
        assignment = assignment_of(panel)  # both taps took effect
        assert (
            await leader.count("SELECT score FROM scores WHERE assignment_id = ?", assignment) == 4
        )
        assert await leader.count("SELECT COUNT(*) FROM flags WHERE assignment_id = ?", assignment)


async def test_a_tap_on_another_process_waits_for_the_edit_of_the_tap_before(
    api: FakeBotApi, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    """The panel edit leaves the handler; the trainer's lock is kept until it is done, so the
    next tap's edit, made on another process, can never reach the chat before it."""
    async with two_bots(api, settings, clock) as (leader, other):
        await leader.import_file(write_batch(tmp_path, 2), overlap=1)
        trainer = api.user(2001, "Rina", language_code="en")
        await leader.onboard(trainer)
        panel = await leader.next_item(trainer)
        await api.wait_idle(quiet=0.05)
        held: list[Held] = []
        for bot in (leader, other):
            processor = bot.app.update_processor
            processor.user_lock = recording(address(bot), processor.user_lock, held)
        api.webhook_held = True
        since = api.mark()
        api.delay_next("editMessageText", 0.4, chat_id=trainer.chat_id)
        first = await tap_action(trainer, panel, Action.SCORE, 0, 4)
        assert await api.deliver_at_once([(first, address(leader))]) == [200]
        await answered(api, first)  # answered: its handler is done, its edit on its way
        second = await tap_action(trainer, panel, Action.FLAG, 0, 1)
        assert await api.deliver_at_once([(second, address(other))]) == [200]
        api.webhook_held = False
        await answered(api, second)
        await api.wait_idle(quiet=0.1)
        edits = [
            c
            for c in api.calls[since:]
            if c.method == "editMessageText" and c.params.get("message_id") == panel.message_id
        ]
        assert len(edits) >= 2
        on_other = [h for h in held if h.bot == address(other)]
        assert on_other and on_other[0].start >= edits[0].time  # after the first edit landed


async def test_a_broadcast_started_on_another_process_is_sent_once_by_the_leader_at_the_rate(
    api: FakeBotApi, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leadership, "PICKUP_SECONDS", 0.2)
    launched: list[object] = []
    launch = broadcasts._launch

    def noted(application: object, broadcast_id: int) -> None:
        launched.append(application)
        launch(application, broadcast_id)

    monkeypatch.setattr(broadcasts, "_launch", noted)
    rate, trainers = 20, list(range(10_001, 10_021))
    slow = replace(settings, broadcast_rate=rate)
    async with two_bots(api, slow, clock) as (leader, other):
        await add_trainers(leader.database, api, trainers)
        api.webhook_targets = [address(other)]  # the coordinator talks to the other process
        boss = api.user(BOSS, "Boss", language_code="en")
        await boss.send("/start")
        await boss.wait_bot_message()
        await boss.send("/announce Rapat jam tiga")
        preview = await boss.wait_bot_message()
        since = api.mark()
        await answered(api, await boss.tap(preview, "Send"))
        await api.wait_for_call(
            "editMessageText",
            lambda c: c.ok and c.chat_id == BOSS and "Broadcast finished" in c.params["text"],
            since=since,
            timeout=15,
        )
        sends = [
            c for c in api.calls[since:] if c.method == "sendMessage" and c.chat_id in trainers
        ]
        assert sorted(c.chat_id for c in sends) == trainers  # each trainer once
        span = max(c.time for c in sends) - min(c.time for c in sends)
        assert span >= 0.8 * (len(trainers) - rate * 0.1) / rate  # paced at BROADCAST_RATE
        assert launched and {id(app) for app in launched} == {id(leader.app)}  # the leader's
        sent = "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"
        assert await other.count(sent) == len(trainers)


async def run_job(bot: RunningBot, name: str) -> None:
    [job] = bot.app.job_queue.get_jobs_by_name(name)
    await job.run(bot.app)


async def test_the_sweeper_runs_once_with_two_processes(
    api: FakeBotApi, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    async with two_bots(api, settings, clock) as (leader, other):
        await leader.import_file(write_batch(tmp_path, 2), overlap=1)
        trainer = api.user(2001, "Rina", language_code="en")
        await leader.onboard(trainer)
        panel = await leader.next_item(trainer)
        await api.wait_idle(quiet=0.05)
        clock.advance(minutes=31)
        since = api.mark()
        await run_job(other, "lease-sweeper")  # not the leader: nothing
        assert await other.count("SELECT COUNT(*) FROM assignments WHERE status = 'expired'") == 0
        await run_job(leader, "lease-sweeper")
        await run_job(other, "lease-sweeper")
        await api.wait_idle(quiet=0.1)
        assert await other.count("SELECT COUNT(*) FROM assignments WHERE status = 'expired'") == 1
        edits = [
            c
            for c in api.calls[since:]
            if c.method == "editMessageText" and c.params.get("message_id") == panel.message_id
        ]
        assert len(edits) == 1


DAY_START = datetime(2026, 12, 1, 11, 59, 30, tzinfo=UTC)  # 18:59:30 in Jakarta


async def test_a_daily_reminder_goes_out_once_with_two_processes(
    api: FakeBotApi, settings: Settings
) -> None:
    clock = FakeClock(DAY_START)
    async with two_bots(api, settings, clock) as (leader, other):
        await make_batch(leader.database, "work", items=30, overlap=3)
        trainers = list(range(301, 304))
        await add_trainers(leader.database, api, trainers)
        clock.now = DAY_START + timedelta(minutes=1)
        since = api.mark()
        for _ in range(2):
            for bot in (other, leader):
                await run_job(bot, DAILY_JOB)
                await DailySends.of(bot.app).wait_idle()
        await api.wait_idle(quiet=0.1)
        reminded = [
            c.chat_id
            for c in api.calls[since:]
            if c.method == "sendMessage" and c.ok and c.chat_id in trainers
        ]
        assert sorted(reminded) == trainers  # one each
        counts = await daily_sends.counts_by_status(leader.database, "reminder", "2026-12-01")
        assert counts == {"sent": len(trainers)}


async def test_when_the_leader_stops_the_other_process_takes_over(
    api: FakeBotApi, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leadership, "LEADERSHIP_SECONDS", 0.2)
    async with two_bots(api, settings, clock) as (leader, other):
        await leader.stop()
        for _ in range(100):
            if Leadership.of(other.app).leading:
                break
            await asyncio.sleep(0.05)
        assert Leadership.of(other.app).leading
        assert await other.database.is_leader()


# --- what each process keeps in memory (docs/architecture.md, "Several processes") -------------


async def test_todays_count_and_the_live_panel_are_read_anew_on_each_process(
    api: FakeBotApi, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    """A Submit and a newer copy of the panel made on one process are seen by the other."""
    async with two_bots(api, settings, clock) as (leader, other):
        await leader.import_file(write_batch(tmp_path, 3), overlap=1)
        trainer = api.user(2001, "Rina", language_code="en")
        await leader.onboard(trainer)
        here, there = leader.app.bot_data[SERVICES_KEY], other.app.bot_data[SERVICES_KEY]
        record = await trainers.get_trainer(leader.database, trainer.user_id)
        assert record is not None
        assert await here.review.done_today(record) == 0  # counted (and once kept) here
        api.webhook_targets = [address(other)]  # the rest of the review happens there
        panel = await leader.next_item(trainer)
        await api.wait_idle(quiet=0.05)
        assignment = assignment_of(panel)
        again = await leader.next_item(trainer)  # a newer copy of the panel, sent there
        assert again.message_id > panel.message_id
        await api.wait_idle(quiet=0.1)
        assert await here.panels.live.is_stale(assignment, trainer.chat_id, panel.message_id)
        for index in range(4):
            await answered(api, await tap_action(trainer, again, Action.SCORE, index, 4))
            await api.wait_idle(quiet=0.05)
        await answered(api, await trainer.tap(again, "Submit"))
        await api.wait_idle(quiet=0.05)
        assert await there.review.done_today(record) == 1
        assert await here.review.done_today(record) == 1


async def test_an_error_is_told_once_an_hour_whichever_process_meets_it(
    settings: Settings, clock: FakeClock
) -> None:
    assert settings.database_url is not None
    dbs = [await Database.open(settings.database_url) for _ in range(2)]
    alerts = [ErrorAlerts(db, clock) for db in dbs]
    try:
        report = ErrorReport("KeyError", "handlers/trainer.py:83", None)
        told = [await each.claim(report) for each in alerts]
        assert told == [True, False]
        clock.advance(minutes=61)
        assert [await each.claim(report) for each in reversed(alerts)] == [True, False]
    finally:
        for db in dbs:
            await db.close()
