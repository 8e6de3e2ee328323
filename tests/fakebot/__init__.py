"""Fake Telegram Bot API for end-to-end tests of the real PTB Application.

Typical use::

    async with FakeBotApi() as api:
        app = api.application_builder().build()  # or Application.builder().token(api.token)
        # .base_url(api.base_url).base_file_url(api.file_url)..., slower to build
        ...
        alice = api.user(1001, "Alice")
        await alice.send("/start")
        reply = await alice.wait_bot_message()
"""

from tests.fakebot.models import ApiCall, CallbackRecord, FakeFile, FakeMessage, UploadedFile
from tests.fakebot.server import DEFAULT_TOKEN, FakeBotApi, WebhookDelivery, fast_request
from tests.fakebot.users import FakeUser, command_entities, split_like_telegram_apps
from tests.fakebot.validation import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    ApiError,
    EntityParseError,
    parse_html,
    utf16_len,
)

__all__ = [
    "DEFAULT_TOKEN",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "ApiCall",
    "ApiError",
    "CallbackRecord",
    "EntityParseError",
    "FakeBotApi",
    "FakeFile",
    "FakeMessage",
    "FakeUser",
    "UploadedFile",
    "WebhookDelivery",
    "command_entities",
    "fast_request",
    "parse_html",
    "split_like_telegram_apps",
    "utf16_len",
]
