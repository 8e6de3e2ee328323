"""The languages a trainer reviews in: which ones /lang offers, their names, and changing them.

Items may carry an ISO 639-1 code (`items.lang`, validated at upload); a trainer is given only
items in their languages or without one (storage/assignment.py). Buttons name a language by its
index in `CODES`, so the tuple only ever grows at its end: an old button keeps meaning the same
language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from babel import Locale

from storage import languages
from storage.database import Database
from storage.languages import LanguageChange

__all__ = ["CODES", "LanguageChange", "ReviewLanguages", "display_name"]

# Offered to everyone, first on the keyboard: the languages of Nilai's trainers.
ALWAYS_OFFERED = ("id", "en", "jv", "su")
# Every ISO 639-1 code (the two-letter codes Babel's CLDR data names), the four above first.
# Append only: a button carries an index into this tuple.
_OTHER_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
    hy hz ia ie ig ii ik io is it iu ja ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li
    ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os
    pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg sh si sk sl sm sn so sq sr ss st sv sw ta te
    tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu"""
CODES = (*ALWAYS_OFFERED, *_OTHER_CODES.split())
INDEX = {code: n for n, code in enumerate(CODES)}
MAX_OFFERED = 60  # toggles on one keyboard (Telegram allows 100 buttons)


def display_name(code: str, language: str) -> str:
    """The language's name as the reader's language writes it ("Jawa", "Javanese")."""
    name = Locale.parse(language).languages.get(code, code)
    return name[:1].upper() + name[1:]


@dataclass(frozen=True, slots=True)
class LanguageMenu:
    """What /lang shows below the interface language: the toggles, in keyboard order."""

    reviewed: tuple[str, ...]  # the trainer's languages, in the order they turned them on
    offered: tuple[str, ...]  # every toggle shown, in CODES order

    def is_on(self, code: str) -> bool:
        return code in self.reviewed


class ReviewLanguages:
    def __init__(self, db: Database):
        self.db = db

    async def menu(self, user_id: int) -> LanguageMenu:
        """The trainer's languages, and the ones to offer: the usual four, the languages of
        open batches' open items, and any the trainer reviews in already."""
        reviewed = await languages.languages_of(self.db, user_id)
        present = await languages.open_batch_languages(self.db)
        return LanguageMenu(reviewed, _offered((*ALWAYS_OFFERED, *reviewed, *present)))

    async def set(self, user_id: int, index: int, on: bool) -> LanguageChange | None:
        """Turn the language at `index` of CODES on or off; None for an index out of range.
        Refused (`refused_last`) when it would leave the trainer no language."""
        if not 0 <= index < len(CODES):
            return None
        return await languages.set_language(self.db, user_id, CODES[index], on)


def _offered(codes: Iterable[str]) -> tuple[str, ...]:
    known = sorted({code for code in codes if code in INDEX}, key=INDEX.__getitem__)
    return tuple(known[:MAX_OFFERED])
