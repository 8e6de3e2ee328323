"""The lease sweep as a service: which leases it expires, the slots it frees, the hints it
corrects, and the way back to a swept item (taps and /next), without Telegram."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.corrections import CorrectionService
from bot.leases import PAGE
from bot.review import AssignmentRefused, Refusal, ReviewService
from storage import reviews
from storage.database import Database
from storage.leases import _ENDED_ANY_SQL, _LAST_SWEPT_SQL
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully


@pytest.fixture
def review(db: Database, settings: Settings, clock: FakeClock) -> ReviewService:
    return ReviewService(db, settings, clock)


async def statuses(db: Database) -> list[tuple[int, str, int]]:
    rows = await db.fetchall("SELECT trainer_id, status, late FROM assignments ORDER BY id")
    return [tuple(row) for row in rows]


async def test_nothing_to_sweep_costs_no_write(
    review: ReviewService, db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_batch(db, items=2, overlap=1)
    view, _ = await review.next_item(await make_trainer(db, 1))
    assert view is not None
    writes: list[Any] = []
    original = db.write

    async def counted(work: Any, *args: Any) -> Any:
        writes.append(work)
        return await original(work, *args)

    async def counted_in_turn(turn: str, work: Any, *args: Any) -> Any:
        return await counted(work, *args)  # one test, one process: no turn to take

    monkeypatch.setattr(db, "write", counted)
    monkeypatch.setattr(db, "write_in_turn", counted_in_turn)
    clock.advance(minutes=29)  # the lease has a minute left
    assert await review.leases.sweep_page() == []
    assert writes == []
    clock.advance(minutes=1)  # now it ended (a lease ends at its stamp)
    assert len(await review.leases.sweep_page()) == 1
    assert len(writes) == 1
    assert await review.leases.sweep_page() == []
    assert len(writes) == 1


async def test_the_sweep_expires_ended_leases_and_frees_their_slots_at_once(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    slow, late, fast = [await make_trainer(db, uid) for uid in (1, 2, 3)]
    first, _ = await review.next_item(slow)
    clock.advance(minutes=10)
    second, _ = await review.next_item(late)
    assert first is not None and second is not None
    nothing, _ = await review.next_item(fast)
    assert nothing is None  # both items are leased: the hints keep them out of items_open
    assert await db.fetchval("SELECT COUNT(*) FROM items WHERE full_until IS NULL") == 0

    clock.advance(minutes=21)  # slow's lease ended; late's has nine minutes left
    swept = await review.leases.sweep_page()
    assert [lease.assignment.id for lease in swept] == [first.assignment.id]
    assert swept[0].assignment.status == "expired"
    assert swept[0].chat_id is None  # never delivered: no panel recorded
    assert await statuses(db) == [(1, "expired", 0), (2, "active", 0)]
    # Released: back in items_open now, not when the hint would have come due.
    assert await db.fetchval("SELECT full_until FROM items WHERE id = ?", (first.item.id,)) is None
    given, resumed = await review.next_item(fast)
    assert given is not None and not resumed and given.item.id == first.item.id


async def test_a_page_at_a_time_oldest_first_and_the_panel_is_the_newest(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=PAGE + 5, overlap=1)
    for uid in range(1, PAGE + 6):
        view, _ = await review.next_item(await make_trainer(db, uid))
        assert view is not None
        await review.remember_messages(view.assignment.id, uid, [10, 11])  # item, panel
        await review.remember_messages(view.assignment.id, uid, [12, 13])  # shown again
        clock.advance(seconds=1)
    clock.advance(minutes=31)
    page = await review.leases.sweep_page()
    assert len(page) == PAGE
    assert [lease.assignment.trainer_id for lease in page] == list(range(1, PAGE + 1))
    assert {(lease.chat_id, lease.panel_message_id) for lease in page[:1]} == {(1, 13)}
    rest = await review.leases.sweep_page()
    assert [lease.assignment.trainer_id for lease in rest] == list(range(PAGE + 1, PAGE + 6))
    assert await db.fetchval("SELECT COUNT(*) FROM assignments WHERE status = 'active'") == 0


async def test_the_sweep_looks_through_the_partial_index(sqlite_db: Database) -> None:
    plan = await sqlite_db.fetchall("EXPLAIN QUERY PLAN " + _ENDED_ANY_SQL, ("x",))
    assert "assignments_leases" in " ".join(row["detail"] for row in plan)


async def test_the_swept_lease_next_offers_back_is_found_by_index_probes_only(
    sqlite_db: Database,
) -> None:
    plan = await sqlite_db.fetchall("EXPLAIN QUERY PLAN " + _LAST_SWEPT_SQL, {"trainer": 1})
    details = [row["detail"] for row in plan]
    searches = [detail for detail in details if detail.startswith("SEARCH")]
    assert len(searches) == 2 and all("INDEX assignments_trainer" in d for d in searches)
    assert not any(detail.startswith(("SCAN assignments", "SCAN s")) for detail in details)
    assert not any("TEMP B-TREE" in detail for detail in details)  # newest first by the index


async def test_a_tap_on_a_swept_item_that_still_needs_the_trainer_renews_it(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    await review.score(trainer, view.assignment.id, 0, 3)
    clock.advance(hours=2)
    await review.leases.sweep_page()
    scored = await review.score(trainer, view.assignment.id, 1, 4)  # the tap goes on
    assert scored.draft.scores == {"accuracy": 3, "language": 4}  # nothing was lost
    row = await db.fetchone("SELECT status, lease_expires_at FROM assignments")
    assert row is not None and row["status"] == "active"
    assert row["lease_expires_at"] > clock.now.isoformat()  # a new lease, from now
    await review_fully(review, trainer, view.assignment.id)
    assert await statuses(db) == [(1, "submitted", 0)]  # on time: the slot was still there


async def test_a_tap_after_another_trainer_filled_the_item_is_refused_as_expired(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=1, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    held, _ = await review.next_item(slow)
    assert held is not None
    clock.advance(minutes=31)
    await review.leases.sweep_page()
    taken, _ = await review.next_item(fast)
    assert taken is not None and taken.item.id == held.item.id
    for tap in (
        review.score(slow, held.assignment.id, 0, 3),
        review.choose_criterion(slow, held.assignment.id, 1),
        review.set_flag(slow, held.assignment.id, 0, True),
    ):
        with pytest.raises(AssignmentRefused) as refused:
            await tap
        assert refused.value.reason is Refusal.EXPIRED
    assert await statuses(db) == [(1, "expired", 0), (2, "active", 0)]


async def test_a_submit_after_expiry_without_room_is_kept_and_marked_late(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=1, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    held, _ = await review.next_item(slow)
    assert held is not None
    for index in range(4):
        await review.score(slow, held.assignment.id, index, 4)  # all scored, then away
    clock.advance(minutes=31)
    await review.leases.sweep_page()
    taken, _ = await review.next_item(fast)
    assert taken is not None
    await review_fully(review, fast, taken.assignment.id)
    _, missing = await review.submit(slow, held.assignment.id)
    assert missing is None
    assert await statuses(db) == [(1, "submitted", 1), (2, "submitted", 0)]
    assert await db.fetchval("SELECT done_count FROM items") == 2


@pytest.mark.parametrize("swept", [False, True], ids=["before the sweep", "after the sweep"])
async def test_a_submit_after_the_lease_ended_is_late_even_with_room_left(
    review: ReviewService, db: Database, clock: FakeClock, swept: bool
) -> None:
    """Late means the lease had ended when Submit came, swept or not: the Submit itself never
    renews it (only a tap that goes on scoring does, and then the new lease counts)."""
    await make_batch(db, items=2, overlap=1)
    trainer = await make_trainer(db, 1)
    view, _ = await review.next_item(trainer)
    assert view is not None
    for index in range(4):
        await review.score(trainer, view.assignment.id, index, 4)  # all scored, then away
    clock.advance(hours=2)
    if swept:
        assert len(await review.leases.sweep_page()) == 1
    _, missing = await review.submit(trainer, view.assignment.id)
    assert missing is None
    assert await statuses(db) == [(1, "submitted", 1)]
    assert await db.fetchval("SELECT done_count FROM items WHERE id = ?", (view.item.id,)) == 1


async def test_a_skip_of_a_swept_item_does_not_take_its_lease_up_again(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=1, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    held, _ = await review.next_item(slow)
    assert held is not None
    clock.advance(minutes=31)
    await review.leases.sweep_page()
    await review.skip(slow, held.assignment.id, "expertise")
    assert await statuses(db) == [(1, "skipped", 0)]
    lease = await db.fetchval("SELECT lease_expires_at FROM assignments")
    assert lease < clock.now.isoformat()  # not renewed on the way to the skip
    taken, _ = await review.next_item(fast)
    assert taken is not None and taken.item.id == held.item.id


async def test_a_swept_item_is_not_taken_up_while_the_trainer_holds_another(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=3, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    first, _ = await review.next_item(slow)
    assert first is not None
    clock.advance(minutes=31)
    await review.leases.sweep_page()
    taken, _ = await review.next_item(fast)
    assert taken is not None and taken.item.id == first.item.id
    second, _ = await review.next_item(slow)  # a new item: the swept one is fast's now
    assert second is not None and second.item.id != first.item.id
    await review.skip(fast, taken.assignment.id, "expertise")  # room for slow again...
    with pytest.raises(AssignmentRefused) as refused:  # ...but slow works on another one
        await review.score(slow, first.assignment.id, 0, 3)
    assert refused.value.reason is Refusal.EXPIRED


async def test_next_gives_the_swept_item_back_while_it_still_needs_the_trainer(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=3, overlap=1)
    trainer = await make_trainer(db, 1)
    first, _ = await review.next_item(trainer)
    assert first is not None
    clock.advance(hours=5)
    await review.leases.sweep_page()
    again, resumed = await review.next_item(trainer)
    assert again is not None and again.assignment.id == first.assignment.id
    assert not resumed  # sent again: the copy in the chat says its time ran out
    assert await statuses(db) == [(1, "active", 0)]


async def test_next_renews_an_open_item_the_sweep_expired_after_it_was_read(
    review: ReviewService, db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep runs between /next's read of the open item and its renewal: the renewal
    takes the swept lease up again, so the item shown as resumed holds its slot."""
    await make_batch(db, items=2, overlap=1)
    trainer = await make_trainer(db, 1)
    first, _ = await review.next_item(trainer)
    assert first is not None
    clock.advance(minutes=31)
    read = reviews.get_active_assignment

    async def read_then_swept(*args: Any) -> Any:
        found = await read(*args)
        assert len(await review.leases.sweep_page()) == 1
        return found

    monkeypatch.setattr(reviews, "get_active_assignment", read_then_swept)
    again, resumed = await review.next_item(trainer)
    assert again is not None and resumed and again.assignment.id == first.assignment.id
    row = await db.fetchone("SELECT status, lease_expires_at FROM assignments")
    assert row is not None and row["status"] == "active"
    assert row["lease_expires_at"] > clock.now.isoformat()


async def test_next_gives_a_new_item_when_the_sweep_released_the_open_one_meanwhile(
    review: ReviewService, db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/next found the open item still wanted; the sweep then released it and another
    trainer took the slot before the renewal: never shown as resumed, a new item instead."""
    import bot.review

    await make_batch(db, items=2, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    held, _ = await review.next_item(slow)
    assert held is not None
    clock.advance(minutes=31)
    wanted = bot.review.item_still_wanted
    taken: list[Any] = []

    async def wanted_then_taken(*args: Any) -> bool:
        answer = await wanted(*args)
        if not taken:
            assert len(await review.leases.sweep_page()) == 1
            taken.append(await review.next_item(fast))
        return answer

    monkeypatch.setattr(bot.review, "item_still_wanted", wanted_then_taken)
    other, resumed = await review.next_item(slow)
    [(theirs, _)] = taken
    assert theirs is not None and theirs.item.id == held.item.id
    assert other is not None and not resumed and other.item.id != held.item.id
    assert await statuses(db) == [(1, "expired", 0), (2, "active", 0), (1, "active", 0)]


async def test_next_gives_a_new_item_once_the_swept_one_is_others(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    held, _ = await review.next_item(slow)
    assert held is not None
    clock.advance(minutes=31)
    await review.leases.sweep_page()
    taken, _ = await review.next_item(fast)
    assert taken is not None and taken.item.id == held.item.id
    other, _ = await review.next_item(slow)
    assert other is not None and other.item.id != held.item.id
    await review_fully(review, slow, other.assignment.id)
    await review_fully(review, fast, taken.assignment.id)
    done, _ = await review.next_item(slow)  # nothing left: the swept one is complete
    assert done is None


async def test_after_a_submit_an_old_swept_item_is_history_for_next(
    review: ReviewService, db: Database, clock: FakeClock
) -> None:
    await make_batch(db, items=3, overlap=1)
    slow, fast = await make_trainer(db, 1), await make_trainer(db, 2)
    first, _ = await review.next_item(slow)
    assert first is not None
    clock.advance(minutes=31)
    await review.leases.sweep_page()
    taken, _ = await review.next_item(fast)
    assert taken is not None and taken.item.id == first.item.id
    second, _ = await review.next_item(slow)
    assert second is not None
    await review_fully(review, slow, second.assignment.id)  # slow moved on
    await review.skip(fast, taken.assignment.id, "expertise")  # the first item has room again
    third, _ = await review.next_item(slow)
    assert third is not None and third.item.id not in (first.item.id, second.item.id)


async def test_sweeping_leaves_undos_reopened_judgments_alone(
    review: ReviewService, db: Database, settings: Settings, clock: FakeClock
) -> None:
    await make_batch(db, items=2, overlap=1)
    trainer = await make_trainer(db, 1)
    corrections = CorrectionService(db, settings, review, clock)
    view, _ = await review.next_item(trainer)
    assert view is not None
    await review_fully(review, trainer, view.assignment.id)
    await corrections.undo(trainer, view.assignment.id)
    clock.advance(hours=6)
    assert await review.leases.sweep_page() == []
    await review.submit(trainer, view.assignment.id)
    assert await statuses(db) == [(1, "submitted", 0)]


@pytest.mark.parametrize("language", ["en", "id"])
async def test_the_expired_panel_of_the_longest_item_stays_within_telegrams_limit(
    review: ReviewService, db: Database, language: str
) -> None:
    """The line goes above the panel's status, inside the room the panel reserves for it."""
    from bot.formatting import duration
    from bot.i18n import t
    from handlers.lease_sweeper import _panel_text
    from handlers.text_split import MESSAGE_LIMIT, visible_len

    lengths = range(3300, 4200, 29)
    await make_batch(db, items=len(lengths), overlap=1)
    for item_id, length in enumerate(lengths, start=1):
        await db.execute("UPDATE items SET response = ? WHERE id = ?", ("é" * length, item_id))
    trainer = await make_trainer(db, 1, language=language)
    line = t(language, "leases.expired", lease=duration(119 * 60, language))  # the longest
    for _ in lengths:
        view, _ = await review.next_item(trainer)
        assert view is not None
        for index in range(4):  # every score given, every criterion's steps shown on the way
            view = await review.score(trainer, view.assignment.id, index, 5)
            assert visible_len(_panel_text(view, language, line)) <= MESSAGE_LIMIT
        await review.skip(trainer, view.assignment.id, "none")
