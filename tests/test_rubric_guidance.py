"""A rubric's guidance: guidelines (text, link) and what a criterion's scores mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.i18n import catalog
from bot.rubric import DEFAULT_RUBRIC, Rubric, RubricError, load_rubric_file, rubric_from_data

TOML = """
guidelines = "Read the whole answer before you score."
guidelines_url = "https://example.org/guide"

[[criteria]]
key = "clarity"
id = "Kejelasan"
en = "Clarity"
[criteria.steps]
1 = "Muddled"
5 = { id = "Jelas sekali", en = "Crystal clear" }

[[criteria]]
key = "tone"
id = "Nada"
en = "Tone"
"""
BASE = {"criteria": [{"key": "clarity", "id": "Kejelasan", "en": "Clarity"}]}


def test_a_toml_rubric_carries_guidelines_a_link_and_steps(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(TOML, "utf-8")
    rubric = load_rubric_file(path)
    assert rubric.has_guidelines and rubric.guidelines_url == "https://example.org/guide"
    assert rubric.guidelines_text("id") == "Read the whole answer before you score."
    assert rubric.steps_of("clarity", "id") == [(1, "Muddled"), (5, "Jelas sekali")]
    assert rubric.steps_of("clarity", "en") == [(1, "Muddled"), (5, "Crystal clear")]
    assert rubric.steps_of("tone", "en") == []  # its own criterion, no steps: none
    assert Rubric.from_dict(json.loads(rubric.to_json())) == rubric


def test_guidelines_may_differ_per_language() -> None:
    rubric = rubric_from_data({**BASE, "guidelines": {"id": "Baca dulu.", "en": "Read first."}})
    assert (rubric.guidelines_text("id"), rubric.guidelines_text("en")) == (
        "Baca dulu.",
        "Read first.",
    )
    assert not rubric_from_data(BASE).has_guidelines


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"guidelines_url": "javascript:alert(1)"}, "http:// or https:// link"),
        ({"guidelines_url": "https://a b"}, "http:// or https:// link"),
        ({"guidelines": {"en": "only English"}}, "'id' and 'en' texts"),
        ({"guidelines": ""}, "1-3,000 characters"),
        ({"guidelines": "x" * 3001}, "1-3,000 characters"),
        ({"criteria": [{**BASE["criteria"][0], "steps": {"9": "x"}}]}, "outside the scale"),
        ({"criteria": [{**BASE["criteria"][0], "steps": {"one": "x"}}]}, "is not a score"),
        ({"criteria": [{**BASE["criteria"][0], "steps": {"1": "x" * 121}}]}, "1-120 characters"),
        ({"criteria": [{**BASE["criteria"][0], "steps": []}]}, "'steps' must be a table"),
        ({"flags": [{"key": "odd", "id": "a", "en": "b", "steps": {"1": "x"}}]}, "unknown fields"),
    ],
)
def test_bad_guidance_is_refused_with_a_reason(change: dict, reason: str) -> None:
    with pytest.raises(RubricError) as refused:
        rubric_from_data({**BASE, **change})
    assert reason in str(refused.value)


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_default_rubric_describes_a_1_a_3_and_a_5_of_every_criterion(language: str) -> None:
    for criterion in DEFAULT_RUBRIC.criteria:
        steps = DEFAULT_RUBRIC.steps_of(criterion, language)
        assert [score for score, _ in steps] == [1, 3, 5]
        assert all(meaning.strip() for _, meaning in steps)
    assert catalog("id")["step.accuracy.1"] != catalog("en")["step.accuracy.1"]


def test_catalog_steps_are_only_for_the_default_criteria_on_the_default_scale() -> None:
    own_label = rubric_from_data({"criteria": [{"key": "accuracy", "id": "Tepat", "en": "Exact"}]})
    assert own_label.steps_of("accuracy", "en") == []  # its own meaning of "accuracy"
    other_scale = Rubric.from_dict({**json.loads(DEFAULT_RUBRIC.to_json()), "scale": [0, 4]})
    assert other_scale.steps_of("accuracy", "en") == []
