"""Records kept by the fake Bot API: calls, messages, files and callback queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakebot.validation import parse_html


@dataclass
class UploadedFile:
    """A file part of a multipart request, as it appears in ``ApiCall.params``."""

    filename: str
    content: bytes = field(repr=False)
    content_type: str | None = None

    @property
    def size(self) -> int:
        """Number of bytes uploaded."""
        return len(self.content)


@dataclass
class ApiCall:
    """One request the bot made, with the answer the fake gave it."""

    method: str
    params: dict[str, Any]
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    chat_id: int | None = None
    index: int = -1  # position in FakeBotApi.calls, comparable with FakeBotApi.mark()
    time: float = 0.0  # loop.time() when the answer was produced

    def __str__(self) -> str:
        status = "ok" if self.ok else f"{self.error_code} {self.description}"
        shown = {k: v for k, v in self.params.items() if k not in ("chat_id", "reply_markup")}
        text = repr(shown)
        if len(text) > 120:
            text = text[:117] + "..."
        return f"#{self.index} {self.method}(chat={self.chat_id}) {text} -> {status}"


@dataclass
class FakeFile:
    """A file known to the fake (uploaded by the bot or sent by a user), servable via getFile."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Telegram File object (getFile answer)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


@dataclass
class FakeMessage:
    """A message in a fake chat, from a user or from the bot.

    ``text`` is kept exactly as sent (HTML source for bot messages), ``api_text``/``entities`` as
    Telegram would return them. ``edit_history`` holds the previous texts, oldest first.
    """

    chat_id: int
    message_id: int
    from_bot: bool
    text: str | None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    date: int = 0
    edit_history: list[str] = field(default_factory=list)
    document: dict[str, Any] | None = None
    caption: str | None = None
    # Additions beyond the brief.
    api_text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    api_caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    sticker: dict[str, Any] | None = None
    photo: list[dict[str, Any]] | None = None
    edit_date: int | None = None
    deleted: bool = False
    sender: dict[str, Any] = field(default_factory=dict, repr=False)
    chat: dict[str, Any] = field(default_factory=dict, repr=False)
    reply_to: FakeMessage | None = field(default=None, repr=False, compare=False)

    def plain_text(self) -> str:
        """What the user sees: HTML tags stripped and entities unescaped (caption if no text)."""
        source = self.text if self.text is not None else self.caption
        if source is None:
            return ""
        if (self.parse_mode or "").lower() == "html":
            return parse_html(source, strict_entities=False)[0].strip()
        return source

    def buttons(self) -> list[list[dict[str, Any]]]:
        """Inline keyboard rows ([] when the message has none)."""
        if not self.reply_markup:
            return []
        return list(self.reply_markup.get("inline_keyboard", []))

    def button(self, label_contains: str) -> dict[str, Any]:
        """The single button whose label contains the text (case-insensitive; exact wins)."""
        wanted = label_contains.casefold()
        flat = [b for row in self.buttons() for b in row]
        exact = [b for b in flat if b.get("text", "").casefold() == wanted]
        if len(exact) == 1:
            return exact[0]
        found = [b for b in flat if wanted in b.get("text", "").casefold()]
        if len(found) != 1:
            labels = [b.get("text") for b in flat]
            problem = "no button" if not found else f"{len(found)} buttons"
            raise AssertionError(
                f"{problem} matching {label_contains!r} in message {self.message_id}; "
                f"labels: {labels}"
            )
        return found[0]

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        """Telegram Message object JSON (replies nest one level, like Telegram)."""
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            data["text"] = self.api_text if self.api_text is not None else self.text
            if self.entities:
                data["entities"] = self.entities
        if self.document is not None:
            data["document"] = self.document
        if self.sticker is not None:
            data["sticker"] = self.sticker
        if self.photo is not None:
            data["photo"] = self.photo
        if self.caption is not None:
            data["caption"] = self.api_caption if self.api_caption is not None else self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data


@dataclass
class CallbackRecord:
    """A callback query a fake user produced, and how the bot answered it."""

    query_id: str
    data: str | None
    user_id: int
    chat_id: int
    message_id: int
    update_id: int
    created_index: int  # FakeBotApi.mark() when the tap happened
    answers: list[ApiCall] = field(default_factory=list)  # every answerCallbackQuery attempt

    @property
    def answered(self) -> bool:
        """True once a successful answerCallbackQuery arrived."""
        return any(call.ok for call in self.answers)

    @property
    def answer_count(self) -> int:
        """Number of answerCallbackQuery calls for this id (a 2nd one is rejected)."""
        return len(self.answers)

    @property
    def answered_twice(self) -> bool:
        """Whether the bot tried to answer this query more than once."""
        return len(self.answers) > 1

    @property
    def answer(self) -> ApiCall | None:
        """The successful answer call (its ``index``/``time`` say when it happened)."""
        return next((call for call in self.answers if call.ok), None)
