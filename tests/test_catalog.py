"""Tests for the message catalog (bot/i18n.py, bot/locales/*.toml): every text, in both languages.

A trainer reads these texts on a phone, in Indonesian or English. A translator edits the TOML
files without running the bot, so these tests are the translator's safety net: same keys, same
placeholders, markup Telegram accepts, and no English left behind in the Indonesian file.
"""

from __future__ import annotations

import re
import string
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest

import bot.locales
from bot import i18n
from bot.i18n import LANGUAGES, Html, catalog, language_for, t, t_plain

LOCALES = Path(bot.locales.__file__).parent
EN, ID = catalog("en"), catalog("id")
KEYS = sorted(EN)

# Texts Telegram shows without parsing HTML: button labels, toasts and alerts, and the labels
# that are placed into other texts as (escaped) parameters.
PLAIN_SECTIONS = ("button", "toast", "criterion", "flag", "skip_reason", "menu")
PLAIN_KEYS = {"panel.given", "panel.missing", "panel.no_flags", "panel.skip_title"}
# Texts that may read the same in both languages.
SAME_IN_BOTH = {
    "button.lang_id",  # a language's own name
    "button.lang_en",
    "panel.given",  # symbols
    "panel.missing",
    "toast.scored",  # "{criterion}: {score}"
    "item.turn_assistant",  # "AI" is the Indonesian word too
    "item.title",  # "📝 Batch {batch}": "batch" is what Indonesian crowds say too
}
NASTY = "<script>alert('x')</script> & \"co\" &amp; {not_a_field}"


def is_plain(key: str) -> bool:
    return key.split(".")[0] in PLAIN_SECTIONS or key in PLAIN_KEYS


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


class TelegramHtml(HTMLParser):
    """Collects what Telegram's HTML parse mode would refuse, or show differently than meant."""

    TAGS = frozenset({"b", "i", "u", "s", "code", "pre", "a"})
    ATTRIBUTES: ClassVar[dict[str, set[str]]] = {"a": {"href"}, "code": {"class"}}
    ENTITIES = frozenset({"lt", "gt", "amp", "quot"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.bare_ampersands = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.TAGS:
            self.problems.append(f"unsupported tag <{tag}>")
        for name, _ in attrs:
            if name not in self.ATTRIBUTES.get(tag, set()):
                self.problems.append(f"unsupported attribute {name!r} on <{tag}>")
        if tag == "a" and not dict(attrs).get("href"):
            self.problems.append("<a> without href")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> does not close {self.open[-1:] or 'anything'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.problems.append(f"unescaped < or > in {data[:30]!r}")
        self.bare_ampersands += data.count("&")

    def handle_entityref(self, name: str) -> None:
        if name not in self.ENTITIES:
            self.problems.append(f"unsupported entity &{name};")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("unknown declaration")


def html_problems(text: str) -> tuple[list[str], int]:
    """Problems Telegram would have with `text`, and how many bare `&` it holds."""
    checker = TelegramHtml()
    checker.feed(text)
    checker.close()
    problems = list(checker.problems)
    if checker.open:
        problems.append(f"unclosed {checker.open}")
    return problems, checker.bare_ampersands


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>c</code> <pre>p</pre>", True),
        ('<a href="https://t.me/nilai_bot">link</a>', True),
        ('<pre><code class="language-python">x</code></pre>', True),
        ("&lt;3 &amp; &gt; &quot; &#128512;", True),
        ("<b>unclosed", False),
        ("<b><i>crossed</b></i>", False),
        ("</b>", False),
        ("<div>block</div>", False),
        ("<strong>no</strong>", False),
        ("<br/>", False),
        ("<a>no href</a>", False),
        ('<b class="x">attr</b>', False),
        ("1 < 2", False),
        ("&nbsp;", False),
        ("<!-- comment -->", False),
    ],
)
def test_the_html_checker_itself(text: str, ok: bool) -> None:
    assert (html_problems(text)[0] == []) is ok


# --- both languages, same shape ------------------------------------------------------------------


def test_both_languages_have_exactly_the_same_keys() -> None:
    assert set(LANGUAGES) == {"id", "en"}
    assert set(EN) - set(ID) == set(), "missing from id.toml"
    assert set(ID) - set(EN) == set(), "missing from en.toml"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_in_the_toml_file_is_a_string(language: str) -> None:
    def leaves(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in table.items():
            if isinstance(value, dict):
                found.update(leaves(value, f"{prefix}{key}."))
            else:
                found[f"{prefix}{key}"] = value
        return found

    raw: dict = {}
    for path in sorted((LOCALES / language).glob("*.toml")):
        raw.update(leaves(tomllib.loads(path.read_text("utf-8"))))
    plural = {key for key, text in catalog(language).items() if isinstance(text, i18n.Plural)}
    forms = {f"{key}.{form}" for key in plural for form in catalog(language)[key].forms}
    assert raw.keys() - forms == catalog(language).keys() - plural
    assert {key: type(value).__name__ for key, value in raw.items() if type(value) is not str} == {}


@pytest.mark.parametrize("key", KEYS)
def test_both_languages_use_the_same_simple_placeholders(key: str) -> None:
    assert placeholders(EN[key]) == placeholders(ID[key])
    for language in LANGUAGES:
        for _, field, spec, conversion in string.Formatter().parse(catalog(language)[key]):
            if field is not None:
                assert field.isidentifier(), field
                assert not spec and conversion is None


@pytest.mark.parametrize("key", KEYS)
def test_no_text_is_empty_and_t_returns_it_as_written(key: str) -> None:
    for language in LANGUAGES:
        text = catalog(language)[key]
        assert text.strip()
        assert t(language, key) == text


@pytest.mark.parametrize("key", KEYS)
def test_every_text_is_html_telegram_accepts(key: str) -> None:
    for language in LANGUAGES:
        problems, bare_ampersands = html_problems(catalog(language)[key])
        assert problems == [], language
        if not is_plain(key):
            # Telegram's docs ask for &amp;, and the fake Bot API is as strict.
            assert bare_ampersands == 0, f"{language}: write & as &amp; in texts sent as HTML"


PLAIN = [key for key in KEYS if is_plain(key)]


@pytest.mark.parametrize("key", PLAIN)
def test_plain_texts_have_no_markup_telegram_would_show_literally(key: str) -> None:
    for language in LANGUAGES:
        text = catalog(language)[key]
        assert "<" not in text and ">" not in text
        assert not any(f"&{entity};" in text for entity in ("lt", "gt", "amp", "quot"))


# --- a real translation --------------------------------------------------------------------------


def test_indonesian_texts_are_translated() -> None:
    same = {key for key in KEYS if EN[key] == ID[key]}
    assert same <= SAME_IN_BOTH
    assert len(same) <= len(KEYS) // 10


@pytest.mark.parametrize("key", [key for key in KEYS if key.startswith("button.")])
def test_indonesian_button_labels_are_indonesian(key: str) -> None:
    if key.startswith("button.lang_"):
        assert EN[key] == ID[key], "a language is listed by its own name in both menus"
    else:
        assert EN[key] != ID[key]


@pytest.mark.parametrize(
    ("key", "word"),
    [
        ("button.next", "Next"),
        ("button.submit", "Submit"),
        ("button.skip", "Skip"),
        ("button.rewrite", "Rewrite"),
        ("button.note", "Note"),
    ],
)
def test_english_button_labels_say_what_they_do(key: str, word: str) -> None:
    assert word in EN[key]


def words_of(label: str) -> str:
    """A button label without its leading emoji: "✏️ Rewrite" -> "Rewrite"."""
    return label.split(" ", 1)[1]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("text_key", "button_key"),
    [
        ("privacy.agreed", "button.next"),
        ("privacy.ask", "button.privacy_agree"),
        ("help.trainer", "button.rewrite"),
        ("help.trainer", "button.note"),
        ("help.trainer", "button.submit"),
        ("help.trainer", "button.skip"),
        ("help.trainer", "button.guidelines"),
    ],
)
def test_instructions_name_the_buttons_the_trainer_sees(
    language: str, text_key: str, button_key: str
) -> None:
    texts = catalog(language)
    assert f"<b>{words_of(texts[button_key])}</b>" in texts[text_key]


# --- t(): parameters are escaped unless marked as Html -------------------------------------------

TEMPLATED = [key for key in KEYS if placeholders(EN[key])]


@pytest.mark.parametrize("key", TEMPLATED)
def test_user_text_in_any_parameter_cannot_break_the_markup(key: str) -> None:
    for language in LANGUAGES:
        text = t(language, key, **dict.fromkeys(placeholders(catalog(language)[key]), NASTY))
        assert "<script>" not in text
        assert (
            "&lt;script&gt;alert('x')&lt;/script&gt; &amp; \"co\" &amp;amp; {not_a_field}" in text
        )
        assert html_problems(text)[0] == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("<script>", "&lt;script&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("a<b>c", "a&lt;b&gt;c"),
        ("&amp;", "&amp;amp;"),
        ('"Ana"', '"Ana"'),
        ("Budi 😀", "Budi 😀"),
        (42, "42"),
    ],
)
def test_t_escapes_a_trainers_name(language: str, name: object, shown: str) -> None:
    text = t(language, "start.welcome_back", name=name)
    assert shown in text
    assert text == catalog(language)["start.welcome_back"].replace("{name}", shown)


@pytest.mark.parametrize("language", LANGUAGES)
def test_t_keeps_html_parameters_as_they_are(language: str) -> None:
    text = t(language, "item.turn_user", text=Html("<i>Halo &amp; selamat pagi</i>"))
    assert "<i>Halo &amp; selamat pagi</i>" in text
    assert html_problems(text)[0] == []


def test_t_escapes_some_parameters_and_not_others_in_one_text() -> None:
    text = t(
        "en", "summary.submitted", scores=Html("<b>4</b>"), flags="<none>", rewrite="✓", note=1
    )
    assert "<b>4</b>" in text
    assert "&lt;none&gt;" in text


def test_html_is_a_string() -> None:
    assert isinstance(Html("<b>x</b>"), str)
    assert Html("<b>x</b>") == "<b>x</b>"


def test_a_plural_text_takes_the_form_its_count_asks_for() -> None:
    assert "17 problems." in t("en", "upload.refused", file="f", count=17, reasons="")
    assert "1 problem." in t("en", "upload.refused", file="f", count=1, reasons="")
    assert "1 masalah" in t("id", "upload.refused", file="f", count=1, reasons="")
    assert "17 masalah" in t("id", "upload.refused", file="f", count=17, reasons="")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_plural_form_has_the_same_placeholders(language: str) -> None:
    for key, text in catalog(language).items():
        if isinstance(text, i18n.Plural):
            for form in text.forms.values():
                assert placeholders(form) == placeholders(text), key


def test_english_says_plurals_as_plurals() -> None:
    """ "problem(s)" reads like a form to fill in: English texts use plural forms instead."""
    assert not [key for key, text in EN.items() if "(s)" in text]


# --- the Indonesian a Jakarta speaker would write, and labels that fit a phone -------------------

# Word-for-word renderings that read like a manual, and what a person says instead.
STIFF_INDONESIAN = {
    "tulis ulang": "Perbaiki jawaban (button) / jawaban perbaikan (the text)",
    "tulisan ulang": "jawaban perbaikan",
    "kebermanfaatan": "Kegunaan",
    "nyalakan tanda": "Tandai kalau ada masalah",
    "tanda aktif": "Ditandai",
    "galat": "error",
    "sunting": "edit",
    "berkas": "file",
    "hitunganmu": "jumlah penilaianmu",
}


@pytest.mark.parametrize("key", KEYS)
def test_indonesian_speaks_to_the_trainer_as_kamu(key: str) -> None:
    """ "Anda" is the register of forms and banks; Nilai talks like a colleague."""
    assert not re.search(r"\b[Aa]nda(lah|pun)?\b", ID[key]), ID[key]


@pytest.mark.parametrize("key", KEYS)
def test_indonesian_avoids_word_for_word_translations(key: str) -> None:
    found = {word: better for word, better in STIFF_INDONESIAN.items() if word in ID[key].lower()}
    assert found == {}, f"{key}: say it as a person would: {found}"


def test_the_rewrite_is_called_jawaban_perbaikan_on_the_panel() -> None:
    for key in ("panel.texts", "summary.submitted"):
        assert "jawaban perbaikan" in ID[key].lower(), key
    assert ID["criterion.helpfulness"] == "Kegunaan"
    assert "Tandai kalau ada masalah" in ID["help.trainer"]


# Telegram shares a row between two buttons; on a phone each shows about 20 characters before
# it cuts the label short. Criterion buttons add "▶ " and " 4", flag buttons "☐ "; a number in
# a label ("Undo · {minutes} min") is counted as two digits.
PAIRED_LABELS = {"button": "{}", "skip_reason": "{}", "flag": "☐ {}", "criterion": "▶ {} 4"}
LABEL_ROOM = 21


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "key", [key for key in KEYS if key.split(".")[0] in PAIRED_LABELS], ids=str
)
def test_button_labels_fit_half_a_phone_row(language: str, key: str) -> None:
    label = t_plain(language, key, **dict.fromkeys(placeholders(EN[key]), "10"))
    shown = PAIRED_LABELS[key.split(".")[0]].format(label)
    assert len(shown) <= LABEL_ROOM, f"{shown!r} is {len(shown)} characters"


def _sources() -> str:
    root = LOCALES.parents[1]
    files = [*root.glob("bot/*.py"), *root.glob("handlers/*.py"), *root.glob("storage/*.py")]
    return "\n".join(path.read_text("utf-8") for path in files)


def _named_by_code(key: str, sources: str) -> bool:
    """Whether the code names `key`: whole, or as a prefix it completes at run time
    (f"skip_reason.{reason}", "upload_problem." + problem.key)."""
    if f'"{key}"' in sources or f"'{key}'" in sources:
        return True
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix, rest = ".".join(parts[:cut]), ".".join(parts[cut:])
        if f'f"{prefix}.' in sources:  # completed by a value: a status, a field, a score
            return True
        named = f'"{prefix}."' in sources or f'"{prefix}"' in sources
        if named and f'"{rest}"' in sources:  # completed by a name the code uses
            return True
    return False


def test_every_text_in_the_catalog_is_used() -> None:
    """A translator should not reread texts nobody sees: each key is named by the code."""
    from bot.rubric import DEFAULT_RUBRIC
    from bot.upload_problems import SECTION

    sources = _sources()
    labels = {f"criterion.{key}" for key in DEFAULT_RUBRIC.criteria}
    labels |= {f"flag.{key}" for key in DEFAULT_RUBRIC.flags}
    # bot/upload_problems.py words problems as f"{SECTION}.{key}"; JSON types as f"type_{kind}"
    labels |= {key for key in KEYS if key.startswith(f"{SECTION}.type_")}
    labels |= {f"{SECTION}.{name}" for name in ("and_more", "at_line")}
    unused = [key for key in KEYS if key not in labels and not _named_by_code(key, sources)]
    assert unused == []


def test_a_missing_key_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match=r"button\.nope"):
        t("en", "button.nope")


def test_a_text_missing_in_indonesian_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    partial = {"en": {"only.en": "Hello {name}"}, "id": {}}
    monkeypatch.setattr(i18n, "catalog", lambda language: partial[language])
    assert t("id", "only.en", name="<Ana>") == "Hello &lt;Ana&gt;"


# --- t_plain(): for toasts and alerts, where Telegram shows text as it is ------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("criterion", ["criterion.language", "criterion.safety"])
def test_a_toast_shows_a_label_with_an_ampersand_as_written(language: str, criterion: str) -> None:
    label = t(language, criterion)
    assert "&" in label
    toast = t_plain(language, "toast.scored", criterion=label, score=4)
    assert toast == f"{label}: 4"
    assert "&amp;" not in toast


@pytest.mark.parametrize("key", [key for key in PLAIN if placeholders(EN[key])])
def test_plain_texts_take_parameters_without_escaping(key: str) -> None:
    for language in LANGUAGES:
        text = t_plain(language, key, **dict.fromkeys(placeholders(EN[key]), "A & B <c>"))
        assert "A & B <c>" in text
        assert "&amp;" not in text and "&lt;" not in text


# --- choosing the language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "default", "expected"),
    [
        ("id", "en", "id"),
        ("id-ID", "en", "id"),
        ("ID", "en", "id"),
        ("in", "en", "id"),
        ("en", "id", "en"),
        ("en-US", "id", "en"),
        ("en-GB", "id", "en"),
        ("fr", "id", "en"),
        ("ms", "id", "en"),
        ("jv", "id", "en"),
        ("zh-hans", "id", "en"),
        (None, "id", "id"),
        (None, "en", "en"),
        ("", "id", "id"),
    ],
)
def test_telegram_language_codes_map_to_ours(code: str | None, default: str, expected: str) -> None:
    assert language_for(code, default) == expected
