"""The daily-send decisions (bot/daily_sends.py) and their records (storage/daily_sends.py):
what is due when in WIB, WITA, WIT and a zone with daylight saving, quiet hours, catch-up only
on the same local day, who qualifies, and that nothing is ever decided twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.clock import stamp
from bot.config import Settings
from bot.daily_sends import (
    DailyDecisions,
    DailySendService,
    Kind,
    Schedule,
    decision_of,
    due_in_window,
    in_quiet_hours,
    known_zones,
    moment_on,
    still_wanted,
)
from storage import daily_sends as store
from storage import trainers
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
AMSTERDAM = "Europe/Amsterdam"
QUIET = (time(21, 30), time(7, 0))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def schedule(
    reminder: time = time(19, 0),
    summary: time = time(21, 0),
    report: time = time(21, 0),
    quiet: tuple[time, time] | None = QUIET,
) -> Schedule:
    times = {Kind.REMINDER: reminder, Kind.SUMMARY: summary, Kind.REPORT: report}
    return Schedule(times, quiet, WIB)


def due_kinds(last: datetime, now: datetime, zones: list[str], plan: Schedule) -> set:
    return {(d.kind, d.zone, d.day) for d in due_in_window(last, now, zones, plan)}


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        (time(21, 29), False),
        (time(21, 30), True),
        (time(0, 0), True),
        (time(6, 59), True),
        (time(7, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_wrap_past_midnight_and_end_before_their_end(local: time, inside: bool):
    assert in_quiet_hours(local, QUIET) is inside


def test_quiet_hours_within_one_day_and_none() -> None:
    assert in_quiet_hours(time(13, 0), (time(12, 0), time(14, 0)))
    assert not in_quiet_hours(time(14, 0), (time(12, 0), time(14, 0)))
    assert not in_quiet_hours(time(3, 0), None)


@pytest.mark.parametrize(("zone", "utc_hour"), [(WIB, 12), (WITA, 11), (WIT, 10)])
def test_the_reminder_is_due_at_its_local_time_in_each_indonesian_zone(zone: str, utc_hour: int):
    plan = schedule()
    zones = [WIB, WITA, WIT]
    moment = utc(2026, 12, 1, utc_hour)
    due = due_kinds(moment - timedelta(seconds=60), moment, zones, plan)
    reminders = {one for one in due if one[0] is Kind.REMINDER}  # 12:00 UTC is 21:00 WIT
    assert reminders == {(Kind.REMINDER, zone, date(2026, 12, 1))}
    assert due_kinds(moment, moment + timedelta(seconds=60), zones, plan) == set()  # once


def test_a_zone_with_daylight_saving_keeps_the_local_time_across_the_change() -> None:
    plan = schedule()
    # 19:00 in Amsterdam: 17:00 UTC in summer time (Oct 24), 18:00 UTC after it ends (Oct 25).
    for day, utc_hour in ((24, 17), (25, 18)):
        moment = utc(2026, 10, day, utc_hour)
        assert moment_on(date(2026, 10, day), time(19), AMSTERDAM) == moment
        window = (moment - timedelta(seconds=30), moment + timedelta(seconds=30))
        assert due_kinds(*window, [AMSTERDAM], plan) == {
            (Kind.REMINDER, AMSTERDAM, date(2026, 10, day))
        }
        assert due_kinds(window[0] - timedelta(hours=1), window[0], [AMSTERDAM], plan) == set()


def test_the_report_is_due_in_timezone_whatever_the_trainers_zones() -> None:
    plan = schedule(summary=time(20, 0))
    moment = utc(2026, 12, 1, 14)  # 21:00 WIB
    due = due_kinds(moment - timedelta(seconds=60), moment, [WIT], plan)
    assert due == {(Kind.REPORT, WIB, date(2026, 12, 1))}


def test_catch_up_covers_only_todays_time_in_each_zone() -> None:
    plan = schedule()
    down = utc(2026, 12, 1, 11, 0)  # 18:00 WIB, the last check before the bot went down
    later_that_day = utc(2026, 12, 1, 13, 0)  # 20:00 WIB
    assert due_kinds(down, later_that_day, [WIB], plan) == {(Kind.REMINDER, WIB, date(2026, 12, 1))}
    next_morning = utc(2026, 12, 2, 2, 0)  # 09:00 WIB: yesterday's reminder is never sent
    assert due_kinds(down, next_morning, [WIB], plan) == set()


def test_a_check_after_local_midnight_does_not_send_the_2359_moment_it_spans() -> None:
    """The window (23:59:20, 00:00:10] contains the 23:59:30 reminder, but the check runs on
    Dec 2 now: that moment belongs to a day that is over, so it is not sent."""
    plan = schedule(reminder=time(23, 59, 30), quiet=None)
    midnight = utc(2026, 12, 1, 17, 0)  # 00:00 WIB on Dec 2
    moment = midnight - timedelta(seconds=30)
    last, now = moment - timedelta(seconds=10), midnight + timedelta(seconds=10)
    assert last < moment <= now
    assert due_kinds(last, now, [WIB], plan) == set()
    before_midnight = midnight - timedelta(seconds=20)  # the same moment, checked on Dec 1
    assert due_kinds(last, before_midnight, [WIB], plan) == {
        (Kind.REMINDER, WIB, date(2026, 12, 1))
    }


def test_nothing_is_due_inside_quiet_hours_on_time_or_as_a_catch_up() -> None:
    inside = schedule(reminder=time(22, 0), summary=time(20, 0), report=time(23, 0))
    moment = utc(2026, 12, 1, 15, 0)  # 22:00 WIB
    assert due_kinds(moment - timedelta(seconds=60), moment, [WIB], inside) == set()
    # The summary's 20:00 passed while the bot was down; it starts at 22:00, inside quiet hours.
    assert (Kind.SUMMARY, WIB, date(2026, 12, 1)) not in due_kinds(
        utc(2026, 12, 1, 12, 0), moment, [WIB], inside
    )
    # The report is not a trainer's message: quiet hours do not hold it back.
    report_at = utc(2026, 12, 1, 16, 0)
    assert due_kinds(report_at - timedelta(seconds=60), report_at, [WIB], inside) == {
        (Kind.REPORT, WIB, date(2026, 12, 1))
    }


def test_a_decided_send_is_given_up_after_local_midnight_or_resumed_into_quiet_hours() -> None:
    day = date(2026, 12, 1)
    at_seven = utc(2026, 12, 1, 12, 0)  # decided at 19:00 WIB
    assert still_wanted(Kind.REMINDER, day, WIB, utc(2026, 12, 1, 12, 1), QUIET, at_seven)
    # Resumed at 21:45 after a restart, long after the decision: inside quiet hours, dropped.
    assert not still_wanted(Kind.REMINDER, day, WIB, utc(2026, 12, 1, 14, 45), QUIET, at_seven)
    assert not still_wanted(Kind.REPORT, day, WIB, utc(2026, 12, 1, 17, 1), QUIET, at_seven)
    assert still_wanted(Kind.REPORT, day, WIB, utc(2026, 12, 1, 14, 45), QUIET, at_seven)


def test_a_burst_decided_before_quiet_hours_is_sent_to_its_end() -> None:
    """SUMMARY_TIME=21:25: 10,000 summaries at 30/s go on until about 21:31. Quiet hours were
    checked at the scheduled time; those after 21:30 still go out."""
    day = date(2026, 12, 1)
    decided = utc(2026, 12, 1, 14, 25)  # 21:25 WIB
    tail = decided + timedelta(minutes=6)  # 21:31, inside quiet hours
    assert still_wanted(Kind.SUMMARY, day, WIB, tail, QUIET, decided)
    assert not still_wanted(Kind.SUMMARY, day, WIB, decided + timedelta(minutes=16), QUIET, decided)


def test_an_unknown_zone_is_skipped_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    warned: set[str] = set()
    assert known_zones([WIB, "Mars/Olympus", WIT], warned) == [WIB, WIT]
    assert known_zones(["Mars/Olympus"], warned) == []
    assert caplog.text.count("Mars/Olympus") == 1


def test_a_time_inside_quiet_hours_is_named_as_silenced() -> None:
    assert schedule().silenced() == []
    late = schedule(reminder=time(22, 0), summary=time(6, 30), report=time(23, 0))
    assert late.silenced() == [Kind.REMINDER, Kind.SUMMARY]  # the report ignores quiet hours


def test_an_empty_summary_or_report_time_is_never_due(settings: Settings) -> None:
    off = Schedule.of(replace(settings, summary_time=None, report_time=None, quiet_hours=None))
    assert set(off.times) == {Kind.REMINDER}
    nine = utc(2026, 12, 1, 14, 0)  # 21:00 WIB
    assert due_kinds(nine - timedelta(seconds=60), nine, [WIB], off) == set()
    on = Schedule.of(replace(settings, quiet_hours=None))
    assert {d[0] for d in due_kinds(nine - timedelta(seconds=60), nine, [WIB], on)} == {
        Kind.SUMMARY,
        Kind.REPORT,
    }


# -- records ------------------------------------------------------------------------------------


async def add(db: Database, user_id: int, *, zone: str | None = None, **columns: object) -> None:
    role = str(columns.pop("role", "trainer"))
    await make_trainer(db, user_id, role=role)
    if zone is not None:
        await trainers.set_timezone(db, user_id, zone)
    for column, value in columns.items():
        await db.execute(f"UPDATE trainers SET {column} = ? WHERE user_id = ?", (value, user_id))


async def rows(db: Database) -> list[tuple[str, int, str, str]]:
    found = await db.fetchall(
        "SELECT kind, trainer_id, local_date, status FROM daily_sends"
        " ORDER BY kind, trainer_id, local_date"
    )
    return [tuple(row) for row in found]


def decisions_at(
    settings: Settings, last: datetime, now: datetime, zones: list[str]
) -> list[store.Decision]:
    return [decision_of(due) for due in due_in_window(last, now, zones, Schedule.of(settings))]


REMINDER_MOMENT = utc(2026, 12, 1, 12, 0)  # 19:00 WIB


async def check_at(db: Database, settings: Settings, now: datetime) -> int:
    return await DailyDecisions(db, settings).check(now)


async def test_reminders_go_only_to_active_reachable_trainers_who_want_them(
    db: Database, settings: Settings
) -> None:
    await add(db, 1)
    await add(db, 2, status="paused")
    await add(db, 3, status="blocked")  # removed
    await add(db, 4, status="pending")
    await add(db, 5, reachable=0)
    await add(db, 6, reminders=0)
    await add(db, 7, role="coordinator")
    await add(db, 8, zone=WIT)  # their 19:00 was two hours ago
    await add(db, 9, created_at=stamp(REMINDER_MOMENT + timedelta(seconds=1)))
    await store.start_window(db, stamp(REMINDER_MOMENT - timedelta(seconds=40)))
    assert await check_at(db, settings, REMINDER_MOMENT + timedelta(seconds=20)) == 1
    assert await rows(db) == [("reminder", 1, "2026-12-01", "due")]


async def test_a_decision_is_recorded_once_whatever_the_time_is_changed_to(
    db: Database, settings: Settings
) -> None:
    for user_id in range(1, 6):
        await add(db, user_id)
    now = REMINDER_MOMENT + timedelta(seconds=5)
    await store.start_window(db, stamp(REMINDER_MOMENT - timedelta(seconds=55)))
    assert await check_at(db, settings, now) == 5
    assert await store.checked_at(db) == stamp(now)
    # REMINDER_TIME moved to 20:00 and the bot restarted: the same local day, nothing new.
    later = replace(settings, reminder_time=time(20, 0))
    assert await check_at(db, later, REMINDER_MOMENT + timedelta(hours=1, seconds=5)) == 0
    # Two overlapping runs deciding the same window: still one row each.
    decisions = decisions_at(settings, REMINDER_MOMENT - timedelta(seconds=55), now, [WIB])
    added = await store.decide(db, decisions, default_zone=WIB, checked_at=stamp(now))
    assert added == 0 and len(await rows(db)) == 5


async def test_large_decisions_go_in_chunks_and_move_the_last_check_with_the_last(
    db: Database, settings: Settings
) -> None:
    for user_id in range(1, 8):
        await add(db, user_id)
    last = REMINDER_MOMENT - timedelta(seconds=30)
    now = REMINDER_MOMENT + timedelta(seconds=30)
    decisions = decisions_at(settings, last, now, [WIB])
    added = await store.decide(db, decisions, default_zone=WIB, checked_at=stamp(now), chunk=3)
    assert added == 7 and {row[1] for row in await rows(db)} == set(range(1, 8))
    assert await store.checked_at(db) == stamp(now)


async def test_the_last_check_never_moves_back(db: Database) -> None:
    await store.start_window(db, stamp(REMINDER_MOMENT))
    await store.decide(db, [], default_zone=WIB, checked_at=stamp(REMINDER_MOMENT - timedelta(1)))
    assert await store.checked_at(db) == stamp(REMINDER_MOMENT)
    await store.start_window(db, stamp(REMINDER_MOMENT + timedelta(1)))  # a start keeps it
    assert await store.checked_at(db) == stamp(REMINDER_MOMENT)


async def test_the_first_check_ever_catches_up_nothing(db: Database, settings: Settings) -> None:
    await add(db, 1)
    assert await check_at(db, settings, REMINDER_MOMENT + timedelta(seconds=30)) == 0
    assert await rows(db) == []


async def submit_at(db: Database, trainer_id: int, item_id: int, moment: datetime) -> None:
    await db.execute(
        "INSERT INTO assignments (item_id, trainer_id, status, assigned_at, lease_expires_at,"
        " submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)",
        (item_id, trainer_id, stamp(moment), stamp(moment), stamp(moment)),
    )


async def test_summaries_go_to_those_who_reviewed_that_local_day(
    db: Database, settings: Settings
) -> None:
    await make_batch(db, items=3)
    for user_id in (1, 2, 3):
        await add(db, user_id, zone=WITA if user_id == 3 else None)
    summary = utc(2026, 12, 1, 14, 0)  # 21:00 WIB
    await submit_at(db, 1, 1, utc(2026, 12, 1, 1, 0))  # 08:00 WIB that day
    await submit_at(db, 2, 1, utc(2026, 11, 30, 16, 30))  # 23:30 WIB the day before
    await store.start_window(db, stamp(summary - timedelta(seconds=30)))
    settings = replace(settings, quiet_hours=None)
    assert await check_at(db, settings, summary + timedelta(seconds=1)) == 1
    assert ("summary", 1, "2026-12-01", "due") in await rows(db)


async def test_every_coordinator_gets_the_report_of_timezones_date(
    db: Database, settings: Settings
) -> None:
    await add(db, 1)
    await add(db, 9000, role="coordinator", zone=WIT)
    await add(db, 9001, role="coordinator", reachable=0)
    report = utc(2026, 12, 1, 14, 0)  # 21:00 WIB
    await store.start_window(db, stamp(report - timedelta(seconds=30)))
    assert await check_at(db, settings, report + timedelta(seconds=1)) == 1
    assert await rows(db) == [("report", 9000, "2026-12-01", "due")]


async def test_claims_record_outcomes_and_a_crash_leaves_only_lost_rows(
    db: Database, settings: Settings
) -> None:
    for user_id in (1, 2, 3):
        await add(db, user_id)
    await store.start_window(db, stamp(REMINDER_MOMENT - timedelta(seconds=30)))
    await check_at(db, settings, REMINDER_MOMENT)
    now = stamp(REMINDER_MOMENT)
    page = await store.record_and_claim(db, claim=2, now=now)
    assert [(c.kind, c.trainer.user_id, c.local_date) for c in page] == [
        ("reminder", 1, "2026-12-01"),
        ("reminder", 2, "2026-12-01"),
    ]
    [rest] = await store.record_and_claim(db, claim=2, now=now)  # each claimed once
    assert rest.trainer.user_id == 3
    outcomes = [("reminder", 1, "2026-12-01", "blocked"), ("reminder", 2, "2026-12-01", "sent")]
    await store.record_and_claim(
        db, outcomes=outcomes, release=[("reminder", 3, "2026-12-01")], now=now
    )
    assert [row[3] for row in await rows(db)] == ["blocked", "sent", "due"]
    assert not (await trainers.get_trainer(db, 1)).reachable
    [third] = await store.record_and_claim(db, claim=5, now=now)
    assert third.trainer.user_id == 3 and not await store.has_due(db)
    assert await store.lose_unconfirmed(db, now) == {"reminder": 1}
    assert [row[3] for row in await rows(db)] == ["blocked", "sent", "lost"]
    assert await store.record_and_claim(db, claim=5, now=now) == []  # never resent


async def test_the_service_starts_decides_and_claims_at_its_clocks_time(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    """What the sender reaches as services.daily_sends: a start opens the window at the clock's
    now and gives up what a crash left `sending`; checks and claims happen at the clock's now."""
    for user_id in (1, 2):
        await add(db, user_id)
    service = DailySendService(db, settings, clock)
    clock.now = REMINDER_MOMENT - timedelta(seconds=30)
    assert await service.start_up() == {}
    assert await store.checked_at(db) == stamp(clock.now)
    assert not await service.has_due()
    clock.now = REMINDER_MOMENT
    assert await service.check() == 2 and await service.has_due()
    assert await store.checked_at(db) == stamp(REMINDER_MOMENT)
    [first] = await service.record_and_claim(claim=1)
    assert first.trainer.user_id == 1
    assert await service.start_up() == {"reminder": 1}  # as after a crash: lost, never resent
    [second] = await service.record_and_claim(claim=5)
    assert second.trainer.user_id == 2 and not await service.has_due()
    await service.record_and_claim(outcomes=[("reminder", 2, "2026-12-01", "sent")])
    assert [row[3] for row in await rows(db)] == ["lost", "sent"]


async def test_a_claimed_send_is_still_to_send_only_to_someone_who_still_gets_it(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    await add(db, 1)
    await store.start_window(db, stamp(REMINDER_MOMENT - timedelta(seconds=30)))
    clock.now = REMINDER_MOMENT
    service = DailySendService(db, settings, clock)
    await service.check()
    [claimed] = await service.record_and_claim(claim=1)
    soon = REMINDER_MOMENT + timedelta(minutes=1)
    assert service.still_to_send(claimed, soon)
    assert not service.still_to_send(claimed, utc(2026, 12, 1, 17, 1))  # past midnight in WIB
    for since in ({"status": "paused"}, {"reachable": False}, {"reminders": False}):
        changed = replace(claimed, trainer=replace(claimed.trainer, **since))
        assert not service.still_to_send(changed, soon), since
    promoted = replace(claimed, trainer=replace(claimed.trainer, role="coordinator"))
    assert not service.still_to_send(promoted, soon)
    report = replace(promoted, kind="report")
    assert service.still_to_send(report, soon)


async def test_zones_in_use_name_the_default_for_trainers_without_one(db: Database) -> None:
    await add(db, 1)
    await add(db, 2, zone=WIT)
    await add(db, 3, zone=WIT)
    assert await store.zones_in_use(db, WIB) == [WIB, WIT]


@pytest.mark.parametrize(("sql", "params"), [(store.HAS_DUE, ()), (store.CLAIM, (3,))])
async def test_reads_of_open_rows_use_the_partial_index_not_every_row_ever_decided(
    sqlite_db: Database, sql: str, params: tuple
) -> None:
    plan = await sqlite_db.fetchall("EXPLAIN QUERY PLAN " + sql, params)
    details = " ".join(row["detail"] for row in plan)
    assert "daily_sends_open" in details and "TEMP B-TREE" not in details


async def test_reports_are_claimed_before_summaries_decided_with_them(
    db: Database, settings: Settings
) -> None:
    """At 21:00 the summaries and the report are decided together: the report goes first, not
    after minutes of summaries."""
    await make_batch(db, items=1)
    for user_id in range(1, 6):
        await add(db, user_id)
        await submit_at(db, user_id, 1, utc(2026, 12, 1, 3, 0))
    await add(db, 9000, role="coordinator")
    nine = utc(2026, 12, 1, 14, 0)  # 21:00 WIB
    await store.start_window(db, stamp(nine - timedelta(seconds=30)))
    assert await check_at(db, replace(settings, quiet_hours=None), nine) == 6
    page = await store.record_and_claim(db, claim=2, now=stamp(nine))
    assert [(c.kind, c.trainer.user_id) for c in page[:1]] == [("report", 9000)]
    assert page[1].kind == "summary"  # which of the summaries decided with it: any order
    rest = await store.record_and_claim(db, claim=10, now=stamp(nine))
    assert sorted(c.trainer.user_id for c in [page[1], *rest]) == [1, 2, 3, 4, 5]


async def test_a_bad_time_zone_of_one_trainer_stops_nobody_elses_sends(
    db: Database, settings: Settings
) -> None:
    await add(db, 1)
    await add(db, 2, zone=WIT)
    await db.execute("UPDATE trainers SET timezone = 'Mars/Olympus' WHERE user_id = 2")
    await add(db, 3)
    await store.start_window(db, stamp(REMINDER_MOMENT - timedelta(seconds=40)))
    assert await check_at(db, settings, REMINDER_MOMENT + timedelta(seconds=20)) == 2
    assert {row[1] for row in await rows(db)} == {1, 3}


async def test_finished_rows_older_than_the_cut_are_forgotten_open_ones_kept(
    db: Database,
) -> None:
    for user_id in (1, 2, 3, 4):
        await add(db, user_id)
    old, recent = "2026-11-20T12:00:00.000000+00:00", "2026-11-30T12:00:00.000000+00:00"
    for user_id, decided, status in (
        (1, old, "sent"),
        (2, old, "lost"),
        (3, old, "due"),  # never finished (the bot was down): the sender still has it
        (4, recent, "sent"),
    ):
        await db.execute(
            "INSERT INTO daily_sends (kind, trainer_id, local_date, status, decided_at)"
            " VALUES ('reminder', ?, ?, ?, ?)",
            (user_id, decided[:10], status, decided),
        )
    cut = "2026-11-23T12:00:00.000000+00:00"
    assert await store.forget_finished_before(db, cut, chunk=1) == 2
    assert [(row[1], row[3]) for row in await rows(db)] == [(3, "due"), (4, "sent")]


async def test_reports_are_read_by_the_primary_key_not_every_due_row(sqlite_db: Database) -> None:
    plan = await sqlite_db.fetchall("EXPLAIN QUERY PLAN " + store.CLAIM_REPORTS, (3,))
    details = " ".join(row["detail"] for row in plan)
    assert "USING INDEX sqlite_autoindex_daily_sends_1 (kind=?)" in details, details
