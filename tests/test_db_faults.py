"""The database misbehaves under a trainer's thumb: another process holds the write lock, the
disk fills up, the file turns read-only. A rating is never lost or half-written: it is stored
once the lock is free, or the tap says "not saved, please try again" and nothing changed.

Faults are made the way SQLite really reports them: a second process in `BEGIN IMMEDIATE`,
`PRAGMA max_page_count` (SQLite answers SQLITE_FULL, as on a full disk) and `PRAGMA
query_only` (SQLITE_READONLY, as for a read-only file; the tests run as root, so file
permissions would not stop a write).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import t, t_plain
from handlers.callback_data import Action, encode
from storage.database import Database
from tests.crash_load import BotProcess, seed_with_cli
from tests.e2e import RunningBot, agree_under, answered, assignment_of
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

BOSS = 9000
REVIEW_TABLES = ("assignments", "scores", "flags", "judgments", "items", "processed_updates")
NOT_SAVED = t_plain("en", "error.not_saved")
DEFAULT_MAX_PAGES = 1073741823  # SQLite's default max_page_count
WAL_HEADER_BYTES = 32  # a WAL file starts with a 32-byte header, then its frames

# A second process (say, a CLI import) that takes the write lock and holds it until told.
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO bot_facts (name, value) VALUES ('locker', 'held')"
             " ON CONFLICT (name) DO UPDATE SET value = 'held'")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
"""


@pytest.fixture
async def rina(api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser) -> FakeUser:
    user = api.user(2001, "Rina", language_code="en")
    await nilai.onboard(user)
    return user


@pytest.fixture
async def panel(nilai: RunningBot, rina: FakeUser, tmp_path: Path) -> FakeMessage:
    path = tmp_path / "batch.jsonl"
    records = [{"prompt": f"Question {n}", "response": f"Answer {n}"} for n in range(3)]
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    await nilai.import_file(path)
    return await nilai.next_item(rina)


async def tap_score(user: FakeUser, panel: FakeMessage, criterion: int, score: int) -> dict:
    """Tap a score button (for any criterion: the bot accepts them in any order)."""
    return await user.tap(panel, data=encode(Action.SCORE, assignment_of(panel), criterion, score))


async def tables(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a review writes, to compare before and after a fault."""
    return {
        table: [tuple(row) for row in await db.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in REVIEW_TABLES
    }


async def on_writer(db: Database, pragma: str) -> Any:
    """Run a PRAGMA on the bot's own connections that write: the writer's thread and the
    inline one (such settings are per connection)."""
    async with db._write_lock, db._writer.execute(pragma) as cursor:
        if db._inline is not None:
            db._inline.execute(pragma).fetchall()
        return await cursor.fetchone()


async def integrity(db: Database) -> str:
    return await db.fetchval("PRAGMA integrity_check")


async def start_locker(path: Path) -> asyncio.subprocess.Process:
    locker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOCKER,
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert locker.stdout is not None
    assert await asyncio.wait_for(locker.stdout.readline(), 30) == b"locked\n"
    return locker


async def release(locker: asyncio.subprocess.Process) -> None:
    assert locker.stdin is not None and locker.stdout is not None
    locker.stdin.write(b"release\n")
    await locker.stdin.drain()
    assert await asyncio.wait_for(locker.stdout.readline(), 30) == b"released\n"
    await locker.wait()
    assert locker.returncode == 0


# --- another process holds the write lock ---------------------------------------------------


def scored_toast(user: FakeUser, score: int) -> str:
    language = "id" if user.language_code == "id" else "en"
    return t_plain(
        language, "toast.scored", criterion=t(language, "criterion.accuracy"), score=score
    )


async def hold_the_lock_while_rating(
    api: FakeBotApi,
    nilai: RunningBot,
    trainers: list[tuple[FakeUser, FakeMessage]],
    hold: float,
    score: int = 4,
) -> None:
    """Trainers tap a score while another process holds the lock for `hold` seconds; each tap
    waits for the lock, then is stored and acknowledged as usual."""
    locker = await start_locker(nilai.settings.database_path)
    release_at = asyncio.get_running_loop().time() + hold
    try:
        taps = [await tap_score(user, panel, 0, score) for user, panel in trainers]
        # Every tap was fetched; the bot can only wait (its taps are still being handled).
        await api.wait_idle(quiet=0.2, handled=False)
        assert not any(api.callback(tap["callback_query"]["id"]).answered for tap in taps)
        await asyncio.sleep(release_at - asyncio.get_running_loop().time())
    finally:
        await release(locker)
    for tap, (user, _) in zip(taps, trainers, strict=True):
        assert await answered(api, tap, wait=10) == scored_toast(user, score)
    await api.wait_idle(quiet=0.05)
    for _, panel in trainers:
        stored = await nilai.database.fetchval(
            "SELECT score FROM scores WHERE assignment_id = ? AND criterion = 'accuracy'",
            (assignment_of(panel),),
        )
        assert stored == score
    assert await nilai.count("SELECT COUNT(*) FROM scores") == len(trainers)
    assert await integrity(nilai.database) == "ok"


async def test_a_rating_waits_for_another_process_holding_the_write_lock_for_3_5_seconds(
    api: FakeBotApi, nilai: RunningBot, rina: FakeUser, panel: FakeMessage
) -> None:
    await hold_the_lock_while_rating(api, nilai, [(rina, panel)], hold=3.5)
    assert "Accuracy 4" in panel.plain_text()
    assert not alerts(api)


@pytest.mark.slow
async def test_several_trainers_ratings_survive_the_lock_held_4_seconds_again_and_again(
    api: FakeBotApi, nilai: RunningBot, rina: FakeUser, panel: FakeMessage
) -> None:
    others = [api.user(2100 + n, f"Trainer {n}", language_code="id") for n in range(2)]
    trainers = [(rina, panel)]
    for user in others:
        await nilai.onboard(user)
        trainers.append((user, await nilai.next_item(user)))
    for score in (3, 5, 2):
        await hold_the_lock_while_rating(api, nilai, trainers, hold=4.0, score=score)
    assert not alerts(api)


@pytest.mark.slow
async def test_a_lock_held_past_the_busy_timeout_answers_not_saved_and_the_retry_is_stored(
    api: FakeBotApi, nilai: RunningBot, rina: FakeUser, panel: FakeMessage
) -> None:
    db = nilai.database
    before = await tables(db)
    locker = await start_locker(nilai.settings.database_path)
    try:
        tap = await tap_score(rina, panel, 0, 2)
        assert await answered(api, tap, wait=20) == NOT_SAVED  # SQLite gave up waiting
        await api.wait_idle(quiet=0.05)
        assert await tables(db) == before
    finally:
        await release(locker)
    retry = await tap_score(rina, panel, 0, 2)
    assert await answered(api, retry) == "Accuracy: 2"
    [alert] = alerts(api)
    assert "database is locked" in alert


# --- the disk is full, the file is read-only ------------------------------------------------


def alerts(api: FakeBotApi) -> list[str]:
    return [
        call.params["text"]
        for call in api.calls_to("sendMessage")
        if call.ok and call.chat_id == BOSS and "⚠️" in call.params["text"]
    ]


async def fill_the_disk(db: Database) -> None:
    """No room for one more page: VACUUM drops the free pages, and the file may not grow."""
    async with db._write_lock:
        await db._writer.execute("VACUUM")
    pages = (await on_writer(db, "PRAGMA page_count"))[0]
    assert (await on_writer(db, f"PRAGMA max_page_count = {pages}"))[0] == pages


async def test_on_a_full_disk_the_tap_says_not_saved_and_nothing_is_half_written(
    api: FakeBotApi, nilai: RunningBot, rina: FakeUser, panel: FakeMessage
) -> None:
    db = nilai.database
    await fill_the_disk(db)
    # Each tap stores its update id with its score, so the pages fill up within a few hundred.
    for tap_number in range(1000):
        before = await tables(db)
        score = 4 + tap_number % 2
        tap = await tap_score(rina, panel, 0, score)
        toast = await answered(api, tap)
        if toast != f"Accuracy: {score}":
            break
    else:
        raise AssertionError("the disk never filled up")
    assert toast == NOT_SAVED
    assert api.callback(tap["callback_query"]["id"]).answer.params.get("show_alert") is True
    await api.wait_idle(quiet=0.05)
    assert await tables(db) == before  # not the score, not the update id: nothing at all
    assert await integrity(db) == "ok"
    assert api.callback(tap["callback_query"]["id"]).answer_count == 1
    [alert] = alerts(api)
    assert "database or disk is full" in alert

    await on_writer(db, f"PRAGMA max_page_count = {DEFAULT_MAX_PAGES}")  # space again
    retry = await tap_score(rina, panel, 0, score)
    assert await answered(api, retry) == f"Accuracy: {score}"
    stored = await db.fetchval(
        "SELECT score FROM scores WHERE assignment_id = ? AND criterion = 'accuracy'",
        (assignment_of(panel),),
    )
    assert stored == score


@pytest.mark.parametrize("language", ["id", "en"])
async def test_on_a_read_only_database_the_tap_says_not_saved_in_the_trainers_language(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, tmp_path: Path, language: str
) -> None:
    trainer = api.user(2002, "Budi", language_code=language)
    await nilai.onboard(trainer)
    path = tmp_path / "batch.jsonl"
    path.write_text('{"prompt": "Hi", "response": "Hello"}', "utf-8")
    await nilai.import_file(path)
    panel = await nilai.next_item(trainer)
    db = nilai.database
    first = await tap_score(trainer, panel, 0, 3)
    assert await answered(api, first) == ("Akurasi: 3" if language == "id" else "Accuracy: 3")
    await api.wait_idle(quiet=0.05)
    before = await tables(db)

    await on_writer(db, "PRAGMA query_only = ON")
    for data in (
        encode(Action.SCORE, assignment_of(panel), 0, 5),
        encode(Action.FLAG, assignment_of(panel), 0, 1),
        encode(Action.SKIP, assignment_of(panel), 0),
    ):
        tap = await trainer.tap(panel, data=data)
        assert await answered(api, tap) == t_plain(language, "error.not_saved")
    await api.wait_idle(quiet=0.05)
    assert await tables(db) == before
    assert len(alerts(api)) == 1  # one alert for one fault, however many taps met it

    await on_writer(db, "PRAGMA query_only = OFF")
    tap = await tap_score(trainer, panel, 0, 5)
    assert await answered(api, tap) != t_plain(language, "error.not_saved")
    assert await integrity(db) == "ok"


async def test_a_rewrite_sent_while_the_database_is_read_only_is_answered_not_saved(
    api: FakeBotApi, nilai: RunningBot, rina: FakeUser, panel: FakeMessage
) -> None:
    db = nilai.database
    before = await tables(db)
    await on_writer(db, "PRAGMA query_only = ON")
    since = api.mark()
    await rina.reply(panel, "A better answer that must not get lost silently.")
    reply = await rina.wait_bot_message(since=since)
    assert reply.plain_text() == NOT_SAVED
    await api.wait_idle(quiet=0.05)
    assert await tables(db) == before
    await on_writer(db, "PRAGMA query_only = OFF")
    since = api.mark()
    await rina.reply(panel, "A better answer that must not get lost silently.")
    assert "Rewrite saved" in (await rina.wait_bot_message(since=since)).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM judgments WHERE rewrite IS NOT NULL") == 1


# --- a real write failure, at COMMIT, in the bot's own process ----------------------------------


def wait_panel_call(api: FakeBotApi, user: FakeUser, since: int) -> Any:
    def is_panel(call: Any) -> bool:
        markup = call.params.get("reply_markup") or {}
        data = [
            b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row
        ]
        return call.ok and call.chat_id == user.chat_id and any(d.startswith("1u:") for d in data)

    return api.wait_for_call("sendMessage", is_panel, since=since, timeout=30)


def rows_of(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The review tables as another process sees them (what is really on disk)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in REVIEW_TABLES
        }
    finally:
        conn.close()


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux prlimit")
async def test_a_write_failing_at_commit_says_not_saved_and_the_bot_recovers_when_space_is_back(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """The disk fills up under a running bot: SQLite can write no more to its WAL file, so
    the COMMIT of the tap fails (as it would on a full disk; made with RLIMIT_FSIZE on the bot's
    process, which makes every write past that offset of any file fail)."""
    code = seed_with_cli(tmp_path, items=3, overlap=1, invites=1)
    bot = BotProcess(api, tmp_path, COORDINATOR_IDS=str(BOSS))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=bot.environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,  # a pipe: not a file the limit would stop
    )
    assert process.stdout is not None
    log = asyncio.create_task(process.stdout.read())
    try:
        boss = api.user(BOSS, "Boss", language_code="en")
        await boss.send("/start")
        await boss.wait_bot_message(timeout=30)
        rina = api.user(2001, "Rina", language_code="en")
        await rina.send(f"/start {code}")
        await agree_under(api, rina, await rina.wait_bot_message(timeout=30), timeout=30)
        since = api.mark()
        await rina.send("/next")
        call = await wait_panel_call(api, rina, since)
        panel = api.message(rina.chat_id, call.result["message_id"])
        first = await tap_score(rina, panel, 0, 3)
        assert await answered(api, first, wait=15) == "Accuracy: 3"
        await api.wait_idle(quiet=0.2)

        before = rows_of(bot.database)
        # Past the WAL's 32-byte header, every write fails: a limit at the WAL's current size
        # would let a commit through once a checkpoint had started the WAL again from its top.
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (WAL_HEADER_BYTES, -1))
        try:
            tap = await tap_score(rina, panel, 0, 5)
            assert await answered(api, tap, wait=15) == NOT_SAVED
            await api.wait_idle(quiet=0.2)
            assert rows_of(bot.database) == before
        finally:
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (-1, -1))  # space again
        retry = await tap_score(rina, panel, 0, 5)
        assert await answered(api, retry, wait=15) == "Accuracy: 5"
        score = rows_of(bot.database)["scores"]
        assert [(row[1], row[2]) for row in score] == [("accuracy", 5)]
        [alert] = alerts(api)
        assert "disk" in alert or "I/O" in alert
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
        output = (await log).decode("utf-8", "replace")
        print(output)  # pytest shows it when the test fails
    assert "failed: OperationalError" in output
    assert api.token not in output and api.token.split(":")[1] not in output
