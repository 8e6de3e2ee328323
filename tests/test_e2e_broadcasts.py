"""Broadcasts end to end: a coordinator announces a batch or a message to hundreds of trainers,
some of whom blocked the bot, Telegram says "slow down" (once, or under its flood limit), and the
bot restarts or crashes in the middle (killed for real, as a process), yet every reachable trainer
gets the message at most once, all of them but those a crash left in doubt, which the coordinator
is told about. The coordinator follows it in one report message, edited as the sends go."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from bot.config import Settings
from handlers.broadcasts import start_batch_broadcast
from handlers.callback_data import Action, encode
from handlers.paced_sends import concurrency
from storage import trainers
from storage.database import Database
from tests.conftest import FakeClock
from tests.e2e import RunningBot
from tests.factories import NOW, make_batch
from tests.fakebot import ApiCall, FakeBotApi, FakeMessage, FakeUser
from tests.test_e2e_process import start_bot_process

COORDINATOR = 9000
FAST = 1000  # messages a second: the fake Bot API has no flood limit, the tests stay short


@asynccontextmanager
async def bot_with_rate(
    api: FakeBotApi, settings: Settings, clock: FakeClock, rate: int, *, paid: bool = False
) -> AsyncIterator[RunningBot]:
    nilai = RunningBot(api, replace(settings, broadcast_rate=rate, paid_broadcast=paid), clock)
    await nilai.start()
    try:
        yield nilai
    finally:
        await nilai.stop()


async def coordinator_of(api: FakeBotApi, language: str = "en") -> FakeUser:
    coordinator = api.user(COORDINATOR, "Sari", language_code=language)
    await coordinator.send("/start")
    await coordinator.wait_bot_message()
    return coordinator


async def add_trainers(database: Database, api: FakeBotApi, ids: Iterable[int]) -> None:
    """Registered trainers with chats in the fake, every third one speaking Indonesian."""
    for user_id in ids:
        language = "id" if user_id % 3 == 0 else "en"
        api.user(user_id, f"Trainer {user_id}", language_code=language)
        await trainers.insert_trainer(
            database,
            user_id=user_id,
            chat_id=user_id,
            name=f"Trainer {user_id}",
            username=None,
            language=language,
            role="trainer",
            invite_code=None,
            now=NOW,
        )


def delivered(api: FakeBotApi, chats: Iterable[int]) -> Counter[int]:
    """Messages the bot got through to each of `chats`."""
    wanted = set(chats)
    return Counter(
        call.chat_id for call in api.calls_to("sendMessage") if call.ok and call.chat_id in wanted
    )


async def sends_reach(api: FakeBotApi, chats: Iterable[int], count: int, since: int) -> None:
    """Wait until `count` messages got through to `chats` since `since`."""
    wanted, seen = set(chats), 0

    def counts(call: ApiCall) -> bool:
        nonlocal seen
        seen += call.ok and call.chat_id in wanted
        return seen >= count

    await api.wait_for_call("sendMessage", counts, since=since, timeout=20)


FINISHED = {"en": "Broadcast finished", "id": "Siaran selesai"}
SENDING = {"en": "Sending ", "id": "Sedang mengirim "}


async def final_report_call(
    coordinator: FakeUser,
    since: int,
    language: str = "en",
    timeout: float = 30,  # noqa: ASYNC109 - a deadline, not cancellation
) -> ApiCall:
    """The call that showed the final report: the report message's last edit."""
    words = FINISHED[language]
    return await coordinator.server.wait_for_call(
        ("editMessageText", "sendMessage"),
        lambda c: c.ok and c.chat_id == coordinator.chat_id and words in c.params["text"],
        since=since,
        timeout=timeout,
    )


async def finished(coordinator: FakeUser, since: int, language: str = "en") -> FakeMessage:
    """The report message once it shows the final report."""
    call = await final_report_call(coordinator, since, language)
    return coordinator.server.message(coordinator.chat_id, call.result["message_id"])


def report_messages(coordinator: FakeUser, language: str = "en") -> list[FakeMessage]:
    """The coordinator's messages that are (or were, before an edit) a broadcast's report."""
    marks = (SENDING[language], FINISHED[language])
    return [
        m
        for m in coordinator.bot_messages()
        if any(mark in text for text in (m.plain_text(), *m.edit_history) for mark in marks)
    ]


async def announce(coordinator: FakeUser, text: str) -> FakeMessage:
    """/announce, then Send under the preview; the preview."""
    await coordinator.send(f"/announce {text}")
    preview = await coordinator.wait_bot_message(lambda m: m.buttons())
    await coordinator.tap(preview, "Send" if coordinator.language_code != "id" else "Kirim")
    return preview


async def broadcast_done(nilai: RunningBot) -> bool:
    """Whether the broadcast is marked done; the sender does that right after the summary, so
    a test that has just seen the summary gives it a moment."""
    for _ in range(100):
        if await nilai.database.fetchval("SELECT status FROM broadcasts") == "done":
            return True
        await asyncio.sleep(0.05)
    return False


async def statuses(nilai: RunningBot) -> dict[str, int]:
    rows = await nilai.database.fetchall("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
    return {row[0]: row[1] for row in rows}


async def test_a_batch_reaches_500_trainers_despite_blocked_chats_and_a_429(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    async with bot_with_rate(api, settings, clock, FAST) as nilai:
        coordinator = await coordinator_of(api)
        ids = range(10_001, 10_501)
        await add_trainers(nilai.database, api, ids)
        blocked = set(ids[7::50])
        for chat_id in blocked:
            api.block(chat_id)
        middle = ids[250]
        api.fail_next("sendMessage", status=429, retry_after=1, chat_id=middle)
        batch_id = await make_batch(nilai.database, "pilot-42")

        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        summary = await finished(coordinator, since)

        got = delivered(api, ids)
        assert set(got) == set(ids) - blocked
        assert set(got.values()) == {1}  # every reachable trainer exactly once
        throttled = [c for c in api.calls_to("sendMessage") if c.error_code == 429]
        assert [c.chat_id for c in throttled] == [middle]
        announcements = [c for c in api.calls_to("sendMessage") if c.chat_id in set(ids)]
        assert not any("allow_paid_broadcast" in c.params for c in announcements)
        english = api.chat_messages(10_001)[-1]
        indonesian = api.chat_messages(10_002)[-1]  # 10_002 speaks Indonesian
        assert "New items to review: pilot-42" in english.plain_text()
        assert "Ada item baru buat dinilai: pilot-42" in indonesian.plain_text()
        assert english.buttons() == [
            [{"text": "▶️ Start reviewing", "callback_data": encode(Action.NEXT)}]
        ]
        assert indonesian.buttons()[0][0]["text"] == "▶️ Mulai menilai"

        assert await statuses(nilai) == {"sent": 490, "blocked": 10}
        unreachable = await nilai.database.fetchall(
            "SELECT user_id FROM trainers WHERE reachable = 0"
        )
        assert {row[0] for row in unreachable} == blocked
        text = summary.plain_text()
        assert "Received: 490 of 500" in text
        assert "Blocked the bot: 10" in text and "Failed: 0" in text
        # One report message: sent when sending starts, edited as it goes, ending as the report.
        assert report_messages(coordinator) == [summary]
        assert summary.edit_history[0].startswith("📣 Sending the announcement of batch")
        await api.wait_idle(quiet=0.2)
        edits = [
            c
            for c in api.calls[since:]
            if c.method == "editMessageText" and c.chat_id == COORDINATOR
        ]
        assert edits and all(c.ok for c in edits)
        assert FINISHED["en"] in edits[-1].params["text"]  # the last edit is the final report
        times = [c.time for c in api.calls[since:] if c.chat_id == COORDINATOR]
        gaps = [later - earlier for earlier, later in pairwise(times)]
        assert min(gaps) >= 0.5  # about once a second, not per message (a chat's limit)
        assert await broadcast_done(nilai)


async def test_the_broadcast_keeps_to_its_rate_and_a_trainer_s_next_is_answered_meanwhile(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    rate, count = 20, 60  # below Telegram's 30/s: the broadcast's own share, not the ceiling
    async with bot_with_rate(api, settings, clock, rate) as nilai:
        coordinator = await coordinator_of(api)
        rina = api.user(2001, "Rina", language_code="en")
        await nilai.onboard(rina)
        ids = range(10_001, 10_001 + count - 1)
        await add_trainers(nilai.database, api, ids)
        batch_id = await make_batch(nilai.database, "pilot", items=3)

        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        await sends_reach(api, ids, rate + 10, since)
        panel = await nilai.next_item(rina)
        left_then = await nilai.count("SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'")
        await finished(coordinator, since)

    assert "Prompt" in panel.plain_text()
    assert left_then > 0  # /next was answered while the broadcast was still going, not after it
    times = sorted(
        call.time
        for call in api.calls_to("sendMessage")
        if call.ok and call.chat_id in set(ids) and call.index >= since
    )
    assert len(times) == len(ids)
    # A leaky bucket: a burst of `rate`, then `rate` a second, never faster.
    span = times[-1] - times[0]
    assert span >= (len(times) - rate) / rate * 0.9
    first = times[0]
    in_second_second = [x for x in times if first + 1.0 <= x < first + 2.0]
    assert len(in_second_second) <= rate + 2


async def test_a_restart_in_the_middle_resumes_without_duplicates_or_misses(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    ids = range(10_001, 10_301)
    async with bot_with_rate(api, settings, clock, 200) as nilai:
        coordinator = await coordinator_of(api)
        await add_trainers(nilai.database, api, ids)
        batch_id = await make_batch(nilai.database, "pilot")
        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        await sends_reach(api, ids, 80, since)

        await nilai.restart()  # SIGTERM and a new start, on the same database
        before = sum(delivered(api, ids).values())
        paused = await statuses(nilai)
        summary = await finished(coordinator, since)

        assert 80 <= before < len(ids)  # it really stopped in the middle
        assert paused.get("sending", 0) == 0 and paused["sent"] == before
        got = delivered(api, ids)
        assert set(got) == set(ids) and set(got.values()) == {1}
        assert await statuses(nilai) == {"sent": 300}
        assert "Received: 300 of 300" in summary.plain_text()
        # The same message, edited on after the restart, ends as the final report.
        assert report_messages(coordinator) == [summary]
        assert any("restarts" in old for old in summary.edit_history)


NOTICE = {
    "en": re.compile(r"stopped abruptly .*\nMay not have received it: (\d+) "),
    "id": re.compile(r"berhenti mendadak .*\nMungkin belum sampai: (\d+) trainer "),
}


def crash_notices(coordinator: FakeUser, language: str) -> list[int]:
    """The counts in the coordinator's "may not have received it" notices, oldest first."""
    found = (NOTICE[language].search(m.plain_text()) for m in coordinator.bot_messages())
    return [int(match.group(1)) for match in found if match]


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_crash_in_the_middle_gives_up_only_the_unconfirmed_sends_and_says_so(
    api: FakeBotApi, settings: Settings, clock: FakeClock, language: str
) -> None:
    ids = range(10_001, 10_121)
    rate = 60  # few enough in flight that a crash leaves most of the 120 to resume
    async with bot_with_rate(api, settings, clock, rate) as nilai:
        coordinator = await coordinator_of(api, language)
        await add_trainers(nilai.database, api, ids)
        batch_id = await make_batch(nilai.database, "pilot")
        api.set_delay("sendMessage", 0.05)
        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        await sends_reach(api, ids, 40, since)
        # The next send is held, so the crash finds at least that one in flight however slow
        # the machine (else a sender waiting on its claim might have none unconfirmed).
        await asyncio.wait_for(api.delay_next("sendMessage", 2.0).wait(), 20)

        # A crash: the sender dies without a word, between its sends and its records.
        (sender,) = [t for t in asyncio.all_tasks() if t.get_name().startswith("broadcast-")]
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        await nilai.restart()
        api.set_delay("sendMessage", 0)
        summary = await finished(coordinator, since, language)

        got = delivered(api, ids)
        assert set(got.values()) == {1}  # nobody twice
        final = await statuses(nilai)
        assert set(final) <= {"sent", "failed"} and sum(final.values()) == len(ids)
        # Given up: only what was claimed and unconfirmed at the crash, a few pages at most.
        assert 1 <= final["failed"] <= 3 * concurrency(rate)
        missed = set(ids) - set(got)
        failed_rows = await nilai.database.fetchall(
            "SELECT trainer_id FROM deliveries WHERE status = 'failed'"
        )
        assert missed <= {row[0] for row in failed_rows}
        # The coordinator is told, in their language, how many may have missed it, and why.
        assert crash_notices(coordinator, language) == [final["failed"]]
        received = {"en": "Received: {} of {}", "id": "Diterima: {} dari {}"}[language]
        assert received.format(final["sent"], len(ids)) in summary.plain_text()
        # The report goes on in the message from before the crash; the notice is the only other.
        assert report_messages(coordinator, language) == [summary]
        assert len(coordinator.bot_messages()) == 3  # /start's welcome, the report, the notice


def retry_after_of(call: ApiCall) -> int:
    found = re.search(r"retry after (\d+)", call.description or "")
    assert found, call
    return int(found.group(1))


async def test_under_telegram_s_flood_limit_every_trainer_gets_the_batch_once_after_429s(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    rate = 20
    api.limit_bulk_messages(rate)  # Telegram's bulk limit; replies to a trainer are not counted
    # BROADCAST_RATE set a little above what Telegram allows: 429s are certain, not a matter of
    # timing (the bot paces its bulk sends evenly, so at exactly the limit they are rare).
    async with bot_with_rate(api, settings, clock, rate + 5) as nilai:
        coordinator = await coordinator_of(api)
        rina = api.user(2001, "Rina", language_code="en")
        await nilai.onboard(rina)
        ids = range(10_001, 10_101)
        await add_trainers(nilai.database, api, ids)
        blocked = set(ids[::50])
        for chat_id in blocked:
            api.block(chat_id)
        batch_id = await make_batch(nilai.database, "pilot", items=3)
        # The bot's budget was just spent (as by the bot before a restart): the broadcast's
        # first burst finds Telegram's bucket empty.
        elsewhere = [api.user(30_001 + n, f"Elsewhere {n}") for n in range(rate)]
        async with api.bot() as earlier:
            for user in elsewhere:
                await earlier.send_message(user.chat_id, "an earlier message")

        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        await sends_reach(api, ids, 40, since)
        panel = await nilai.next_item(rina)  # a trainer reviewing meanwhile is answered
        summary = await finished(coordinator, since)

    got = delivered(api, ids)
    assert set(got) == set(ids) - blocked and set(got.values()) == {1}
    assert "Prompt" in panel.plain_text()
    throttled = [c for c in api.calls[since:] if c.method == "sendMessage" and c.error_code == 429]
    assert throttled  # Telegram said "slow down"...
    for refusal in throttled:  # ...and each refused message waited as long as it was told
        later = [c for c in api.calls[refusal.index + 1 :] if c.chat_id == refusal.chat_id]
        retry = next(c for c in later if c.method == "sendMessage")
        assert retry.time >= refusal.time + retry_after_of(refusal)
    assert not [c for c in throttled if c.chat_id == rina.chat_id]
    assert "Received: 99 of 101" in summary.plain_text() and "Failed: 0" in summary.plain_text()


async def test_paid_broadcasts_carry_allow_paid_broadcast_and_go_beyond_30_a_second(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    api.limit_bulk_messages(30)  # free bulk messages; paid ones have Telegram's 1000 a second
    async with bot_with_rate(api, settings, clock, 300, paid=True) as nilai:
        coordinator = await coordinator_of(api)
        ids = range(10_001, 10_201)
        await add_trainers(nilai.database, api, ids)
        batch_id = await make_batch(nilai.database, "pilot")
        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        summary = await finished(coordinator, since)

    got = delivered(api, ids)
    assert set(got) == set(ids) and set(got.values()) == {1}
    announcements = [c for c in api.calls[since:] if c.chat_id in set(ids)]
    assert announcements and all(c.params["allow_paid_broadcast"] is True for c in announcements)
    assert all(c.error_code != 429 for c in announcements)  # 200 at once: paid, not limited
    to_coordinator = [c for c in api.calls[since:] if c.chat_id == coordinator.chat_id]
    assert not any("allow_paid_broadcast" in c.params for c in to_coordinator)  # not bulk
    assert "Received: 200 of 200" in summary.plain_text()


PROCESS_COORDINATOR = 4242  # the coordinator of tests/test_e2e_process.py's bot process


def output_of(process: asyncio.subprocess.Process) -> Awaitable[list[bytes]]:
    """The process's stdout and stderr, read as it runs (so a full pipe never blocks it)."""
    assert process.stdout is not None and process.stderr is not None
    return asyncio.gather(process.stdout.read(), process.stderr.read())


async def test_a_bot_process_killed_mid_broadcast_sends_nobody_twice_and_reports_the_doubtful(
    api: FakeBotApi, tmp_path: Path
) -> None:
    ids = range(10_001, 10_151)
    database = await Database.open(tmp_path / "data" / "nilai.db")
    try:
        await add_trainers(database, api, ids)
    finally:
        await database.close()
    coordinator = api.user(PROCESS_COORDINATOR, "Boss", language_code="en")

    process = await start_bot_process(api, tmp_path)
    logs = [output_of(process)]
    try:
        await coordinator.send("/start")
        await coordinator.wait_bot_message(timeout=30)
        since = api.mark()
        await announce(coordinator, "Rapat jam 3, jangan telat!")
        await sends_reach(api, ids, 50, since)
        process.send_signal(signal.SIGKILL)  # no goodbye: the sends in flight stay in doubt
        await process.wait()
        at_kill = sum(delivered(api, ids).values())

        restart = api.mark()
        process = await start_bot_process(api, tmp_path)
        logs.append(output_of(process))
        summary = coordinator.server.message(
            coordinator.chat_id,
            (await final_report_call(coordinator, restart, timeout=60)).result["message_id"],
        )
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = b"".join(b"".join(pair) for pair in await asyncio.gather(*logs)).decode()
    assert "Traceback" not in output

    got = delivered(api, ids)
    assert 50 <= at_kill < len(ids)  # it really died in the middle
    assert set(got.values()) == {1}  # nobody twice
    with sqlite3.connect(tmp_path / "data" / "nilai.db") as conn:
        final = dict(conn.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status"))
        failed = {
            row[0]
            for row in conn.execute("SELECT trainer_id FROM deliveries WHERE status = 'failed'")
        }
    assert set(final) <= {"sent", "failed"} and sum(final.values()) == len(ids)
    assert set(ids) - set(got) <= failed  # the misses are among the sends given up
    (told,) = crash_notices(coordinator, "en")
    assert told == len(failed) >= 1  # a crash mid-broadcast leaves some in doubt, and says so
    assert told <= 2 * concurrency(30)  # the few in flight and around them, not the rest
    assert f"Received: {final['sent']} of {len(ids)}" in summary.plain_text()


async def test_announce_sends_the_coordinator_s_words_escaped_in_each_trainer_s_language(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    async with bot_with_rate(api, settings, clock, FAST) as nilai:
        coordinator = await coordinator_of(api)
        await add_trainers(
            nilai.database, api, [10_001, 10_002, 10_003]
        )  # 10_002 speaks Indonesian
        since = api.mark()
        await announce(coordinator, "Rapat jam 3 <b>penting</b> & {jangan} telat\nBaris dua")
        summary = await finished(coordinator, since)

        english, indonesian = api.chat_messages(10_001)[-1], api.chat_messages(10_002)[-1]
        words = "Rapat jam 3 <b>penting</b> & {jangan} telat\nBaris dua"
        assert english.plain_text() == f"📣 Message from your coordinator\n{words}"
        assert indonesian.plain_text() == f"📣 Pesan dari koordinatormu\n{words}"
        assert english.buttons() == []
        assert set(delivered(api, [10_001, 10_002, 10_003]).values()) == {1}
        assert "Received: 3 of 3" in summary.plain_text()
        assert report_messages(coordinator) == [summary]


async def test_announce_needs_words_and_a_coordinator(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    async with bot_with_rate(api, settings, clock, FAST) as nilai:
        coordinator = await coordinator_of(api)
        rina = api.user(2001, "Rina", language_code="id")
        await nilai.onboard(rina)
        budi = api.user(2002, "Budi", language_code="en")
        await nilai.onboard(budi)

        await coordinator.send("/announce   ")
        usage = await coordinator.wait_bot_message()
        assert "/announce New batch today" in usage.plain_text()

        since = api.mark()
        await rina.send("/announce Libur besok, semua!")
        refusal = await rina.wait_bot_message()
        assert "koordinator" in refusal.plain_text()
        await api.wait_idle(quiet=0.1)
        assert await nilai.count("SELECT COUNT(*) FROM broadcasts") == 0
        assert [
            c for c in api.calls[since:] if c.method == "sendMessage" and c.chat_id != 2001
        ] == []


async def test_announcing_to_nobody_says_so(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    async with bot_with_rate(api, settings, clock, FAST) as nilai:
        coordinator = await coordinator_of(api)
        await coordinator.send("/announce Halo?")
        reply = await coordinator.wait_bot_message()
        assert "no active trainer" in reply.plain_text()
        assert reply.buttons() == []  # nothing to send, so nothing is kept or offered
        await api.wait_idle(quiet=0.1)
        assert await nilai.count("SELECT COUNT(*) FROM broadcasts") == 0
        assert await nilai.count("SELECT COUNT(*) FROM announcement_drafts") == 0


async def test_start_reviewing_in_an_announcement_shows_an_item(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    async with bot_with_rate(api, settings, clock, FAST) as nilai:
        coordinator = await coordinator_of(api)
        rina = api.user(2001, "Rina", language_code="en")
        await nilai.onboard(rina)
        batch_id = await make_batch(nilai.database, "pilot", items=2)
        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        announcement = await rina.wait_bot_message(since=since)
        await finished(coordinator, since)

        since = api.mark()
        await rina.tap(announcement, "Start reviewing")
        panel = await nilai.wait_panel(rina, since)
        assert "pilot" in panel.plain_text() and "Prompt 1" in panel.plain_text()

        # Opening the same batch again does not announce it twice.
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        await api.wait_idle(quiet=0.1)
        assert [m for m in rina.bot_messages() if "New items" in m.plain_text()] == [announcement]
