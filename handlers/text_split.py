"""Fitting long texts into Telegram messages, counting length the way Telegram does.

Telegram limits a message to 4096 characters *after entity parsing*, counted in UTF-16 code
units (an emoji often counts 2). Item text is plain, user-provided text that we escape; we split
it before escaping, so a cut never lands inside an HTML entity or tag.
"""

from __future__ import annotations

import html
import re

MESSAGE_LIMIT = 4096
_TAG = re.compile(r"<[^>]*>")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, Telegram's unit for message length (a lone surrogate, which
    no valid text holds, counts as the one unit it is rather than raising)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible_len(html_text: str) -> int:
    """Length of an HTML message as Telegram counts it: tags removed, entities as one char."""
    return utf16_len(html.unescape(_TAG.sub("", html_text)))


def _cut_point(text: str, budget: int) -> int:
    """Index to cut `text` so its head is at most `budget` UTF-16 units, at a natural break."""
    # Find the largest prefix (in code points) within budget.
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if utf16_len(text[:mid]) <= budget:
            low = mid
        else:
            high = mid - 1
    limit = low
    if limit >= len(text) or limit == 0:
        return limit
    window_start = max(1, limit - max(200, limit // 4))
    for separator in ("\n\n", "\n", ". ", " "):
        index = text.rfind(separator, window_start, limit)
        if index > 0:
            return index + len(separator)
    return limit


def split_plain(text: str, first_budget: int, budget: int) -> list[str]:
    """Split plain text into pieces: the first fits `first_budget`, the others `budget`."""
    pieces: list[str] = []
    remaining = text
    current = first_budget
    while remaining and utf16_len(remaining) > current:  # "" stays one piece
        cut = _cut_point(remaining, current) if current > 0 else 0
        if cut == 0 and current == budget:
            raise ValueError(f"a budget of {budget} cannot hold even one character")
        pieces.append(remaining[:cut])  # "" when not even one character fits: next message
        remaining = remaining[cut:]
        current = budget
    pieces.append(remaining)
    return pieces


RESERVED = "\x00"
"""Marker that `pack_blocks` leaves where a ("reserve", length) block was placed. A NUL in the
text itself is shown as U+FFFD (also one unit), so the marker stays unique."""
_SHOWN_FOR_NUL = "\ufffd"


def pack_blocks(blocks: list[tuple[str, str | int]], budget: int = MESSAGE_LIMIT) -> list[str]:
    """Pack blocks into HTML messages of at most `budget` visible UTF-16 units each.

    Blocks are joined by newlines and are one of: ("html", fragment), short and kept whole;
    ("text", plain), escaped here and split wherever needed; ("reserve", length), room kept
    whole for text filled in later (the rating panel, whose length changes with every tap, so
    reserving its longest form keeps the split identical on every re-render).
    """
    messages: list[list[str]] = [[]]
    used = [0]

    def room() -> int:
        return budget - used[-1] - (1 if messages[-1] else 0)

    def add(fragment: str, length: int) -> None:
        if messages[-1]:
            used[-1] += 1
        messages[-1].append(fragment)
        used[-1] += length

    def new_message() -> None:
        messages.append([])
        used.append(0)

    for kind, content in blocks:
        if kind == "text":
            assert isinstance(content, str)
            for index, piece in enumerate(split_plain(content, room(), budget)):
                if index > 0:
                    new_message()
                if piece:
                    shown = html.escape(piece.replace(RESERVED, _SHOWN_FOR_NUL), quote=False)
                    add(shown, utf16_len(piece))
            continue
        if kind == "html":
            assert isinstance(content, str)
            fragment, length = content, visible_len(content)
        else:
            assert isinstance(content, int)
            fragment, length = RESERVED, content
        if length > room() and messages[-1]:
            new_message()
        add(fragment, length)
    return ["\n".join(parts) for parts in messages if parts] or [""]


def pre_messages(text: str, budget: int = MESSAGE_LIMIT) -> list[str]:
    """`text` as tap-to-copy `<pre>` blocks, one HTML message each, every one within `budget`
    visible UTF-16 units (the tags are markup, not text, once Telegram parses the entities).
    The cuts fall at natural breaks, as for items, so each block copies as whole lines."""
    shown = text.replace(RESERVED, _SHOWN_FOR_NUL)
    return [
        f"<pre>{html.escape(piece, quote=False)}</pre>"
        for piece in split_plain(shown, budget, budget)
        if piece.strip()
    ]


MAX_ECHO = 64  # characters of what a user typed that an answer quotes back


def echo(typed: str) -> str:
    """What the user typed, cut short enough that the answer quoting it always fits."""
    return typed if len(typed) <= MAX_ECHO else typed[: MAX_ECHO - 1] + "…"
