"""Reasons for refusing a batch or rubric file, in the coordinator's language (bot/upload_problems).

The parsers name each reason by a catalog key; these tests check that every key they use exists
in both languages, and that a coordinator reading Indonesian gets no English reason, whatever
is wrong with the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bot
from bot.batch_format import scan_batch_file
from bot.i18n import catalog
from bot.rubric import RubricError, load_rubric_file, rubric_from_data
from bot.upload_problems import SECTION, Names, Problem, html_text, phrase, plain, problem
from tests.test_batch_format import CRITERIA, MALFORMED, write

SOURCES = [Path(bot.__file__).parent / name for name in ("batch_format.py", "rubric.py")]
# The first string argument of whatever names a reason: `_Bad("key"`, `Problem(0, "key"`, ...
_KEY_USES = re.compile(
    r'(?:_Bad|RubricError|phrase|Phrase)\(\s*"([a-z0-9_]+)"'
    r'|Problem\(\s*[\w.+ ]+,\s*"([a-z0-9_]+)"'
)


def used_keys() -> set[str]:
    keys: set[str] = set()
    for source in SOURCES:
        for match in _KEY_USES.finditer(source.read_text("utf-8")):
            keys.add(next(group for group in match.groups() if group))
    return keys


def test_every_key_the_parsers_use_is_in_both_catalogs() -> None:
    keys = used_keys()
    assert len(keys) > 60  # the pattern still finds them
    for language in ("en", "id"):
        missing = {key for key in keys if f"{SECTION}.{key}" not in catalog(language)}
        assert missing == set(), language


def _words(text: str) -> set[str]:
    text = re.sub(r'"[^"]*"|\'[^\']*\'', " ", text)  # values from the file, and key names
    text = re.sub(r"\{[a-z_]+\}", " ", text)  # placeholders
    return {word.lower() for word in re.findall(r"[A-Za-z]{3,}", text)}


ENGLISH_ONLY = set().union(
    *(_words(text) for key, text in catalog("en").items() if key.startswith(SECTION))
) - set().union(*(_words(text) for key, text in catalog("id").items() if key.startswith(SECTION)))


def assert_not_english(text: str) -> None:
    assert _words(text) & ENGLISH_ONLY == set(), text


def test_the_english_word_list_is_meaningful() -> None:
    assert {"line", "missing", "must", "empty", "unknown", "duplicate"} <= ENGLISH_ONLY


@pytest.mark.parametrize(
    ("name", "content", "line", "reason"), list(MALFORMED.values()), ids=list(MALFORMED)
)
def test_every_malformed_file_is_explained_in_indonesian(
    tmp_path: Path, name: str, content: bytes | str, line: int, reason: str
) -> None:
    result = scan_batch_file(write(tmp_path, name, content), criteria=CRITERIA)
    for found in result.errors + result.warnings:
        indonesian = html_text(found, "id")
        assert indonesian != html_text(found, "en")
        assert_not_english(indonesian)
        if found.line:
            assert indonesian.startswith(f"baris {found.line:,}".replace(",", ".") + ": ")


@pytest.mark.parametrize(
    "data",
    [
        "not a table",
        {"criteria": []},
        {"colour": "blue", "criteria": [{"key": "a", "id": "a", "en": "a"}]},
        {"scale": [3, 3], "criteria": [{"key": "a", "id": "a", "en": "a"}]},
        {"criteria": [{"key": "Bad Key", "id": "a", "en": "a"}]},
        {"criteria": [{"key": "a", "id": "", "en": "a"}]},
        {"criteria": [{"key": "a", "id": "a", "en": "a", "hint": "x"}]},
    ],
)
def test_rubric_problems_are_explained_in_indonesian(data: object) -> None:
    with pytest.raises(RubricError) as refused:
        rubric_from_data(data)
    assert_not_english(html_text(refused.value.problem, "id"))
    assert str(refused.value) == plain(refused.value.problem)  # the CLI's English line


def test_a_rubric_file_that_does_not_parse_says_where(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[[criteria]]\nkey = "a"\nid = \n', "utf-8")
    with pytest.raises(RubricError) as refused:
        load_rubric_file(path)
    assert str(refused.value) == "not valid TOML (line 3, column 6)"
    assert html_text(refused.value.problem, "id") == "bukan TOML yang sah (baris 3, kolom 6)"


def test_numbers_are_written_the_readers_way_and_values_are_escaped() -> None:
    long_line = problem(12_345, "line_too_long", limit=1_048_576)
    assert plain(long_line) == "line 12,345: line is longer than 1,048,576 bytes"
    assert html_text(long_line, "id") == "baris 12.345: barisnya lebih dari 1.048.576 byte"
    odd = problem(2, "csv_column_twice", name='"<b>&"')
    assert html_text(odd, "en") == 'line 2: column "&lt;b&gt;&amp;" appears twice in the header'
    assert plain(odd) == 'line 2: column "<b>&" appears twice in the header'


def test_lists_of_names_show_five_and_count_the_rest() -> None:
    one = problem(1, "unknown_keys", names=Names(('"colour"',), 1), count=1)
    assert one.reason == 'unknown key "colour": move it into "metadata"'
    names = tuple(f'"k{n}"' for n in range(5))
    many = problem(1, "unknown_keys", names=Names(names, 7), count=7)
    assert many.reason == (
        'unknown keys "k0", "k1", "k2", "k3", "k4" and 2 more: move them into "metadata"'
    )
    assert html_text(many, "id") == (
        'baris 1: kunci "k0", "k1", "k2", "k3", "k4" dan 2 lainnya tidak dikenal: '
        'pindahkan ke dalam "metadata"'
    )


def test_a_phrase_inside_a_reason_is_translated_too() -> None:
    near = Problem(4, "csv_malformed", (("near", phrase("near_line", line=9)),))
    assert near.reason == "malformed CSV (near line 9)"
    assert html_text(near, "id") == "baris 4: CSV-nya rusak (sekitar baris 9)"
