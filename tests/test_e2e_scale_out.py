"""Three bot processes in webhook mode on one PostgreSQL database, one of them SIGKILLed while
30 trainers review: nothing acknowledged is lost, nothing is doubled, everyone continues.

Each process is `python -m bot run` as an operator starts it (DATABASE_URL, WEBHOOK_URL and
WEBHOOK_SECRET set, each on its own WEBHOOK_PORT). The fake Bot API posts every update to one of
them in turn, so one trainer's consecutive taps land on different processes, each posted as
soon as the one before it was taken (PTB answers a webhook request before handling it), so
they are handled at the same time unless the trainer's lock in the database orders them.
A coordinator's announcement goes out during the load and must reach every trainer once, and
the coordinators' daily report, due when the processes start, is sent once (by the leader).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import stamp
from bot.config import Settings
from handlers.callback_data import Action, InvalidCallbackData, decode
from handlers.paced_sends import claim_size, concurrency
from storage import daily_sends
from storage.database import Database
from tests.conftest import postgres_server
from tests.crash_load import (
    BotProcess,
    Ledger,
    ScriptedTrainer,
    check_database,
    crowd_of,
    every_trainer_continues,
    panel_assignment,
    promises,
    seed_with_cli,
    wait_serving,
)
from tests.e2e import WEBHOOK_SECRET, answered, free_port, tap_action
from tests.factories import make_trainer
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

PROCESSES = 3
TRAINERS = 30
BOSS = 9000
HOOK_PATH = "/nilai/hook"
ANNOUNCEMENT = "Tim hebat, terima kasih semuanya!"

pytestmark = pytest.mark.timeout(300)


class Fleet:
    """The bot processes, each with its own folder (and log) and port, one database."""

    def __init__(
        self, api: FakeBotApi, workdir: Path, database_url: str, schedule: dict[str, str]
    ) -> None:
        self.ports = [free_port() for _ in range(PROCESSES)]
        self.bots = []
        for index, port in enumerate(self.ports):
            folder = workdir / f"bot{index}"
            folder.mkdir()
            self.bots.append(
                BotProcess(
                    api,
                    folder,
                    DATABASE_URL=database_url,
                    DATABASE_POOL_SIZE="6",
                    WEBHOOK_URL=f"https://nilai.example{HOOK_PATH}",
                    WEBHOOK_SECRET=WEBHOOK_SECRET,
                    WEBHOOK_LISTEN="127.0.0.1",
                    WEBHOOK_PORT=str(port),
                    DAILY_QUOTA="1000",
                    COORDINATOR_IDS=str(BOSS),
                    **schedule,
                )
            )
        api.webhook_targets = [f"http://127.0.0.1:{port}{HOOK_PATH}" for port in self.ports]

    async def start(self, index: int | None = None) -> None:
        chosen = range(PROCESSES) if index is None else [index]
        for i in chosen:
            await self.bots[i].start()
        for i in chosen:
            await wait_serving(self.ports[i])

    async def close(self) -> None:
        for bot in self.bots:
            await bot.close()

    def logs(self) -> list[str]:
        return [bot.log_text() for bot in self.bots]


async def _announce(boss: FakeUser, text: str) -> None:
    since = boss.server.mark()
    await boss.send(f"/announce {text}")
    preview = await boss.wait_bot_message(lambda m: bool(m.buttons()), since=since, timeout=30)
    await boss.tap(preview, "Send")


async def test_three_webhook_processes_on_one_postgresql_database_survive_a_kill(
    api: FakeBotApi, tmp_path: Path
) -> None:
    server = postgres_server()
    url = await server.new_database()
    rng = random.Random(10)
    code = seed_with_cli(tmp_path, 300, overlap=2, invites=TRAINERS, DATABASE_URL=url)
    schedule, report_due = await _report_due_at_start(url)
    fleet = Fleet(api, tmp_path, url, schedule)
    ledger = Ledger()
    crowd = crowd_of(api, ledger, rng, TRAINERS, patience=4.0)
    working: list[asyncio.Task[None]] = []
    try:
        await fleet.start()
        await api.wait_for_call("setWebhook", timeout=60)
        boss = api.user(BOSS, "Boss", language_code="en")
        since = api.mark()
        await boss.send("/start")
        await boss.wait_bot_message(since=since, timeout=30)
        await asyncio.gather(*(trainer.register(code) for trainer in crowd))

        stop = asyncio.Event()
        working = [asyncio.create_task(trainer.work(stop)) for trainer in crowd]
        await asyncio.sleep(3.0)
        await _announce(boss, ANNOUNCEMENT)
        await asyncio.sleep(rng.uniform(1.0, 2.0))
        await fleet.bots[1].kill()  # mid-load, likely mid-broadcast too
        await asyncio.sleep(1.0)  # its share of the updates goes to the others meanwhile
        await fleet.start(1)
        await asyncio.sleep(4.0)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*working), timeout=120)
        await api.wait_idle(quiet=0.5, timeout=60)

        await every_trainer_continues(crowd, url)
        await _two_taps_at_once_on_two_processes(api, crowd, ledger, url)
        await _announcement_reached_everyone_once(api, crowd, url)
        reports = await _reports_to(api, BOSS, wanted=int(report_due))
        assert reports == int(report_due), f"{reports} daily reports sent"
        for bot in fleet.bots:
            assert await bot.stop() == 0
    finally:
        for task in working:
            task.cancel()
        await asyncio.gather(*working, return_exceptions=True)
        await fleet.close()

    promised = promises(api, ledger)
    counts = await check_database(url, ledger, promised)
    assert counts["submitted"] > TRAINERS, "the load did not get going"
    assert len(api.calls_to("setWebhook")) == 1  # only one process ever set it
    logs = fleet.logs()
    for log in logs:
        assert api.token not in log and WEBHOOK_SECRET not in log
        assert "Traceback" not in log and " ERROR " not in log
    assert all("running as @" in log for log in logs)
    retries = sum(trainer.retries for trainer in crowd)
    print(
        f"\n{PROCESSES} processes, 1 killed: {counts} stored; {len(promised.scores)} scores and"
        f" {len(promised.submits)} submits acknowledged; {retries} trainer retries"
    )
    await server.drop_database(url)


async def _two_taps_at_once_on_two_processes(
    api: FakeBotApi, crowd: list[ScriptedTrainer], ledger: Ledger, url: str
) -> None:
    """A few trainers with an item open tap a flag and a score, the two updates posted at the
    same moment to two different processes: each is handled, one after the other, once."""
    targets = api.webhook_targets
    assert targets is not None
    tried = 0
    for index, trainer in enumerate(crowd):
        panel = trainer.current_panel()
        assignment = None if panel is None else panel_assignment(panel)
        if panel is None or assignment is None:
            continue
        api.webhook_held = True
        try:
            criterion = _criterion_asked(panel)
            if criterion is None:
                continue
            flag = await tap_action(trainer.user, panel, Action.FLAG, 4, 1)  # "other"
            score = await tap_action(trainer.user, panel, Action.SCORE, criterion, 2)
            # What the trainer meant, for the check of what was acknowledged and stored.
            ledger.taps[flag["callback_query"]["id"]] = (Action.FLAG, assignment, (4, 1))
            ledger.taps[score["callback_query"]["id"]] = (Action.SCORE, assignment, (criterion, 2))
            ledger.scores[(assignment, criterion)] = 2
            ledger.flags.setdefault(assignment, set()).add(4)
            routes = [(flag, targets[index % 3]), (score, targets[(index + 1) % 3])]
            assert await api.deliver_at_once(routes) == [200, 200]
        finally:
            api.webhook_held = False
        await answered(api, flag)
        await answered(api, score)
        tried += 1
        if tried == 5:
            break
    assert tried, "no trainer had an item open to tap on"
    await api.wait_idle(quiet=0.3, timeout=30)
    db = await Database.open(url, migrate=False)
    try:
        twice = await db.fetchall(
            "SELECT assignment_id, flag FROM flags GROUP BY assignment_id, flag HAVING COUNT(*) > 1"
        )
        assert twice == []
    finally:
        await db.close()


def _criterion_asked(panel: FakeMessage) -> int | None:
    """The criterion whose score buttons the panel shows, None if it shows none."""
    for row in panel.buttons():
        for button in row:
            with contextlib.suppress(InvalidCallbackData):
                callback = decode(button.get("callback_data", ""))
                if callback.action is Action.SCORE:
                    return callback.args[0]
    return None


async def _report_due_at_start(url: str) -> tuple[dict[str, str], bool]:
    """Settings whose daily report fell due five minutes ago, with the scheduler's window
    opened ten minutes ago (as if the bot had been down since): the first check of every
    process finds it due. The coordinator is registered from before (a report goes to those
    registered by its moment). Reminders and summaries are out of the way. False near
    midnight, when five minutes ago was yesterday (a send whose day has passed is skipped)."""
    now = datetime.now(UTC)
    due = now - timedelta(minutes=5)
    db = await Database.open(url, migrate=False)
    try:
        await make_trainer(db, BOSS, role="coordinator")
        await daily_sends.start_window(db, stamp(now - timedelta(minutes=10)))
    finally:
        await db.close()
    schedule = {
        "TIMEZONE": "UTC",
        "QUIET_HOURS": "",
        "SUMMARY_TIME": "",
        "REMINDER_TIME": (now + timedelta(hours=6)).strftime("%H:%M"),
        "REPORT_TIME": due.strftime("%H:%M"),
    }
    return schedule, due.date() == now.date()


async def _reports_to(api: FakeBotApi, chat_id: int, wanted: int) -> int:
    """How many report charts reached the chat, once `wanted` did (or 30 s passed)."""
    for _ in range(300):
        sent = [c for c in api.calls_to("sendPhoto") if c.ok and c.chat_id == chat_id]
        if len(sent) >= wanted:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # a second one would come right after
    return len([c for c in api.calls_to("sendPhoto") if c.ok and c.chat_id == chat_id])


async def _announcement_reached_everyone_once(
    api: FakeBotApi, crowd: list[ScriptedTrainer], url: str
) -> None:
    """Each trainer got the announcement at most once: sent by one process (the leader), never
    repeated across the kill. Once the broadcast is done, each trainer who did not get it is one
    of the sends the kill left in doubt (`failed`, given up and reported), and those are at
    most what one process has claimed at a time: a page and the sends in flight."""
    db = await Database.open(url, migrate=False)
    try:
        for _ in range(300):
            status = await db.fetchval("SELECT status FROM broadcasts WHERE kind = 'announcement'")
            if status == "done":
                break
            await asyncio.sleep(0.1)
        assert status == "done", "the announcement never finished"
        await api.wait_idle(quiet=0.5, timeout=30)
        given_up = {
            row[0]
            for row in await db.fetchall(
                "SELECT trainer_id FROM deliveries d JOIN broadcasts b ON b.id = d.broadcast_id"
                " WHERE b.kind = 'announcement' AND d.status = 'failed'"
            )
        }
    finally:
        await db.close()
    got = {
        trainer.user.user_id: sum(
            ANNOUNCEMENT in message.plain_text()
            for message in api.chat_messages(trainer.user.chat_id)
            if message.from_bot
        )
        for trainer in crowd
    }
    assert all(count <= 1 for count in got.values()), f"announced twice: {got}"
    missing = {user for user, count in got.items() if count == 0}
    assert missing <= given_up, f"not announced, yet not given up: {missing - given_up}"
    rate = Settings.broadcast_rate  # the default, which the fleet runs with
    assert len(given_up) <= claim_size(rate) + concurrency(rate), given_up
