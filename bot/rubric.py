"""The rubric a batch is reviewed with: criteria scored on a scale, and flags to toggle.

A batch stores its rubric as JSON. Labels may come with the rubric (per-batch rubrics, in both
languages); otherwise the catalog's `criterion.<key>` / `flag.<key>` texts are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.i18n import catalog, t


@dataclass(frozen=True, slots=True)
class Rubric:
    criteria: tuple[str, ...]
    flags: tuple[str, ...]
    scale: tuple[int, int]
    labels: dict[str, dict[str, str]]

    def label(self, key: str, language: str) -> str:
        """Label of a criterion or flag in the trainer's language."""
        own = self.labels.get(key, {})
        if language in own:
            return own[language]
        for prefix in ("criterion", "flag"):
            if f"{prefix}.{key}" in catalog("en"):
                return t(language, f"{prefix}.{key}")
        return own.get("en", key)

    @property
    def scores(self) -> range:
        return range(self.scale[0], self.scale[1] + 1)

    def to_json(self) -> str:
        return json.dumps(
            {
                "criteria": list(self.criteria),
                "flags": list(self.flags),
                "scale": list(self.scale),
                "labels": self.labels,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rubric:
        return cls(
            criteria=tuple(data["criteria"]),
            flags=tuple(data["flags"]),
            scale=(int(data["scale"][0]), int(data["scale"][1])),
            labels=dict(data.get("labels", {})),
        )


DEFAULT_RUBRIC = Rubric(
    criteria=("accuracy", "language", "safety", "helpfulness"),
    flags=("factual_error", "unsafe", "biased", "personal_data", "other"),
    scale=(1, 5),
    labels={},
)
