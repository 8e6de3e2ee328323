"""The command line as an operator uses it: `python -m bot ...` in a subprocess."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.conftest import SAMPLES


def count(tmp_path: Path, sql: str) -> int:
    with sqlite3.connect(tmp_path / "data" / "nilai.db") as conn:
        return conn.execute(sql).fetchone()[0]


def test_migrate_creates_the_database_and_is_idempotent(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert "applied 0001_initial.sql" in first.stdout
    second = run_cli(tmp_path, "migrate")
    assert second.returncode == 0 and "up to date" in second.stdout


@pytest.mark.parametrize("sample", ["batch_small.jsonl", "batch_small.csv"])
def test_import_of_the_samples(tmp_path: Path, sample: str) -> None:
    result = run_cli(
        tmp_path, "import", str(SAMPLES / sample), "--batch", "pilot", "--overlap", "2"
    )
    assert result.returncode == 0, result.stderr
    expected = 24 if sample.endswith("jsonl") else 23
    assert f"imported {expected} items" in result.stdout
    assert count(tmp_path, "SELECT COUNT(*) FROM items") == expected
    assert count(tmp_path, "SELECT overlap FROM batches WHERE name = 'pilot'") == 2


def test_a_bad_file_is_refused_whole_with_line_numbers(tmp_path: Path) -> None:
    good = (SAMPLES / "batch_small.jsonl").read_text(encoding="utf-8").splitlines()
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text(
        "\n".join([*good[:5], '{"prompt": "", "response": "x"}', *good[5:]]), "utf-8"
    )
    result = run_cli(tmp_path, "import", str(bad_file), "--batch", "broken")
    assert result.returncode == 1
    assert "line 6" in result.stderr and "nothing was imported" in result.stderr
    assert count(tmp_path, "SELECT COUNT(*) FROM items") == 0
    assert count(tmp_path, "SELECT COUNT(*) FROM batches") == 0


def test_a_batch_name_is_used_once(tmp_path: Path) -> None:
    assert (
        run_cli(tmp_path, "import", str(SAMPLES / "batch_small.csv"), "--batch", "b").returncode
        == 0
    )
    again = run_cli(tmp_path, "import", str(SAMPLES / "batch_small.csv"), "--batch", "b")
    assert again.returncode == 1 and "exists already" in again.stderr
    assert count(tmp_path, "SELECT COUNT(*) FROM items") == 23


def test_invite_prints_the_code_last(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "invite", "--role", "coordinator", "--uses", "3", "--days", "2")
    assert result.returncode == 0, result.stderr
    code = result.stdout.split()[-1].rsplit("start=", 1)[-1]
    with sqlite3.connect(tmp_path / "data" / "nilai.db") as conn:
        row = conn.execute("SELECT role, uses_left FROM invites WHERE code = ?", (code,)).fetchone()
    assert row == ("coordinator", 3)


def test_invite_prints_a_link_once_the_bot_username_is_known(tmp_path: Path) -> None:
    run_cli(tmp_path, "migrate")
    with sqlite3.connect(tmp_path / "data" / "nilai.db") as conn:
        conn.execute("INSERT INTO bot_facts (name, value) VALUES ('bot_username', 'nilai_bot')")
    result = run_cli(tmp_path, "invite")
    assert "https://t.me/nilai_bot?start=" in result.stdout.split()[-1]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "TELEGRAM_BOT_TOKEN looks malformed"),
        (
            {"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOP", "DEFAULT_LANGUAGE": "fr"},
            "DEFAULT_LANGUAGE",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOP", "LEASE_MINUTES": "soon"},
            "LEASE_MINUTES",
        ),
    ],
)
def test_bad_settings_give_one_clear_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = run_cli(tmp_path, "run", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr
    assert "ABCDEFGHIJKLMNOP" not in result.stderr


def test_every_command_has_help(tmp_path: Path) -> None:
    for command in ("run", "migrate", "import", "invite"):
        result = run_cli(tmp_path, command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


def test_an_import_whose_parser_process_dies_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bot.batches
    from bot.cli import main

    async def parser_died(*args: object, **kwargs: object) -> None:
        raise bot.batches.ParserFailed("the batch parser process ended unexpectedly")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "nilai.db"))
    monkeypatch.setattr(bot.batches, "import_batch_file", parser_died)
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"prompt": "p", "response": "r"}\n', encoding="utf-8")
    assert main(["import", str(batch), "--batch", "pilot"]) == 1
    err = capsys.readouterr().err
    assert "parser process ended unexpectedly; nothing was imported" in err
    assert "Traceback" not in err
