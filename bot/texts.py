"""A trainer's texts, rewrites and notes, as messages arrive: parts, replacements, corrections.

- A long text arrives as several messages (a trainer's app splits it at 4096 characters, all
  within a moment). A text message that comes within `JOIN_SECONDS` of the trainer's previous
  part, a reply to the same item or no reply at all, is the next part of that text; each part
  is stored as it arrives, and the judgment holds them joined in message order. What decides
  it is read from the database (the last part, when Telegram got it, a text refused a moment
  ago), so it is the same whichever bot process handles each message. So is the one
  confirmation of a text, which its later parts edit: it is kept with the text.
- A reply after that pause is a new text: it replaces the earlier one of the same field.
- Texts are kept intact up to `MAX_CHARS`; a message that would pass it is not stored.
- After Submit a text can still be corrected (an edited message or a fresh reply) under the one
  rule of `bot/edit_window.py`; every correction keeps what it replaced as a revision.
- A plain message right after the trainer tapped Rewrite or Note (nothing else shown since) is
  taken as that text: they meant it, and the confirmation says why it was taken.

No Telegram here: message ids and chat ids are plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from bot.clock import Clock, parse_stamp, stamp, utc_now
from bot.config import Settings
from bot.edit_window import still_correctable
from storage import texts as store
from storage.database import Database
from storage.records import Trainer
from storage.texts import (
    Confirmation,
    Mode,
    Refused,
    StoredText,
    TextRefused,
    TextRules,
    TextTooLong,
)

__all__ = [
    "JOIN_SECONDS",
    "MAX_CHARS",
    "Confirmation",
    "Mode",
    "Refused",
    "Stored",
    "TextRefused",
    "TextTooLong",
    "Texts",
    "join_parts",
]

JOIN_SECONDS = 3.0
MAX_CHARS = 16_000
CLIENT_SPLIT = 4095  # UTF-16 units: a part this long was cut by the app (4096, or one less
# where the cut would have split a surrogate pair)
_PROMPT_FIELDS = {"rewrite_prompt": "rewrite", "note_prompt": "note"}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def join_parts(parts: list[str]) -> str:
    """The parts of one text as one. A part the app cut at the message limit continues in the
    next one exactly (the cut may fall inside a word, so nothing is put between them); after a
    shorter part, the next one is a message of its own and starts on a new line."""
    if not parts:
        return ""
    joined = [parts[0]]
    for before, part in pairwise(parts):
        joined.append(part if _utf16_len(before) >= CLIENT_SPLIT else "\n" + part)
    return "".join(joined)


@dataclass(frozen=True, slots=True)
class Stored:
    """A message's text, stored: which text it went to and what it changed."""

    assignment_id: int
    field: str
    mode: Mode
    adopted: bool  # a plain message taken as the text the trainer had just asked to write
    result: StoredText

    @property
    def key(self) -> tuple[int, str]:
        """Which text: (assignment, field)."""
        return self.assignment_id, self.field


class Texts:
    """Stores the rewrites and notes trainers send and edit (see the module docstring)."""

    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now):
        self.db = db
        self.settings = settings
        self.clock = clock

    def _rules(self) -> TextRules:
        now, window = self.clock(), self.settings.edit_window_minutes
        return TextRules(
            join=join_parts,
            max_chars=MAX_CHARS,
            correctable=lambda submitted, reviewed: still_correctable(
                submitted, reviewed, now, window
            ),
        )

    async def receive(
        self,
        trainer: Trainer,
        target: tuple[int, str] | None,
        text: str,
        *,
        chat_id: int,
        message_id: int,
        sent_at: datetime | None = None,
    ) -> Stored | None:
        """Store a new text message: `target` is the (assignment, field) it replies to, None
        for a plain message. None: a plain message that belongs to no text. `sent_at` is when
        Telegram got the message (`Message.date`)."""
        await self._refuse_rest_of_refused(trainer, target)
        mode, adopted = Mode.NEW, False
        following = await self._continued(trainer, target, chat_id, message_id, sent_at)
        if following is not None:
            target, mode = following, Mode.JOIN
        elif target is None:
            target = await self._just_asked(chat_id)
            if target is None:
                return None
            adopted = True
        # A refusal is kept with the text's rest refused (storage's `refusal`); a blank message
        # is refused before, since it is no part of a longer text.
        return await self._store(
            trainer, target, mode, adopted, text, chat_id, message_id, sent_at, refuses_rest=True
        )

    async def _refuse_rest_of_refused(
        self, trainer: Trainer, target: tuple[int, str] | None
    ) -> None:
        """The later parts of a text that was refused are refused too, quietly: one answer
        per text, and never a part stored after a gap. Any other message forgets it."""
        refused = await store.refusal(self.db, trainer.user_id)
        if refused is None:
            return
        now = self.clock()
        since = now - parse_stamp(refused.refused_at)
        if since > timedelta(seconds=JOIN_SECONDS) or target not in (None, refused.key):
            await store.forget_refusal(self.db, trainer.user_id, refused.refused_at)
            return
        await store.renew_refusal(self.db, trainer.user_id, stamp(now))
        raise refused.of_a_later_part()

    async def put(
        self, trainer: Trainer, target: tuple[int, str], text: str, *, chat_id: int, message_id: int
    ) -> Stored:
        """Store a message as the whole text of `target`, never as a part of another."""
        return await self._store(trainer, target, Mode.NEW, False, text, chat_id, message_id)

    async def edit(
        self, trainer: Trainer, target: tuple[int, str], text: str, *, chat_id: int, message_id: int
    ) -> Stored:
        """An edited message that holds (a part of) the text of `target`."""
        return await self._store(trainer, target, Mode.EDIT, False, text, chat_id, message_id)

    async def confirmed(self, stored: Stored, message_id: int, confirmation: Confirmation) -> None:
        """`confirmation` was sent for the message `message_id`, whose text is `stored`: its
        next parts edit it (`stored.result.confirmation`), on any process."""
        await store.keep_confirmation(
            self.db, stored.assignment_id, stored.field, message_id, confirmation
        )

    async def hint_about(self, chat_id: int) -> str | None:
        """The field a plain message most likely meant, to word the hint: the trainer's last
        text, if their own text is the newest message tied to an open item."""
        latest = await store.latest_linked(self.db, chat_id)
        if latest is None or latest[2] not in ("active", "expired"):
            return None
        return latest[1] if latest[1] in store.FIELDS else None

    async def _continued(
        self,
        trainer: Trainer,
        target: tuple[int, str] | None,
        chat_id: int,
        message_id: int,
        sent_at: datetime | None,
    ) -> tuple[int, str] | None:
        """The text this message continues, if it came within JOIN_SECONDS of its last part,
        both as handled and as Telegram dated them (whole seconds, so one more is allowed)."""
        last = await store.last_part(self.db, trainer.user_id)
        if last is None or last.chat_id != chat_id or message_id <= last.message_id:
            return None
        if self.clock() - parse_stamp(last.received_at) > timedelta(seconds=JOIN_SECONDS):
            return None
        sent_apart = (
            None if sent_at is None or last.sent_at is None else sent_at - parse_stamp(last.sent_at)
        )
        if sent_apart is not None and sent_apart > timedelta(seconds=JOIN_SECONDS + 1):
            return None
        if target is not None and target != (last.assignment_id, last.field):
            return None  # a reply to something else: a text of its own
        return last.assignment_id, last.field

    async def _just_asked(self, chat_id: int) -> tuple[int, str] | None:
        """(assignment, field) when the newest message tied to an open item is the Rewrite or
        Note prompt: the trainer tapped it and wrote, without replying."""
        latest = await store.latest_linked(self.db, chat_id)
        if latest is None or latest[2] not in ("active", "expired"):
            return None
        field = _PROMPT_FIELDS.get(latest[1])
        return None if field is None else (latest[0], field)

    async def _store(
        self,
        trainer: Trainer,
        target: tuple[int, str],
        mode: Mode,
        adopted: bool,
        text: str,
        chat_id: int,
        message_id: int,
        sent_at: datetime | None = None,
        *,
        refuses_rest: bool = False,
    ) -> Stored:
        assignment_id, field = target
        if mode is not Mode.JOIN and not text.strip():
            # Only spaces (Telegram keeps some, such as no-break spaces): no rewrite or note at
            # all, so it is never offered for review nor counted anywhere.
            raise TextRefused(Refused.BLANK)
        result = await store.store(
            self.db,
            self._rules(),
            mode,
            trainer_id=trainer.user_id,
            assignment_id=assignment_id,
            field=field,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            now=stamp(self.clock()),
            sent_at=None if sent_at is None else stamp(sent_at),
            refuses_rest=refuses_rest,
        )
        return Stored(assignment_id, field, mode, adopted, result)
