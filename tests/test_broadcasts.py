"""Broadcast plans without Telegram: who gets a broadcast, claiming pages, outcomes, crashes."""

from __future__ import annotations

import pytest

from bot.broadcasting import Broadcasting, Delivery, DeliveryCounts, DraftOutcome, Outcome
from bot.clock import utc_now
from handlers.paced_sends import claim_size, concurrency
from storage import trainers
from storage.database import Database
from tests.factories import make_batch, make_trainer

COORDINATOR = 9000


@pytest.fixture
def service(db: Database) -> Broadcasting:
    return Broadcasting(db, "id", utc_now)


async def add_trainers(db: Database, first: int, count: int, *, language: str = "en") -> None:
    for user_id in range(first, first + count):
        await make_trainer(db, user_id, language=language)


async def test_an_announcement_goes_to_active_reachable_trainers_but_not_its_author(
    db: Database, service: Broadcasting
) -> None:
    await make_trainer(db, COORDINATOR, role="coordinator", language="en")
    await make_trainer(db, 9001, role="coordinator")  # another coordinator: they review too
    await add_trainers(db, 1, 5)
    await db.execute("UPDATE trainers SET status = 'paused' WHERE user_id = 2")
    await db.execute("UPDATE trainers SET status = 'blocked' WHERE user_id = 3")
    await trainers.set_reachable(db, 4, False)

    broadcast = await service.announce_text("Rapat jam 3", COORDINATOR, COORDINATOR)

    assert broadcast.kind == "announcement" and broadcast.text == "Rapat jam 3"
    assert broadcast.report_language == "en" and not broadcast.done
    rows = await db.fetchall(
        "SELECT trainer_id, status, attempts FROM deliveries WHERE broadcast_id = ?"
        " ORDER BY trainer_id",
        (broadcast.id,),
    )
    assert [tuple(row) for row in rows] == [
        (1, "pending", 0),
        (5, "pending", 0),
        (9001, "pending", 0),
    ]
    assert await service.counts(broadcast.id) == DeliveryCounts(left=3)
    assert await service.unfinished() == [broadcast.id]


async def test_a_draft_is_decided_once_and_only_by_its_author(
    db: Database, service: Broadcasting
) -> None:
    await make_trainer(db, COORDINATOR, role="coordinator", language="en")
    await make_trainer(db, 9001, role="coordinator")
    await add_trainers(db, 1, 3)
    assert await service.recipients(COORDINATOR) == 4  # the other coordinator reviews too
    draft = await service.save_draft("Rapat jam 3", COORDINATOR, COORDINATOR)
    assert await db.fetchval("SELECT COUNT(*) FROM broadcasts") == 0  # a draft sends nothing

    assert (await service.decide_draft(draft, 9001, send=True)).outcome is DraftOutcome.NOT_YOURS
    assert (await service.decide_draft(draft + 1, COORDINATOR, send=True)).outcome is (
        DraftOutcome.UNKNOWN
    )
    sent = await service.decide_draft(draft, COORDINATOR, send=True)
    assert sent.outcome is DraftOutcome.SENT and sent.text == "Rapat jam 3"
    assert sent.broadcast_id is not None
    assert await service.counts(sent.broadcast_id) == DeliveryCounts(left=4)
    again = await service.decide_draft(draft, COORDINATOR, send=True)
    assert again.outcome is DraftOutcome.ALREADY_SENT and again.broadcast_id == sent.broadcast_id
    late_cancel = await service.decide_draft(draft, COORDINATOR, send=False)
    assert late_cancel.outcome is DraftOutcome.ALREADY_SENT
    assert await db.fetchval("SELECT COUNT(*) FROM broadcasts") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries") == 4


async def test_a_cancelled_draft_never_becomes_a_broadcast(
    db: Database, service: Broadcasting
) -> None:
    await make_trainer(db, COORDINATOR, role="coordinator")
    await add_trainers(db, 1, 2)
    draft = await service.save_draft("Halo", COORDINATOR, COORDINATOR)
    cancelled = await service.decide_draft(draft, COORDINATOR, send=False)
    assert cancelled.outcome is DraftOutcome.CANCELLED and cancelled.broadcast_id is None
    for send in (True, False):
        later = await service.decide_draft(draft, COORDINATOR, send=send)
        assert later.outcome is DraftOutcome.ALREADY_CANCELLED
    assert await db.fetchval("SELECT COUNT(*) FROM broadcasts") == 0


async def test_a_batch_is_announced_once_and_an_unknown_batch_not_at_all(
    db: Database, service: Broadcasting
) -> None:
    await add_trainers(db, 1, 3)
    batch_id = await make_batch(db, "pilot")

    first = await service.announce_batch(batch_id, COORDINATOR, COORDINATOR)
    again = await service.announce_batch(batch_id, COORDINATOR, COORDINATOR)

    assert first is not None and again is not None and again.id == first.id
    assert first.batch_name == "pilot" and first.kind == "batch"
    assert first.report_language == "id"  # the author is not registered: the default language
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries") == 3
    assert await service.announce_batch(batch_id + 1, COORDINATOR, COORDINATOR) is None
    assert await db.fetchval("SELECT COUNT(*) FROM broadcasts") == 1


async def test_pages_are_claimed_once_and_outcomes_recorded_with_the_next_claim(
    db: Database, service: Broadcasting
) -> None:
    await add_trainers(db, 1, 7, language="id")
    broadcast = await service.announce_text("Halo", COORDINATOR, COORDINATOR)

    first = await service.claim(broadcast.id, 3)
    assert [(r.trainer_id, r.chat_id, r.language) for r in first] == [
        (1, 1, "id"),
        (2, 2, "id"),
        (3, 3, "id"),
    ]
    assert await service.counts(broadcast.id) == DeliveryCounts(left=7)
    outcomes = [
        Delivery(1, Outcome.SENT, 501),
        Delivery(2, Outcome.BLOCKED),
        Delivery(3, Outcome.FAILED),
    ]
    second = await service.claim(broadcast.id, 3, outcomes)
    assert [r.trainer_id for r in second] == [4, 5, 6]
    assert await service.counts(broadcast.id) == DeliveryCounts(sent=1, blocked=1, failed=1, left=4)
    assert await db.fetchval("SELECT message_id FROM deliveries WHERE trainer_id = 1") == 501
    blocked = await trainers.get_trainer(db, 2)
    assert blocked is not None and not blocked.reachable
    failed = await trainers.get_trainer(db, 3)
    assert failed is not None and failed.reachable

    third = await service.claim(
        broadcast.id, 3, [Delivery(t.trainer_id, Outcome.SENT) for t in second]
    )
    assert [r.trainer_id for r in third] == [7]
    assert await service.claim(broadcast.id, 3, [Delivery(7, Outcome.SENT)]) == []
    assert await service.counts(broadcast.id) == DeliveryCounts(sent=5, blocked=1, failed=1)

    assert await service.finish(broadcast.id) is True
    assert await service.finish(broadcast.id) is False
    assert await service.unfinished() == []
    done = await service.get(broadcast.id)
    assert done is not None and done.done


async def test_a_blocked_trainer_is_left_out_of_the_next_broadcast(
    db: Database, service: Broadcasting
) -> None:
    await add_trainers(db, 1, 2)
    first = await service.announce_text("One", COORDINATOR, COORDINATOR)
    claimed = await service.claim(first.id, 10)
    await service.record(first.id, [Delivery(1, Outcome.BLOCKED), Delivery(2, Outcome.SENT, 7)])
    assert len(claimed) == 2

    second = await service.announce_text("Two", COORDINATOR, COORDINATOR)
    assert [r.trainer_id for r in await service.claim(second.id, 10)] == [2]


async def test_a_clean_stop_puts_unsent_claims_back_so_nobody_is_missed_or_sent_twice(
    db: Database, service: Broadcasting
) -> None:
    await add_trainers(db, 1, 6)
    broadcast = await service.announce_text("Halo", COORDINATOR, COORDINATOR)
    claimed = await service.claim(broadcast.id, 4)
    # Two were sent before the stop; the other two claimed ones were never handed to Telegram.
    await service.record(
        broadcast.id,
        [
            Delivery(claimed[0].trainer_id, Outcome.SENT, 1),
            Delivery(claimed[1].trainer_id, Outcome.SENT, 2),
        ],
        release=[claimed[2].trainer_id, claimed[3].trainer_id],
    )
    assert await service.counts(broadcast.id) == DeliveryCounts(sent=2, left=4)
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE status = 'sending'") == 0

    # After the restart: nothing was in doubt, the rest goes out.
    assert await service.give_up_unconfirmed(broadcast.id) == 0
    rest = await service.claim(broadcast.id, 10)
    assert sorted(r.trainer_id for r in rest) == [3, 4, 5, 6]
    attempts = await db.fetchval("SELECT MAX(attempts) FROM deliveries")
    assert attempts == 1  # the released claims did not count as attempts


async def test_after_a_crash_unconfirmed_sends_are_given_up_and_the_rest_goes_on(
    db: Database, service: Broadcasting
) -> None:
    await add_trainers(db, 1, 10)
    broadcast = await service.announce_text("Halo", COORDINATOR, COORDINATOR)
    first = await service.claim(broadcast.id, 4)
    in_doubt = await service.claim(
        broadcast.id, 4, [Delivery(r.trainer_id, Outcome.SENT) for r in first]
    )
    # The process dies here: the second page is claimed, its outcomes never recorded.

    restarted = Broadcasting(db, "id", utc_now)
    assert await restarted.unfinished() == [broadcast.id]
    assert await restarted.unconfirmed(broadcast.id) == len(in_doubt) == 4  # for the coordinator
    assert await restarted.give_up_unconfirmed(broadcast.id) == 4
    assert await restarted.unconfirmed(broadcast.id) == 0
    rest = await restarted.claim(broadcast.id, 100)
    assert sorted(r.trainer_id for r in rest) == [9, 10]
    claimed_twice = {r.trainer_id for r in rest} & {r.trainer_id for r in first + in_doubt}
    assert claimed_twice == set()
    await restarted.record(broadcast.id, [Delivery(r.trainer_id, Outcome.SENT) for r in rest])
    assert await restarted.counts(broadcast.id) == DeliveryCounts(sent=6, failed=4)


def test_counts_follow_each_delivery() -> None:
    counts = DeliveryCounts(left=3).plus(Outcome.SENT).plus(Outcome.BLOCKED).plus(Outcome.FAILED)
    assert counts == DeliveryCounts(sent=1, blocked=1, failed=1, left=0)
    assert counts.total == 3


@pytest.mark.parametrize(
    ("rate", "width", "page"), [(1, 2, 1), (10, 4, 1), (30, 10, 3), (1000, 128, 100)]
)
def test_a_broadcast_keeps_only_a_few_sends_in_flight_and_claims_a_tenth_of_a_second_ahead(
    rate: int, width: int, page: int
) -> None:
    assert concurrency(rate) == width
    assert claim_size(rate) == page


async def test_ten_thousand_trainers_are_planned_and_each_claimed_once(
    db: Database, service: Broadcasting
) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO trainers (user_id, chat_id, language, role, created_at)"
            " VALUES (?, ?, 'id', 'trainer', '2026-11-25T03:00:00.000000+00:00')",
            [(user_id, user_id) for user_id in range(10_001, 20_001)],
        )
    broadcast = await service.announce_text("Halo", COORDINATOR, COORDINATOR)
    seen: list[int] = []
    page = await service.claim(broadcast.id, 10)
    while page:
        seen.extend(r.trainer_id for r in page)
        page = await service.claim(
            broadcast.id, 10, [Delivery(r.trainer_id, Outcome.SENT) for r in page]
        )
    assert sorted(seen) == list(range(10_001, 20_001))  # each trainer claimed exactly once
    assert await service.counts(broadcast.id) == DeliveryCounts(sent=10_000)
