"""Per-batch rubrics from TOML/JSON files, and the upload caption a coordinator writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.clock import utc_now
from bot.rubric import DEFAULT_RUBRIC, Rubric, RubricError, load_rubric_file, rubric_from_data
from bot.uploads import CaptionError, parse_caption

GOOD = {
    "scale": [0, 4],
    "criteria": [{"key": "clarity", "id": "Kejelasan", "en": "Clarity"}],
    "flags": [{"key": "off_topic", "id": "Melenceng", "en": "Off topic"}],
}


def test_a_toml_rubric_is_read_with_labels_in_both_languages(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(
        'scale = [0, 4]\n[[criteria]]\nkey = "clarity"\nid = "Kejelasan"\nen = "Clarity"\n',
        "utf-8",
    )
    rubric = load_rubric_file(path)
    assert rubric.criteria == ("clarity",) and rubric.scale == (0, 4)
    assert rubric.flags == DEFAULT_RUBRIC.flags  # flags default when not given
    assert (rubric.label("clarity", "id"), rubric.label("clarity", "en")) == (
        "Kejelasan",
        "Clarity",
    )
    assert rubric.label("unsafe", "id") == "Tidak aman"  # catalog labels for defaults


def test_a_json_rubric_round_trips_through_storage_form(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(GOOD), "utf-8")
    rubric = load_rubric_file(path)
    assert Rubric.from_dict(json.loads(rubric.to_json())) == rubric
    assert list(rubric.scores) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"criteria": []}, "1 to 8 entries"),
        ({"criteria": [{"key": "x", "id": "X"}]}, "'en' label"),
        ({"criteria": [{"key": "Bad Key", "id": "a", "en": "b"}]}, "lowercase"),
        ({"criteria": [{"key": "a", "id": "a", "en": "a"}] * 2}, "used twice"),
        ({"criteria": [{"key": f"c{n}", "id": "a", "en": "a"} for n in range(9)]}, "1 to 8"),
        ({"scale": [1, 10]}, "at most 7 steps"),
        ({"scale": [3, 3]}, "low < high"),
        ({"scale": "1-5"}, "'scale' must be"),
        ({"colour": "blue"}, "unknown rubric keys"),
        ({"flags": [{"key": "clarity", "id": "a", "en": "b"}]}, "both a criterion and a flag"),
        ({"criteria": [{"key": "a", "id": "a", "en": "x" * 41}]}, "1-40 characters"),
    ],
)
def test_bad_rubrics_are_refused_with_a_reason(change: dict, reason: str) -> None:
    with pytest.raises(RubricError) as refused:
        rubric_from_data({**GOOD, **change})
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_rubric_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_bytes(b"\xff\xfe not toml")
    with pytest.raises(RubricError, match="not valid TOML"):
        load_rubric_file(path)


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        (None, ("file", None, 0)),
        ("", ("file", None, 0)),
        ("pilot-2", ("pilot-2", None, 0)),
        ("pilot-2 overlap=3 priority=5", ("pilot-2", 3, 5)),
        ("name=april overlap=1", ("april", 1, 0)),
        ("Review April priority=-1", ("Review April", None, -1)),
        ('"two words" overlap=2', ("two words", 2, 0)),
    ],
)
def test_captions_set_name_overlap_and_priority(caption: str | None, expected: tuple) -> None:
    request = parse_caption(caption, "file", now=utc_now(), zone="Asia/Jakarta")
    assert (request.name, request.overlap, request.priority) == expected


@pytest.mark.parametrize(
    "caption", ["overlap=0", "overlap=many", "priority=high", "color=red", '"open']
)
def test_unreadable_captions_are_refused(caption: str) -> None:
    with pytest.raises(CaptionError):
        parse_caption(caption, "file", now=utc_now(), zone="Asia/Jakarta")
