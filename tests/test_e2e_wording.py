"""What a trainer reads, end to end in both languages: the Indonesian a person would write, the
command menu, and counts grouped as the reader's language groups them (1.500 / 1,500)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

# Big enough that a quota shows a thousands separator.
QUOTA = 1500
WRITTEN = {"id": "1.500", "en": "1,500"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, daily_quota=QUOTA)


async def trainer_with_an_item(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> tuple[FakeUser, FakeMessage]:
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"prompt": "Halo", "response": "Hai juga"}), "utf-8")
    await nilai.import_file(batch)
    user = api.user(2001, "Rina", language_code=language)
    await nilai.onboard(user)
    return user, await nilai.next_item(user)


def labels(panel: FakeMessage) -> list[str]:
    return [button["text"] for row in panel.buttons() for button in row]


@pytest.mark.parametrize("language", ["id", "en"])
async def test_the_panel_and_stats_group_the_quota_as_the_trainer_reads_numbers(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path, language: str
) -> None:
    trainer, panel = await trainer_with_an_item(api, nilai, tmp_path, language)
    assert f"0/{WRITTEN[language]}" in panel.plain_text()  # today against the quota
    assert str(QUOTA) not in panel.plain_text()

    since = api.mark()
    await trainer.send("/stats")
    stats = (await trainer.wait_bot_message(since=since)).plain_text()
    line = {"id": "Hari ini", "en": "Today"}[language]
    assert f"{line}: 0 / {WRITTEN[language]}" in stats


async def test_an_indonesian_panel_names_things_as_a_person_would(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    _, panel = await trainer_with_an_item(api, nilai, tmp_path, "id")
    shown = labels(panel)
    assert "✏️ Perbaiki jawaban" in shown and "Kegunaan –" in shown
    assert "☐ Berat sebelah" in shown
    assert "Jawaban perbaikan: –" in panel.plain_text()
    assert not any(word in panel.plain_text() for word in ("Tulisan ulang", "Anda"))


@pytest.mark.parametrize(
    ("language", "wanted", "unwanted"),
    [
        ("id", ["Perbaiki jawaban", "Tandai kalau ada masalah"], ["Tulis ulang", "Nyalakan"]),
        ("en", ["Rewrite", "Flag any problem"], ["(s)"]),
    ],
)
async def test_help_reads_naturally_in_each_language(
    api: FakeBotApi, nilai: RunningBot, language: str, wanted: list[str], unwanted: list[str]
) -> None:
    trainer = api.user(2002, "Sari", language_code=language)
    await nilai.onboard(trainer)
    since = api.mark()
    await trainer.send("/help")
    text = (await trainer.wait_bot_message(since=since)).plain_text()
    assert all(word in text for word in wanted), text
    assert not any(word in text for word in unwanted), text


async def test_the_command_menu_speaks_each_language(api: FakeBotApi, nilai: RunningBot) -> None:
    await api.wait_for_call("setMyCommands", lambda call: "language_code" not in call.params)
    menus = {code: api.my_commands(language_code=code) for code in ("id", "en", "")}
    described = {
        code: {c["command"]: c["description"] for c in menu} for code, menu in menus.items()
    }
    assert described["id"]["stats"] == "Jumlah penilaianmu hari ini dan total"
    assert described["en"]["stats"] == "Your reviews today and in total"
    assert described[""] == described["id"]  # the default language of these settings
    # what a trainer can do is in the menu, privacy included (/deleteme is named by /privacy)
    menu = ["next", "stats", "reminders", "lang", "help", "privacy", "mydata"]
    assert list(described["en"]) == menu
