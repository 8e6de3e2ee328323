"""The daily sends end to end: the per-minute job of the real Application decides reminders and
summaries at their local time in WIB, WITA, WIT and a zone with daylight saving, sends them
through the real message functions to the fake Bot API, and never twice: not across a restart,
not after REMINDER_TIME changes, not after a crash (what a crash cut off is counted as lost and
never resent). Catch-up is once, the same local day only, and never inside quiet hours; paused,
removed, unreachable and opted-out trainers get nothing; a 403 marks its trainer unreachable
while the others get theirs.

The job is paused in each bot and run by hand (`job.run`), with the FakeClock set to the moment
wanted, so no test waits for a real minute."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.clock import stamp
from bot.config import Settings
from handlers.callback_data import Action, encode
from handlers.context import SERVICES_KEY
from handlers.scheduled import JOB_NAME, DailySends
from storage import daily_sends as store
from storage import trainers
from storage.database import Database
from tests.conftest import FakeClock
from tests.daily_days import add_reviews
from tests.e2e import RunningBot, answered
from tests.factories import make_batch
from tests.fakebot import FakeBotApi

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
AMSTERDAM = "Europe/Amsterdam"
DAY = "2026-12-01"
START = datetime(2026, 12, 1, 9, 59, 30, tzinfo=UTC)  # 16:59:30 WIB, 18:59:30 WIT
NEXT = encode(Action.NEXT)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def wib(hour: int, minute: int = 0, second: int = 10, day: int = 1) -> datetime:
    """A moment on the Jakarta clock (UTC+7), in December 2026."""
    return utc(2026, 12, day, 0, 0) + timedelta(hours=hour - 7, minutes=minute, seconds=second)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@asynccontextmanager
async def bot_with(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    """A bot of its own (e.g. with other times), its per-minute job paused."""
    nilai = RunningBot(api, settings, clock)
    await started(nilai)
    try:
        yield nilai
    finally:
        await nilai.stop()


async def started(nilai: RunningBot) -> RunningBot:
    if nilai.app is None:
        await nilai.start()
    [job] = nilai.app.job_queue.get_jobs_by_name(JOB_NAME)
    job.enabled = False  # run by hand: `check`
    return nilai


async def restart(nilai: RunningBot) -> None:
    await nilai.stop()
    await started(nilai)


async def check_at(nilai: RunningBot, moment: datetime) -> None:
    """The per-minute job run at `moment`, and every send it decided made."""
    nilai.clock.now = moment
    [job] = nilai.app.job_queue.get_jobs_by_name(JOB_NAME)
    await job.run(nilai.app)
    await settle(nilai)


async def settle(nilai: RunningBot) -> None:
    """Until nothing decided waits and no sender runs (also the one a start launches)."""
    engine = DailySends.of(nilai.app)
    for _ in range(1000):
        await engine.wait_idle()
        if not await store.has_due(nilai.database) and not await sending(nilai):
            await engine.wait_idle()
            return
        await asyncio.sleep(0.01)
    raise AssertionError("daily sends still waiting")


async def sending(nilai: RunningBot) -> int:
    return await nilai.count("SELECT COUNT(*) FROM daily_sends WHERE status = 'sending'")


async def add_trainers(
    nilai: RunningBot, api: FakeBotApi, ids: Iterable[int], zone: str | None = None
) -> list[int]:
    """Registered trainers (English, a chat in the fake), in `zone` if given."""
    made = []
    for user_id in ids:
        api.user(user_id, f"Trainer {user_id}", language_code="en")
        await trainers.insert_trainer(
            nilai.database,
            user_id=user_id,
            chat_id=user_id,
            name=f"Trainer {user_id}",
            username=None,
            language="en",
            role="trainer",
            invite_code=None,
            now=stamp(nilai.clock()),
        )
        if zone is not None:
            await trainers.set_timezone(nilai.database, user_id, zone)
        made.append(user_id)
    return made


async def with_work(nilai: RunningBot) -> None:
    """Something to review, so reminders have a reason to go out."""
    await make_batch(nilai.database, "work", items=30, overlap=3)


def reminders_to(api: FakeBotApi, chats: Iterable[int], since: int = 0) -> Counter[int]:
    """Reminders (messages with the "Start reviewing" button) that reached each chat."""
    wanted = set(chats)
    return Counter(
        call.chat_id
        for call in api.calls[since:]
        if call.method == "sendMessage"
        and call.ok
        and call.chat_id in wanted
        and NEXT in str(call.params.get("reply_markup"))
    )


def messages_to(api: FakeBotApi, chats: Iterable[int], since: int = 0) -> Counter[int]:
    wanted = set(chats)
    return Counter(
        call.chat_id
        for call in api.calls[since:]
        if call.method == "sendMessage" and call.ok and call.chat_id in wanted
    )


async def statuses(nilai: RunningBot, kind: str = "reminder", day: str = DAY) -> dict[str, int]:
    return await store.counts_by_status(nilai.database, kind, day)


async def test_each_zone_gets_its_reminder_at_its_own_seven_in_the_evening(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    await with_work(nilai)
    zones = {WIT: 301, WITA: 302, WIB: 303, AMSTERDAM: 304}
    for zone, user_id in zones.items():
        await add_trainers(nilai, api, [user_id], None if zone == WIB else zone)
    everyone = zones.values()
    expected: Counter[int] = Counter()
    # 19:00 in Jayapura, Makassar, Jakarta (10, 11, 12 UTC), then Amsterdam (18 UTC, CET).
    for zone, moment in ((WIT, utc(2026, 12, 1, 10, 0, 20)), (WITA, utc(2026, 12, 1, 11, 0, 20))):
        await check_at(nilai, moment - timedelta(minutes=1))
        assert reminders_to(api, everyone) == expected  # not a minute early
        await check_at(nilai, moment)
        expected[zones[zone]] += 1
        assert reminders_to(api, everyone) == expected
    await check_at(nilai, wib(19, 0, 30))
    expected[zones[WIB]] += 1
    await check_at(nilai, utc(2026, 12, 1, 18, 0, 15))
    expected[zones[AMSTERDAM]] += 1
    assert reminders_to(api, everyone) == expected
    await check_at(nilai, utc(2026, 12, 1, 18, 1, 15))  # the next minute brings nothing more
    assert reminders_to(api, everyone) == expected
    assert await statuses(nilai) == {"sent": 4}


async def test_daylight_saving_moves_the_utc_moment_not_the_local_time(
    api: FakeBotApi, settings: Settings
) -> None:
    """Amsterdam leaves summer time on 2026-10-25: 19:00 is 17:00 UTC the day before, 18:00
    UTC that day."""
    clock = FakeClock(utc(2026, 10, 24, 16, 0))
    async with bot_with(api, settings, clock) as nilai:
        await with_work(nilai)
        [user] = await add_trainers(nilai, api, [311], AMSTERDAM)
        await check_at(nilai, utc(2026, 10, 24, 17, 0, 5))
        assert reminders_to(api, [user]) == {user: 1}
        await check_at(nilai, utc(2026, 10, 25, 17, 0, 5))  # 18:00 local now: not yet
        assert reminders_to(api, [user]) == {user: 1}
        await check_at(nilai, utc(2026, 10, 25, 18, 0, 5))
        assert reminders_to(api, [user]) == {user: 2}
        assert await statuses(nilai, day="2026-10-25") == {"sent": 1}


async def test_a_reminder_button_leads_to_an_item(api: FakeBotApi, nilai: RunningBot) -> None:
    await started(nilai)
    await with_work(nilai)
    user = api.user(321, "Sari", language_code="en")
    await nilai.onboard(user)
    since = api.mark()
    await check_at(nilai, wib(19))
    reminder = await user.wait_bot_message(lambda m: NEXT in str(m.buttons()), since=since)
    assert reminders_to(api, [user.chat_id], since) == {user.chat_id: 1}
    since = api.mark()
    update = await user.tap(reminder, data=NEXT)
    panel = await nilai.wait_panel(user, since)
    assert await answered(api, update) == ""
    assert "Answer" in panel.plain_text()


async def test_no_second_reminder_after_a_restart_or_a_changed_reminder_time(
    api: FakeBotApi, nilai: RunningBot, settings: Settings, clock: FakeClock
) -> None:
    await started(nilai)
    await with_work(nilai)
    people = await add_trainers(nilai, api, range(331, 336))
    await check_at(nilai, wib(19, 0, 5))
    assert reminders_to(api, people) == dict.fromkeys(people, 1)
    await restart(nilai)
    await check_at(nilai, wib(19, 0, 40))  # the same minute again, after a restart
    await nilai.stop()
    later = replace(settings, reminder_time=time(19, 30))
    async with bot_with(api, later, clock) as moved:
        await check_at(moved, wib(19, 30, 5))
        assert reminders_to(api, people) == dict.fromkeys(people, 1)
        await check_at(moved, wib(19, 30, 5, day=2))  # the next day at the new time
        assert reminders_to(api, people) == dict.fromkeys(people, 2)


async def test_a_missed_reminder_is_caught_up_once_the_same_day_and_never_the_next(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    await with_work(nilai)
    people = await add_trainers(nilai, api, range(341, 344))
    await check_at(nilai, wib(18, 30))
    await nilai.stop()  # down at 19:00
    nilai.clock.now = wib(20, 15)
    await started(nilai)
    await check_at(nilai, wib(20, 15))
    assert reminders_to(api, people) == dict.fromkeys(people, 1)
    await check_at(nilai, wib(20, 16))
    assert reminders_to(api, people) == dict.fromkeys(people, 1)

    await check_at(nilai, wib(18, 30, day=2))
    await nilai.stop()  # down over the second evening, back the next morning
    nilai.clock.now = wib(8, 0, day=3)
    await started(nilai)
    await check_at(nilai, wib(8, 0, day=3))
    assert reminders_to(api, people) == dict.fromkeys(people, 1)
    await check_at(nilai, wib(19, 0, day=3))  # that day's own comes as usual
    assert reminders_to(api, people) == dict.fromkeys(people, 2)


async def test_quiet_hours_skip_a_time_inside_them_and_a_catch_up_falling_in_them(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    late = replace(settings, reminder_time=time(22, 0))
    async with bot_with(api, late, clock) as nilai:
        await with_work(nilai)
        people = await add_trainers(nilai, api, [351, 352])
        await check_at(nilai, wib(22, 0, 5))
        assert reminders_to(api, people) == {}
        assert await statuses(nilai) == {}  # nothing recorded either
    async with bot_with(api, settings, clock) as nilai:  # 19:00 again
        await check_at(nilai, wib(18, 0, day=2))
        await nilai.stop()
        nilai.clock.now = wib(21, 45, day=2)  # back after 19:00, inside quiet hours
        await started(nilai)
        await check_at(nilai, wib(21, 45, day=2))
        assert reminders_to(api, people) == {}
        assert await statuses(nilai, day="2026-12-02") == {}


async def test_paused_removed_unreachable_and_opted_out_trainers_get_no_reminder(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    await with_work(nilai)
    active, paused, removed, unreachable = await add_trainers(nilai, api, range(361, 365))
    db = nilai.database
    await db.execute("UPDATE trainers SET status = 'paused' WHERE user_id = ?", (paused,))
    await db.execute("UPDATE trainers SET status = 'blocked' WHERE user_id = ?", (removed,))
    await trainers.set_reachable(db, unreachable, False)
    user = api.user(365, "Dewi", language_code="id")
    await nilai.onboard(user)
    await user.send("/reminders off")
    await user.wait_bot_message()
    everyone = [active, paused, removed, unreachable, user.chat_id]
    await check_at(nilai, wib(19))
    assert reminders_to(api, everyone) == {active: 1}
    await user.send("/reminders on")
    await user.wait_bot_message()
    await check_at(nilai, wib(19, day=2))
    assert reminders_to(api, everyone) == {active: 2, user.chat_id: 1}


async def test_a_trainer_who_joins_or_moves_zone_after_the_time_gets_it_the_next_day(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    await with_work(nilai)
    [mover] = await add_trainers(nilai, api, [371], AMSTERDAM)  # 19:00 there is 01:00 WIB
    await check_at(nilai, wib(19, 0))
    nilai.clock.now = wib(19, 30)
    newcomer = api.user(372, "Ayu", language_code="en")
    await nilai.onboard(newcomer)
    await trainers.set_timezone(nilai.database, mover, WIB)  # WIB's 19:00 has passed
    await check_at(nilai, wib(19, 31))
    await check_at(nilai, wib(23, 59))
    chats = [mover, newcomer.chat_id]
    assert reminders_to(api, chats) == {}
    await check_at(nilai, wib(19, 0, day=2))
    assert reminders_to(api, chats) == {mover: 1, newcomer.chat_id: 1}


async def test_a_403_marks_the_trainer_unreachable_and_the_others_get_theirs(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    await with_work(nilai)
    people = await add_trainers(nilai, api, range(381, 391))
    api.block(385)
    await check_at(nilai, wib(19))
    assert reminders_to(api, people) == {p: 1 for p in people if p != 385}
    assert await statuses(nilai) == {"sent": 9, "blocked": 1}
    assert not (await trainers.get_trainer(nilai.database, 385)).reachable
    api.unblock(385)
    await check_at(nilai, wib(19, day=2))  # unreachable now: not even tried
    assert reminders_to(api, [385]) == {}


async def test_a_summary_comes_once_to_those_who_reviewed_that_day(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    reviewed, idle = await add_trainers(nilai, api, [391, 392])
    await add_reviews(nilai.database, reviewed, [wib(9), wib(10)], "morning")
    await check_at(nilai, wib(20, 59))
    since = api.mark()
    await check_at(nilai, wib(21, 0, 5))
    assert messages_to(api, [reviewed, idle], since) == {reviewed: 1}
    [summary] = [
        c for c in api.calls[since:] if c.method == "sendMessage" and c.chat_id == reviewed
    ]
    assert "2" in summary.params["text"]
    await restart(nilai)
    await check_at(nilai, wib(21, 1))
    assert messages_to(api, [reviewed, idle], since) == {reviewed: 1}
    assert await statuses(nilai, "summary") == {"sent": 1}


async def test_a_crash_mid_send_loses_those_sends_counts_them_and_never_resends(
    api: FakeBotApi, nilai: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    await started(nilai)
    await with_work(nilai)
    people = await add_trainers(nilai, api, range(401, 406))
    await check_at(nilai, wib(18, 59))
    nilai.clock.now = wib(19)
    await DailySends.of(nilai.app).decisions.check(nilai.clock())  # decided, not sent yet
    await nilai.stop()
    # As a kill -9 in the middle of a page leaves it: two claimed, three still due.
    await on_database(
        nilai.settings, "UPDATE daily_sends SET status = 'sending' WHERE trainer_id < 403"
    )
    caplog.set_level(logging.WARNING, logger="handlers.scheduled")
    await started(nilai)
    await settle(nilai)
    assert "2 daily messages may have been lost in a crash" in caplog.text
    assert reminders_to(api, people) == {403: 1, 404: 1, 405: 1}
    assert await statuses(nilai) == {"lost": 2, "sent": 3}
    await check_at(nilai, wib(19, 5))
    assert reminders_to(api, people) == {403: 1, 404: 1, 405: 1}


async def test_a_clean_stop_mid_send_leaves_nothing_sending_and_a_restart_sends_the_rest(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    slow = replace(settings, broadcast_rate=20)
    async with bot_with(api, slow, clock) as nilai:
        await with_work(nilai)
        people = await add_trainers(nilai, api, range(411, 451))
        await check_at(nilai, wib(18, 59))
        nilai.clock.now = wib(19)
        [job] = nilai.app.job_queue.get_jobs_by_name(JOB_NAME)
        since = api.mark()
        await job.run(nilai.app)
        await api.wait_for_call("sendMessage", lambda c: c.chat_id in people, since=since)
        await nilai.stop()  # about 2 s of sends at 20/s: stopped in the middle
        assert (
            await on_database(slow, "SELECT COUNT(*) FROM daily_sends WHERE status = 'sending'")
            == 0
        )
        first = reminders_to(api, people)
        assert 0 < len(first) < len(people)
        await started(nilai)
        await settle(nilai)
        assert reminders_to(api, people) == dict.fromkeys(people, 1)


async def on_database(settings: Settings, sql: str) -> int:
    """One statement on the database of a stopped bot: the value read, or the rows changed."""
    db = await Database.open(settings.database_path)
    try:
        if sql.startswith("SELECT"):
            return await db.fetchval(sql)
        return await db.execute(sql)
    finally:
        await db.close()


def calls_to(api: FakeBotApi, method: str, chat: int, since: int = 0) -> int:
    return sum(1 for c in api.calls[since:] if c.method == method and c.ok and c.chat_id == chat)


async def test_every_coordinator_gets_the_report_once_at_report_time_in_timezone(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    boss = api.user(9000, "Boss", language_code="en")
    await boss.send("/start")
    await boss.wait_bot_message()
    # The coordinator lives in Jayapura: the report still comes at 21:00 in TIMEZONE (WIB).
    await trainers.set_timezone(nilai.database, boss.user_id, WIT)
    [worker] = await add_trainers(nilai, api, [421])
    await add_reviews(nilai.database, worker, [wib(9), wib(10), wib(11)], "day")
    await check_at(nilai, wib(20, 59))
    since = api.mark()
    await check_at(nilai, wib(21, 0, 5))
    assert calls_to(api, "sendPhoto", boss.chat_id, since) == 1
    [report] = [c for c in api.calls[since:] if c.method == "sendMessage" and c.chat_id == 9000]
    assert "Trainer 421" in report.params["text"] and "CSV" in str(report.params["reply_markup"])
    await restart(nilai)
    await check_at(nilai, wib(21, 1))
    assert calls_to(api, "sendPhoto", boss.chat_id, since) == 1
    assert await statuses(nilai, "report") == {"sent": 1}


async def test_a_trainers_next_item_does_not_wait_behind_reminders_going_out(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    """Reminders are bulk sends, paced at BROADCAST_RATE; a trainer's /next is answered at once."""
    slow = replace(settings, broadcast_rate=20)
    async with bot_with(api, slow, clock) as nilai:
        await with_work(nilai)
        reader = api.user(460, "Rina", language_code="en")
        await nilai.onboard(reader)
        people = await add_trainers(nilai, api, range(461, 521))  # 3 s of sends at 20/s
        await check_at(nilai, wib(18, 59))
        nilai.clock.now = wib(19)
        [job] = nilai.app.job_queue.get_jobs_by_name(JOB_NAME)
        since = api.mark()
        await job.run(nilai.app)
        await api.wait_for_call("sendMessage", lambda c: c.chat_id in people, since=since)
        await nilai.next_item(reader)
        assert sum(reminders_to(api, people).values()) < len(people)  # still sending
        await settle(nilai)
        assert reminders_to(api, people) == dict.fromkeys(people, 1)


async def decide_only(nilai: RunningBot, moment: datetime) -> None:
    """The decisions of a check at `moment`, without sending them yet."""
    nilai.clock.now = moment
    await DailySends.of(nilai.app).decisions.check(moment)


async def send_decided(nilai: RunningBot, moment: datetime) -> None:
    """The sender started at `moment` on what was decided, until it is done."""
    nilai.clock.now = moment
    DailySends.of(nilai.app).launch()
    await settle(nilai)


async def test_a_reminder_decided_before_reminders_off_or_a_promotion_is_not_sent(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    await with_work(nilai)
    keen, opted_out, promoted = await add_trainers(nilai, api, [531, 532, 533])
    await check_at(nilai, wib(18, 59))
    await decide_only(nilai, wib(19))
    db = nilai.database
    await db.execute("UPDATE trainers SET reminders = 0 WHERE user_id = ?", (opted_out,))
    await db.execute("UPDATE trainers SET role = 'coordinator' WHERE user_id = ?", (promoted,))
    await send_decided(nilai, wib(19, 0, 30))
    assert reminders_to(api, [keen, opted_out, promoted]) == {keen: 1}
    assert await statuses(nilai) == {"sent": 1, "skipped": 2}


async def test_summaries_decided_before_quiet_hours_go_out_to_the_end_of_their_burst(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    """SUMMARY_TIME=21:25: a burst still going at 21:31 is not cut off by quiet hours, which
    were checked at the scheduled time."""
    late = replace(settings, summary_time=time(21, 25))
    async with bot_with(api, late, clock) as nilai:
        people = await add_trainers(nilai, api, [541, 542])
        for person in people:
            await add_reviews(nilai.database, person, [wib(9)], f"morning {person}")
        await check_at(nilai, wib(21, 24))
        await decide_only(nilai, wib(21, 25, 5))
        await send_decided(nilai, wib(21, 31))
        assert messages_to(api, people) == dict.fromkeys(people, 1)
        assert await statuses(nilai, "summary") == {"sent": 2}


async def test_summaries_resumed_after_a_restart_inside_quiet_hours_are_not_sent(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    late = replace(settings, summary_time=time(21, 25))
    async with bot_with(api, late, clock) as nilai:
        people = await add_trainers(nilai, api, [551, 552])
        for person in people:
            await add_reviews(nilai.database, person, [wib(9)], f"morning {person}")
        await check_at(nilai, wib(21, 24))
        await decide_only(nilai, wib(21, 25, 5))
        await nilai.stop()  # a clean stop before the sender took them
        nilai.clock.now = wib(21, 50)  # back 25 minutes later, inside quiet hours
        await started(nilai)
        await settle(nilai)
        assert messages_to(api, people) == {}
        assert await statuses(nilai, "summary") == {"skipped": 2}


async def test_a_reminder_resumed_later_that_day_reads_the_trainers_day_as_it_is_then(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    """At 19:00 the only item is leased by someone else (no work for this trainer); the bot
    stops before sending and comes back at 19:45, after that lease ended: the reminder goes
    out, judged at 19:45 rather than at the moment it was decided."""
    await started(nilai)
    await make_batch(nilai.database, "one", items=1, overlap=1)
    waiting, holder = await add_trainers(nilai, api, [561, 562])
    await check_at(nilai, wib(18, 59))
    services = nilai.app.bot_data[SERVICES_KEY]
    nilai.clock.now = wib(19)
    view, _ = await services.review.next_item(await services.onboarding.trainer(holder))
    assert view is not None  # holder's lease runs to 19:30
    await decide_only(nilai, wib(19, 0, 5))
    await nilai.stop()
    nilai.clock.now = wib(19, 45)
    await started(nilai)
    await settle(nilai)
    assert reminders_to(api, [waiting]) == {waiting: 1}


async def test_the_prune_job_forgets_finished_daily_sends_of_more_than_a_week_ago(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await started(nilai)
    people = await add_trainers(nilai, api, [571, 572])
    for person, decided in zip(people, (wib(19, day=1) - timedelta(days=9), wib(19)), strict=True):
        await nilai.database.execute(
            "INSERT INTO daily_sends (kind, trainer_id, local_date, status, decided_at)"
            " VALUES ('reminder', ?, ?, 'sent', ?)",
            (person, decided.date().isoformat(), stamp(decided)),
        )
    nilai.clock.now = wib(20)
    [job] = nilai.app.job_queue.get_jobs_by_name("prune-update-log")
    await job.run(nilai.app)
    assert await nilai.count("SELECT trainer_id FROM daily_sends") == 572


async def test_a_time_inside_quiet_hours_is_a_warning_at_start(
    api: FakeBotApi, settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="handlers.scheduled")
    late = replace(settings, reminder_time=time(22, 0), summary_time=time(6, 0))
    async with bot_with(api, late, clock):
        pass
    [line] = [r.getMessage() for r in caplog.records if "QUIET_HOURS" in r.getMessage()]
    assert "REMINDER_TIME and SUMMARY_TIME inside QUIET_HOURS" in line


async def test_empty_summary_and_report_times_send_neither(
    api: FakeBotApi, settings: Settings, clock: FakeClock
) -> None:
    off = replace(settings, summary_time=None, report_time=None)
    async with bot_with(api, off, clock) as nilai:
        boss = api.user(9000, "Boss", language_code="en")
        await boss.send("/start")
        await boss.wait_bot_message()
        [worker] = await add_trainers(nilai, api, [581])
        await add_reviews(nilai.database, worker, [wib(9)], "day")
        await check_at(nilai, wib(20, 59))
        since = api.mark()
        await check_at(nilai, wib(21, 0, 5))
        assert messages_to(api, [worker, boss.chat_id], since) == {}
        assert await nilai.count("SELECT COUNT(*) FROM daily_sends WHERE kind != 'reminder'") == 0
