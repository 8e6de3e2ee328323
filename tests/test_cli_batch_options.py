"""`python -m bot import --gold-rate P --extra-reviews N --disagreement SPREAD` (issue 9): the
options stored on the batch and said in the summary; a bad one refused in one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.conftest import SAMPLES
from tests.test_e2e_batches import RUBRIC_TOML


def batch_row(tmp_path: Path) -> tuple:
    with sqlite3.connect(tmp_path / "data" / "nilai.db") as conn:
        return conn.execute(
            "SELECT gold_rate, extra_reviews, disagreement FROM batches WHERE name = 'q'"
        ).fetchone()


def test_the_options_are_stored_and_summarised(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "import",
        str(SAMPLES / "batch_small.jsonl"),
        "--batch",
        "q",
        "--gold-rate",
        "25%",
        "--extra-reviews",
        "1",
        "--disagreement",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert "imported 24 items into batch 'q'" in result.stdout
    assert "gold: 5 items, mixed into each trainer's items at 25%" in result.stdout
    assert "dynamic overlap: up to 1 extra review when scores are 2+ points apart" in result.stdout
    assert batch_row(tmp_path) == (0.25, 1, 2)


def test_without_options_the_gold_rate_is_the_default_and_dynamic_overlap_off(
    tmp_path: Path,
) -> None:
    result = run_cli(tmp_path, "import", str(SAMPLES / "batch_small.csv"), "--batch", "q")
    assert result.returncode == 0, result.stderr
    assert "dynamic overlap" not in result.stdout
    assert batch_row(tmp_path) == (0.1, 0, None)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--gold-rate", "1.2"], "the gold rate must be from 0 to 1 (or 0% to 100%), not '1.2'"),
        (["--gold-rate=-5%"], "not '-5%'"),
        (["--extra-reviews", "2"], "--extra-reviews needs --disagreement SPREAD too"),
        (["--disagreement", "2"], "--disagreement needs --extra-reviews N too"),
        (["--extra-reviews", "0", "--disagreement", "2"], "from 1 to 10, not '0'"),
        (["--extra-reviews", "2", "--disagreement", "5"], "from 1 to 4 (the rubric's scale"),
    ],
)
def test_a_bad_option_is_one_line_and_nothing_is_imported(
    tmp_path: Path, options: list[str], says: str
) -> None:
    result = run_cli(tmp_path, "import", str(SAMPLES / "batch_small.csv"), "--batch", "q", *options)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert says in line and line.startswith("error:") and "nothing was imported" in line
    assert not (tmp_path / "data" / "nilai.db").exists() or batch_row(tmp_path) is None


def test_the_disagreement_is_bounded_by_the_batchs_own_rubric(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.toml"
    rubric.write_bytes(RUBRIC_TOML)  # scale 1 to 3: scores at most 2 points apart
    args = ["import", str(SAMPLES / "batch_small.csv"), "--batch", "q", "--rubric", str(rubric)]
    refused = run_cli(tmp_path, *args, "--extra-reviews", "1", "--disagreement", "3")
    assert refused.returncode == 2 and "from 1 to 2" in refused.stderr
    accepted = run_cli(tmp_path, *args, "--extra-reviews", "1", "--disagreement", "2")
    assert accepted.returncode == 0, accepted.stderr
    assert batch_row(tmp_path) == (0.1, 1, 2)
