"""The team service: invites from chat, the trainer list, quotas, pausing and removing, audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.onboarding import Onboarding
from bot.review import ReviewService
from bot.team import (
    PAGE_SIZE,
    InviteRequest,
    StatusOp,
    TeamError,
    TeamRefused,
    TeamService,
    parse_invite_args,
)
from storage import trainers
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_batch, make_trainer, review_fully

BOSS = 9000


@pytest.fixture
async def team(db: Database, settings: Settings, clock: FakeClock) -> TeamService:
    await make_trainer(db, BOSS, role="coordinator")
    return TeamService(db, settings, Onboarding(db, settings, clock), clock)


@pytest.fixture
def review(db: Database, settings: Settings, clock: FakeClock) -> ReviewService:
    return ReviewService(db, settings, clock)


async def add_trainer(db: Database, user_id: int, username: str | None, name: str = "") -> None:
    await trainers.insert_trainer(
        db,
        user_id=user_id,
        chat_id=user_id,
        name=name or f"Trainer {user_id}",
        username=username,
        language="id",
        role="trainer",
        invite_code=None,
        now=f"2026-11-20T00:00:{user_id % 60:02d}.000000+00:00",
    )


# The team's own audit rows (a trainer's agreeing to the privacy notice is audited too).
TEAM_ACTIONS = "(action LIKE 'trainer.%' OR action LIKE 'invite.%')"


async def audit_rows(db: Database, target: str) -> list[tuple]:
    rows = await db.fetchall(
        "SELECT actor_id, action, detail, created_at FROM audit_log"
        f" WHERE target = ? AND {TEAM_ACTIONS} ORDER BY id",
        (target,),
    )
    return [tuple(row) for row in rows]


# -- /invite arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], InviteRequest("trainer", 100, 7)),  # a link for a whole team, which runs out
        (["trainer"], InviteRequest("trainer", 100, 7)),
        (["1"], InviteRequest("trainer", 1, 7)),
        (["coordinator"], InviteRequest("coordinator", 1, 1)),  # one person, one day
        (["Koordinator"], InviteRequest("coordinator", 1, 1)),
        (["Koordinator", "2"], None),  # never wider
        (["coordinator", "1", "30"], None),
        (["20"], InviteRequest("trainer", 20, 7)),
        (["20", "0"], InviteRequest("trainer", 20, 0)),
        (["trainer", "5", "30"], InviteRequest("trainer", 5, 30)),
        (["0"], None),
        (["-1"], None),
        (["10001"], None),
        (["5", "366"], None),
        (["5", "7", "9"], None),
        (["admin"], None),
        (["5", "trainer"], None),
        (["²"], None),
        (["١٢"], None),  # Arabic-Indic digits: isdecimal, not ASCII
        (["1.5"], None),
    ],
)
def test_invite_arguments_are_read_strictly(
    args: list[str], expected: InviteRequest | None
) -> None:
    assert parse_invite_args(args) == expected


async def test_an_invite_from_chat_is_a_real_invite_with_a_link_and_is_audited(
    team: TeamService, db: Database
) -> None:
    made = await team.invite(
        InviteRequest("trainer", 3, 7), actor_id=BOSS, bot_username="nilai_bot"
    )
    assert made.link == f"https://t.me/nilai_bot?start={made.code}"
    assert made.expires_at == datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    row = await db.fetchone(
        "SELECT role, uses_left, created_by FROM invites WHERE code = ?", (made.code,)
    )
    assert tuple(row) == ("trainer", 3, BOSS)
    [(actor, action, detail, _)] = await audit_rows(db, f"invite:{made.code}")
    assert (actor, action) == (BOSS, "invite.create")
    assert "trainer" in detail and "3" in detail


async def test_an_invite_that_never_expires_and_without_a_known_username(team: TeamService) -> None:
    made = await team.invite(InviteRequest("coordinator", 1, 0), actor_id=BOSS, bot_username=None)
    assert made.expires_at is None
    assert made.link == made.code
    assert made.role == "coordinator"


# -- finding a trainer ---------------------------------------------------------------------------


async def test_trainers_are_found_by_username_in_any_case_or_by_id(
    team: TeamService, db: Database
) -> None:
    await add_trainer(db, 101, "Rina_R")
    await add_trainer(db, 102, None)
    for who in ("@Rina_R", "@rina_r", "RINA_R", " @Rina_R "):
        found = await team.find(who)
        assert found is not None and found.user_id == 101, who
    found = await team.find("102")
    assert found is not None and found.user_id == 102
    for who in ("@nobody", "999", "@", "", "١٠٢"):
        assert await team.find(who) is None, who


# -- the list ------------------------------------------------------------------------------------


async def test_the_list_pages_through_everyone_in_a_stable_order(
    team: TeamService, db: Database
) -> None:
    for user_id in range(1, 45):
        await add_trainer(db, user_id, f"t{user_id}")
    first, second, third = [await team.page(number) for number in range(3)]
    assert (first.count, first.pages) == (45, 3)
    assert [len(page.lines) for page in (first, second, third)] == [PAGE_SIZE, PAGE_SIZE, 5]
    ids = [line.trainer.user_id for page in (first, second, third) for line in page.lines]
    assert sorted(ids) == sorted([*range(1, 45), BOSS])
    assert len(set(ids)) == 45
    beyond = await team.page(99)
    assert beyond.page == 2 and beyond.lines == third.lines
    assert (await team.page(-3)).page == 0


async def test_the_list_shows_today_total_quota_and_last_seen(
    team: TeamService, db: Database, review: ReviewService, clock: FakeClock
) -> None:
    await make_batch(db, items=4, overlap=1)
    rina = await make_trainer(db, 1)
    await make_trainer(db, 2)
    await trainers.set_reachable(db, 2, False)
    await team.set_quota(1, 3, actor_id=BOSS)
    clock.advance(days=-1)  # yesterday: counts in the total only
    view, _ = await review.next_item(rina)
    assert view is not None
    await review_fully(review, rina, view.assignment.id)
    clock.advance(days=1)
    for _ in range(2):
        view, _ = await review.next_item(rina)
        assert view is not None
        await review_fully(review, rina, view.assignment.id)
    clock.advance(minutes=5)
    await review.next_item(rina)  # holding an item counts as being seen
    lines = {line.trainer.user_id: line for line in (await team.page(0)).lines}
    assert (lines[1].today, lines[1].quota, lines[1].total) == (2, 3, 3)
    assert lines[1].last_seen == clock.now
    assert (lines[2].today, lines[2].quota, lines[2].total) == (0, 5, 0)
    assert lines[2].last_seen == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # registration
    assert not lines[2].trainer.reachable


async def test_an_empty_team_is_one_empty_page(db: Database, settings: Settings) -> None:
    team = TeamService(db, settings, Onboarding(db, settings))
    page = await team.page(3)
    assert (page.count, page.page, page.pages, page.lines) == (0, 0, 1, [])


# -- changes -------------------------------------------------------------------------------------


async def test_a_quota_change_is_stored_audited_and_seen_by_the_review_loop(
    team: TeamService, db: Database, review: ReviewService, clock: FakeClock
) -> None:
    await make_trainer(db, 1)
    change = await team.set_quota(1, 12, actor_id=BOSS)
    assert (change.before, change.after, change.changed) == (None, "12", True)
    trainer = await trainers.get_trainer(db, 1)
    assert trainer is not None and trainer.daily_quota == 12
    assert (await review.stats(trainer)).quota == 12
    clock.advance(minutes=1)
    again = await team.set_quota(1, 12, actor_id=BOSS)
    assert not again.changed
    await team.set_quota(1, 8, actor_id=BOSS)
    rows = await audit_rows(db, "trainer:1")
    assert [(actor, action, detail) for actor, action, detail, _ in rows] == [
        (BOSS, "trainer.quota", "default -> 12"),
        (BOSS, "trainer.quota", "12 -> 8"),
    ]
    assert rows[0][3] == "2026-11-25T03:00:00.000000+00:00"


@pytest.mark.parametrize("quota", [0, -1, 1001])
async def test_a_quota_out_of_range_is_refused_and_changes_nothing(
    team: TeamService, db: Database, quota: int
) -> None:
    await make_trainer(db, 1)
    with pytest.raises(TeamRefused) as refused:
        await team.set_quota(1, quota, actor_id=BOSS)
    assert refused.value.reason is TeamError.BAD_QUOTA
    assert await db.fetchval("SELECT daily_quota FROM trainers WHERE user_id = 1") is None
    assert await audit_rows(db, "trainer:1") == []


async def test_changes_to_someone_unknown_are_refused(team: TeamService, db: Database) -> None:
    for change in (
        team.set_quota(404, 5, actor_id=BOSS),
        team.change_status(404, StatusOp.PAUSE, actor_id=BOSS),
    ):
        with pytest.raises(TeamRefused) as refused:
            await change
        assert refused.value.reason is TeamError.UNKNOWN_TRAINER
    assert await db.fetchval(f"SELECT COUNT(*) FROM audit_log WHERE {TEAM_ACTIONS}") == 0


async def test_pause_resume_and_remove_are_audited_once_each(
    team: TeamService, db: Database
) -> None:
    await make_trainer(db, 1)
    steps = [
        (StatusOp.PAUSE, "paused", True),
        (StatusOp.PAUSE, "paused", False),
        (StatusOp.RESUME, "active", True),
        (StatusOp.REMOVE, "blocked", True),
        (StatusOp.REMOVE, "blocked", False),
        (StatusOp.RESUME, "active", True),
    ]
    for op, status, changed in steps:
        change = await team.change_status(1, op, actor_id=BOSS)
        assert (change.trainer.status, change.changed) == (status, changed), op
    rows = await audit_rows(db, "trainer:1")
    assert [(action, detail) for _, action, detail, _ in rows] == [
        ("trainer.pause", "active -> paused"),
        ("trainer.resume", "paused -> active"),
        ("trainer.remove", "active -> blocked"),
        ("trainer.resume", "blocked -> active"),
    ]


async def test_removing_releases_the_held_item_and_keeps_past_work(
    team: TeamService, db: Database, review: ReviewService
) -> None:
    await make_batch(db, items=2, overlap=1)
    leaver, other = await make_trainer(db, 1), await make_trainer(db, 2)
    view, _ = await review.next_item(leaver)
    assert view is not None
    await review_fully(review, leaver, view.assignment.id)
    held, _ = await review.next_item(leaver)
    assert held is not None and held.item.external_id == "item-2"
    taken, _ = await review.next_item(other)
    assert taken is None  # item-2 is held by the leaver
    await team.change_status(1, StatusOp.REMOVE, actor_id=BOSS)
    taken, _ = await review.next_item(other)
    assert taken is not None and taken.item.external_id == "item-2"
    submitted = await db.fetchval(
        "SELECT COUNT(*) FROM assignments WHERE trainer_id = 1 AND status = 'submitted'"
    )
    assert submitted == 1
    assert await db.fetchval("SELECT done_count FROM items WHERE external_id = 'item-1'") == 1


async def test_pausing_keeps_the_held_item_for_its_lease(
    team: TeamService, db: Database, review: ReviewService
) -> None:
    await make_batch(db, items=1, overlap=1)
    trainer = await make_trainer(db, 1)
    held, _ = await review.next_item(trainer)
    assert held is not None
    await team.change_status(1, StatusOp.PAUSE, actor_id=BOSS)
    assert await db.fetchval("SELECT status FROM assignments") == "active"


@pytest.mark.parametrize("op", [StatusOp.PAUSE, StatusOp.REMOVE])
async def test_coordinators_cannot_be_paused_or_removed(
    team: TeamService, db: Database, op: StatusOp
) -> None:
    with pytest.raises(TeamRefused) as refused:
        await team.change_status(BOSS, op, actor_id=BOSS)
    assert refused.value.reason is TeamError.COORDINATOR
    assert await db.fetchval("SELECT status FROM trainers WHERE user_id = ?", (BOSS,)) == "active"
    assert await db.fetchval(f"SELECT COUNT(*) FROM audit_log WHERE {TEAM_ACTIONS}") == 0
