"""Telegram-like parsing and validation of what the bot sends.

The HTML parser mirrors tdlib's ``parse_html`` (the code behind the Bot API), including its error
wording, so a message our bot would get rejected for in production is rejected here too. Offsets
of the produced entities are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
}
_SPACES = " \t\r\n\f\v"
# Inline keyboard fields that make a button do something; a button with none is rejected.
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> ApiError:
    """Shortcut for Telegram's 400 answers, which all start with "Bad Request: "."""
    return ApiError(400, f"Bad Request: {description}")


class EntityParseError(ValueError):
    """The text could not be parsed in the requested parse mode (tdlib wording)."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_start: int
    byte_offset: int


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _at(text: str, i: int) -> str:
    """Character at ``i`` or "" past the end (tdlib reads a NUL-terminated buffer)."""
    return text[i] if i < len(text) else ""


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the HTML entity starting at ``text[pos] == '&'`` like tdlib does.

    Returns the character and the index after the entity, or None when it is not one of the
    entities Telegram understands (``&lt; &gt; &amp; &quot;`` and numeric ones). As in tdlib the
    trailing semicolon is optional.
    """
    end = pos + 1
    if _at(text, end) == "#":
        end += 1
        code = 0
        if _at(text, end) == "x":
            end += 1
            start = end
            while _at(text, end) and _at(text, end) in "0123456789abcdefABCDEF" and end - pos < 12:
                end += 1
            digits = text[start:end]
            code = int(digits, 16) if digits else 0
        else:
            start = end
            while _at(text, end).isdigit() and _at(text, end).isascii() and end - pos < 12:
                end += 1
            digits = text[start:end]
            code = int(digits) if digits else 0
        if code == 0 or code > 0x10FFFF or end - pos > 10 or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while _at(text, end).isascii() and _at(text, end).isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _NAMED_ENTITIES:
            return None
        char = _NAMED_ENTITIES[name]
    if _at(text, end) == ";":
        end += 1
    return char, end


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-HTML into (plain text, entities), raising EntityParseError like tdlib.

    With ``strict_entities`` (the fake's default) an ``&`` that does not start a supported entity
    is an error, although real Telegram shows it literally: in our bot it always means some text
    was not passed through ``html.escape`` and would break as soon as it contains ``<``.
    """
    out: list[str] = []
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                char, i = decoded
                out.append(char)
                utf16 += utf16_len(char)
                continue
            if strict_entities:
                raise EntityParseError(
                    f'Unsupported HTML entity or unescaped "&" at byte offset '
                    f"{_byte_offset(text, i)} (strict fake; escape it as &amp;)"
                )
        if c != "<":
            out.append(c)
            utf16 += utf16_len(c)
            i += 1
            continue

        begin = i
        i += 1
        if _at(text, i) != "/":
            i = _parse_start_tag(text, begin, i, stack, utf16)
            continue

        # End tag.
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        while _at(text, i) and _at(text, i) not in _SPACES and _at(text, i) != ">":
            i += 1
        end_name = text[begin + 2 : i]
        while _at(text, i) and _at(text, i) in _SPACES:
            i += 1
        if _at(text, i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        open_tag = stack.pop()
        if end_name and end_name != open_tag.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{open_tag.name}>", found "</{end_name}>"'
            )
        if utf16 > open_tag.utf16_start:
            _add_entity(entities, open_tag, utf16 - open_tag.utf16_start)

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_start_tag(text: str, begin: int, i: int, stack: list[_OpenTag], utf16: int) -> int:
    """Parse ``<name attr="v" ...>`` starting after ``<``; push it and return the next index."""
    offset = _byte_offset(text, begin)
    name_start = i
    while _at(text, i) and _at(text, i) not in _SPACES and _at(text, i) != ">":
        i += 1
    if not _at(text, i):
        raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
    name = text[name_start:i].lower()
    if name not in SUPPORTED_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')

    argument = ""
    while _at(text, i) != ">":
        while _at(text, i) and _at(text, i) in _SPACES:
            i += 1
        if _at(text, i) == ">":
            break
        attr_start = i
        while _at(text, i) and _at(text, i) not in _SPACES and _at(text, i) not in "=>":
            i += 1
        attr = text[attr_start:i].lower()
        if not attr:
            raise EntityParseError(
                f'Empty attribute name in the tag "{name}" at byte offset {offset}'
            )
        while _at(text, i) and _at(text, i) in _SPACES:
            i += 1
        if _at(text, i) != "=":
            if name == "blockquote" and attr == "expandable":
                argument = "expandable"
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                f"at byte offset {offset}"
            )
        i += 1
        while _at(text, i) and _at(text, i) in _SPACES:
            i += 1
        if not _at(text, i):
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {offset}')
        value_chars: list[str] = []
        quote = _at(text, i)
        if quote not in ("'", '"'):
            token_start = i
            while _at(text, i) and (_at(text, i).isalnum() or _at(text, i) in ".-"):
                i += 1
            value = text[token_start:i].lower()
            if _at(text, i) and _at(text, i) not in _SPACES and _at(text, i) != ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                )
        else:
            i += 1
            while _at(text, i) and _at(text, i) != quote:
                if _at(text, i) == "&":
                    decoded = _decode_entity(text, i)
                    if decoded is not None:
                        char, i = decoded
                        value_chars.append(char)
                        continue
                value_chars.append(text[i])
                i += 1
            if _at(text, i) == quote:
                i += 1
            value = "".join(value_chars)
        if not _at(text, i):
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if (
            (name == "a" and attr == "href")
            or (name == "code" and attr == "class" and value.startswith("language-"))
            or (name == "span" and attr == "class" and value.startswith("tg-"))
            or (name == "tg-emoji" and attr == "emoji-id")
        ):
            argument = value
    if name == "span" and argument != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    stack.append(_OpenTag(name, argument, utf16, offset))
    return i + 1


def _add_entity(entities: list[dict[str, Any]], tag: _OpenTag, length: int) -> None:
    """Turn a closed tag into a Bot API MessageEntity (pre+code with language merge into pre)."""
    base: dict[str, Any] = {"offset": tag.utf16_start, "length": length}
    if tag.name == "code" and tag.argument.startswith("language-"):
        # The language only survives when the <code> sits directly inside a <pre>.
        entities.append({"type": "code", **base, "_language": tag.argument[9:]})
    elif tag.name in _SIMPLE_ENTITY_TYPES:
        entities.append({"type": _SIMPLE_ENTITY_TYPES[tag.name], **base})
    elif tag.name == "a":
        if tag.argument:
            entities.append({"type": "text_link", **base, "url": tag.argument})
    elif tag.name == "pre":
        entity = {"type": "pre", **base}
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == base["offset"]
            and last["length"] == length
        ):
            entities.pop()
            if last.get("_language"):
                entity["language"] = last["_language"]
        entities.append(entity)
    elif tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
        entities.append({"type": kind, **base})
    elif tag.name == "tg-emoji" and tag.argument:
        entities.append({"type": "custom_emoji", **base, "custom_emoji_id": tag.argument})


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim leading/trailing whitespace like Telegram, shifting and clipping entities."""
    stripped_left = text.lstrip(_SPACES)
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_SPACES)
    total = utf16_len(result)
    fixed: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed


def format_text(
    text: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None,
    *,
    strict_entities: bool,
) -> tuple[str, list[dict[str, Any]]]:
    """Return Telegram's (plain text, entities) for a text/caption, or raise a 400 ApiError."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            plain, parsed = parse_html(text, strict_entities=strict_entities)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
    elif mode in ("", "markdown", "markdownv2"):
        # Markdown is not parsed by the fake: the bot is expected to use HTML.
        plain, parsed = text, list(entities or [])
    else:
        raise bad_request("unsupported parse_mode")
    return strip_text(plain, parsed)


def validate_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Check an inline keyboard the way Telegram does (callback_data is 1-64 UTF-8 bytes)."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError as exc:
            raise bad_request("can't parse reply keyboard markup JSON object") from exc
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            if not any(key in button for key in _BUTTON_ACTIONS):
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(str(data).encode("utf-8"))
                if not isinstance(data, str) or not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
    return markup
