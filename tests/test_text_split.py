"""Tests for handlers.text_split: long items reach the trainer whole, in messages Telegram accepts.

Telegram counts a message's length in UTF-16 units after parsing the HTML, so the budgets here
are checked the same way: `visible_len` of every message, with the reserved panel filled in.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.text_split import (
    MESSAGE_LIMIT,
    RESERVED,
    pack_blocks,
    pre_messages,
    split_plain,
    utf16_len,
    visible_len,
)

Block = tuple[str, str | int]
_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")

# --- counting like Telegram ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("", 0),
        ("a", 1),
        ("Nilai", 5),
        ("é", 1),
        ("e\u0301", 2),
        ("漢字", 2),
        ("Ω≈ç√", 4),
        ("\n", 1),
        ("\uffff", 1),
        ("😀", 2),
        ("🙌🎉", 4),
        ("𝔸", 2),
        ("𠜎", 2),
        ("👍🏽", 4),
        ("👨‍👩‍👧", 8),
        ("🇮🇩", 4),
        ("a😀b", 4),
    ],
)
def test_utf16_len_counts_emoji_as_two_and_the_bmp_as_one(text: str, units: int) -> None:
    assert utf16_len(text) == units


@pytest.mark.parametrize(
    ("message", "units"),
    [
        ("", 0),
        ("plain", 5),
        ("<b>bold</b>", 4),
        ("<b>Nilai</b> · <i>v1</i>", 10),
        ("&lt;", 1),
        ("&lt;b&gt;", 3),
        ("a &amp; b", 5),
        ("&quot;hi&quot;", 4),
        ("&#128512;", 2),
        ("&#x41;", 1),
        ("<b>😀</b>", 2),
        ('<a href="https://example.com/?a=1&amp;b=2">link</a>', 4),
        ('<pre><code class="language-python">x = 1</code></pre>', 5),
        ("📝 <b>batch</b> · today 3/20", 21),
        ("line\nline", 9),
    ],
)
def test_visible_len_strips_tags_and_counts_entities_as_one(message: str, units: int) -> None:
    assert visible_len(message) == units


# --- split_plain ---------------------------------------------------------------------------------

# Text a trainer may really see: words, paragraphs, Indonesian, emoji, characters outside the
# BMP, long unbroken runs (URLs, code), and `<`/`&` that will be escaped later.
ALPHABET = st.sampled_from(
    [*"abcdefghij ABC.,;!?-\n\t", "  ", ". ", "\n\n", "é", "漢", "😀", "👍🏽", "𝔸", "<", "&"]
)
trainer_text = st.one_of(
    st.text(min_size=0, max_size=600),
    st.lists(ALPHABET, max_size=600).map("".join),
    st.lists(
        st.one_of(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz😀", min_size=1, max_size=300),
            st.sampled_from([" ", "\n", "\n\n", ". "]),
        ),
        max_size=12,
    ).map("".join),
)
first_budgets = st.integers(min_value=-5, max_value=700)
budgets = st.integers(min_value=2, max_value=700)


@settings(max_examples=80, deadline=None)
@given(trainer_text, first_budgets, budgets)
def test_split_plain_keeps_every_character_and_every_budget(
    text: str, first_budget: int, budget: int
) -> None:
    pieces = split_plain(text, first_budget, budget)
    assert "".join(pieces) == text
    assert utf16_len(pieces[0]) <= max(first_budget, 0)
    assert all(utf16_len(piece) <= budget for piece in pieces[1:])
    if text:
        assert all(pieces[1:]), "only the first piece may be empty (no room left in a message)"
    if utf16_len(text) <= first_budget:
        assert pieces == [text]


@pytest.mark.parametrize("first_budget", [4096, 100])
@pytest.mark.parametrize(
    "text", ["", "short", "😀" * 50, "a\n\nb", "x" * 100, "\n" * 100, "<&>" * 33]
)
def test_text_that_fits_stays_one_piece(text: str, first_budget: int) -> None:
    assert split_plain(text, first_budget, 10) == [text]


@pytest.mark.parametrize("first_budget", [0, -1, -100])
def test_with_no_room_left_the_first_piece_is_empty(first_budget: int) -> None:
    pieces = split_plain("hello world", first_budget, 100)
    assert pieces == ["", "hello world"]


def test_a_paragraph_break_is_preferred_over_a_line_break_or_a_space() -> None:
    text = "first paragraph here\n\nsecond one\nwith lines and more words after it"
    pieces = split_plain(text, 45, 45)
    assert pieces[0] == "first paragraph here\n\n"
    assert "".join(pieces) == text


def test_a_line_break_is_preferred_over_a_space() -> None:
    text = "one two three\nfour five six seven eight nine"
    pieces = split_plain(text, 25, 100)
    assert pieces == ["one two three\n", "four five six seven eight nine"]


def test_a_sentence_end_is_preferred_over_a_space() -> None:
    text = "Jakarta is big. It has many people and many motorbikes"
    pieces = split_plain(text, 30, 100)
    assert pieces[0] == "Jakarta is big. "


def test_words_are_not_cut_when_there_is_a_space() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda"
    pieces = split_plain(text, 13, 13)
    assert "".join(pieces) == text
    words = set(text.split())
    for piece in pieces:
        assert set(piece.split()) <= words
        assert utf16_len(piece) <= 13


def test_a_long_word_without_spaces_is_cut_hard_at_the_budget() -> None:
    url = "https://example.com/" + "x" * 230
    pieces = split_plain(url, 100, 100)
    assert [len(piece) for piece in pieces] == [100, 100, 50]
    assert "".join(pieces) == url


def test_an_early_space_does_not_make_a_tiny_piece() -> None:
    text = "a " + "b" * 1000
    pieces = split_plain(text, 900, 900)
    assert [len(piece) for piece in pieces] == [900, 102]


def test_emoji_are_never_cut_in_half() -> None:
    text = "😀" * 100
    pieces = split_plain(text, 51, 51)
    assert [utf16_len(piece) for piece in pieces] == [50, 50, 50, 50]
    assert all(set(piece) == {"😀"} for piece in pieces)


def test_many_newlines_split_cleanly() -> None:
    text = "\n" * 1000 + "end"
    pieces = split_plain(text, 300, 300)
    assert "".join(pieces) == text
    assert all(utf16_len(piece) <= 300 for piece in pieces)


def test_with_room_for_less_than_an_emoji_the_emoji_waits_for_the_next_piece() -> None:
    pieces = split_plain("😀 then text", 1, 100)
    assert pieces == ["", "😀 then text"]


@pytest.mark.parametrize("text", ["😀", "a😀", "𝔸𝔸"])
def test_a_budget_too_small_for_one_character_is_an_error_not_a_loop(text: str) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        split_plain(text, 1, 1)


@pytest.mark.parametrize("budget", [0, -1])
def test_a_budget_of_nothing_is_an_error_not_a_loop(budget: int) -> None:
    # This once looped for ever, appending empty pieces; pytest-timeout ends such a run.
    with pytest.raises(ValueError, match="cannot hold"):
        split_plain("text", budget, budget)


# --- pack_blocks ---------------------------------------------------------------------------------


def filled(message: str, reserve: int) -> str:
    """The message as finally sent: the reserved room taken by a panel of that length."""
    return message.replace(RESERVED, "x" * reserve)


def reserved_length(blocks: list[Block]) -> int:
    return sum(content for kind, content in blocks if kind == "reserve")  # type: ignore[misc]


def visible_text(message: str) -> str:
    return html.unescape(_TAG.sub("", message.replace(RESERVED, "")))


def expected_text(blocks: list[Block]) -> str:
    parts = []
    for kind, content in blocks:
        if kind == "html":
            parts.append(visible_text(str(content)))
        elif kind == "text":
            parts.append(str(content))
    return "".join(parts)


def assert_well_packed(messages: list[str], blocks: list[Block], budget: int) -> None:
    reserve = reserved_length(blocks)
    for message in messages:
        assert visible_len(filled(message, reserve)) <= budget, message
        # a cut never lands inside an entity: every & starts one we wrote
        assert all(_ENTITY.match(message, m.start()) for m in re.finditer("&", message))
    # all text arrives, in order (newlines join blocks, so compare without them)
    joined = "".join(visible_text(message) for message in messages)
    assert joined.replace("\n", "") == expected_text(blocks).replace("\n", "")
    if any(kind == "reserve" for kind, _ in blocks):
        assert sum(message.count(RESERVED) for message in messages) == 1
        assert RESERVED in messages[-1]


def item_blocks(prompt: str, response: str, reserve: int = 300) -> list[Block]:
    """The blocks handlers.render builds for an item."""
    return [
        ("html", "📝 <b>Batch &lt;pilot&gt;</b> · today 3/20"),
        ("html", "\n<b>👤 Prompt</b>"),
        ("text", prompt),
        ("html", "\n<b>🤖 AI answer</b>"),
        ("text", response),
        ("reserve", reserve),
    ]


def test_a_short_item_is_one_message_with_the_panel_last() -> None:
    blocks = item_blocks("Apa ibu kota Indonesia?", "Jakarta & sekitarnya <3", reserve=200)
    messages = pack_blocks(blocks)
    assert messages == [
        "📝 <b>Batch &lt;pilot&gt;</b> · today 3/20\n"
        "\n<b>👤 Prompt</b>\n"
        "Apa ibu kota Indonesia?\n"
        "\n<b>🤖 AI answer</b>\n"
        "Jakarta &amp; sekitarnya &lt;3\n" + RESERVED
    ]
    assert_well_packed(messages, blocks, MESSAGE_LIMIT)


LOREM = (
    "Jakarta adalah ibu kota Indonesia. Kota ini sangat ramai, dengan banyak motor dan mobil.\n"
    "It is a big city with many people; traffic is heavy in the morning and the evening.\n\n"
)


@pytest.mark.parametrize("budget", [MESSAGE_LIMIT, MESSAGE_LIMIT - 40, 1000])
def test_a_10000_character_item_is_split_within_every_budget(budget: int) -> None:
    response = (LOREM * 60)[:10_000]
    assert len(response) == 10_000
    blocks = item_blocks("Ceritakan tentang Jakarta.", response, reserve=400)
    messages = pack_blocks(blocks, budget)
    assert len(messages) >= 10_000 // budget + 1
    assert_well_packed(messages, blocks, budget)


@pytest.mark.parametrize("budget", [MESSAGE_LIMIT - 40, 500])
def test_an_item_full_of_markup_characters_and_emoji_counts_what_the_trainer_sees(
    budget: int,
) -> None:
    response = ("<b>&amp; 😀 a<b & c>d 👍🏽 &lt;\n" * 400)[:10_000]
    blocks = item_blocks("<script>alert('&')</script>", response, reserve=250)
    messages = pack_blocks(blocks, budget)
    assert_well_packed(messages, blocks, budget)
    # the escaped HTML is much longer than what is visible, and only the visible part counts
    assert sum(map(len, messages)) > sum(visible_len(filled(m, 250)) for m in messages) + 5000
    assert "<script>" not in "".join(messages)


def test_a_single_text_block_is_preserved_exactly() -> None:
    text = "Halo!\n\n" + "kata " * 3000 + "\n😀<&>"
    messages = pack_blocks([("text", text)], 700)
    assert "".join(html.unescape(message) for message in messages) == text
    assert all(visible_len(message) <= 700 for message in messages)


@pytest.mark.parametrize(("budget", "count"), [(101, 1), (100, 2)])
def test_blocks_are_joined_by_a_newline_that_counts_too(budget: int, count: int) -> None:
    messages = pack_blocks([("html", "a" * 50), ("html", "b" * 50)], budget)
    assert len(messages) == count
    assert "\n".join(messages) == "a" * 50 + "\n" + "b" * 50


def test_an_html_block_is_never_split_but_moves_to_the_next_message() -> None:
    header = "<b>" + "h" * 40 + "</b>"
    messages = pack_blocks([("text", "t" * 80), ("html", header)], 100)
    assert messages == ["t" * 80, header]


@pytest.mark.parametrize(("text_len", "count"), [(89, 1), (90, 2), (95, 2)])
def test_the_reserved_panel_stays_whole_and_moves_on_when_it_does_not_fit(
    text_len: int, count: int
) -> None:
    blocks: list[Block] = [("text", "t" * text_len), ("reserve", 10)]
    messages = pack_blocks(blocks, 100)
    assert len(messages) == count
    assert messages[-1].endswith(RESERVED)
    assert_well_packed(messages, blocks, 100)


def test_text_continues_right_after_an_html_block_when_there_is_room() -> None:
    messages = pack_blocks([("html", "<b>Prompt</b>"), ("text", "w " * 60)], 50)
    assert messages[0].startswith("<b>Prompt</b>\nw w")
    assert all(visible_len(message) <= 50 for message in messages)


def test_nothing_to_pack_gives_one_empty_message() -> None:
    assert pack_blocks([]) == [""]
    assert pack_blocks([("text", "")]) == [""]


html_fragments = st.sampled_from(
    [
        "📝 <b>Batch</b> · today 3/20",
        "\n<b>👤 Prompt</b>",
        "\n<b>🤖 AI answer</b>",
        "<b>💬 Earlier in the chat</b>",
        "👤 <b>User:</b> ",
        "<i>You still have this item open.</i>",
        "&lt;&amp;&gt; 😀",
    ]
)
no_nul = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=400)
item_texts = st.one_of(no_nul, st.lists(ALPHABET, max_size=400).map("".join))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("html"), html_fragments), st.tuples(st.just("text"), item_texts)
        ),
        max_size=8,
    ),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=60, max_value=500),
)
def test_packed_messages_always_fit_and_keep_the_text_in_order(
    blocks: list[Block], reserve: int, budget: int
) -> None:
    all_blocks = [*blocks, ("reserve", reserve)]
    messages = pack_blocks(all_blocks, budget)
    assert_well_packed(messages, all_blocks, budget)


def test_an_emoji_at_the_edge_of_a_full_message_moves_to_the_next_one() -> None:
    blocks: list[Block] = [("html", "a" * 98), ("text", "😀 next")]
    messages = pack_blocks(blocks, 100)
    assert all(visible_len(message) <= 100 for message in messages)


# --- the answer to copy (Rewrite) ----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\n", "<", "&", "😀", "é"]), max_size=12_000))
def test_copy_blocks_fit_a_message_each_and_hold_the_whole_answer(answer: str) -> None:
    blocks = pre_messages(answer)
    for block in blocks:
        assert block.startswith("<pre>") and block.endswith("</pre>")
        assert visible_len(block) <= MESSAGE_LIMIT
        assert "<" not in block[5:-6]  # the answer's own markup is escaped
    shown = "".join(html.unescape(block[5:-6]) for block in blocks)
    assert shown == "".join(piece for piece in split_plain(answer, 4096, 4096) if piece.strip())


def test_a_long_answer_is_cut_at_natural_breaks_into_few_blocks() -> None:
    answer = "Kalimat pertama. " * 700  # 11,900 characters
    blocks = pre_messages(answer)
    assert len(blocks) == 3
    assert all(block.endswith(". </pre>") for block in blocks[:-1])
    assert pre_messages("   ") == []  # nothing to copy: no empty message Telegram would refuse
