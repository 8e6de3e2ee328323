"""Fuzzing the message splitter: whatever an item holds, every message of it is one Telegram
accepts (at most 4096 UTF-16 units after entity parsing, no tag or entity cut), and the
messages' visible text joins back to the item's text.

The messages are parsed with the fake Bot API's copy of Telegram's HTML parser (tdlib's rules,
strict about `&`), so "after entity parsing" is what Telegram would count.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.review import ItemView
from bot.rubric import DEFAULT_RUBRIC, Rubric, rubric_from_data
from handlers.render import render_item_messages, render_submitted_summary
from handlers.text_split import MESSAGE_LIMIT, RESERVED, pack_blocks, split_plain, utf16_len
from storage.records import Assignment, Draft, Item
from tests.fakebot import parse_html
from tests.fakebot.validation import format_text

Block = tuple[str, str | int]

# Text as trainers' items really hold it, and worse: any character (NUL and control characters
# included), runs of whitespace and newlines, markup characters that must be escaped, emoji
# outside the BMP and joined emoji, and unbroken runs (URLs, code).
PIECES = st.sampled_from(
    [
        " ",
        "  ",
        "\n",
        "\n\n",
        "\n\n\n",
        ". ",
        "\t",
        "<",
        ">",
        "&",
        "&amp;",
        "&lt;b&gt;",
        "<b>",
        "</i>",
        '"',
        "'",
        "\x00",
        "\r\n",
        "é",
        "漢字",
        "😀",
        "👍🏽",
        "👨‍👩‍👧",
        "🇮🇩",
        "𝔸",
        "e\u0301",
        "\u200b",
        "\ufeff",
        "kata",
        "Jakarta",
        "x" * 50,
    ]
)
any_text = st.text(max_size=300)
item_text = st.one_of(
    any_text,
    st.lists(st.one_of(PIECES, any_text), max_size=60).map("".join),
)
# Long items: a random stretch of text repeated, so that most split over several messages.
long_text = st.builds(
    lambda parts, times, tail: "".join(parts) * times + tail,
    st.lists(st.one_of(PIECES, any_text), min_size=1, max_size=12),
    st.integers(min_value=1, max_value=250),
    item_text,
)
HTML_FRAGMENTS = st.sampled_from(
    [
        "📝 <b>Batch &lt;pilot&gt;</b> · today 3/20",
        "\n<b>👤 Prompt</b>",
        "\n<b>🤖 AI answer</b>",
        "👤 <b>User:</b> ",
        '<a href="https://t.me/nilai_bot?start=a&amp;b">link</a>',
        "&lt;&amp;&gt; 😀 &quot;",
    ]
)


def visible(message: str) -> str:
    """The text Telegram shows for an HTML message (before it trims the ends)."""
    return parse_html(message)[0]


def joins_back(messages: list[str], blocks: list[Block]) -> bool:
    """The messages' visible text is the blocks' text joined by newlines, where a newline
    between two blocks may have become a message boundary instead (or gone with an empty
    block)."""
    shown = "".join(visible(message) for message in messages)
    pattern = []
    for index, (kind, content) in enumerate(blocks):
        if index:
            pattern.append("\n?")
        if kind == "text":
            pattern.append(re.escape(str(content).replace(RESERVED, "\ufffd")))
        elif kind == "html":
            pattern.append(re.escape(visible(str(content))))
    return re.fullmatch("".join(pattern), shown, re.DOTALL) is not None


def check_messages(messages: list[str], blocks: list[Block], budget: int) -> None:
    reserve = sum(int(content) for kind, content in blocks if kind == "reserve")
    for message in messages:
        assert message.count(RESERVED) <= 1
        filled = message.replace(RESERVED, "x" * reserve)
        text = visible(filled)  # raises if a tag or an entity was cut
        assert utf16_len(text) <= budget
    if reserve or any(kind == "reserve" for kind, _ in blocks):
        assert sum(message.count(RESERVED) for message in messages) == 1
        assert RESERVED in messages[-1]
    assert joins_back([m.replace(RESERVED, "") for m in messages], blocks)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("text"), item_text), st.tuples(st.just("html"), HTML_FRAGMENTS)
        ),
        max_size=8,
    ),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=60, max_value=400),
)
@example([("text", "a\x00b")], 5, 100)  # a NUL in an item once showed the panel twice
def test_packed_messages_parse_fit_and_keep_every_character(
    blocks: list[Block], reserve: int, budget: int
) -> None:
    all_blocks: list[Block] = [*blocks, ("reserve", reserve)]
    check_messages(pack_blocks(all_blocks, budget), all_blocks, budget)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_text, long_text)
def test_long_items_fit_telegrams_own_limit(prompt: str, response: str) -> None:
    blocks: list[Block] = [
        ("html", "📝 <b>pilot</b> · today 3/20"),
        ("html", "\n<b>👤 Prompt</b>"),
        ("text", prompt),
        ("html", "\n<b>🤖 AI answer</b>"),
        ("text", response),
        ("reserve", 400),
    ]
    check_messages(pack_blocks(blocks), blocks, MESSAGE_LIMIT)


@settings(max_examples=200, deadline=None)
@example("", -1, 2)  # once two empty pieces, and so a needless new message
@given(item_text, st.integers(min_value=-3, max_value=200), st.integers(min_value=2, max_value=200))
def test_split_plain_loses_nothing_and_keeps_every_budget(
    text: str, first_budget: int, budget: int
) -> None:
    pieces = split_plain(text, first_budget, budget)
    assert "".join(pieces) == text
    assert utf16_len(pieces[0]) <= max(first_budget, 0)
    assert all(0 < utf16_len(piece) <= budget for piece in pieces[1:])


def test_a_nul_in_an_item_is_shown_as_a_replacement_character_not_as_the_panel() -> None:
    messages = pack_blocks([("text", "a\x00b"), ("reserve", 5)], 100)
    assert messages == ["a\ufffdb\n" + RESERVED]


def test_a_lone_surrogate_counts_as_one_utf16_unit_instead_of_crashing() -> None:
    assert utf16_len("a\ud800b") == 3
    assert "".join(split_plain("a\ud800b" * 10, 5, 5)) == "a\ud800b" * 10


# --- the whole item, as the trainer receives it ---------------------------------------------

LONG_LABELS = rubric_from_data(
    {
        "scale": [1, 7],
        "criteria": [
            {
                "key": f"c{n}",
                "id": "Kriteria panjang " + "é" * 23,
                "en": "A long criterion " + "😀" * 11,
            }
            for n in range(8)
        ],
        "flags": [
            {"key": f"f{n}", "id": "Tanda panjang & " + "x" * 24, "en": "A long flag <" + "y" * 27}
            for n in range(8)
        ],
    }
)
NOW = datetime(2026, 11, 25, tzinfo=UTC).isoformat()


def view_of(
    prompt: str, response: str, context: list[str], rubric: Rubric, draft: Draft
) -> ItemView:
    item = Item(
        id=1,
        batch_id=1,
        batch_name="pilot-&-<test>-" + "b" * 40,
        external_id="q-1",
        prompt=prompt,
        response=response,
        context=tuple(
            {"role": ("user", "assistant", "system")[n % 3], "content": turn}
            for n, turn in enumerate(context)
        ),
        rubric={},
    )
    assignment = Assignment(1, 1, 2001, "active", NOW, 0)
    criterion = next((key for key in rubric.criteria if key not in draft.scores), None)
    return ItemView(assignment, item, rubric, draft, 12, 20, criterion)


@st.composite
def drafts(draw: st.DrawFn, rubric: Rubric) -> Draft:
    scored = draw(st.lists(st.sampled_from(rubric.criteria), unique=True))
    return Draft(
        scores={key: draw(st.sampled_from(rubric.scores)) for key in scored},
        flags=frozenset(draw(st.lists(st.sampled_from(rubric.flags), unique=True))),
        note=draw(st.none() | st.just("n")),
        rewrite=draw(st.none() | st.just("r")),
    )


@pytest.mark.parametrize("rubric", [DEFAULT_RUBRIC, LONG_LABELS], ids=["default", "long_labels"])
@pytest.mark.parametrize("language", ["id", "en"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_of_an_item_is_one_telegram_accepts(
    rubric: Rubric, language: str, data: st.DataObject
) -> None:
    prompt, response = data.draw(long_text), data.draw(long_text)
    context = data.draw(st.lists(item_text, max_size=3))
    draft = data.draw(drafts(rubric))
    view = view_of(prompt, response, context, rubric, draft)
    submitted = data.draw(st.booleans())
    status = render_submitted_summary(rubric, draft, language) if submitted else None
    messages = render_item_messages(view, language, status=status)
    shown = []
    for message in messages:
        text, _ = format_text(message, "HTML", None, strict_entities=True)  # Telegram's checks
        assert 0 < utf16_len(text) <= MESSAGE_LIMIT
        shown.append(visible(message))
    everything = "".join(shown)
    for part in (prompt, response, *context):
        # every character arrives, in order (the split adds only newlines and part marks)
        assert _in_order(part.replace("\x00", "\ufffd"), everything)


def _in_order(needle: str, haystack: str) -> bool:
    position = 0
    for character in needle:
        position = haystack.find(character, position)
        if position < 0:
            return False
        position += 1
    return True


def test_the_html_of_an_escaped_piece_is_what_telegram_shows() -> None:
    piece = "<b>&amp;</b> 😀"
    assert visible(html.escape(piece, quote=False)) == piece
