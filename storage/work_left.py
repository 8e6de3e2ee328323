"""Whether a trainer could be given an item now, asked read-only (nothing is leased): a
reminder is sent only to someone for whom /next would have something.

The same rules as the pick (storage/assignment.py), asked as EXISTS terms from the trainer's
queue position in each open batch, so the cost does not grow with the trainer's history: items
that came back since the position, the items after it (one short index range per language the
trainer reviews in, plus one for items without a language), and items whose "full" hint has
ended (the pick would look at them again; they count when their reviews and live leases leave
room). A batch the trainer is paused in for failing its gold items (`gold_pauses`) offers them
nothing; gold items themselves are not asked about: they are mixed into ordinary work, never
served alone.
"""

from __future__ import annotations

import functools

from storage.database import Database
from storage.languages import languages_of
from storage.queue_sql import PAUSED_IN_BATCH, WANTED_REVIEWS

_TAKEABLE_SQL = f"""
SELECT 1 FROM batches b
LEFT JOIN queue_positions p ON p.batch_id = b.id AND p.trainer_id = :trainer
WHERE b.status = 'open' AND NOT {PAUSED_IN_BATCH.format(trainer=":trainer", batch="b.id")}
  AND ({{terms}})
LIMIT 1
"""
_NOT_MINE = (
    "NOT EXISTS (SELECT 1 FROM assignments mine"
    " WHERE mine.item_id = i.id AND mine.trainer_id = :trainer)"
)
_OPEN = (
    "SELECT 1 FROM items i WHERE i.batch_id = b.id AND i.complete = 0 AND i.full_until IS NULL"
    f" AND {_NOT_MINE}"
)
_HINT_ENDED = (
    "SELECT 1 FROM items i WHERE i.full_until <= :now AND i.complete = 0 AND +i.batch_id = b.id"
    f" AND {_NOT_MINE} AND i.done_count + (SELECT COUNT(*) FROM assignments live"
    " WHERE live.item_id = i.id AND live.status = 'active' AND live.lease_expires_at > :now)"
    f" < {WANTED_REVIEWS.format(batch='b', item='i')}"
)


@functools.cache
def _takeable_sql(languages: int) -> str:
    """The question for a trainer reviewing in `languages` languages (:l0, :l1, ...)."""
    names = [f":l{n}" for n in range(languages)]
    in_languages = f" OR i.lang IN ({', '.join(names)})" if names else ""
    position, seq = "COALESCE(p.item_id, -1)", "COALESCE(p.seq, 0)"
    terms = [
        f"EXISTS ({_OPEN} AND i.reopened_seq >= {seq} AND +i.id <= {position}"
        f" AND (i.lang IS NULL{in_languages}))",
        f"EXISTS ({_HINT_ENDED} AND (i.lang IS NULL{in_languages}))",
    ]
    for language in ["IS NULL", *(f"= {name}" for name in names)]:
        terms.append(f"EXISTS ({_OPEN} AND i.lang {language} AND i.id > {position})")
    return _TAKEABLE_SQL.format(terms="\n  OR ".join(terms))


async def could_take_new_item(db: Database, trainer_id: int, now: str) -> bool:
    """Whether some open batch has an item this trainer never had and could be given now (in
    their languages or without one, with room below what it wants), and that the trainer is not
    paused in."""
    codes = await languages_of(db, trainer_id)
    params: dict[str, object] = {"trainer": trainer_id, "now": now}
    params.update({f"l{n}": code for n, code in enumerate(codes)})
    return await db.fetchval(_takeable_sql(len(codes)), params) is not None
