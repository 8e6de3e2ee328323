"""The rubric a batch is reviewed with: criteria scored on a scale, and flags to toggle.

A batch stores its rubric as JSON. Labels may come with the rubric (per-batch rubrics, in both
languages); otherwise the catalog's `criterion.<key>` / `flag.<key>` texts are used.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
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


class RubricError(ValueError):
    """A rubric file is malformed; the message says what to fix, in one line."""


MAX_CRITERIA = 8  # one criterion button per row pair keeps the keyboard usable on a phone
MAX_FLAGS = 8
MAX_SCALE_STEPS = 7  # the score buttons of one criterion fit one row
_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MAX_LABEL = 40


def load_rubric_file(path: Path) -> Rubric:
    """Read a batch's own rubric from TOML or JSON (see README: "Rubrics")."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise RubricError(
            f"not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {error}"
        ) from None
    return rubric_from_data(data)


def rubric_from_data(data: object) -> Rubric:
    """Validate a rubric given as plain data: criteria and flags with labels in id and en."""
    if not isinstance(data, dict):
        raise RubricError("a rubric is a table with 'criteria' (and optional 'scale', 'flags')")
    unknown = set(data) - {"criteria", "flags", "scale"}
    if unknown:
        raise RubricError(f"unknown rubric keys: {', '.join(sorted(unknown))}")
    scale = data.get("scale", [1, 5])
    if (
        not isinstance(scale, list)
        or len(scale) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in scale)
        or not 0 <= scale[0] < scale[1]
        or scale[1] - scale[0] + 1 > MAX_SCALE_STEPS
    ):
        raise RubricError(
            f"'scale' must be [low, high], 0 <= low < high, at most {MAX_SCALE_STEPS} steps"
        )
    labels: dict[str, dict[str, str]] = {}
    criteria = _entries(data.get("criteria"), "criteria", MAX_CRITERIA, labels, required=True)
    flags_data = data.get("flags")
    flags = (
        DEFAULT_RUBRIC.flags
        if flags_data is None
        else _entries(flags_data, "flags", MAX_FLAGS, labels, required=False)
    )
    if set(criteria) & set(flags):
        raise RubricError("a key cannot be both a criterion and a flag")
    return Rubric(criteria=criteria, flags=flags, scale=(scale[0], scale[1]), labels=labels)


def _entries(
    value: object, name: str, limit: int, labels: dict[str, dict[str, str]], *, required: bool
) -> tuple[str, ...]:
    if not isinstance(value, list) or (required and not value) or len(value) > limit:
        raise RubricError(f"'{name}' must be a list of 1 to {limit} entries")
    keys: list[str] = []
    for number, entry in enumerate(value, start=1):
        where = f"{name} #{number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise RubricError(f"{where} needs a 'key' (and 'id' and 'en' labels)")
        key = entry["key"]
        if not _KEY.fullmatch(key):
            raise RubricError(f"{where}: key {key[:40]!r} must be lowercase letters, digits or _")
        if key in keys:
            raise RubricError(f"{where}: key {key!r} is used twice")
        own = {}
        for language in ("id", "en"):
            label = entry.get(language)
            if not isinstance(label, str) or not label.strip() or len(label) > _MAX_LABEL:
                raise RubricError(
                    f"{where} ({key}): '{language}' label must be text of 1-{_MAX_LABEL} characters"
                )
            own[language] = label.strip()
        extra = set(entry) - {"key", "id", "en"}
        if extra:
            raise RubricError(f"{where} ({key}): unknown fields {', '.join(sorted(extra))}")
        labels[key] = own
        keys.append(key)
    return tuple(keys)
