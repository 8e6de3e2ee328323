"""Handing out items: the next item a trainer gets, found through indexes and claimed in one
short guarded write.

The rules: open batches only, highest priority first, then batch id, then item id; never an
item the trainer already had (submitted, skipped or expired); an item only while its reviews
plus the other trainers' live leases are below its batch's overlap; one held item per trainer;
only items in a language the trainer reviews in, or without a language (`items.lang` NULL);
nothing from a batch the trainer is paused in for failing its gold items (a live row in
`gold_pauses`, written by storage/gold.py).

Gold (control) items (`complete = GOLD_ITEM`, storage/queue_sql.py) are not in the queue. Once the
plan found the batch the trainer's next item comes from, a draw (`GOLD_DRAW`) at the batch's
`gold_rate` decides whether it is one of that batch's gold items instead, the lowest id the
trainer never had, in their languages or without one: every trainer may get each gold item
once, whatever the overlap, and no queue position moves. Gold is mixed into work, never served
alone: a trainer with no ordinary item left anywhere gets no gold item either.

Dynamic overlap: an item wants `overlap + extra` reviews. When a review brings it exactly there,
its batch has a `disagreement` threshold and the item is not settled (no `overlap` of its
reviews agree within it on every criterion: `_UNSETTLED`), it gets one more review (`extra`, up
to the batch's `extra_reviews`) and comes back into the queue (`COUNT_REVIEW_SQL`); otherwise
it is complete. `extra` is read only in batches with extra
reviews, so an ordinary pick reads nothing new.

The queue is every open batch in priority order (a few), and in each batch the items in the
partial index `items_open`, in id order. Two hints (migration 0005) let a pick start reading
there instead of sorting every open item:

* `items.full_until`: an item with as many reviews and live leases as the overlap leaves
  `items_open` until the first of those leases ends, so a pick does not step over the
  thousands of leased items at the head of the queue. When that time has come the next pick
  looks at the item again (`items_blocked`); a skip puts it back at once. The hint may be
  wrong only towards "open" (a late submit, a renewed lease): that costs one failed claim,
  which corrects it.
* `queue_positions`: per trainer and batch, the furthest item the trainer was given and the
  assignment sequence (largest assignments.id) read before choosing it. Every item up to it
  in `items_open` was the trainer's already, except those that came back into `items_open`
  since (`reopened_seq` >= that sequence): a pick reads those few and the items after the
  position, so its cost does not grow with the trainer's history at the head of the queue.

Languages are read from the indexes, never from item rows (`lang` is the rows' last column,
in the overflow pages of a long item; migration 0012): `items_open` is ordered by language and
then id, so the items after a position are one short id range per language the trainer
reviews in, plus one for items without a language, merged in id order; `items_reopened`
carries the language too. A queue position therefore means "every item before it *in my
languages* was mine": changing a trainer's languages forgets their positions
(storage/languages.py), and their next pick starts from the head of each queue once.

The whole pick is one write transaction in one trip to the writer's thread (`Database.write`):
the hints of leases that have ended are looked at again, then the candidates are read and the
first is claimed by an INSERT ... SELECT that checks every rule again, so the hints can only
make a pick cheaper, never wrong. (The language is not a hint: the candidates were read by it
from the index in the same transaction, so the claim does not read it again from the row.)
Every statement is an index lookup or a short index range: the write lock is held for a
fraction of a millisecond whatever the size of the queue. (Reading the candidates on the reader
first would cost two more thread trips than it saves.)

On PostgreSQL the pick runs in the pick's turn (`PICK_TURN`) at READ COMMITTED: picks take
turns across processes, and the claim's statement sees every commit before it, so its checks
are as good as under SQLite's one writer. Writes outside the turn only give room (a Submit
turns a lease into a review, a removal ends leases). What READ COMMITTED may get wrong is a
hint, never a rule:
* towards "full": marking a candidate full while a Submit of the same item commits may count
  that review and its ended lease both, and the item then waits for its first lease to end (or
  a skip) before it is offered again;
Writes that give an item back (`item_released`, and the one more review of dynamic overlap in
`COUNT_REVIEW_SQL`) may run outside the turn, in a snapshot older than a pick that stores a
queue position meanwhile: a sequence they read themselves could lie behind that position, and
that trainer would pass over the item for good. So they leave it UNDATED (a sequence past
every position), and the pick's turn dates it as it begins (`DATE_GIVEN_BACK_SQL`, the turn's
opening), when no pick runs.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Database, Row, Transaction, Turn
from storage.languages import ACTIVE_TRAINER, TRAINER_LANGUAGES_SQL, parse, reviews
from storage.queue_sql import GOLD_ITEM, PAUSED_IN_BATCH, WANTED_REVIEWS
from storage.records import Assignment

_SEQUENCE = "(SELECT COALESCE(MAX(id), 0) FROM assignments)"

# The `reopened_seq` of an item given back by a write that may run outside the pick's turn: past
# every sequence, so every pick reads the item as come back until the pick's turn dates it
# (DATE_GIVEN_BACK_SQL; the partial index items_undated, migration 0022, holds these items).
UNDATED = 2**62
# The pick's turn's opening (storage.database.Turn): the items given back since the last turn
# get the current sequence. In the turn, no pick runs meanwhile, so no queue position stored
# before it can carry a later sequence; an item given back after it stays UNDATED, which every
# pick sees, until the next turn.
DATE_GIVEN_BACK_SQL = f"UPDATE items SET reopened_seq = {_SEQUENCE} WHERE reopened_seq = {UNDATED}"

# The reviews an item wants (storage/queue_sql.py): `_WANTED` for statements with `i` and `b`,
# `_ITEM_WANTS` for an UPDATE of items.
_WANTED = WANTED_REVIEWS.format(batch="b", item="i")
_ITEM_WANTS = (
    f"(SELECT {WANTED_REVIEWS.format(batch='wb', item='items')}"
    " FROM batches wb WHERE wb.id = items.batch_id)"
)
# Dynamic overlap. An item is SETTLED when, on every criterion, some `overlap` of its submitted
# reviews lie less than `disagreement` points apart: the tightest window of `overlap` sorted
# scores (each score and the one `overlap - 1` places above it) is narrower than the threshold.
# With exactly `overlap` reviews that is "max - min below the threshold"; with more, an extra
# review that sides with the others settles the item, however far off the odd one out stays.
# (A criterion with fewer than `overlap` scores has no window and disagrees with nobody.)
# LEAD's offset is cast: PostgreSQL has LEAD(x, integer) only, and its INTEGER columns are BIGINT.
_UNSETTLED = """EXISTS (SELECT 1 FROM (
    SELECT ds.criterion,
           LEAD(ds.score, CAST(ob.overlap - 1 AS INTEGER))
             OVER (PARTITION BY ds.criterion ORDER BY ds.score)
             - ds.score AS span
    FROM assignments da JOIN scores ds ON ds.assignment_id = da.id
    WHERE da.item_id = items.id AND da.status = 'submitted') w
  GROUP BY w.criterion HAVING MIN(w.span) >= ob.disagreement)"""
# This review brings an ordinary item's reviews exactly to what it wants (a late review beyond
# it never reopens an item), its batch has a disagreement threshold and extra reviews left for
# it, and the item is not settled: it wants one more review.
_ONE_MORE = f"""(items.complete <> {GOLD_ITEM} AND items.done_count + 1 = {_ITEM_WANTS}
  AND EXISTS (
  SELECT 1 FROM batches ob WHERE ob.id = items.batch_id AND ob.extra_reviews > 0
    AND ob.disagreement IS NOT NULL AND items.extra < ob.extra_reviews
    AND {_UNSETTLED}))"""

# One more submitted review of the assignment's item (parameter: the assignment id); the item is
# complete once its reviews reach what it wants, unless dynamic overlap gives it one more
# review: then it stays open and comes back into the queue at once (with the sequence, so
# trainers who passed it find it). A gold item stays gold and never gets extra reviews. Submit
# and a restored Undo both count so.
COUNT_REVIEW_SQL = f"""
UPDATE items SET done_count = done_count + 1,
  complete = CASE WHEN complete = {GOLD_ITEM} THEN {GOLD_ITEM} WHEN {_ONE_MORE} THEN 0
             WHEN done_count + 1 >= {_ITEM_WANTS} THEN 1 ELSE 0 END,
  extra = CASE WHEN {_ONE_MORE} THEN extra + 1 ELSE extra END,
  full_until = CASE WHEN {_ONE_MORE} THEN NULL ELSE full_until END,
  reopened_seq = CASE WHEN {_ONE_MORE} THEN {UNDATED} ELSE reopened_seq END
WHERE id = (SELECT item_id FROM assignments WHERE id = ?)
"""

# The trainer is not paused in batch `b` for failing its gold items.
_NOT_PAUSED = "NOT " + PAUSED_IN_BATCH.format(trainer=":trainer", batch="b.id")

# The chance draws of gold items (a module instance, so tests can seed it).
GOLD_DRAW = random.Random()

# How many candidates one claim may try (hints wrong towards "open" are corrected as tried).
CANDIDATES = 16

_LIVE_LEASES = (
    "(SELECT COUNT(*) FROM assignments live WHERE live.item_id = items.id"
    " AND live.status = 'active' AND live.lease_expires_at > :now)"
)
# The first end of an item's live leases; "never" when none holds it (then its reviews alone
# fill it, as when done_count reached the overlap without `complete` being set).
_FIRST_LEASE_END = (
    "COALESCE((SELECT MIN(live.lease_expires_at) FROM assignments live"
    " WHERE live.item_id = items.id AND live.status = 'active' AND live.lease_expires_at > :now),"
    " '9999-12-31')"
)

# Open batches in queue order (but those the trainer is paused in), the trainer's position in
# each, the current sequence, the languages the trainer reviews in and each batch's gold rate.
_QUEUE_SQL = f"""
SELECT b.id AS batch_id, COALESCE(p.item_id, -1) AS position, COALESCE(p.seq, 0) AS seq,
       {_SEQUENCE} AS seq_now, ({TRAINER_LANGUAGES_SQL}) AS languages, b.gold_rate AS gold_rate
FROM batches b LEFT JOIN queue_positions p ON p.batch_id = b.id AND p.trainer_id = :trainer
WHERE b.status = 'open' AND {_NOT_PAUSED}
ORDER BY b.priority DESC, b.id
"""

_NOT_MINE = (
    "NOT EXISTS (SELECT 1 FROM assignments mine"
    " WHERE mine.item_id = i.id AND mine.trainer_id = :trainer)"
)

# Kind 0: items that came back since the position (few; `+i.id` keeps the planner on
# items_reopened instead of walking items_open up to the position), in the trainer's languages
# or without one (checked on the index entry). Kind 1: the items after the position, one short
# id range of items_open per language and one for items without a language (merged in id order
# by the caller). Kind 2: the batch's last incomplete item, the position to keep once the
# trainer has had everything the batch offers them (complete items never come back).
_CAME_BACK_SQL = """
SELECT id, 0 AS kind FROM (
  SELECT i.id FROM items i
  WHERE i.batch_id = :batch AND i.complete = 0 AND i.full_until IS NULL
    AND i.reopened_seq >= :seq AND +i.id <= :position AND (i.lang IS NULL{in_languages})
    AND {not_mine}
  ORDER BY i.id LIMIT :limit) back
"""
_AHEAD_SQL = """
SELECT id, 1 AS kind FROM (
  SELECT i.id FROM items i
  WHERE i.batch_id = :batch AND i.complete = 0 AND i.full_until IS NULL
    AND i.lang {language} AND i.id > :position AND {not_mine}
  ORDER BY i.id LIMIT :limit) ahead{n}
"""
_LAST_ITEM_SQL = "SELECT MAX(id), 2 AS kind FROM items WHERE batch_id = :batch AND complete = 0"


@functools.cache
def _candidates_sql(languages: int) -> str:
    """The candidates read for a trainer reviewing in `languages` languages (:l0, :l1, ...)."""
    names = [f":l{n}" for n in range(languages)]
    in_languages = f" OR i.lang IN ({', '.join(names)})" if names else ""
    parts = [_CAME_BACK_SQL.format(in_languages=in_languages, not_mine=_NOT_MINE)]
    for n, language in enumerate(["IS NULL", *(f"= {name}" for name in names)]):
        parts.append(_AHEAD_SQL.format(language=language, not_mine=_NOT_MINE, n=n))
    parts.append(_LAST_ITEM_SQL)
    return "UNION ALL\n".join(parts)


# The read for a trainer with one language (most trainers): its plan is the one tests and the
# bench print.
_CANDIDATES_SQL = _candidates_sql(1)


_RETURNING = "RETURNING id, item_id, trainer_id, status, lease_expires_at, criterion"

# The claim: every rule checked again, for the candidates only (index lookups). The braces of
# the item ids are doubled: the statement is formatted once more with them.
_CLAIM_SQL = f"""
INSERT INTO assignments (item_id, trainer_id, assigned_at, lease_expires_at)
SELECT i.id, :trainer, :now, :lease FROM items i JOIN batches b ON b.id = i.batch_id
WHERE i.id IN ({{ids}}) AND b.status = 'open' AND i.complete = 0 AND {_NOT_PAUSED}
  AND NOT EXISTS (SELECT 1 FROM assignments mine
                  WHERE mine.item_id = i.id AND mine.trainer_id = :trainer)
  AND NOT EXISTS (SELECT 1 FROM assignments held
                  WHERE held.trainer_id = :trainer AND held.status = 'active')
  AND i.done_count + (SELECT COUNT(*) FROM assignments live WHERE live.item_id = i.id
                      AND live.status = 'active' AND live.lease_expires_at > :now) < {_WANTED}
ORDER BY i.id
LIMIT 1
{_RETURNING}
"""

# A gold item of the batch instead (lowest id): every rule checked again, but gold ignores the
# overlap (each trainer may get each gold item once) and moves no queue position. The gold
# items of a batch are read from items_progress (batch, complete, lang), languages included,
# and sorted after (`+i.id`: not in items_queue's id order, which would read every row's lang).
_GOLD_CLAIM_SQL = f"""
INSERT INTO assignments (item_id, trainer_id, assigned_at, lease_expires_at)
SELECT i.id, :trainer, :now, :lease FROM items i JOIN batches b ON b.id = i.batch_id
WHERE i.batch_id = :batch AND i.complete = {GOLD_ITEM} AND (i.lang IS NULL{{in_languages}})
  AND b.status = 'open' AND {_NOT_PAUSED}
  AND NOT EXISTS (SELECT 1 FROM assignments mine
                  WHERE mine.item_id = i.id AND mine.trainer_id = :trainer)
  AND NOT EXISTS (SELECT 1 FROM assignments held
                  WHERE held.trainer_id = :trainer AND held.status = 'active')
ORDER BY +i.id
LIMIT 1
{_RETURNING}
"""


@functools.cache
def _gold_claim_sql(languages: int) -> str:
    """The gold claim for a trainer reviewing in `languages` languages (:l0, :l1, ...)."""
    names = [f":l{n}" for n in range(languages)]
    in_languages = f" OR i.lang IN ({', '.join(names)})" if names else ""
    return _GOLD_CLAIM_SQL.format(in_languages=in_languages)


# Candidates tried that are full now (the one just claimed, or ones whose hint was wrong)
# leave items_open until their first live lease ends.
_MARK_FULL_SQL = f"""
UPDATE items SET full_until = {_FIRST_LEASE_END}
WHERE id IN ({{ids}}) AND complete = 0 AND full_until IS NULL
  AND done_count + {_LIVE_LEASES} >= {_ITEM_WANTS}
"""

# Looking again at an item whose hint says full: back into items_open (with the sequence, so
# trainers who passed it find it), or full until its next lease ends.
_LOOK_AGAIN = f"""
UPDATE items SET
  reopened_seq = CASE WHEN done_count + {_LIVE_LEASES} < {_ITEM_WANTS} THEN {_SEQUENCE}
                 ELSE reopened_seq END,
  full_until = CASE WHEN done_count + {_LIVE_LEASES} < {_ITEM_WANTS} THEN NULL
               ELSE {_FIRST_LEASE_END} END
"""
_LEASES_ENDED_SQL = _LOOK_AGAIN + " WHERE full_until <= :now AND complete = 0"
_LEASES_ENDED_ANY_SQL = "SELECT 1 FROM items WHERE full_until <= :now AND complete = 0 LIMIT 1"

# A lease given up before its end (a skip, a trainer removed) may leave room: the item goes
# back into items_open at once, undated (these writes may run outside the pick's turn). If
# others still fill it, the next failed claim says so.
_RELEASED = (
    f"UPDATE items SET full_until = NULL, reopened_seq = {UNDATED}"
    " WHERE full_until IS NOT NULL AND complete = 0 AND id IN (SELECT item_id FROM assignments"
)
_RELEASED_ONE_SQL = _RELEASED + " WHERE id = ?)"
_RELEASED_BY_SQL = _RELEASED + " WHERE trainer_id = ? AND status = 'active')"

_POSITION_SQL = (
    "INSERT INTO queue_positions (trainer_id, batch_id, item_id, seq) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (trainer_id, batch_id)"
    " DO UPDATE SET item_id = excluded.item_id, seq = excluded.seq"
)


@dataclass(frozen=True, slots=True)
class _Candidates:
    """What one read of a batch's queue found for a trainer."""

    batch_id: int
    position: int
    seq: int
    came_back: list[int]  # items reopened since the position, in id order
    ahead: list[int]  # items after the position, in id order
    last_item: int

    @property
    def ids(self) -> list[int]:
        return (self.came_back + self.ahead)[:CANDIDATES]


@dataclass(frozen=True, slots=True)
class _Plan:
    """The candidates of the first batch that has any, and the batches before it that had
    nothing for this trainer (their positions move to their end)."""

    candidates: _Candidates
    exhausted: list[_Candidates]
    seq_now: int
    gold_rate: float  # the chance that the next item comes from the batch's gold items
    languages: tuple[str, ...]  # the trainer's


# The turn of every write that takes room on an item (a pick, the take-up of a swept lease in
# storage/leases.py): one at a time across processes (Database.write_in_turn), so an item is
# never handed out beyond what it wants. The skip, the sweep and the look at ended leases write
# the items picks decide over and run in it too. Its opening dates the items given back since
# the last turn.
PICK_TURN = Turn("pick", opening=DATE_GIVEN_BACK_SQL)


async def assign_next_item(
    db: Database, trainer_id: int, now: str, lease_expires_at: str
) -> Assignment | None:
    """Lease the first item this trainer may have, in queue order; the new assignment.

    None if there is none, or if the trainer holds an active item already.
    """
    # Drawn once, outside the work: a write may run its work again (on the writer's thread, or
    # after a serialization failure), and a second draw would give that pick another chance.
    draw = GOLD_DRAW.random()
    return await db.write_in_turn(PICK_TURN, _assign, trainer_id, now, lease_expires_at, draw)


async def _assign(
    tx: Transaction, trainer_id: int, now: str, lease_expires_at: str, draw: float
) -> Assignment | None:
    params = {"trainer": trainer_id, "now": now, "lease": lease_expires_at}
    await tx.execute(_LEASES_ENDED_SQL, {"now": now})
    gold_drawn: bool | None = None
    while True:
        plan = await _plan(tx, await tx.fetchall(_QUEUE_SQL, params), params)
        if plan is None:
            return None  # nothing ordinary left: no gold either (gold is mixed into work)
        if gold_drawn is None:  # one draw per pick, in the batch the next item comes from
            gold_drawn = draw < plan.gold_rate
            if gold_drawn and (gold := await _claim_gold(tx, plan, params)) is not None:
                return gold
        claimed, corrected = await _claim(tx, plan, params)
        if claimed is not None or not corrected:
            return claimed  # None here: the trainer holds an item already


async def _claim_gold(tx: Transaction, plan: _Plan, params: dict[str, Any]) -> Assignment | None:
    """Claim the trainer's first unseen gold item of the plan's batch, in their languages or
    without one; None if they have none left (or hold an item already). No queue position
    moves: gold items are not in the ordinary queue."""
    names = {f"l{n}": code for n, code in enumerate(plan.languages)}
    row = await tx.fetchone(
        _gold_claim_sql(len(plan.languages)),
        {**params, "batch": plan.candidates.batch_id, **names},
    )
    if row is None:
        return None
    await tx.execute(
        "UPDATE trainers SET last_seen_at = ? WHERE user_id = ?",
        (params["now"], params["trainer"]),
    )
    return Assignment.from_row(row)


async def item_still_wanted(db: Database, assignment: Assignment, now: str) -> bool:
    """Whether the item of an expired lease still has room for this trainer's review: its
    batch is open, the trainer is not paused in it, it is in a language the trainer reviews in
    (or has none), as a new pick would require, and its reviews plus the other trainers' live
    leases are below what it wants (a gold item ignores the overlap: it is still this
    trainer's to answer)."""
    row = await db.fetchone(
        f"SELECT i.complete = {GOLD_ITEM} OR i.done_count + (SELECT COUNT(*) FROM assignments held"
        "   WHERE held.item_id = i.id AND held.status = 'active' AND held.lease_expires_at > :now"
        f"   AND held.id <> :assignment) < {_WANTED} AS wanted,"
        f" i.lang AS lang, ({TRAINER_LANGUAGES_SQL}) AS languages"
        " FROM items i JOIN batches b ON b.id = i.batch_id"
        f" WHERE i.id = :item AND i.complete IN (0, {GOLD_ITEM}) AND b.status = 'open'"
        f" AND {_NOT_PAUSED}",
        {
            "now": now,
            "assignment": assignment.id,
            "item": assignment.item_id,
            "trainer": assignment.trainer_id,
        },
    )
    if row is None or not row["wanted"]:
        return False
    return reviews(parse(row["languages"]), row["lang"])


# Whether an active trainer with the stored languages :languages (:l0, :l1, ...) could be given
# an item of :batch: the candidates read above as EXISTS terms, per trainer, from their own
# queue position, so a trainer's history costs nothing and one statement answers for all.
_CAN_TAKE_SQL = """
SELECT 1 FROM trainers t
LEFT JOIN queue_positions p ON p.trainer_id = t.user_id AND p.batch_id = :batch
WHERE {active} AND COALESCE(t.review_languages, t.language) = :languages AND NOT {paused}
  AND ({terms})
LIMIT 1
"""
_OPEN_NOT_MINE = (
    "SELECT 1 FROM items i WHERE i.batch_id = :batch AND i.complete = 0 AND i.full_until IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM assignments mine"
    " WHERE mine.item_id = i.id AND mine.trainer_id = t.user_id)"
)
# Items of the batch out of items_open once ended leases were looked at again: held up to the
# overlap by live leases (someone is working on them). Few: one per live lease at most.
_BLOCKED_SQL = (
    "SELECT 1 FROM items WHERE complete = 0 AND full_until IS NOT NULL AND +batch_id = ? LIMIT 1"
)


@functools.cache
def _can_take_sql(languages: int) -> str:
    """The question for trainers reviewing in `languages` languages (:l0, :l1, ...)."""
    names = [f":l{n}" for n in range(languages)]
    in_languages = f" OR i.lang IN ({', '.join(names)})" if names else ""
    position, seq = "COALESCE(p.item_id, -1)", "COALESCE(p.seq, 0)"
    terms = [
        f"EXISTS ({_OPEN_NOT_MINE} AND i.reopened_seq >= {seq} AND +i.id <= {position}"
        f" AND (i.lang IS NULL{in_languages}))"
    ]
    for language in ["IS NULL", *(f"= {name}" for name in names)]:
        terms.append(f"EXISTS ({_OPEN_NOT_MINE} AND i.lang {language} AND i.id > {position})")
    paused = PAUSED_IN_BATCH.format(trainer="t.user_id", batch=":batch")
    return _CAN_TAKE_SQL.format(active=ACTIVE_TRAINER, paused=paused, terms="\n  OR ".join(terms))


async def anyone_can_take(
    db: Database, batch_id: int, language_sets: dict[str, tuple[str, ...]], now: str
) -> bool:
    """Whether some active trainer could still be given an item of this batch, by the rules of
    the pick: an item in their languages (or without one) that they never had. Items that
    live leases hold count as takeable (the batch is moving). `language_sets` are the stored
    language lists of active trainers (storage.languages.active_language_sets).

    First the hints of ended leases, if any, are looked at again as every pick does (a short
    write; usually there are none and nothing is written), so items_open holds every item not
    filled by live leases. Then one index read per trainer at most (from their queue
    position), all inside one statement per language list, so /progress stays cheap whatever
    the size of the batch.
    """
    if await db.fetchval(_LEASES_ENDED_ANY_SQL, {"now": now}) is not None:
        await db.write_in_turn(PICK_TURN, _look_again, now)
    if await db.fetchval(_BLOCKED_SQL, (batch_id,)) is not None:
        return True
    for stored, codes in language_sets.items():
        params = {"batch": batch_id, "languages": stored}
        params.update({f"l{n}": code for n, code in enumerate(codes)})
        if await db.fetchval(_can_take_sql(len(codes)), params) is not None:
            return True
    return False


async def _look_again(tx: Transaction, now: str) -> None:
    await tx.execute(_LEASES_ENDED_SQL, {"now": now})


async def item_released(tx: Transaction, assignment_id: int) -> None:
    """In the transaction that gives up an assignment's lease before its end (a skip, the
    sweep, a gold pause, a deletion): its item goes back into the queue at once, UNDATED, so
    every trainer who passed it finds it whenever this commits, in the pick's turn or not."""
    await tx.execute(_RELEASED_ONE_SQL, (assignment_id,))


async def items_released_by(tx: Transaction, trainer_id: int) -> None:
    """In the transaction that is about to give up a trainer's active leases (a removal),
    before it does: their items go back into the queue at once."""
    await tx.execute(_RELEASED_BY_SQL, (trainer_id,))


async def _plan(tx: Transaction, queue: Sequence[Row], params: dict[str, Any]) -> _Plan | None:
    exhausted: list[_Candidates] = []
    languages = parse(queue[0]["languages"]) if queue else ()
    sql = _candidates_sql(len(languages))
    names = {f"l{n}": code for n, code in enumerate(languages)}
    for batch in queue:
        rows = await tx.fetchall(
            sql,
            {
                "trainer": params["trainer"],
                "batch": batch["batch_id"],
                "position": batch["position"],
                "seq": batch["seq"],
                "limit": CANDIDATES,
                **names,
            },
        )
        found = _Candidates(
            batch_id=batch["batch_id"],
            position=batch["position"],
            seq=batch["seq"],
            came_back=[row[0] for row in rows if row[1] == 0],
            ahead=sorted(row[0] for row in rows if row[1] == 1)[:CANDIDATES],
            last_item=next((row[0] for row in rows if row[1] == 2), None) or -1,
        )
        if found.ids:
            return _Plan(found, exhausted, queue[0]["seq_now"], batch["gold_rate"], languages)
        exhausted.append(found)
    return None


async def _claim(
    tx: Transaction, plan: _Plan, params: dict[str, Any]
) -> tuple[Assignment | None, bool]:
    """Claim the first candidate that still qualifies: (the assignment or None, whether some
    candidate's hint was corrected, so that a new plan finds others)."""
    candidates = plan.candidates
    ids = candidates.ids
    names = {f"c{n}": item_id for n, item_id in enumerate(ids)}
    returned = await tx.fetchall(
        _CLAIM_SQL.format(ids=", ".join(f":{name}" for name in names)), {**params, **names}
    )
    row = returned[0] if returned else None
    claimed_item = None if row is None else row[1]
    tried = ids if claimed_item is None else [i for i in ids if i <= claimed_item]
    tried_names = {f"c{n}": item_id for n, item_id in enumerate(tried)}
    corrected = await tx.execute(
        _MARK_FULL_SQL.format(ids=", ".join(f":{name}" for name in tried_names)),
        {"now": params["now"], **tried_names},
    )
    if row is None:
        return None, corrected > 0
    trainer = params["trainer"]
    await tx.execute(
        "UPDATE trainers SET last_seen_at = ? WHERE user_id = ?", (params["now"], trainer)
    )
    # Candidates before the claimed one were full: if they come back, it is with a later
    # reopened_seq, so the sequence read before the candidates is safe to keep. Items that
    # came back but were not tried keep the old sequence, so the next pick finds them.
    all_back_tried = len(candidates.came_back) < CANDIDATES and (
        claimed_item not in candidates.came_back or claimed_item == candidates.came_back[-1]
    )
    positions = [
        (trainer, batch.batch_id, max(batch.position, batch.last_item), plan.seq_now)
        for batch in plan.exhausted
    ]
    positions.append(
        (
            trainer,
            candidates.batch_id,
            max(candidates.position, claimed_item),
            plan.seq_now if all_back_tried else candidates.seq,
        )
    )
    await tx.executemany(_POSITION_SQL, positions)
    return Assignment.from_row(row), True
