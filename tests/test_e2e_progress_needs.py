"""/progress for a batch that cannot move on, end to end: when every active trainer has had all
they can take it says the batch needs more trainers (not an estimated finish), and it warns
about items in a language no active trainer reviews. Both languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.callback_data import Action
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeUser

BOSS = 9000  # COORDINATOR_IDS in the test settings


def batch_file(tmp_path: Path, *languages: str | None) -> Path:
    path = tmp_path / "batch.jsonl"
    records = [
        {"id": f"q{n}", "prompt": f"Prompt {n}", "response": f"Answer {n}"}
        | ({"metadata": {"lang": code}} if code else {})
        for n, code in enumerate(languages, start=1)
    ]
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    return path


async def import_batch(
    nilai: RunningBot, tmp_path: Path, *languages: str | None, overlap: int
) -> None:
    """Through the real import, which stores `metadata.lang` in items.lang."""
    await nilai.import_file(batch_file(tmp_path, *languages), overlap=overlap)
    stored = await nilai.database.fetchall("SELECT lang FROM items ORDER BY id")
    assert [row[0] for row in stored] == list(languages)


async def person(api: FakeBotApi, nilai: RunningBot, user_id: int, language: str) -> FakeUser:
    user = api.user(user_id, f"User {user_id}", language_code=language)
    if user_id == BOSS:
        await user.send("/start")
        await user.wait_bot_message()
    else:
        await nilai.onboard(user)
    return user


async def review_one(api: FakeBotApi, nilai: RunningBot, user: FakeUser) -> None:
    panel = await nilai.next_item(user)
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.05)


async def progress(api: FakeBotApi, boss: FakeUser) -> str:
    since = api.mark()
    await boss.send("/progress")
    return (await boss.wait_bot_message(since=since)).plain_text()


@pytest.mark.parametrize(
    ("language", "needs", "wanted", "estimate"),
    [
        ("en", "Needs more trainers", "Still wanted: 6 reviews", "Estimated finish"),
        ("id", "Butuh trainer tambahan", "Masih kurang 6 penilaian", "Perkiraan selesai"),
    ],
)
async def test_a_batch_its_only_trainer_has_finished_needs_more_trainers(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    needs: str,
    wanted: str,
    estimate: str,
) -> None:
    boss = await person(api, nilai, BOSS, language)
    await import_batch(nilai, tmp_path, None, None, None, None, None, None, overlap=2)
    rina = await person(api, nilai, 2001, "en")
    for _ in range(6):  # six reviews in the last hour: enough for a pace
        await review_one(api, nilai, rina)
    text = await progress(api, boss)
    assert needs in text and wanted in text
    assert estimate not in text  # at 6 reviews an hour, nobody is left to give them

    await person(api, nilai, 2002, "en")  # a new trainer can take every item
    text = await progress(api, boss)
    assert needs not in text and estimate in text


@pytest.mark.parametrize(
    ("language", "warning"),
    [
        ("en", "⚠️ 2 open items are in Javanese (jv), and no active trainer reviews Javanese."),
        (
            "id",
            "⚠️ Ada 2 item berbahasa Jawa (jv) yang belum selesai, tapi belum ada trainer aktif"
            " yang menilai bahasa Jawa.",
        ),
    ],
)
async def test_items_in_a_language_no_active_trainer_reviews_are_pointed_out(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str, warning: str
) -> None:
    boss = await person(api, nilai, BOSS, language)
    await import_batch(nilai, tmp_path, "jv", "id", "jv", None, overlap=1)
    await person(api, nilai, 2001, "id")
    text = await progress(api, boss)
    assert warning in text
    assert "Sundanese" not in text and "Sunda" not in text

    rina = await person(api, nilai, 2002, "en")
    since = api.mark()
    await rina.send("/lang")
    menu = await rina.wait_bot_message(since=since)
    await answered(api, await rina.tap(menu, "Javanese"))
    await api.wait_idle(quiet=0.05)
    assert "⚠️" not in await progress(api, boss)


async def test_a_batch_whose_items_no_one_reviews_needs_more_trainers_at_once(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    boss = await person(api, nilai, BOSS, "en")
    await import_batch(nilai, tmp_path, "su", "su", overlap=3)
    await person(api, nilai, 2001, "id")
    text = await progress(api, boss)
    assert "Needs more trainers" in text and "Still wanted: 6 reviews" in text
    assert "⚠️ 2 open items are in Sundanese (su)" in text
