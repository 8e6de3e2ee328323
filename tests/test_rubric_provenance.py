"""A rubric version's two hashes: criteria and guidelines apart, canonical whatever the key
order, so a lab can tell what changed between two exports' judgments."""

from __future__ import annotations

import hashlib
import json

from bot.rubric import DEFAULT_RUBRIC
from bot.rubric_provenance import rubric_hashes


def test_the_criteria_hash_is_canonical_json_of_the_rubric_without_its_guidelines() -> None:
    stored = DEFAULT_RUBRIC.to_json()
    expected = hashlib.sha256(
        json.dumps(json.loads(stored), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert rubric_hashes(stored).criteria_sha256 == expected
    assert rubric_hashes(stored).guidelines_sha256 is None  # the version had none
    # Key order and spacing are storage details: the same rubric, the same hash.
    reordered = json.dumps(dict(reversed(list(json.loads(stored).items()))), indent=2)
    assert rubric_hashes(reordered) == rubric_hashes(stored)


def test_guidelines_and_criteria_change_their_own_hash_only() -> None:
    base = json.loads(DEFAULT_RUBRIC.to_json())
    guided = {**base, "guidelines": {"en": "Read twice."}, "guidelines_url": "https://x.test/g"}
    reworded = {**guided, "guidelines": {"en": "Read it twice."}}
    rescaled = {**guided, "scale": [0, 6]}
    hashes = {
        name: rubric_hashes(json.dumps(value, ensure_ascii=False))
        for name, value in (
            ("base", base),
            ("guided", guided),
            ("reworded", reworded),
            ("rescaled", rescaled),
        )
    }
    assert hashes["guided"].criteria_sha256 == hashes["base"].criteria_sha256
    assert (
        hashes["guided"].guidelines_sha256
        == hashlib.sha256(
            b'{"guidelines":{"en":"Read twice."},"guidelines_url":"https://x.test/g"}'
        ).hexdigest()
    )
    assert hashes["reworded"].criteria_sha256 == hashes["guided"].criteria_sha256
    assert hashes["reworded"].guidelines_sha256 != hashes["guided"].guidelines_sha256
    assert hashes["rescaled"].criteria_sha256 != hashes["guided"].criteria_sha256
    assert hashes["rescaled"].guidelines_sha256 == hashes["guided"].guidelines_sha256
