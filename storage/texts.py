"""Queries of a trainer's texts (rewrites and notes): their parts, corrections and revisions.

A text arrives as one or more messages (parts, migration 0009); the judgment holds the parts
joined. Every write re-checks, inside its transaction, that the assignment may still take the
text (its status, and after Submit the correction rule the caller passes in), so a Submit,
Undo or review landing meanwhile is never overwritten. A correction after Submit first keeps
what it replaces in `judgment_revisions` and stamps `judgments.revised_at` (migration 0008).

What decides whether a message is the next part of a text is stored too (migration 0018), so
every bot process decides alike: when Telegram got each part (`text_parts.sent_at`), and a text
refused a moment ago (`text_refusals`, written in the transaction that refused it). The
bot's confirmation of a text is kept on the part it answered (migration 0020), so a later part
edits that message wherever it is handled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from storage.corrections import record_revision
from storage.database import Connection, Database, Row, current_request

FIELDS = ("rewrite", "note")
TOO_LONG = "too_long"  # text_refusals.reason of a TextTooLong; else a Refused value


class Mode(StrEnum):
    """How a message's text relates to what is stored."""

    NEW = "new"  # a text of its own: replaces any earlier text of the field
    JOIN = "join"  # the next part of the text being sent
    EDIT = "edit"  # an edited part: the parts are joined again


class Refused(StrEnum):
    """Why a text was not stored."""

    MISSING = "missing"
    NOT_YOURS = "not_yours"
    SKIPPED = "skipped"
    CLOSED = "closed"  # submitted, and the correction window is over
    REVIEWED = "reviewed"  # submitted, and its rewrite has been reviewed
    BLANK = "blank"  # nothing but spaces


class TextRefused(Exception):
    def __init__(self, reason: Refused, first: bool = True):
        super().__init__(reason.value)
        self.reason = reason
        self.first = first  # False: a later part of a text already refused


class TextTooLong(Exception):
    """The joined text would pass the limit; nothing of the message was stored."""

    def __init__(self, chars: int, kept: int, in_parts: bool, first: bool = True):
        super().__init__(chars)
        self.chars = chars  # the text with this message
        self.kept = kept  # the text as it stays
        self.in_parts = in_parts  # a next part: the parts before it stay as they were
        self.first = first  # False: a later part of a text already over the limit


@dataclass(frozen=True, slots=True)
class TextRules:
    """What the domain decides, handed to the transaction: how parts join, how long a text
    may be, and whether a submitted judgment (submitted_at, reviewed_at) is still open."""

    join: Callable[[list[str]], str]
    max_chars: int
    correctable: Callable[[str, str | None], bool]


@dataclass(frozen=True, slots=True)
class LastPart:
    """A trainer's latest stored part: what the next message may continue."""

    assignment_id: int
    field: str
    chat_id: int
    message_id: int
    received_at: str
    sent_at: str | None  # when Telegram got it, if the message said


@dataclass(frozen=True, slots=True)
class Refusal:
    """A trainer's text refused a moment ago: its later parts are refused too."""

    assignment_id: int
    field: str
    reason: str  # a Refused value, or TOO_LONG
    chars: int
    kept: int
    in_parts: bool
    refused_at: str

    @property
    def key(self) -> tuple[int, str]:
        return self.assignment_id, self.field

    def of_a_later_part(self) -> TextRefused | TextTooLong:
        """The refusal of a later part of the same text (no second answer)."""
        if self.reason == TOO_LONG:
            return TextTooLong(self.chars, self.kept, self.in_parts, first=False)
        return TextRefused(Refused(self.reason), first=False)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The bot's message that confirmed a text: its later parts edit it."""

    message_id: int  # in the chat of the part it answered
    reason: str | None  # the catalog key of its line saying why the text went there


@dataclass(frozen=True, slots=True)
class StoredText:
    """What a stored message changed."""

    parts: int
    chars: int
    changed: bool  # False: an edit that left the text as it was
    replaced: bool  # an earlier text of the field was replaced by a new one
    submitted: bool  # the judgment was already submitted (a correction)
    revised: bool  # a revision was kept (the first change of a correction)
    confirmation: Confirmation | None = None  # a next part's: the text's confirmation so far


async def last_part(db: Database, trainer_id: int) -> LastPart | None:
    row = await db.fetchone(
        "SELECT assignment_id, field, chat_id, message_id, received_at, sent_at FROM text_parts"
        " WHERE trainer_id = ? ORDER BY received_at DESC, message_id DESC LIMIT 1",
        (trainer_id,),
    )
    return None if row is None else LastPart(*row)


async def refusal(db: Database, trainer_id: int) -> Refusal | None:
    """The trainer's text refused last, if it was not forgotten since."""
    row = await db.fetchone(
        "SELECT assignment_id, field, reason, chars, kept, in_parts, refused_at"
        " FROM text_refusals WHERE trainer_id = ?",
        (trainer_id,),
    )
    if row is None:
        return None
    return Refusal(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6])


async def renew_refusal(db: Database, trainer_id: int, now: str) -> None:
    """Another part of the refused text was refused: the text stays refused from `now`."""
    await db.execute(
        "UPDATE text_refusals SET refused_at = ? WHERE trainer_id = ?", (now, trainer_id)
    )


async def forget_refusal(db: Database, trainer_id: int, refused_at: str) -> None:
    """The trainer's message was no part of the refused text: forget it (unless it was
    refused again meanwhile). Written outside the request's mark: the message's own effect
    (its text stored, next) is written after this and must carry the mark, or a crash between
    the two would leave the redelivered message "handled" with nothing stored."""
    mark = current_request.set(None)
    try:
        await db.execute(
            "DELETE FROM text_refusals WHERE trainer_id = ? AND refused_at = ?",
            (trainer_id, refused_at),
        )
    finally:
        current_request.reset(mark)


async def keep_confirmation(
    db: Database,
    assignment_id: int,
    field: str,
    part_message_id: int,
    confirmation: Confirmation,
) -> None:
    """The confirmation sent for the part `part_message_id` of a text: the text's next parts
    find it (`StoredText.confirmation`). Nothing, if a newer text replaced that part meanwhile."""
    await db.execute(
        "UPDATE text_parts SET confirmation_id = ?, confirmation_reason = ?"
        " WHERE assignment_id = ? AND field = ? AND message_id = ?",
        (confirmation.message_id, confirmation.reason, assignment_id, field, part_message_id),
    )


async def latest_linked(db: Database, chat_id: int) -> tuple[int, str, str] | None:
    """(assignment id, kind, its status) of the newest chat message tied to an item."""
    row = await db.fetchone(
        "SELECT m.assignment_id, m.kind, a.status FROM assignment_messages m"
        " JOIN assignments a ON a.id = m.assignment_id"
        " WHERE m.chat_id = ? ORDER BY m.message_id DESC LIMIT 1",
        (chat_id,),
    )
    return None if row is None else (row[0], row[1], row[2])


async def store(
    db: Database,
    rules: TextRules,
    mode: Mode,
    *,
    trainer_id: int,
    assignment_id: int,
    field: str,
    chat_id: int,
    message_id: int,
    text: str,
    now: str,
    sent_at: str | None = None,
    refuses_rest: bool = False,
) -> StoredText:
    """Store one message's text as `mode` says, in one transaction; raises TextRefused or
    TextTooLong (then nothing of the text changed). `refuses_rest`: the refusal is kept in the
    same transaction (see `refusal`), so the text's later parts are refused too, on any
    process; a text too long is kept so only when it was being continued (Mode.JOIN)."""
    if field not in FIELDS:
        raise ValueError(field)
    message = _Message(trainer_id, assignment_id, field, chat_id, message_id, text, now, sent_at)
    outcome = await db.write(_store_or_refuse, rules, mode, message, refuses_rest)
    if isinstance(outcome, TextRefused | TextTooLong):
        raise outcome
    return outcome


@dataclass(frozen=True, slots=True)
class _Message:
    """One message's text for a field of an assignment, as `store` was given it."""

    trainer_id: int
    assignment_id: int
    field: str
    chat_id: int
    message_id: int
    text: str
    now: str
    sent_at: str | None


async def _store_or_refuse(
    tx: Connection, rules: TextRules, mode: Mode, m: _Message, refuses_rest: bool
) -> StoredText | TextRefused | TextTooLong:
    """`_store`; a refusal that refuses the rest of the text is kept as the trainer's and
    returned, so the transaction commits that row alone (`_store` refuses before it writes).
    Any other refusal is raised: nothing is committed."""
    try:
        return await _store(tx, rules, mode, m)
    except TextRefused as refused:
        if not refuses_rest:
            raise
        await _keep_refusal(tx, m, refused.reason, 0, 0, False)
        return refused
    except TextTooLong as too_long:
        if not refuses_rest or mode is not Mode.JOIN:  # only a continued text has a rest
            raise
        await _keep_refusal(tx, m, TOO_LONG, too_long.chars, too_long.kept, too_long.in_parts)
        return too_long


async def _keep_refusal(
    tx: Connection, m: _Message, reason: str, chars: int, kept: int, in_parts: bool
) -> None:
    await tx.execute(
        "INSERT INTO text_refusals"
        " (trainer_id, assignment_id, field, reason, chars, kept, in_parts, refused_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trainer_id) DO UPDATE SET"
        " assignment_id = excluded.assignment_id, field = excluded.field,"
        " reason = excluded.reason, chars = excluded.chars, kept = excluded.kept,"
        " in_parts = excluded.in_parts, refused_at = excluded.refused_at",
        (m.trainer_id, m.assignment_id, m.field, reason, chars, kept, int(in_parts), m.now),
    )


async def _store(tx: Connection, rules: TextRules, mode: Mode, m: _Message) -> StoredText:
    assignment_id, field, message_id, text = m.assignment_id, m.field, m.message_id, m.text
    # Every refusal (TextRefused, TextTooLong) comes before the first write.
    parts = await tx.fetchall(
        "SELECT message_id, text, received_at, chat_id, confirmation_id, confirmation_reason"
        " FROM text_parts WHERE assignment_id = ? AND field = ? ORDER BY message_id",
        (assignment_id, field),
    )
    texts = {part[0]: part[1] for part in parts}
    if mode is Mode.EDIT and await _edit_changes_nothing(
        tx, texts, assignment_id, field, message_id, text
    ):
        return StoredText(len(texts) or 1, 0, False, False, False, False)
    submitted_at, old = await _check(tx, rules, m.trainer_id, assignment_id, field)
    written, confirmation = mode, None
    if mode is Mode.JOIN and parts:
        texts[message_id] = text
        confirmation = _confirmation_in(parts, m.chat_id)
        # A correction keeps one revision: none again if this text already made one.
        revise = submitted_at is not None and not await _revised_since(
            tx, assignment_id, field, min(part[2] for part in parts)
        )
    elif mode is Mode.EDIT and texts:
        texts[message_id] = text
        revise = submitted_at is not None
    else:  # a new text; also an edit of a text stored before parts existed (migration 0009)
        texts, written = {message_id: text}, Mode.NEW
        revise = submitted_at is not None
    joined = rules.join([texts[key] for key in sorted(texts)])
    if len(joined) > rules.max_chars:
        raise TextTooLong(len(joined), len(old or ""), written is Mode.JOIN)
    if revise:
        await record_revision(tx, assignment_id, field, old, m.now)
    await _write_parts(tx, written, m)
    await tx.execute(
        f"INSERT INTO judgments (assignment_id, {field}, updated_at) VALUES (?, ?, ?)"
        f" ON CONFLICT (assignment_id) DO UPDATE SET {field} = excluded.{field},"
        " updated_at = excluded.updated_at",
        (assignment_id, joined, m.now),
    )
    if revise:
        await tx.execute(
            "UPDATE judgments SET revised_at = ? WHERE assignment_id = ?", (m.now, assignment_id)
        )
    await tx.execute(
        "INSERT INTO assignment_messages (chat_id, message_id, assignment_id, kind)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO NOTHING",
        (m.chat_id, message_id, assignment_id, field),
    )
    replaced = mode is Mode.NEW and bool(old)
    return StoredText(
        len(texts), len(joined), True, replaced, submitted_at is not None, revise, confirmation
    )


def _confirmation_in(parts: list[Row], chat_id: int) -> Confirmation | None:
    """The text's latest confirmation in this chat (the first part's, unless sending it
    failed and a later part got one), from rows (message_id, text, received_at, chat_id,
    confirmation_id, confirmation_reason) in message order."""
    for part in reversed(parts):
        if part[3] == chat_id and part[4] is not None:
            return Confirmation(part[4], part[5])
    return None


async def _edit_changes_nothing(
    tx: Connection,
    texts: dict[int, str],
    assignment_id: int,
    field: str,
    message_id: int,
    text: str,
) -> bool:
    """Telegram reports edits that leave the text as it was, and edits of a message whose text
    a later reply replaced (it is no part of the text any more): neither changes anything."""
    if texts:
        return texts.get(message_id, text) == text
    stored = await tx.fetchone(
        f"SELECT {field} FROM judgments WHERE assignment_id = ?", (assignment_id,)
    )
    return stored is not None and stored[0] == text


async def _revised_since(tx: Connection, assignment_id: int, field: str, since: str) -> bool:
    return (
        await tx.fetchone(
            "SELECT 1 FROM judgment_revisions"
            " WHERE assignment_id = ? AND field = ? AND created_at >= ? LIMIT 1",
            (assignment_id, field, since),
        )
        is not None
    )


async def _check(
    tx: Connection, rules: TextRules, trainer_id: int, assignment_id: int, field: str
) -> tuple[str | None, str | None]:
    """(submitted_at if submitted, the field's stored text), or TextRefused."""
    row = await tx.fetchone(
        f"SELECT a.trainer_id, a.status, a.submitted_at, j.reviewed_at, j.{field}"
        " FROM assignments a LEFT JOIN judgments j ON j.assignment_id = a.id WHERE a.id = ?",
        (assignment_id,),
    )
    if row is None:
        raise TextRefused(Refused.MISSING)
    owner, status, submitted_at, reviewed_at, old = row
    if owner != trainer_id:
        raise TextRefused(Refused.NOT_YOURS)
    if status == "skipped":
        raise TextRefused(Refused.SKIPPED)
    if status != "submitted":
        return None, old
    if reviewed_at is not None:
        raise TextRefused(Refused.REVIEWED)
    if not rules.correctable(submitted_at, reviewed_at):
        raise TextRefused(Refused.CLOSED)
    return submitted_at, old


async def _write_parts(tx: Connection, mode: Mode, m: _Message) -> None:
    """The message's part: a new text first drops the parts of the text it replaces; an
    edited part keeps when it arrived and was sent (an edit does not open the window for more
    parts)."""
    if mode is Mode.NEW:
        await tx.execute(
            "DELETE FROM text_parts WHERE assignment_id = ? AND field = ?",
            (m.assignment_id, m.field),
        )
    await tx.execute(
        "INSERT INTO text_parts"
        " (assignment_id, field, chat_id, message_id, trainer_id, text, received_at, sent_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (assignment_id, field, message_id) DO UPDATE SET text = excluded.text,"
        " sent_at = COALESCE(excluded.sent_at, text_parts.sent_at)",
        (m.assignment_id, m.field, m.chat_id, m.message_id, m.trainer_id, m.text, m.now, m.sent_at),
    )
