"""Broadcasts end to end: a coordinator announces a batch or a message to hundreds of trainers,
some of whom blocked the bot, Telegram says "slow down" once, and the bot restarts or crashes
in the middle, yet every reachable trainer gets the message exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace

from bot.config import Settings
from handlers.broadcasts import concurrency, start_batch_broadcast
from handlers.callback_data import Action, encode
from storage import trainers
from tests.conftest import FakeClock
from tests.e2e import RunningBot
from tests.factories import NOW, make_batch
from tests.fakebot import ApiCall, FakeBotApi, FakeMessage, FakeUser

COORDINATOR = 9000
FAST = 1000  # messages a second: the fake Bot API has no flood limit, the tests stay short


@asynccontextmanager
async def bot_with_rate(
    api: FakeBotApi, settings: Settings, clock: FakeClock, rate: int
) -> AsyncIterator[RunningBot]:
    nilai = RunningBot(api, replace(settings, broadcast_rate=rate), clock)
    await nilai.start()
    try:
        yield nilai
    finally:
        await nilai.stop()


async def coordinator_of(api: FakeBotApi) -> FakeUser:
    coordinator = api.user(COORDINATOR, "Sari", language_code="en")
    await coordinator.send("/start")
    await coordinator.wait_bot_message()
    return coordinator


async def add_trainers(nilai: RunningBot, api: FakeBotApi, ids: Iterable[int]) -> None:
    """Registered trainers with chats in the fake, every third one speaking Indonesian."""
    for user_id in ids:
        language = "id" if user_id % 3 == 0 else "en"
        api.user(user_id, f"Trainer {user_id}", language_code=language)
        await trainers.insert_trainer(
            nilai.database,
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


async def finished(coordinator: FakeUser, since: int) -> FakeMessage:
    return await coordinator.wait_bot_message(
        lambda m: "Broadcast finished" in m.plain_text(), since=since, timeout=30
    )


def progress_messages(coordinator: FakeUser) -> list[FakeMessage]:
    return [m for m in coordinator.bot_messages() if "sending" in m.plain_text().lower()]


async def statuses(nilai: RunningBot) -> dict[str, int]:
    rows = await nilai.database.fetchall("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
    return {row[0]: row[1] for row in rows}


async def test_a_batch_reaches_500_trainers_despite_blocked_chats_and_a_429(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    async with bot_with_rate(api, settings, clock, FAST) as nilai:
        coordinator = await coordinator_of(api)
        ids = range(10_001, 10_501)
        await add_trainers(nilai, api, ids)
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
        english = api.chat_messages(10_001)[-1]
        indonesian = api.chat_messages(10_002)[-1]  # 10_002 speaks Indonesian
        assert "New items to review: pilot-42" in english.plain_text()
        assert "Ada item baru untuk dinilai: pilot-42" in indonesian.plain_text()
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
        (progress,) = progress_messages(coordinator)
        assert "Finished sending" in progress.plain_text()
        assert "sent 490 · 🚫 blocked 10 · ⚠️ failed 0 · ⏳ left 0" in progress.plain_text()
        edits = [
            c for c in api.calls_to("editMessageText") if c.chat_id == coordinator.chat_id and c.ok
        ]
        elapsed = summary_time(api, summary) - api.calls[since].time
        assert 1 <= len(edits) <= elapsed / 1.0 + 2  # about once a second, not per message
        assert await nilai.database.fetchval("SELECT status FROM broadcasts") == "done"


def summary_time(api: FakeBotApi, summary: FakeMessage) -> float:
    return next(
        call.time
        for call in api.calls_to("sendMessage")
        if call.ok
        and call.result["message_id"] == summary.message_id
        and call.chat_id == summary.chat_id
    )


async def test_the_broadcast_keeps_to_its_rate_and_a_trainer_s_next_is_answered_meanwhile(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    rate, count = 20, 60  # below Telegram's 30/s: the broadcast's own share, not the ceiling
    async with bot_with_rate(api, settings, clock, rate) as nilai:
        coordinator = await coordinator_of(api)
        rina = api.user(2001, "Rina", language_code="en")
        await nilai.onboard(rina)
        ids = range(10_001, 10_001 + count - 1)
        await add_trainers(nilai, api, ids)
        batch_id = await make_batch(nilai.database, "pilot", items=3)

        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        await sends_reach(api, ids, rate + 10, since)
        asked = asyncio.get_running_loop().time()
        panel = await nilai.next_item(rina)
        answered_in = asyncio.get_running_loop().time() - asked
        left_then = await nilai.count("SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'")
        await finished(coordinator, since)

    assert "Prompt" in panel.plain_text()
    assert answered_in < 1.0, f"/next took {answered_in:.2f} s during the broadcast"
    assert left_then > 0  # the broadcast was still going when /next was answered
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
        await add_trainers(nilai, api, ids)
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
        (progress,) = progress_messages(coordinator)  # the same message, edited on after restart
        assert any("restarts" in old for old in progress.edit_history)
        assert "left 0" in progress.plain_text()


async def test_a_crash_in_the_middle_gives_up_only_the_unconfirmed_sends(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    ids = range(10_001, 10_121)
    rate = 60  # few enough in flight that a crash leaves most of the 120 to resume
    async with bot_with_rate(api, settings, clock, rate) as nilai:
        coordinator = await coordinator_of(api)
        await add_trainers(nilai, api, ids)
        batch_id = await make_batch(nilai.database, "pilot")
        api.set_delay("sendMessage", 0.05)
        since = api.mark()
        await start_batch_broadcast(nilai.app, batch_id, COORDINATOR, coordinator.chat_id)
        await sends_reach(api, ids, 40, since)

        # A crash: the sender dies without a word, between its sends and its records.
        (sender,) = [t for t in asyncio.all_tasks() if t.get_name().startswith("broadcast-")]
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        await nilai.restart()
        api.set_delay("sendMessage", 0)
        summary = await finished(coordinator, since)

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
        assert f"Received: {final['sent']} of {len(ids)}" in summary.plain_text()


async def test_announce_sends_the_coordinator_s_words_escaped_in_each_trainer_s_language(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    async with bot_with_rate(api, settings, clock, FAST) as nilai:
        coordinator = await coordinator_of(api)
        await add_trainers(nilai, api, [10_001, 10_002, 10_003])  # 10_002 speaks Indonesian
        since = api.mark()
        await coordinator.send("/announce Rapat jam 3 <b>penting</b> & {jangan} telat\nBaris dua")
        summary = await finished(coordinator, since)

        english, indonesian = api.chat_messages(10_001)[-1], api.chat_messages(10_002)[-1]
        words = "Rapat jam 3 <b>penting</b> & {jangan} telat\nBaris dua"
        assert english.plain_text() == f"📣 Message from your coordinator\n{words}"
        assert indonesian.plain_text() == f"📣 Pesan dari koordinatormu\n{words}"
        assert english.buttons() == []
        assert set(delivered(api, [10_001, 10_002, 10_003]).values()) == {1}
        assert "Received: 3 of 3" in summary.plain_text()
        assert len(progress_messages(coordinator)) == 1


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
        await api.wait_idle(quiet=0.1)
        assert await nilai.database.fetchval("SELECT status FROM broadcasts") == "done"


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
