"""The review languages /lang offers: every ISO 639-1 code has a stable button index, and each
is named in the reader's language."""

from __future__ import annotations

from babel import Locale

from bot.review_languages import ALWAYS_OFFERED, CODES, INDEX, display_name
from handlers.callback_data import Action, decode, encode


def test_every_two_letter_code_babel_knows_can_be_toggled() -> None:
    # The upload accepts the ISO 639-1 codes Babel knows: each must have a button.
    babel = {code for code in Locale("en").languages if len(code) == 2 and code.isalpha()}
    assert babel <= set(CODES)
    assert len(set(CODES)) == len(CODES)


def test_the_usual_languages_come_first_and_keep_their_indexes() -> None:
    # Buttons already sent carry these indexes: they must never move.
    assert CODES[: len(ALWAYS_OFFERED)] == ("id", "en", "jv", "su")
    assert (INDEX["aa"], INDEX["zu"]) == (4, len(CODES) - 1)


def test_every_index_fits_the_button_data() -> None:
    for code, index in INDEX.items():
        assert decode(encode(Action.REVIEW_LANGUAGE, index, 1)).args == (index, 1), code


def test_names_are_in_the_readers_language() -> None:
    assert [display_name(code, "id") for code in ALWAYS_OFFERED] == [
        "Indonesia",
        "Inggris",
        "Jawa",
        "Sunda",
    ]
    assert display_name("jv", "en") == "Javanese"
    assert display_name("ms", "en") == "Malay"
