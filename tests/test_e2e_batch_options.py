"""A batch's quality options end to end (issue 9): the gold rate and dynamic overlap given in
an upload's caption, shown in its summary and in /batches, refused clearly in the coordinator's
language; and gold items left out of progress and completion (/batches, /progress, "batch
complete")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.batch_options import QualityOptions
from bot.batches import import_batch_file
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeUser
from tests.test_e2e_batch_complete import announcements, review, run_batch_events
from tests.test_e2e_batches import upload

GOLD = {"accuracy": [4, 5]}


def batch_file(tmp_path: Path, items: int, gold: int) -> Path:
    """`items` ordinary items, then `gold` gold items (accuracy expected 4 or 5)."""
    records = [{"prompt": f"Prompt {n}", "response": f"Answer {n}"} for n in range(items)]
    records += [
        {"id": f"gold-{n}", "prompt": f"Gold {n}", "response": f"Gold answer {n}", "gold": GOLD}
        for n in range(gold)
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in records), "utf-8")
    return path


async def coordinator_in(api: FakeBotApi, nilai: RunningBot, language: str) -> FakeUser:
    if language == "en":
        boss = api.user(9000, "Boss", language_code="en")
        await boss.send("/start")
        await boss.wait_bot_message()
        return boss
    user = api.user(9100, "Sari", language_code="id")
    await user.send(f"/start {await nilai.invite(role='coordinator')}")
    await user.wait_bot_message()
    return user


async def test_caption_options_are_summarised_stored_and_listed(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, tmp_path: Path
) -> None:
    content = batch_file(tmp_path, items=6, gold=3).read_bytes()
    caption = "quality gold_rate=12.5% extra_reviews=2 disagreement=3"
    status = await upload(api, coordinator, "q.jsonl", content, caption=caption)
    text = status.plain_text()
    assert "Items: 9" in text
    assert "Gold: 3 items, mixed into each trainer's items at 12.5%" in text
    assert "Up to 2 extra reviews when scores are 3+ points apart" in text
    await coordinator.tap(status, "Open quietly")
    await api.wait_idle(quiet=0.1)
    row = await nilai.database.fetchone(
        "SELECT gold_rate, extra_reviews, disagreement FROM batches WHERE name = 'quality'"
    )
    assert tuple(row) == (0.125, 2, 3)
    since = api.mark()
    await coordinator.send("/batches")
    listing = (await coordinator.wait_bot_message(since=since)).plain_text()
    assert "6 items · reviews 0/12 (0%)" in listing  # overlap 2 of the ordinary items only
    assert "3 gold items at 12.5%" in listing
    assert "up to 2 extra reviews when scores are 3+ apart" in listing


async def test_without_options_the_default_gold_rate_applies_and_dynamic_overlap_is_off(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, tmp_path: Path
) -> None:
    status = await upload(api, coordinator, "plain.jsonl", batch_file(tmp_path, 4, 0).read_bytes())
    text = status.plain_text()
    assert "Gold: none" in text and "extra review" not in text
    await coordinator.tap(status, "Open quietly")
    await api.wait_idle(quiet=0.1)
    row = await nilai.database.fetchone(
        "SELECT gold_rate, extra_reviews, disagreement FROM batches"
    )
    assert tuple(row) == (0.1, 0, None)
    since = api.mark()
    await coordinator.send("/batches")
    listing = (await coordinator.wait_bot_message(since=since)).plain_text()
    assert "gold" not in listing and "extra" not in listing


REFUSALS = [
    ("gold_rate=1.5", "The gold rate 1.5 must be a share from 0 to 1", "porsi dari 0 sampai 1"),
    ("gold_rate=ten", "The gold rate ten must be", "Gold rate ten harus"),
    ("extra_reviews=2", "extra_reviews needs disagreement too", "perlu disagreement juga"),
    ("disagreement=2", "disagreement needs extra_reviews too", "perlu extra_reviews juga"),
    ("extra_reviews=11 disagreement=2", "from 1 to 10", "dari 1 sampai 10"),
    ("extra_reviews=2 disagreement=5", "at most 4 points apart", "paling jauh bedanya 4 poin"),
    ("extra_reviews=2 disagreement=0", "from 1 to 4", "dari 1 sampai 4"),
    ("extra_reviews=2 disagreement=x", "whole number of points", "jumlah poin berupa"),
]


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize(("caption", "english", "indonesian"), REFUSALS)
async def test_a_bad_option_is_refused_in_the_coordinators_language(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    caption: str,
    english: str,
    indonesian: str,
) -> None:
    boss = await coordinator_in(api, nilai, language)
    content = batch_file(tmp_path, 3, 1).read_bytes()
    status = await upload(api, boss, "bad.jsonl", content, caption=f"bad {caption}")
    text = status.plain_text()
    assert (english if language == "en" else indonesian) in text
    assert ("Nothing was imported" if language == "en" else "Filenya belum diimpor") in text
    assert status.buttons() == []
    assert await nilai.count("SELECT COUNT(*) FROM uploads") == 0


async def test_the_disagreement_is_bounded_by_the_pending_rubrics_scale(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, tmp_path: Path
) -> None:
    from tests.test_e2e_batches import RUBRIC_TOML  # scale 1..3: scores at most 2 apart

    since = api.mark()
    await coordinator.send_document("rubric.toml", RUBRIC_TOML)
    await coordinator.wait_bot_message(since=since)
    await api.wait_idle(quiet=0.2)
    content = batch_file(tmp_path, 3, 0).read_bytes()
    status = await upload(
        api, coordinator, "b.jsonl", content, caption="small extra_reviews=1 disagreement=3"
    )
    assert "at most 2 points apart" in status.plain_text()


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_rubric_sent_after_the_file_is_refused_when_the_disagreement_outgrows_it(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    from tests.test_e2e_batches import RUBRIC_TOML  # scale 1..3: scores at most 2 apart

    boss = await coordinator_in(api, nilai, language)
    content = batch_file(tmp_path, 3, 0).read_bytes()
    # Checked against the default rubric (1..5): 3 points apart is possible there.
    checked = await upload(
        api, boss, "b.jsonl", content, caption="wide extra_reviews=1 disagreement=3"
    )
    assert checked.buttons() != []
    refused = await upload(api, boss, "rubric.toml", RUBRIC_TOML)
    text = refused.plain_text()
    if language == "en":
        assert "That rubric was not attached" in text and "disagreement=3" in text
        assert "at most 2 points apart" in text
    else:
        assert "Rubrik itu tidak kupasang" in text and "disagreement=3" in text
        assert "paling jauh bedanya 2 poin" in text
    assert await nilai.count("SELECT COUNT(*) FROM uploads WHERE rubric IS NOT NULL") == 0
    assert await nilai.count("SELECT COUNT(*) FROM bot_facts WHERE name LIKE 'next_rubric:%'") == 0

    # Opened, the batch has the rubric it was checked with, and its dynamic overlap.
    await boss.tap(checked, "Open quietly" if language == "en" else "Buka tanpa umumkan")
    await api.wait_idle(quiet=0.2)
    rubric, spread = await nilai.database.fetchone(
        "SELECT rubric, disagreement FROM batches WHERE name = 'wide'"
    )
    assert json.loads(rubric)["scale"] == [1, 5] and spread == 3


async def test_a_rubric_sent_after_the_file_is_attached_when_the_disagreement_fits(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, tmp_path: Path
) -> None:
    from tests.test_e2e_batches import RUBRIC_TOML

    content = batch_file(tmp_path, 3, 0).read_bytes()
    checked = await upload(
        api, coordinator, "b.jsonl", content, caption="fits extra_reviews=1 disagreement=2"
    )
    attached = await upload(api, coordinator, "rubric.toml", RUBRIC_TOML)
    assert "attached to your pending upload" in attached.plain_text()
    await coordinator.tap(checked, "Open quietly")
    await api.wait_idle(quiet=0.2)
    rubric, spread = await nilai.database.fetchone(
        "SELECT rubric, disagreement FROM batches WHERE name = 'fits'"
    )
    assert json.loads(rubric)["scale"] == [1, 3] and spread == 2


async def test_gold_items_are_left_out_of_progress_and_completion(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, tmp_path: Path
) -> None:
    """Both ordinary items reviewed: the batch is announced complete and /progress says 100%,
    while its gold items were never answered."""
    await import_batch_file(
        nilai.database,
        nilai.settings,
        batch_file(tmp_path, items=2, gold=3),
        name="pilot",
        overlap=1,
        quality=QualityOptions(gold_rate=0.0),  # no gold item is mixed in: none is answered
        clock=nilai.clock,
    )
    rina = api.user(2001, "Rina", language_code="en")
    await nilai.onboard(rina)
    since = api.mark()
    await review(api, nilai, rina)
    await run_batch_events(nilai)
    assert not announcements(api, since)  # one ordinary item is still open
    await review(api, nilai, rina)
    await run_batch_events(nilai)
    (announced,) = announcements(api, since)[coordinator.chat_id]
    assert "Items: 2 · Reviews: 2" in announced.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM items WHERE complete = 2") == 3
    assert await nilai.count("SELECT COUNT(*) FROM assignments") == 2  # no gold answer
    since = api.mark()
    await coordinator.send("/progress pilot")
    report = (await coordinator.wait_bot_message(since=since)).plain_text()
    assert "Items complete: 2 / 2 (100.0%)" in report and "Reviews: 2 / 2" in report
    assert "Finished" in report
    since = api.mark()
    await coordinator.send("/batches")
    listing = (await coordinator.wait_bot_message(since=since)).plain_text()
    assert "2 items · reviews 2/2 (100%)" in listing and "3 gold items at 0%" in listing
