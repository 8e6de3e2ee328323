"""Queries about languages: the ones a trainer reviews in, and the ones open batches carry.

A trainer's review languages are stored as space-separated ISO 639-1 codes
(`trainers.review_languages`, migration 0007); NULL means "my interface language", so a new
trainer reviews in the language they read the bot in until they choose otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.database import Connection, Database

# The languages of one trainer, as one text of codes (usable as a scalar subquery).
TRAINER_LANGUAGES_SQL = (
    "SELECT COALESCE(review_languages, language) FROM trainers WHERE user_id = :trainer"
)
# Everyone who may be handed items and is not a coordinator: the people a batch waits for.
ACTIVE_TRAINER = "t.role = 'trainer' AND t.status = 'active' AND t.reachable = 1"
_ACTIVE_LANGUAGE_SETS_SQL = (
    "SELECT DISTINCT COALESCE(t.review_languages, t.language) FROM trainers t"
    f" WHERE {ACTIVE_TRAINER}"
)
# The next language (in code order) among a batch's open items: one seek in items_progress.
_NEXT_LANGUAGE_SQL = "SELECT MIN(lang) FROM items WHERE batch_id = ? AND complete = 0 AND lang > ?"


def parse(codes: str | None) -> tuple[str, ...]:
    """The codes in a stored list (no duplicates, stored order)."""
    return tuple(dict.fromkeys((codes or "").split()))


def reviews(languages: Sequence[str], item_language: str | None) -> bool:
    """Whether a trainer with these languages may be given an item in `item_language`."""
    return item_language is None or item_language in languages


async def languages_of(db: Database, user_id: int) -> tuple[str, ...]:
    """The languages this trainer reviews in (their interface language unless they chose)."""
    return parse(await db.fetchval(TRAINER_LANGUAGES_SQL, {"trainer": user_id}))


@dataclass(frozen=True, slots=True)
class LanguageChange:
    """The outcome of turning one language on or off: the languages now, and whether the
    change was refused because it would have left none."""

    languages: tuple[str, ...]
    refused_last: bool = False


async def set_language(db: Database, user_id: int, code: str, on: bool) -> LanguageChange:
    """Turn one review language on or off (set, not toggle: a double tap changes nothing).

    The last language cannot be turned off. A change forgets the trainer's queue positions in
    the same transaction: a position says "every item before it in my languages was mine", which
    stops being true when a language is added (storage/assignment.py).
    """
    return await db.write(_set_language, user_id, code, on)


async def _set_language(conn: Connection, user_id: int, code: str, on: bool) -> LanguageChange:
    current = parse(await conn.fetchval(TRAINER_LANGUAGES_SQL, {"trainer": user_id}))
    if on:
        wanted = current if code in current else (*current, code)
    else:
        wanted = tuple(c for c in current if c != code)
    if not wanted:
        return LanguageChange(current, refused_last=True)
    if wanted != current:
        await conn.execute(
            "UPDATE trainers SET review_languages = ? WHERE user_id = ?",
            (" ".join(wanted), user_id),
        )
        await conn.execute("DELETE FROM queue_positions WHERE trainer_id = ?", (user_id,))
    return LanguageChange(wanted)


async def set_interface_language(db: Database, user_id: int, language: str) -> None:
    """Switch the language the bot speaks to the trainer. Unless they chose their review
    languages, those follow it, so their queue positions are forgotten in the same
    transaction (as in `set_language`)."""
    await db.write(_set_interface_language, user_id, language)


async def _set_interface_language(conn: Connection, user_id: int, language: str) -> None:
    changed = await conn.execute(
        "UPDATE trainers SET language = ? WHERE user_id = ? AND language <> ?"
        " AND review_languages IS NULL",
        (language, user_id, language),
    )
    if changed:
        await conn.execute("DELETE FROM queue_positions WHERE trainer_id = ?", (user_id,))
    else:
        await conn.execute(
            "UPDATE trainers SET language = ? WHERE user_id = ?", (language, user_id)
        )


async def open_batch_languages(db: Database) -> set[str]:
    """The languages of the items still open in open batches, a few index seeks per batch."""
    found: set[str] = set()
    for batch_id in await db.fetchall("SELECT id FROM batches WHERE status = 'open'"):
        found.update(await batch_languages(db, batch_id[0]))
    return found


async def batch_languages(db: Database, batch_id: int) -> list[str]:
    """The languages of one batch's open items, in code order: one seek per language."""
    found: list[str] = []
    last = ""
    while (code := await db.fetchval(_NEXT_LANGUAGE_SQL, (batch_id, last))) is not None:
        found.append(code)
        last = code
    return found


async def active_language_sets(db: Database) -> dict[str, tuple[str, ...]]:
    """The distinct language lists of active, reachable trainers (coordinators aside), as
    stored (the key) and parsed: a handful, however many trainers there are."""
    rows = await db.fetchall(_ACTIVE_LANGUAGE_SETS_SQL)
    return {row[0]: parse(row[0]) for row in rows}
