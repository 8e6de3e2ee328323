"""The quality figures where people look, end to end through the fake Bot API: a trainer's own
acceptance rate in /stats (nothing before a decision, never a gold figure), and each trainer's
gold accuracy, gold pause and acceptance rate on their /trainers line, in both languages. The
review and gold rows are written straight into their tables (tests/quality_rows.py); the daily
report's figures are in tests/test_e2e_report_quality.py."""

from __future__ import annotations

import pytest

from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeUser
from tests.gold_items import make_gold_batch
from tests.quality_rows import BUDI, REVIEWER, RIGHT, RINA, quality_rows, rinas_record
from tests.test_e2e_gold import fail_five
from tests.test_e2e_progress_needs import person

BOSS = 9000  # COORDINATOR_IDS in the test settings


async def reply_to(user: FakeUser, api: FakeBotApi, command: str) -> str:
    since = api.mark()
    await user.send(command)
    return (await user.wait_bot_message(since=since)).plain_text()


@pytest.mark.parametrize(
    ("language", "accepted"),
    [
        ("en", "Rewrites accepted: 3 of 4 (75%)"),
        ("id", "Jawaban perbaikan diterima: 3 dari 4 (75%)"),
    ],
)
async def test_stats_shows_the_acceptance_rate_once_a_rewrite_is_decided(
    api: FakeBotApi, nilai: RunningBot, language: str, accepted: str
) -> None:
    rina = await person(api, nilai, RINA, language)
    rows = await quality_rows(nilai.database)
    await rows.rewrite(RINA, "open", reviewer_id=REVIEWER)
    await rows.gold_answer(RINA, RIGHT)
    before = await reply_to(rina, api, "/stats")
    assert accepted.split(":")[0] not in before  # none decided yet: no line at all
    for status in ("accepted", "rejected", "accepted", "accepted"):
        await rows.rewrite(RINA, status, reviewer_id=REVIEWER)
    after = await reply_to(rina, api, "/stats")
    # the usual figures (more reviews now), then the new line
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert after.splitlines()[-1] == accepted
    for secret in ("gold", "kontrol", "5/5", "1 of 1", "1 dari 1"):
        assert secret not in after.lower()  # gold items look like any other


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", "⏸ paused by gold: pilot · 🥇 gold 4/5 (80%) · ✍️ accepted 3/4 (75%)"),
        ("id", "⏸ dijeda karena gold: pilot · 🥇 gold benar 4/5 (80%) · ✍️ diterima 3/4 (75%)"),
    ],
)
async def test_trainers_shows_gold_pauses_gold_accuracy_and_acceptance(
    api: FakeBotApi, nilai: RunningBot, language: str, line: str
) -> None:
    boss = await person(api, nilai, BOSS, language)
    await person(api, nilai, RINA, "en")
    await person(api, nilai, BUDI, "id")
    await rinas_record(await quality_rows(nilai.database))
    text = await reply_to(boss, api, "/trainers")
    rina, budi = text.index("User 2001"), text.index("User 2002")
    rina_lines = text[rina:budi].splitlines()
    # the second line under Rina's, before the anomalies (her rows took no time: "fast")
    assert rina_lines[2].strip().startswith(f"{line} · ⚡"), text
    budi_lines = text[budi:].splitlines()
    assert "🥇" not in text[budi:] and "✍️" not in text[budi:]  # nothing decided, no gold
    assert budi_lines[2].startswith("3. "), text  # no second line under Budi's


async def test_real_gold_answers_show_in_trainers_and_stay_after_resume_but_never_in_stats(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    """Through the gold items themselves: five wrong answers pause Rina; /trainers says so with
    her accuracy; /resume lifts the pause and starts her tally afresh, but her record (all her
    gold answers) stays; her /stats never mentions gold."""
    boss = await person(api, nilai, BOSS, "en")
    rina = api.user(2001, "Rina", language_code="en", username="rina_r")
    await nilai.onboard(rina)
    batch_id = await make_gold_batch(nilai.database)
    await fail_five(api, nilai, rina, batch_id)
    listing = await reply_to(boss, api, "/trainers")
    assert "⏸ paused by gold: pilot · 🥇 gold 0/5 (0%)" in listing, listing
    await reply_to(boss, api, "/resume @rina_r pilot")
    listing = await reply_to(boss, api, "/trainers")
    assert "⏸" not in listing and "🥇 gold 0/5 (0%)" in listing, listing
    stats = await reply_to(rina, api, "/stats")
    assert "gold" not in stats.lower() and "0/5" not in stats
