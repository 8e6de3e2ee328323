"""The message catalog: every text the bot sends, in Indonesian and English.

Texts live in `bot/locales/<lang>/*.toml` (one file per feature, merged; a key may appear
in only one file) so a translator edits them without touching code.
They are HTML (Telegram's subset); parameters are escaped here, so user-provided strings can
never break the markup. Pass `Html(...)` for a parameter that is already safe HTML.

A text that depends on a number is a table of CLDR plural forms, chosen by its `count`
parameter with Babel's rules for the language:

    [confirm.parts]
    one = "Saved {count} part"
    other = "Saved {count} parts"

Indonesian has one form (`other`); English has `one` and `other`. A `count` is a quantity, so
`t()` writes it as the language does (12,345 / 12.345); `count=number(n, language)` works too.
Other numeric parameters are shown as given: format quantities with `bot.formatting.number`, and
leave ids (Telegram's, an item's) as plain digits.
"""

from __future__ import annotations

import html
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from babel import Locale

from bot.formatting import Number, number

LANGUAGES = ("id", "en")
FALLBACK = "en"


class Html(str):
    """A string that is already valid Telegram HTML and must not be escaped again."""


PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})


class Plural(str):
    """A text with CLDR plural forms; as a string it is its `other` form (what the catalog
    tests check: placeholders and markup are the same in every form)."""

    language: str
    forms: dict[str, str]

    def __new__(cls, language: str, forms: dict[str, str]) -> Plural:
        text = super().__new__(cls, forms["other"])
        text.language, text.forms = language, forms
        return text

    def form(self, name: str) -> str:
        return self.forms.get(name, self.forms["other"])


def _is_plural(table: dict[str, Any]) -> bool:
    return "other" in table and table.keys() <= PLURAL_FORMS


def _flatten(table: dict[str, Any], language: str, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and _is_plural(value):
            flat[name] = Plural(language, {form: str(text) for form, text in value.items()})
        elif isinstance(value, dict):
            flat.update(_flatten(value, language, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(language: str) -> dict[str, str]:
    """All texts of one language, keyed `section.name`."""
    merged: dict[str, str] = {}
    folder = resources.files("bot.locales").joinpath(language)
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not entry.name.endswith(".toml"):
            continue
        texts = _flatten(tomllib.loads(entry.read_text("utf-8")), language)
        clash = merged.keys() & texts.keys()
        if clash:
            raise ValueError(f"{language}/{entry.name} repeats keys: {', '.join(sorted(clash))}")
        merged.update(texts)
    return merged


@cache
def _plural_rule(language: str) -> Any:
    return Locale.parse(language).plural_form


def _template(language: str, key: str, params: dict[str, Any]) -> str:
    """The text `key`; for a plural text, the form its `count` parameter asks for."""
    template = catalog(language).get(key) or catalog(FALLBACK).get(key)
    if template is None:
        raise KeyError(f"message {key!r} is missing from the catalog")
    count = params.get("count")
    if isinstance(count, Number):
        count = count.value
    if isinstance(template, Plural) and _is_quantity(count):
        return template.form(_plural_rule(template.language)(count))
    return template


def _is_quantity(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown_count(language: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with a whole-number `count` written the reader's way (1,250 or 1.250)."""
    count = params.get("count")
    if not isinstance(count, int) or isinstance(count, bool):
        return params
    return {**params, "count": number(count, language)}


def t(language: str, key: str, /, **params: Any) -> str:
    """The text `key` in `language` (English if missing there), with escaped parameters."""
    template = _template(language, key, params)
    if not params:
        return template
    params = _shown_count(language, params)
    safe = {
        name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
        for name, value in params.items()
    }
    return template.format(**safe)


def t_plain(language: str, key: str, /, **params: Any) -> str:
    """A text for plain-text places (button toasts, alerts): parameters are not escaped.

    Such texts must contain no HTML; the catalog test checks that `toast.*` texts have none.
    """
    template = _template(language, key, params)
    return template.format(**_shown_count(language, params)) if params else template


def language_for(language_code: str | None, default: str) -> str:
    """Telegram's `language_code` to ours: Indonesian for `id*`, English for anything else."""
    if not language_code:
        return default
    return "id" if language_code.lower().startswith(("id", "in")) else "en"
