"""Plain records read from the database; the services in `bot/` pass these around."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from storage.database import Row


@dataclass(frozen=True, slots=True)
class Trainer:
    user_id: int
    chat_id: int
    name: str
    username: str | None
    language: str
    timezone: str | None
    daily_quota: int | None
    role: str
    status: str
    reachable: bool
    reminders: bool = True  # /reminders on (the default) or off
    reviewer: bool = False  # a coordinator let them review rewrites (/reviewer @name on)

    @property
    def is_coordinator(self) -> bool:
        return self.role == "coordinator"

    @classmethod
    def from_row(cls, row: Row) -> Trainer:
        return cls(
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            name=row["name"],
            username=row["username"],
            language=row["language"],
            timezone=row["timezone"],
            daily_quota=row["daily_quota"],
            role=row["role"],
            status=row["status"],
            reachable=bool(row["reachable"]),
            reminders=bool(row["reminders"]),
            reviewer=bool(row["reviewer"]),
        )


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    role: str
    uses_left: int
    expires_at: str | None


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    batch_id: int
    batch_name: str
    external_id: str
    prompt: str
    response: str
    context: tuple[dict[str, str], ...]
    rubric: dict[str, Any]

    @classmethod
    def from_row(cls, row: Row) -> Item:
        return cls(
            id=row["item_id"],
            batch_id=row["batch_id"],
            batch_name=row["batch_name"],
            external_id=row["external_id"],
            prompt=row["prompt"],
            response=row["response"],
            context=tuple(json.loads(row["context"])) if row["context"] else (),
            rubric=json.loads(row["rubric"]),
        )


@dataclass(frozen=True, slots=True)
class Assignment:
    id: int
    item_id: int
    trainer_id: int
    status: str
    lease_expires_at: str
    criterion: int

    @classmethod
    def from_row(cls, row: Row) -> Assignment:
        return cls(
            id=row["id"],
            item_id=row["item_id"],
            trainer_id=row["trainer_id"],
            status=row["status"],
            lease_expires_at=row["lease_expires_at"],
            criterion=row["criterion"],
        )


@dataclass(slots=True)
class Draft:
    """What a trainer has given so far for one assignment."""

    scores: dict[str, int] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    note: str | None = None
    rewrite: str | None = None
