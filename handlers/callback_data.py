"""The compact, versioned codec for inline-button `callback_data` (Telegram allows 1-64 bytes).

Form: `<version><action>:<field>:<field>...`, e.g. `1s:812:0:4` = score assignment 812,
criterion 0, score 4. Decoding never trusts the input: anything not matching one of the known
shapes exactly is refused, and the caller still checks that the assignment is the tapper's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

VERSION = "1"
MAX_BYTES = 64


class Action(StrEnum):
    SCORE = "s"  # assignment, criterion index, score
    CRITERION = "c"  # assignment, criterion index: go back to change a score
    FLAG = "f"  # assignment, flag index, 1/0 (set, not toggle: a double tap is harmless)
    REWRITE = "r"  # assignment
    NOTE = "n"  # assignment
    SKIP_MENU = "k"  # assignment
    SKIP = "K"  # assignment, reason index
    BACK = "b"  # assignment
    SUBMIT = "u"  # assignment
    NEXT = "x"  # (none): also the "Start reviewing" button of batch announcements
    LANGUAGE = "l"  # language code
    # Coordinators' buttons; their fields are all in `args`.
    UPLOAD = "o"  # upload id, choice (0 open and broadcast, 1 open quietly, 2 discard)
    BATCH = "B"  # batch id, operation (see handlers/coordinator_batches.py)
    TRAINERS_PAGE = "P"  # page number
    TRAINER = "M"  # trainer user id, operation (see handlers/coordinator_team.py)


_ARITY = {
    Action.SCORE: 3,
    Action.CRITERION: 2,
    Action.FLAG: 3,
    Action.REWRITE: 1,
    Action.NOTE: 1,
    Action.SKIP_MENU: 1,
    Action.SKIP: 2,
    Action.BACK: 1,
    Action.SUBMIT: 1,
    Action.NEXT: 0,
    Action.UPLOAD: 2,
    Action.BATCH: 2,
    Action.TRAINERS_PAGE: 1,
    Action.TRAINER: 2,
}
_COORDINATOR_ACTIONS = frozenset(
    {Action.UPLOAD, Action.BATCH, Action.TRAINERS_PAGE, Action.TRAINER}
)
_NUMBER = re.compile(r"0|[1-9][0-9]{0,14}")


class InvalidCallbackData(ValueError):
    """The data is not something this bot made (old version, forged, or garbled)."""


@dataclass(frozen=True, slots=True)
class Callback:
    """A decoded tap. Review actions carry their assignment in `assignment_id` and the rest in
    `args`; coordinators' actions carry all their fields in `args`."""

    action: Action
    assignment_id: int | None = None
    args: tuple[int, ...] = ()
    language: str | None = None


def encode(action: Action, *fields: int | str) -> str:
    """Build callback data; raises if the result would not fit Telegram's 64 bytes."""
    data = VERSION + action.value + "".join(f":{value}" for value in fields)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: str | None) -> Callback:
    """Parse callback data made by `encode`; InvalidCallbackData for anything else."""
    if not isinstance(data, str) or len(data) < 2 or not data.startswith(VERSION):
        raise InvalidCallbackData(data)
    try:
        if len(data.encode()) > MAX_BYTES:
            raise InvalidCallbackData(data)
    except UnicodeEncodeError:  # a lone surrogate: not something this bot made
        raise InvalidCallbackData(data) from None
    try:
        action = Action(data[1])
    except ValueError:
        raise InvalidCallbackData(data) from None
    fields = data[2:].split(":")[1:] if len(data) > 2 else []
    if data[2:] and not data[2:].startswith(":"):
        raise InvalidCallbackData(data)
    if action is Action.LANGUAGE:
        if fields not in (["id"], ["en"]):
            raise InvalidCallbackData(data)
        return Callback(action, language=fields[0])
    if len(fields) != _ARITY[action] or not all(_NUMBER.fullmatch(f) for f in fields):
        raise InvalidCallbackData(data)
    numbers = tuple(int(f) for f in fields)
    if not numbers or action in _COORDINATOR_ACTIONS:
        return Callback(action, args=numbers)
    return Callback(action, assignment_id=numbers[0], args=numbers[1:])
