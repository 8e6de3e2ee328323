"""Guidance end to end: a batch's guidelines once before its first item and behind the panel's
Guidelines button, and what the scores of the criterion being scored mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.batches import import_batch_file
from bot.rubric import rubric_from_data
from handlers.callback_data import Action
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeUser

RUBRIC = {
    "guidelines": {
        "en": "Judge the answer for a Jakarta high-school student. Read it all first.",
        "id": "Nilai jawabannya untuk anak SMA di Jakarta. Baca semuanya dulu.",
    },
    "guidelines_url": "https://example.org/guide?batch=1&lang=id",
    "criteria": [
        {
            "key": "clarity",
            "id": "Kejelasan",
            "en": "Clarity",
            "steps": {
                "1": {
                    "en": "Muddled: I had to read it twice.",
                    "id": "Berbelit: harus dibaca dua kali.",
                },
                "5": {"en": "Clear at first reading.", "id": "Langsung jelas sekali baca."},
            },
        },
        {"key": "tone", "id": "Nada", "en": "Tone"},
    ],
}
ITEMS = ({"prompt": "One", "response": "1"}, {"prompt": "Two", "response": "2"})


async def import_with_rubric(nilai: RunningBot, tmp_path: Path, rubric: dict) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ITEMS), "utf-8")
    await import_batch_file(
        nilai.database,
        nilai.settings,
        path,
        name="kelas-12",
        overlap=1,
        rubric=rubric_from_data(rubric),
        clock=nilai.clock,
    )


async def joined(api: FakeBotApi, nilai: RunningBot, language: str) -> FakeUser:
    user = api.user(2001, "Rina", language_code=language)
    await nilai.onboard(user)
    return user


@pytest.mark.parametrize(
    ("language", "title", "text", "link", "step"),
    [
        ("en", "Guidelines · kelas-12", "Read it all first.", "Full guidelines", "Muddled"),
        ("id", "Panduan · kelas-12", "Baca semuanya dulu.", "Panduan lengkap", "Berbelit"),
    ],
)
async def test_guidelines_come_once_before_the_first_item_and_behind_the_button(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    title: str,
    text: str,
    link: str,
    step: str,
) -> None:
    trainer = await joined(api, nilai, language)
    await import_with_rubric(nilai, tmp_path, RUBRIC)
    panel = await nilai.next_item(trainer)
    guidelines = [m for m in trainer.bot_messages() if title in m.plain_text()]
    assert len(guidelines) == 1 and guidelines[0].message_id < panel.message_id
    shown = guidelines[0]
    assert text in shown.plain_text() and link in shown.plain_text() and step in shown.plain_text()
    assert 'href="https://example.org/guide?batch=1&amp;lang=id"' in shown.text
    # the criterion being scored says what its scores mean
    assert step in panel.plain_text()

    for index in (0, 1):
        await answered(api, await tap_action(trainer, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)
    since = api.mark()
    await answered(api, await tap_action(trainer, panel, Action.SUBMIT))
    following = await nilai.wait_panel(trainer, since)
    await api.wait_idle(quiet=0.1)
    assert "\nTwo\n" in following.plain_text()
    assert not [
        m
        for m in trainer.bot_messages()
        if title in m.plain_text() and m.message_id > panel.message_id
    ]
    await nilai.next_item(trainer)  # the open item again: still no second showing
    assert len([m for m in trainer.bot_messages() if title in m.plain_text()]) == 1

    since = api.mark()
    tap = await tap_action(trainer, following, Action.GUIDELINES)
    again = await trainer.wait_bot_message(since=since)
    await answered(api, tap)
    assert title in again.plain_text() and text in again.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM guidelines_shown") == 1


async def test_a_criterion_without_steps_shows_none_and_the_next_one_its_own(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    trainer = await joined(api, nilai, "en")
    await import_with_rubric(nilai, tmp_path, RUBRIC)
    panel = await nilai.next_item(trainer)
    assert "Clear at first reading." in panel.plain_text()
    await answered(api, await tap_action(trainer, panel, Action.SCORE, 0, 5))
    await api.wait_idle(quiet=0.05)
    assert "Now scoring: Tone" in panel.plain_text()
    assert "Clear at first reading." not in panel.plain_text()


@pytest.mark.parametrize(
    ("language", "accuracy", "language_step", "title"),
    [
        ("en", "Wrong or made up on the main point.", "like a machine translation", "Guidelines"),
        ("id", "Salah atau mengarang di inti jawabannya.", "terjemahan mesin", "Panduan"),
    ],
)
async def test_the_default_rubric_describes_its_scores_and_has_no_first_showing(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    accuracy: str,
    language_step: str,
    title: str,
) -> None:
    trainer = await joined(api, nilai, language)
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ITEMS), "utf-8")
    await nilai.import_file(path)
    before = len(trainer.bot_messages())
    panel = await nilai.next_item(trainer)
    assert len(trainer.bot_messages()) == before + 1  # no guidelines of its own: none sent first
    assert accuracy in panel.plain_text() and language_step not in panel.plain_text()
    await answered(api, await tap_action(trainer, panel, Action.SCORE, 0, 3))
    await api.wait_idle(quiet=0.05)
    assert language_step in panel.plain_text() and accuracy not in panel.plain_text()

    since = api.mark()
    await tap_action(trainer, panel, Action.GUIDELINES)
    shown = (await trainer.wait_bot_message(since=since)).plain_text()
    assert title in shown and accuracy in shown and language_step in shown
    assert await nilai.count("SELECT COUNT(*) FROM guidelines_shown") == 0
