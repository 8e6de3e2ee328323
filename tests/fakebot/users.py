"""Fake Telegram users: they produce updates for the bot, like a person in a private chat."""

from __future__ import annotations

import asyncio
import mimetypes
import re
from typing import TYPE_CHECKING, Any

from tests.fakebot.models import CallbackRecord, FakeMessage
from tests.fakebot.validation import MAX_TEXT_LENGTH, utf16_len

if TYPE_CHECKING:
    from tests.fakebot.server import FakeBotApi

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_STICKER_BYTES = b"RIFF\x00\x00\x00\x00WEBPVP8 fake sticker"
_PHOTO_BYTES = b"\xff\xd8\xff\xe0fake jpeg\xff\xd9"


def split_like_telegram_apps(text: str, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """The parts a Telegram app sends for a long text: consecutive slices of `limit` UTF-16
    units, one unit shorter where the cut would fall inside a surrogate pair."""
    parts: list[str] = []
    start = 0
    while start < len(text):
        end, units = start, 0
        while end < len(text):
            width = 2 if ord(text[end]) > 0xFFFF else 1
            if units + width > limit:
                break
            units += width
            end += 1
        parts.append(text[start:end])
        start = end
    return parts


def command_entities(text: str) -> list[dict[str, Any]]:
    """Telegram marks a leading /command (optionally @botname) with a bot_command entity."""
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


class FakeUser:
    """A user in a private chat with the bot (chat_id == user_id).

    Every action enqueues the update Telegram would send and yields to the loop so a waiting
    long-poll getUpdates returns it. ``last_action_mark`` is ``server.mark()`` taken just before
    the latest action, the natural ``since`` for waiting on the bot's answer.
    """

    def __init__(
        self,
        server: FakeBotApi,
        user_id: int,
        first_name: str,
        *,
        language_code: str | None,
        username: str | None,
    ) -> None:
        self.server = server
        self.user_id = user_id
        self.chat_id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.username = username
        self.last_action_mark = 0

    def to_api(self) -> dict[str, Any]:
        """Telegram User object."""
        data: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_api(self) -> dict[str, Any]:
        """Telegram Chat object of the private chat."""
        data: dict[str, Any] = {
            "id": self.chat_id,
            "type": "private",
            "first_name": self.first_name,
        }
        if self.username:
            data["username"] = self.username
        return data

    # -- updates -------------------------------------------------------------------------------

    async def _deliver(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = self.server.enqueue({kind: payload})
        await asyncio.sleep(0)
        return update

    def _new_message(self, reply_to: FakeMessage | None = None, **fields: Any) -> FakeMessage:
        self.last_action_mark = self.server.mark()
        return self.server._add_user_message(self, reply_to=reply_to, **fields)

    async def send(self, text: str) -> FakeMessage:
        """Send a text message (a leading /command gets a bot_command entity)."""
        msg = self._new_message(text=text, api_text=text, entities=command_entities(text))
        await self._deliver("message", msg.to_api())
        return msg

    async def reply(self, to: FakeMessage, text: str) -> FakeMessage:
        """Reply to a message; the update carries the full replied-to message, like Telegram."""
        msg = self._new_message(
            reply_to=to, text=text, api_text=text, entities=command_entities(text)
        )
        await self._deliver("message", msg.to_api())
        return msg

    async def send_long(
        self,
        text: str,
        reply_to: FakeMessage | None = None,
        *,
        limit: int = MAX_TEXT_LENGTH,
        every_part_replies: bool = True,
    ) -> list[FakeMessage]:
        """Send a text longer than one message the way Telegram's apps do: cut every `limit`
        UTF-16 units (never inside a surrogate pair), sent as consecutive messages within
        milliseconds. The mobile apps send every part as a reply to `reply_to`; with
        `every_part_replies=False` only the first part replies."""
        parts = split_like_telegram_apps(text, limit)
        messages = []
        for index, part in enumerate(parts):
            target = reply_to if index == 0 or every_part_replies else None
            messages.append(
                self._new_message(reply_to=target, text=part, api_text=part, entities=[])
            )
        for msg in messages:  # all queued before the bot fetches any: one burst
            self.server.enqueue({"message": msg.to_api()})
        await asyncio.sleep(0)
        return messages

    async def edit(self, msg: FakeMessage, new_text: str) -> None:
        """Edit one of this user's text messages (edited_message update with edit_date)."""
        if msg.from_bot or msg.chat_id != self.chat_id or msg.text is None:
            raise AssertionError("a user can only edit their own text messages")
        self.last_action_mark = self.server.mark()
        msg.edit_history.append(msg.text)
        msg.text = msg.api_text = new_text
        msg.entities = command_entities(new_text)
        msg.edit_date = self.server.now()
        await self._deliver("edited_message", msg.to_api())

    async def send_sticker(self, reply_to: FakeMessage | None = None) -> FakeMessage:
        """Send a sticker (something the bot cannot treat as text)."""
        file = self.server._new_file(_STICKER_BYTES, "stickers", ".webp", None, "image/webp")
        sticker = {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "file_size": len(file.content),
        }
        msg = self._new_message(reply_to=reply_to, text=None, sticker=sticker)
        await self._deliver("message", msg.to_api())
        return msg

    async def send_photo(
        self, reply_to: FakeMessage | None = None, caption: str | None = None
    ) -> FakeMessage:
        """Send a photo (two sizes, like Telegram), optionally with a caption."""
        small = self.server._new_file(_PHOTO_BYTES, "photos", ".jpg", None, "image/jpeg")
        large = self.server._new_file(_PHOTO_BYTES * 4, "photos", ".jpg", None, "image/jpeg")
        photo = [
            {
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "width": w,
                "height": h,
                "file_size": len(f.content),
            }
            for f, w, h in ((small, 90, 60), (large, 1280, 853))
        ]
        msg = self._new_message(
            reply_to=reply_to, text=None, photo=photo, caption=caption, api_caption=caption
        )
        await self._deliver("message", msg.to_api())
        return msg

    async def send_document(
        self,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> FakeMessage:
        """Send a file; its bytes are served through getFile + the file URL."""
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        suffix = "." + filename.rsplit(".", 1)[1] if "." in filename else ""
        file = self.server._new_file(content, "documents", suffix, filename, mime)
        document = {
            "file_name": filename,
            "mime_type": mime,
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(content),
        }
        msg = self._new_message(text=None, document=document, caption=caption, api_caption=caption)
        await self._deliver("message", msg.to_api())
        return msg

    async def tap(
        self, msg: FakeMessage, label_contains: str | None = None, *, data: str | None = None
    ) -> dict[str, Any]:
        """Press an inline button (or forge ``data``); returns the update for redeliver()."""
        current = self.server.message(msg.chat_id, msg.message_id)
        if current.deleted:
            raise AssertionError(f"message {msg.message_id} was deleted; nothing to tap")
        if data is None:
            if label_contains is None:
                raise ValueError("tap() needs label_contains or data")
            button = current.button(label_contains)
            if "callback_data" not in button:
                raise AssertionError(f"button {button.get('text')!r} has no callback_data")
            data = button["callback_data"]
        self.last_action_mark = self.server.mark()
        query_id = self.server._new_callback_id()
        update = self.server.enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.to_api(),
                    "message": current.to_api(),
                    "chat_instance": f"ci{self.chat_id}",
                    "data": data,
                }
            }
        )
        self.server.callback_queries[query_id] = CallbackRecord(
            query_id=query_id,
            data=data,
            user_id=self.user_id,
            chat_id=self.chat_id,
            message_id=current.message_id,
            update_id=update["update_id"],
            created_index=self.last_action_mark,
        )
        await asyncio.sleep(0)
        return update

    async def block_bot(self) -> None:
        """Block the bot: later sends get 403 and the bot sees my_chat_member member->kicked."""
        self.server.block(self.chat_id)
        await self._member_update("member", "kicked")

    async def unblock_bot(self) -> None:
        """Undo block_bot() (my_chat_member kicked->member), as when the user restarts it."""
        self.server.unblock(self.chat_id)
        await self._member_update("kicked", "member")

    async def _member_update(self, old: str, new: str) -> None:
        self.last_action_mark = self.server.mark()
        new_member = self._member(new)
        await self._deliver(
            "my_chat_member",
            {
                "chat": self.chat_api(),
                "from": self.to_api(),
                "date": self.server.now(),
                "old_chat_member": self._member(old),
                "new_chat_member": new_member,
            },
        )

    def _member(self, status: str) -> dict[str, Any]:
        """A ChatMember as Telegram sends it ("kicked" always carries until_date)."""
        member: dict[str, Any] = {"user": self.server.bot_user, "status": status}
        if status == "kicked":
            member["until_date"] = 0
        return member

    # -- inspection ----------------------------------------------------------------------------

    def bot_messages(self) -> list[FakeMessage]:
        """The bot's messages in this chat that still exist, oldest first."""
        return [m for m in self.server.chat_messages(self.chat_id) if m.from_bot]

    def last_bot_message(self) -> FakeMessage:
        """The latest message the bot sent here (AssertionError if none)."""
        messages = self.bot_messages()
        if not messages:
            raise AssertionError(f"the bot has sent nothing to chat {self.chat_id}")
        return messages[-1]

    async def wait_bot_message(
        self,
        predicate: Any = None,
        *,
        since: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline, not cancellation
    ) -> FakeMessage:
        """Wait for the bot to send a message (sendMessage/sendDocument) to this chat.

        ``since`` defaults to ``last_action_mark``; ``predicate`` gets the FakeMessage.
        """
        start = self.last_action_mark if since is None else since

        def matches(call: Any) -> bool:
            if not call.ok or call.chat_id != self.chat_id:
                return False
            if call.method not in ("sendMessage", "sendDocument"):
                return False
            msg = self.server.message(self.chat_id, call.result["message_id"])
            return predicate is None or bool(predicate(msg))

        call = await self.server.wait_for_call(
            ("sendMessage", "sendDocument"), matches, since=start, timeout=timeout
        )
        return self.server.message(self.chat_id, call.result["message_id"])
