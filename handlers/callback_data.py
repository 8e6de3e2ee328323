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
MAX_NUMBER = 2**53 - 1  # Telegram's ids have at most 52 significant bits; ours are smaller
LANGUAGES = ("id", "en")


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
    ANNOUNCE = "A"  # announcement draft id, choice (see handlers/broadcasts.py)
    REPORT_CSV = "R"  # the report's moment (Unix seconds): its full per-trainer table as CSV
    EXPORT = "E"  # batch id, format index (the export buttons of "batch complete")
    FLAGGED_ITEM = "F"  # item id: open one item of /flagged
    EXPORT_ALL = "W"  # batch id, format index: sft/dpo with unreviewed rewrites too
    GOLD_RESUME = "G"  # trainer user id, gold pause id: lift that pause (as /resume does)
    # Rewrite review (coordinators and reviewers); all fields in `args`.
    REVIEW_DECISION = "v"  # the rewrite's assignment, choice (0 accept, 1 reject, 2 skip)
    REJECT_REASON = "j"  # the rewrite's assignment, reason index (bot/rewrite_review.py)
    NO_COMMENT = "w"  # the rewrite's assignment: reject without a comment
    # Trainers' buttons outside an item's panel; all their fields are in `args` too.
    REVIEW_LANGUAGE = "L"  # index into the languages one can review in, 1/0 (set, not toggle)
    CONSENT = "a"  # privacy notice version agreed to
    DELETE_ME = "D"  # choice (see handlers/privacy.py)
    TIMEZONE = "T"  # index into bot/timezones.py's INDONESIAN_ZONES
    REMINDERS = "m"  # 1 (on) / 0 (off): set, not toggle
    # An item's buttons beyond the rating panel.
    UNDO = "z"  # assignment: reopen a just-submitted judgment
    GUIDELINES = "g"  # assignment: show its batch's guidelines


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
    Action.ANNOUNCE: 2,
    Action.REPORT_CSV: 1,
    Action.EXPORT: 2,
    Action.FLAGGED_ITEM: 1,
    Action.EXPORT_ALL: 2,
    Action.GOLD_RESUME: 2,
    Action.REVIEW_DECISION: 2,
    Action.REJECT_REASON: 2,
    Action.NO_COMMENT: 1,
    Action.REVIEW_LANGUAGE: 2,
    Action.CONSENT: 1,
    Action.DELETE_ME: 1,
    Action.TIMEZONE: 1,
    Action.REMINDERS: 1,
    Action.UNDO: 1,
    Action.GUIDELINES: 1,
}
# Actions whose fields are all in `args` (they are not about one assignment).
_ARGS_ONLY_ACTIONS = frozenset(
    {
        Action.UPLOAD,
        Action.BATCH,
        Action.TRAINERS_PAGE,
        Action.TRAINER,
        Action.ANNOUNCE,
        Action.REVIEW_LANGUAGE,
        Action.CONSENT,
        Action.DELETE_ME,
        Action.TIMEZONE,
        Action.REMINDERS,
        Action.REPORT_CSV,
        Action.EXPORT,
        Action.FLAGGED_ITEM,
        Action.EXPORT_ALL,
        Action.GOLD_RESUME,
        Action.REVIEW_DECISION,
        Action.REJECT_REASON,
        Action.NO_COMMENT,
    }
)
_NUMBER = re.compile(r"0|[1-9][0-9]{0,15}")


class InvalidCallbackData(ValueError):
    """The data is not something this bot made (old version, forged, or garbled)."""


@dataclass(frozen=True, slots=True)
class Callback:
    """A decoded tap. Review actions carry their assignment in `assignment_id` and the rest in
    `args`; coordinators' and other non-item actions carry all their fields in `args`."""

    action: Action
    assignment_id: int | None = None
    args: tuple[int, ...] = ()
    language: str | None = None


def encode(action: Action, *fields: int | str) -> str:
    """Build callback data; raises ValueError if it would not fit Telegram's 64 bytes, or if
    `decode` would not read it back (a button that could only ever answer "invalid")."""
    data = VERSION + action.value + "".join(f":{value}" for value in fields)
    if len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    if action is Action.LANGUAGE:
        readable = len(fields) == 1 and fields[0] in LANGUAGES
    else:
        readable = len(fields) == _ARITY[action] and all(_is_number(f) for f in fields)
    if not readable:
        raise ValueError(f"callback data that decode would refuse: {data!r}")
    return data


def _is_number(field: object) -> bool:
    return type(field) is int and 0 <= field <= MAX_NUMBER


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
        if len(fields) != 1 or fields[0] not in LANGUAGES:
            raise InvalidCallbackData(data)
        return Callback(action, language=fields[0])
    if len(fields) != _ARITY[action] or not all(_NUMBER.fullmatch(f) for f in fields):
        raise InvalidCallbackData(data)
    numbers = tuple(int(f) for f in fields)
    if any(number > MAX_NUMBER for number in numbers):
        raise InvalidCallbackData(data)
    if not numbers or action in _ARGS_ONLY_ACTIONS:
        return Callback(action, args=numbers)
    return Callback(action, assignment_id=numbers[0], args=numbers[1:])
