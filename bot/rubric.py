"""The rubric a batch is reviewed with: criteria scored on a scale, flags to toggle, and the
guidance that goes with them.

A batch stores its rubric as JSON. Labels may come with the rubric (per-batch rubrics, in both
languages); otherwise the catalog's `criterion.<key>` / `flag.<key>` texts are used. A rubric may
carry `guidelines` (text, and an optional `guidelines_url`) shown before a trainer's first item
of the batch and behind the panel's Guidelines button, and per criterion `steps`: what some of
its scores mean, shown while that criterion is scored. The default rubric's steps come from the
catalog (`step.<criterion>.<score>`).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.i18n import catalog, t
from bot.upload_problems import names
from bot.upload_problems import problem as upload_problem


@dataclass(frozen=True, slots=True)
class Rubric:
    criteria: tuple[str, ...]
    flags: tuple[str, ...]
    scale: tuple[int, int]
    labels: dict[str, dict[str, str]]
    guidelines: dict[str, str] = field(default_factory=dict)  # language -> text
    guidelines_url: str | None = None
    steps: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # criterion -> score (as text, JSON's key type) -> language -> what that score means

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

    @property
    def has_guidelines(self) -> bool:
        """Whether the batch came with guidelines of its own (text or link)."""
        return bool(self.guidelines or self.guidelines_url)

    def guidelines_text(self, language: str) -> str | None:
        return self.guidelines.get(language) or self.guidelines.get("en")

    def steps_of(self, criterion: str, language: str) -> list[tuple[int, str]]:
        """(score, meaning) for the scores of `criterion` that are described, lowest first.

        The rubric's own steps; for a criterion of the default rubric (catalog label, 1-5
        scale) without its own, the catalog's.
        """
        own = self.steps.get(criterion)
        if own:
            return [
                (int(score), texts.get(language) or texts["en"])
                for score, texts in sorted(own.items(), key=lambda entry: int(entry[0]))
            ]
        if criterion in self.labels or self.scale != DEFAULT_SCALE:
            return []
        texts = catalog(language)
        return [
            (score, t(language, f"step.{criterion}.{score}"))
            for score in self.scores
            if f"step.{criterion}.{score}" in texts
        ]

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "criteria": list(self.criteria),
            "flags": list(self.flags),
            "scale": list(self.scale),
            "labels": self.labels,
        }
        if self.guidelines:
            data["guidelines"] = self.guidelines
        if self.guidelines_url:
            data["guidelines_url"] = self.guidelines_url
        if self.steps:
            data["steps"] = self.steps
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rubric:
        return cls(
            criteria=tuple(data["criteria"]),
            flags=tuple(data["flags"]),
            scale=(int(data["scale"][0]), int(data["scale"][1])),
            labels=dict(data.get("labels", {})),
            guidelines=dict(data.get("guidelines", {})),
            guidelines_url=data.get("guidelines_url"),
            steps=dict(data.get("steps", {})),
        )


DEFAULT_SCALE = (1, 5)


DEFAULT_RUBRIC = Rubric(
    criteria=("accuracy", "language", "safety", "helpfulness"),
    flags=("factual_error", "unsafe", "biased", "personal_data", "other"),
    scale=DEFAULT_SCALE,
    labels={},
)


class RubricError(ValueError):
    """A rubric file is malformed. `problem` says what to fix as a catalog key under
    `upload_problem.` with its parameters (the chat shows it in the coordinator's language);
    the message is the same line in English, for the CLI."""

    def __init__(self, key: str, /, **params: object) -> None:
        self.problem = upload_problem(0, key, **params)
        super().__init__(self.problem.reason)


MAX_CRITERIA = 8  # one criterion button per row pair keeps the keyboard usable on a phone
MAX_FLAGS = 8
MAX_SCALE_STEPS = 7  # the score buttons of one criterion fit one row
_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MAX_LABEL = 40
MAX_GUIDELINES = 3000  # one message, with room for the link and the criteria's steps
MAX_STEP = 120  # a step is shown under the score buttons: a short line on a phone
_URL = re.compile(r"https?://[^\s<>\"]{1,500}")
_ERROR_AT = re.compile(r"line (\d+),? column (\d+)")  # where tomllib and json say it went wrong


def load_rubric_file(path: Path) -> Rubric:
    """Read a batch's own rubric from TOML or JSON (see README: "Rubrics")."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except UnicodeDecodeError:
        raise RubricError("rubric_not_utf8") from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        where = _ERROR_AT.search(str(error))
        if where is None:
            raise RubricError("rubric_not_valid", format=kind) from None
        line, column = int(where[1]), int(where[2])
        raise RubricError("rubric_not_valid_at", format=kind, at=line, column=column) from None
    return rubric_from_data(data)


def rubric_from_data(data: object) -> Rubric:
    """Validate a rubric given as plain data: criteria and flags with labels in id and en."""
    if not isinstance(data, dict):
        raise RubricError("rubric_not_table")
    unknown = set(data) - {"criteria", "flags", "scale", "guidelines", "guidelines_url"}
    if unknown:
        raise RubricError(
            "rubric_unknown_keys", names=names([repr(k[:40]) for k in sorted(unknown)])
        )
    scale = data.get("scale", [1, 5])
    if (
        not isinstance(scale, list)
        or len(scale) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in scale)
        or not 0 <= scale[0] < scale[1]
        or scale[1] - scale[0] + 1 > MAX_SCALE_STEPS
    ):
        raise RubricError("rubric_scale", steps=MAX_SCALE_STEPS)
    labels: dict[str, dict[str, str]] = {}
    steps: dict[str, dict[str, dict[str, str]]] = {}
    criteria = _entries(
        data.get("criteria"), "criteria", MAX_CRITERIA, labels, required=True, steps=steps
    )
    flags_data = data.get("flags")
    flags = (
        DEFAULT_RUBRIC.flags
        if flags_data is None
        else _entries(flags_data, "flags", MAX_FLAGS, labels, required=False)
    )
    if set(criteria) & set(flags):
        raise RubricError("rubric_key_both")
    for key, described in steps.items():
        outside = [score for score in described if int(score) not in range(scale[0], scale[1] + 1)]
        if outside:
            raise RubricError("rubric_step_outside", key=key, score=int(outside[0]))
    guidelines = data.get("guidelines")
    url = data.get("guidelines_url")
    if url is not None and (not isinstance(url, str) or not _URL.fullmatch(url)):
        raise RubricError("rubric_guidelines_url")
    return Rubric(
        criteria=criteria,
        flags=flags,
        scale=(scale[0], scale[1]),
        labels=labels,
        guidelines={} if guidelines is None else _texts(guidelines, "guidelines", MAX_GUIDELINES),
        guidelines_url=url,
        steps=steps,
    )


def _texts(value: object, where: str, limit: int) -> dict[str, str]:
    """One text for both languages, or a table with 'id' and 'en' texts."""
    if isinstance(value, str):
        value = {"id": value, "en": value}
    if not isinstance(value, dict) or set(value) != {"id", "en"}:
        raise RubricError("rubric_texts", where=where)
    texts = {}
    for language in ("id", "en"):
        text = value[language]
        if not isinstance(text, str) or not text.strip() or len(text) > limit:
            raise RubricError("rubric_text_length", where=where, language=language, limit=limit)
        texts[language] = text.strip()
    return texts


def _steps(value: object, where: str) -> dict[str, dict[str, str]]:
    """`steps = { 1 = "...", 5 = { id = "...", en = "..." } }`: what some scores mean."""
    if not isinstance(value, dict) or not value:
        raise RubricError("rubric_steps", where=where)
    described = {}
    for score, text in value.items():
        if not re.fullmatch(r"[0-9]{1,3}", str(score)):
            raise RubricError("rubric_step_score", where=where, score=repr(str(score)[:10]))
        described[str(int(score))] = _texts(text, f"{where} step {int(score)}", MAX_STEP)
    return described


def _entries(
    value: object,
    name: str,
    limit: int,
    labels: dict[str, dict[str, str]],
    *,
    required: bool,
    steps: dict[str, dict[str, dict[str, str]]] | None = None,
) -> tuple[str, ...]:
    if not isinstance(value, list) or (required and not value) or len(value) > limit:
        raise RubricError("rubric_entries", name=name, limit=limit)
    keys: list[str] = []
    for number, entry in enumerate(value, start=1):
        where = f"{name} #{number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise RubricError("rubric_entry_no_key", where=where)
        key = entry["key"]
        if not _KEY.fullmatch(key):
            raise RubricError("rubric_entry_bad_key", where=where, key=repr(key[:40]))
        if key in keys:
            raise RubricError("rubric_entry_key_twice", where=where, key=repr(key))
        own = {}
        for language in ("id", "en"):
            label = entry.get(language)
            if not isinstance(label, str) or not label.strip() or len(label) > _MAX_LABEL:
                raise RubricError(
                    "rubric_entry_label", where=where, key=key, language=language, limit=_MAX_LABEL
                )
            own[language] = label.strip()
        extra = set(entry) - {"key", "id", "en"} - ({"steps"} if steps is not None else set())
        if extra:
            raise RubricError(
                "rubric_entry_unknown_fields", where=where, key=key, names=names(sorted(extra))
            )
        if steps is not None and "steps" in entry:
            steps[key] = _steps(entry["steps"], f"{where} ({key})")
        labels[key] = own
        keys.append(key)
    return tuple(keys)
