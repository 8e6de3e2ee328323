"""Gold-pause notices that survive a crash, and lifting a pause through the fake Bot API.

Each side of a pause's notice (the trainer, the coordinators) is claimed in the database before
it is sent; the per-minute `quality-notices` job sends what was never claimed once it is a
minute old, and nothing twice. A pause is lifted by its own id (a stale Resume button never
lifts a later pause), and a trainer who is paused or removed is not invited to review: the
coordinator hears what to do instead."""

from __future__ import annotations

import pytest

from handlers.callback_data import Action, encode
from tests.e2e import RunningBot, answered
from tests.fakebot import FakeBotApi, FakeUser
from tests.gold_items import make_gold_batch
from tests.test_e2e_gold import (
    BOSS,
    EVIDENCE,
    GUIDELINES,
    PAUSED,
    RESUMED,
    WRONG,
    answer_gold,
    evidence_message,
    fail_five,
    rina_in,
    texts_to,
)

UNTOLD = "UPDATE gold_pauses SET trainer_told_at = NULL, coordinators_told_at = NULL"


@pytest.fixture
async def boss(api: FakeBotApi, nilai: RunningBot) -> FakeUser:
    user = api.user(BOSS, "Boss", language_code="en")
    await user.send("/start")
    await user.wait_bot_message()
    return user


async def run_notices(api: FakeBotApi, nilai: RunningBot) -> None:
    """Run the job now, as the JobQueue does every minute, and let its sends arrive."""
    [job] = nilai.app.job_queue.get_jobs_by_name("quality-notices")
    await job.run(nilai.app)
    await api.wait_idle(quiet=0.2)


async def paused_untold(api: FakeBotApi, nilai: RunningBot, language: str) -> FakeUser:
    """Rina paused in pilot as if the process had stopped right after the Submit's commit:
    the pause is there, neither of its notices claimed."""
    rina = await rina_in(api, nilai, language)
    batch_id = await make_gold_batch(nilai.database)
    await fail_five(api, nilai, rina, batch_id)
    await api.wait_idle(quiet=0.3)
    await nilai.database.execute(UNTOLD)
    return rina


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_pause_never_told_is_told_once_by_the_job_after_a_minute(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    boss = api.user(BOSS, "Boss", language_code=language)
    await boss.send("/start")
    await boss.wait_bot_message()
    rina = await paused_untold(api, nilai, language)

    since = api.mark()
    await run_notices(api, nilai)  # under a minute: the immediate path's turn still
    assert texts_to(api, rina.chat_id, since) == [] and texts_to(api, BOSS, since) == []

    nilai.clock.advance(seconds=61)
    await run_notices(api, nilai)
    told = texts_to(api, rina.chat_id, since)
    assert PAUSED[language][0] in told[0] and GUIDELINES[language] in told[1]
    [evidence] = texts_to(api, BOSS, since)
    assert EVIDENCE[language][0] in evidence
    pause_id = await nilai.count("SELECT id FROM gold_pauses")
    button = api.message(BOSS, api.calls[-1].result["message_id"]).buttons()[0][0]
    assert button["callback_data"] == encode(Action.GOLD_RESUME, rina.user_id, pause_id)
    untold = "SELECT COUNT(*) FROM gold_pauses WHERE trainer_told_at IS NULL"
    assert await nilai.count(untold) == 0
    assert await nilai.count(untold.replace("trainer_", "coordinators_")) == 0

    mark = api.mark()
    nilai.clock.advance(minutes=5)
    await run_notices(api, nilai)
    assert texts_to(api, rina.chat_id, mark) == [] and texts_to(api, BOSS, mark) == []


async def test_the_job_sends_nothing_the_immediate_path_claimed(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database)
    since = await fail_five(api, nilai, rina, batch_id)
    await evidence_message(api, since)
    await api.wait_idle(quiet=0.3)
    told_trainer, told_boss = texts_to(api, rina.chat_id, since), texts_to(api, BOSS, since)
    assert any(PAUSED["en"][0] in text for text in told_trainer) and len(told_boss) == 1

    mark = api.mark()
    nilai.clock.advance(minutes=2)
    await run_notices(api, nilai)
    assert texts_to(api, rina.chat_id, mark) == [] and texts_to(api, BOSS, mark) == []


async def test_the_job_only_tells_the_side_never_claimed(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    rina = await paused_untold(api, nilai, "en")
    await nilai.database.execute("UPDATE gold_pauses SET trainer_told_at = paused_at")
    since = api.mark()
    nilai.clock.advance(minutes=2)
    await run_notices(api, nilai)
    assert texts_to(api, rina.chat_id, since) == []
    assert EVIDENCE["en"][0] in texts_to(api, BOSS, since)[0]


async def test_a_pause_lifted_before_the_job_ran_is_settled_and_not_told(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    rina = await paused_untold(api, nilai, "en")
    await boss.send("/resume @rina_r pilot")
    await boss.wait_bot_message()
    await api.wait_idle(quiet=0.2)
    since = api.mark()
    nilai.clock.advance(minutes=2)
    await run_notices(api, nilai)
    assert texts_to(api, rina.chat_id, since) == [] and texts_to(api, BOSS, since) == []
    settled = "SELECT COUNT(*) FROM gold_pauses WHERE coordinators_told_at IS NOT NULL"
    assert await nilai.count(settled) == 1


async def test_a_stale_resume_button_never_lifts_a_later_pause(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database, gold=10)
    since = await fail_five(api, nilai, rina, batch_id)
    first = await evidence_message(api, since)
    stale = first.buttons()[0][0]["callback_data"]
    assert await answered(api, await boss.tap(first, "Resume")) == "Lifted: they can go on"
    await api.wait_idle(quiet=0.2)

    for _ in range(5):  # a new pause in the same batch (the tally started afresh)
        await answer_gold(api, nilai, rina, batch_id, WRONG)
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses WHERE lifted_at IS NULL") == 1
    await api.wait_idle(quiet=0.3)
    again = await boss.tap(first, data=stale)
    assert await answered(api, again) == "That pause was lifted already"
    await api.wait_idle(quiet=0.2)
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses WHERE lifted_at IS NULL") == 1
    forged = await boss.tap(first, data=encode(Action.GOLD_RESUME, rina.user_id, 999))
    assert await answered(api, forged) == "This button no longer works"
    assert await nilai.count("SELECT COUNT(*) FROM audit_log WHERE action = 'gold.resume'") == 1


@pytest.mark.parametrize(
    ("status_command", "hint"),
    [
        ("/pause @rina_r", "Rina is paused as a trainer, so no items come to them yet"),
        ("/remove @rina_r", "Rina was removed, so no items come to them"),
    ],
)
async def test_lifting_the_gold_pause_of_a_paused_or_removed_trainer_does_not_invite_them(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser, status_command: str, hint: str
) -> None:
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database)
    since = await fail_five(api, nilai, rina, batch_id)
    evidence = await evidence_message(api, since)
    await boss.send(status_command)
    await boss.wait_bot_message()
    await api.wait_idle(quiet=0.2)

    since = api.mark()
    await answered(api, await boss.tap(evidence, "Resume"))
    await api.wait_idle(quiet=0.2)
    said = texts_to(api, BOSS, since)
    assert any(hint in text and "/resume @rina_r" in text for text in said), said
    assert await nilai.count("SELECT COUNT(*) FROM gold_pauses WHERE lifted_at IS NULL") == 0
    assert not any(RESUMED["en"] in text for text in texts_to(api, rina.chat_id, since))


async def test_resume_in_a_batch_of_a_paused_trainer_tells_the_coordinator_what_to_do(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    boss = api.user(BOSS, "Bos", language_code="id")
    await boss.send("/start")
    await boss.wait_bot_message()
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database)
    await fail_five(api, nilai, rina, batch_id)
    await boss.send("/pause @rina_r")
    await boss.wait_bot_message()
    await api.wait_idle(quiet=0.3)

    since = api.mark()
    await boss.send("/resume @rina_r pilot")
    await boss.wait_bot_message()
    await api.wait_idle(quiet=0.2)
    said = texts_to(api, BOSS, since)
    assert "Rina bisa menilai pilot lagi" in said[0]
    assert "Rina sedang dijeda sebagai trainer" in said[1] and "/resume @rina_r" in said[1]
    assert texts_to(api, rina.chat_id, since) == []


async def test_resume_without_a_batch_of_a_paused_trainer_makes_them_active_told_once(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    rina = await rina_in(api, nilai, "en")
    batch_id = await make_gold_batch(nilai.database)
    await fail_five(api, nilai, rina, batch_id)
    await boss.send("/pause @rina_r")
    await boss.wait_bot_message()
    await api.wait_idle(quiet=0.3)

    since = api.mark()
    await boss.send("/resume @rina_r")
    await api.wait_idle(quiet=0.3)
    said = texts_to(api, BOSS, since)
    assert "Rina can review pilot again" in said[0] and "Rina is active" in said[1]
    assert not any("paused as a trainer" in text for text in said)
    told = texts_to(api, rina.chat_id, since)
    assert not any(RESUMED["en"] in text for text in told)  # the status change tells her
    assert await nilai.count("SELECT status = 'active' FROM trainers WHERE user_id = 2001") == 1
