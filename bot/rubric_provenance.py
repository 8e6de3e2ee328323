"""What a rubric version is, for exports: a SHA-256 of its criteria and one of its guidelines.

A batch's rubric may change while it is reviewed (`rubric_versions`, migration 0016); each
judgment records the version it was made under. Exports name a version by two hashes rather
than by the database's row id, so a lab can tell two exports' judgments were made under the
same criteria even when the guidelines were reworded, and the other way round:

- criteria: the rubric without its guidelines (criteria, flags, scale, labels and the meaning
  of each score), as canonical JSON (keys sorted, no spaces, UTF-8);
- guidelines: `guidelines` (per language) and `guidelines_url`, the same way; None when the
  version had neither.

Changing a criterion's label or steps changes the criteria hash: they change what a score
means to the trainer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

GUIDELINE_KEYS = ("guidelines", "guidelines_url")


@dataclass(frozen=True, slots=True)
class RubricHashes:
    criteria_sha256: str
    guidelines_sha256: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "criteria_sha256": self.criteria_sha256,
            "guidelines_sha256": self.guidelines_sha256,
        }


def _canonical_sha256(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rubric_hashes(rubric_json: str) -> RubricHashes:
    """The two hashes of a rubric as stored (JSON text)."""
    rubric = json.loads(rubric_json)
    guidelines = {key: rubric[key] for key in GUIDELINE_KEYS if rubric.get(key)}
    criteria = {key: value for key, value in rubric.items() if key not in GUIDELINE_KEYS}
    return RubricHashes(
        criteria_sha256=_canonical_sha256(criteria),
        guidelines_sha256=_canonical_sha256(guidelines) if guidelines else None,
    )
