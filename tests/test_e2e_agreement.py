"""/progress shows how far reviewers agree, end to end: one line per criterion with its label,
Krippendorff's alpha (two decimals, as the reader's language writes them) and the items it
rests on; "not enough overlapping reviews" before two items have two reviews. Both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import t
from bot.rubric import DEFAULT_RUBRIC
from handlers.callback_data import Action
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeUser
from tests.test_agreement import ordinal_alpha_by_formula
from tests.test_e2e_progress_needs import batch_file, person, progress

BOSS = 9000  # COORDINATOR_IDS in the test settings


async def review_with(api: FakeBotApi, nilai: RunningBot, user: FakeUser, score: int) -> None:
    """The next item, every criterion scored `score`, submitted."""
    panel = await nilai.next_item(user)
    for index in range(len(DEFAULT_RUBRIC.criteria)):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, score))
        await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    # The Submit sends the next item after its answer: let it arrive before the next /next,
    # or /next moves that copy below and the panel found first has lost its buttons.
    await api.wait_idle(quiet=0.3)


@pytest.mark.parametrize(
    ("language", "title", "not_enough", "alpha", "rests_on"),
    [
        (
            "en",
            "Agreement between reviewers",
            "not enough overlapping reviews yet",
            "0.",
            "on 3 items",
        ),
        ("id", "Kesepakatan antarpenilai", "belum cukup item yang dinilai", "0,", "dari 3 item"),
    ],
)
async def test_progress_shows_alpha_per_criterion(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    title: str,
    not_enough: str,
    alpha: str,
    rests_on: str,
) -> None:
    boss = await person(api, nilai, BOSS, language)
    await nilai.import_file(batch_file(tmp_path, None, None, None), overlap=2)
    rina = await person(api, nilai, 2001, "en")
    budi = await person(api, nilai, 2002, "id")

    text = await progress(api, boss)
    assert title in text
    labels = [t(language, f"criterion.{name}") for name in DEFAULT_RUBRIC.criteria]
    for label in labels:
        assert f"• {label}: {not_enough}" in text

    for rina_score, budi_score in ((1, 2), (3, 3), (5, 5)):  # items 1, 2 and 3 in queue order
        await review_with(api, nilai, rina, rina_score)
        await review_with(api, nilai, budi, budi_score)
    text = await progress(api, boss)
    expected = ordinal_alpha_by_formula([[1, 2], [3, 3], [5, 5]])
    shown = f"{expected:.2f}".replace("0.", alpha)
    for label in labels:
        line = f"• {label}: {shown} "
        assert f"{line}{rests_on}" in text, text
    assert not_enough not in text
