"""Why an uploaded file (a batch or a rubric) is refused or warned about, in the reader's words.

The parsers (`bot.batch_format`, `bot.rubric`) never word a reason themselves: they name it with
a key of the catalog's `upload_problem` section (`bot/locales/<lang>/upload_problems.toml`) and
its parameters. The chat shows it in the coordinator's language (`html`), the CLI and the logs in
English (`plain`). So one parser serves both languages, and a translator edits every reason.

Parameters are plain values, turned into text here, in the reader's language:

* `int`: a number written the reader's way (`1,234` / `1.234`), except `count`, which also
  picks the plural form and is shown as is;
* `str`: text from the file, already clipped and quoted by the parser (escaped for HTML here);
* `Phrase`: a catalog text of its own (the name of a JSON type, "near line 7");
* `Names`: names from the file, shown as a list ("a", "b" and 3 more).

Problems are built only for bad lines, so none of this costs anything per valid line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from bot.formatting import number
from bot.i18n import Html, t

SECTION = "upload_problem"
MAX_NAMES_SHOWN = 5

Params = tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Phrase:
    """A catalog text used inside another one, e.g. the JSON type found where text belongs."""

    key: str  # under `upload_problem.`
    params: Params = ()


def phrase(key: str, /, **params: Any) -> Phrase:
    return Phrase(key, tuple(params.items()))


@dataclass(frozen=True, slots=True)
class Names:
    """Names echoed from the file (already quoted): the first few shown, the rest counted."""

    names: tuple[str, ...]  # the first MAX_NAMES_SHOWN
    total: int


def names(all_names: list[str]) -> Names:
    return Names(tuple(all_names[:MAX_NAMES_SHOWN]), len(all_names))


@dataclass(frozen=True, slots=True)
class Problem:
    """A reason a record (or, with line 0, the whole file) is refused or warned about."""

    line: int  # 0 for whole-file problems
    key: str  # under `upload_problem.` in the catalog
    params: Params = ()

    @property
    def reason(self) -> str:
        """The reason in English, without the line: for logs, the CLI and tests."""
        return plain(self, "en", with_line=False)


def problem(line: int, key: str, /, **params: Any) -> Problem:
    """`Problem(line, key, params)` with the parameters as keywords."""
    return Problem(line, key, tuple(params.items()))


def html_text(item: Problem | Phrase, language: str, *, with_line: bool = True) -> str:
    """Telegram HTML: "line 7: reason" in `language` (just the reason for line 0)."""
    reason = t(language, f"{SECTION}.{item.key}", **_params(item.params, language))
    line = item.line if isinstance(item, Problem) else 0
    if not (with_line and line):
        return reason
    return t(language, f"{SECTION}.at_line", line=number(line, language), reason=Html(reason))


def plain(item: Problem | Phrase, language: str = "en", *, with_line: bool = True) -> str:
    """The same as plain text, for a terminal or a log."""
    return html.unescape(html_text(item, language, with_line=with_line))


def _params(params: Params, language: str) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, value in params:
        if isinstance(value, Phrase):
            shown[name] = Html(html_text(value, language))
        elif isinstance(value, Names):
            shown[name] = Html(_names(value, language))
        elif isinstance(value, int) and not isinstance(value, bool) and name != "count":
            shown[name] = number(value, language)
        else:
            shown[name] = value
    return shown


def _names(value: Names, language: str) -> str:
    shown = ", ".join(html.escape(name, quote=False) for name in value.names)
    rest = value.total - len(value.names)
    if rest > 0:
        shown += t(language, f"{SECTION}.and_more", count=rest)
    return shown
