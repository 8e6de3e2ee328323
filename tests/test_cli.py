"""The command line as an operator uses it: `python -m bot ...` in a subprocess."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import clean_environment, make_project, run_cli, run_script
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
    for command in ("run", "migrate", "import", "invite", "export"):
        result = run_cli(tmp_path, command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


def test_help_says_which_folder_paths_are_relative_to(tmp_path: Path) -> None:
    text = " ".join(run_cli(tmp_path, "--help").stdout.split())
    assert "relative to the folder you run it from" in text and "--project DIR" in text
    assert "DATABASE_PATH is inside it" in text
    export_help = " ".join(run_cli(tmp_path, "export", "--help").stdout.split())
    assert "in the current folder" in export_help


BATCH_LINES = [
    '{"id": "a", "prompt": "Halo", "response": "Hai!", "metadata": {"lang": "ID"}}',
    '{"id": "b", "prompt": "Hello", "response": "Hi!", "metadata": {"lang": "en-US"}}',
    '{"id": "c", "prompt": "Sugeng enjing", "response": "Enjing", "metadata": {"lang": "jv"}}',
    '{"id": "d", "prompt": "No language", "response": "Fine"}',
]


def test_scripts_bot_works_from_any_folder(tmp_path: Path) -> None:
    """Paths on the command line are the operator's (relative to where they are), the data
    folder is the project's: `scripts/bot import shared/...` from outside the project, and an
    export without -o lands where the command was run, not in the project."""
    project = make_project(tmp_path / "project", "DATABASE_PATH=data/nilai.db\n")
    elsewhere = tmp_path / "work"
    (elsewhere / "shared").mkdir(parents=True)
    (elsewhere / "shared" / "b.jsonl").write_text("\n".join(BATCH_LINES) + "\n", "utf-8")

    imported = run_script(project, elsewhere, "import", "shared/b.jsonl", "--batch", "pilot")
    assert imported.returncode == 0, imported.stderr
    assert "imported 4 items" in imported.stdout
    assert "languages: en 1, id 1, jv 1" in imported.stdout
    database = project / "data" / "nilai.db"
    assert not (elsewhere / "data").exists()
    with sqlite3.connect(database) as conn:
        langs = conn.execute("SELECT external_id, lang FROM items ORDER BY external_id").fetchall()
    assert langs == [("a", "id"), ("b", "en"), ("c", "jv"), ("d", None)]

    exported = run_script(project, elsewhere, "export", "--batch", "pilot", "--format", "raw")
    assert exported.returncode == 0, exported.stderr
    assert (elsewhere / "pilot-raw.jsonl").is_file()
    assert not (project / "pilot-raw.jsonl").exists()
    (elsewhere / "out").mkdir()
    args = ("export", "--batch", "pilot", "--format", "ratings", "-o", "out/r.csv")
    assert run_script(project, elsewhere, *args).returncode == 0
    assert (elsewhere / "out" / "r.csv").is_file()


def test_the_project_folder_holds_env_and_a_relative_database_path(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("DATABASE_PATH=state/x.db\n", "utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--project", str(project), "migrate"],
        cwd=elsewhere,
        env=clean_environment(),  # no DATABASE_PATH but the one in the project's .env
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (project / "state" / "x.db").is_file()
    assert not (elsewhere / "state").exists()
    missing = run_cli(tmp_path, "--project", str(tmp_path / "nope"), "migrate")
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_an_import_names_each_problem_in_english_with_its_line(tmp_path: Path) -> None:
    lines = [
        BATCH_LINES[0],
        '{"prompt": "x", "response": "y", "metadata": {"lang": "english"}}',
        '{"prompt": "", "response": "y"}',
        '{"prompt": "x", "response": "y", "colour": 1}',
        '{"prompt": "x", "response": "y", "metadata": {"lang": 7}}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    result = run_cli(tmp_path, "import", "bad.jsonl", "--batch", "bad")
    assert result.returncode == 1
    assert "has 4 problems; nothing was imported" in result.stderr
    assert (
        'line 2: "lang" in "metadata" is "english", not a language code (ISO 639-1)'
        in result.stderr
    )
    assert 'line 3: "prompt" is empty' in result.stderr
    assert 'line 4: unknown key "colour": move it into "metadata"' in result.stderr
    assert 'line 5: "lang" in "metadata" is a number, not a language code' in result.stderr


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
