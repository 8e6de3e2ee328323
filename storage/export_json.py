"""Export lines built as JSON in SQL: what the two dialects share.

`raw`, `sft` and `dpo` lines come out of the database as finished UTF-8 JSON bytes, byte for
byte what Python's `json` module writes with `ensure_ascii=False` (tests/test_exports.py holds
both backends to it). How the JSON is made differs by engine: SQLite's JSON1 functions in
`storage/sqlite_json.py`, PostgreSQL's `to_json` in `storage/postgres_json.py`; both offer the
same four things (`raw_heads`, `RawTails`, `sft_lines`, `dpo_lines`), and `storage/exports.py`
picks one by the snapshot's dialect. Here: the conditions both write the same way, and the
scores and flags of a `raw` line, which come out of SQL as one integer in either dialect.

Each query reads one chunk of a batch's items: `?1` the batch id, `?2`..`?3` the first and last
item id of the chunk. `+i.batch_id` keeps the planner on the item id range (the primary key)
rather than an index on the batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from storage.gold import GOLD_ITEM

# What Python's str.strip() removes (every character with str.isspace()); SQL's trim()
# removes only what it is given, so a rewrite blank to Python is blank here too.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

CHUNK = "+i.batch_id = ?1 AND i.id BETWEEN ?2 AND ?3"
SUBMITTED = "a.item_id = i.id AND a.status = 'submitted'"
BOOL = "CASE WHEN {} THEN 'true' ELSE 'false' END"
GOLD = f"i.complete = {GOLD_ITEM:d}"
# A rewrite counts when it is not blank; ?4 is WHITESPACE.
REWRITTEN = "trim(j.rewrite, ?4) <> ''"
# A rewrite's review, as exports name it: a decision, else unreviewed (a row still `open`,
# `reason` or `comment` is a review under way, not a decision).
DECIDED = "r.status IN ('accepted', 'rejected')"
# `review_status` of a judgment: null without a (non-blank) rewrite and for any judgment of a
# gold item (its rewrite is never offered for review), else the decision or unreviewed.
REVIEW_STATUS = (
    f"CASE WHEN j.rewrite IS NULL OR NOT {REWRITTEN} OR {GOLD} THEN NULL"
    f" WHEN {DECIDED} THEN r.status ELSE 'unreviewed' END"
)
# Only a rewrite's dpo pair says something: the rewrite must differ from the answer.
DIFFERS = " AND trim(j.rewrite, ?4) <> trim(i.response, ?4)"


def literal(text: str) -> str:
    """A SQL string literal (rubric keys are data: quoted, never trusted as SQL)."""
    return "'" + text.replace("'", "''") + "'"


def json_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class RawMarks:
    """The scores and flags of a `raw` line, as one integer out of SQL (`marks_sql`, for a
    query over `assignments a`), decoded by `marks` into `,"scores":{...},"flags":[...],` in
    the rubric's order: building that text in SQL cost more than the rest of the line.

    Bits 0-7: the flags, one bit each; from bit 8, three bits per criterion: 0 for no score,
    else the score's step on the scale (1 is the lowest). A score off the scale, which the
    review never stores, sets bits above 32 and stops the export rather than hide it.
    """

    MAX_CACHED = 65_536  # distinct score-and-flag combinations kept decoded

    def __init__(self, criteria: Sequence[str], flags: Sequence[str], scale: tuple[int, int]):
        if len(flags) > 8 or len(criteria) > 8 or scale[1] - scale[0] > 6:
            raise ValueError("the marks' bits hold 8 flags and 8 criteria of 7 steps")
        self._criteria = [json_text(key) + ":" for key in criteria]
        self._flags = [json_text(key) for key in flags]
        self._low = scale[0]
        self.decoded: dict[int, bytes] = {}  # marks -> text, filled by marks()
        low, high = scale
        place = " ".join(
            f"WHEN {literal(key)} THEN {1 << (8 + 3 * n)}" for n, key in enumerate(criteria)
        )
        scores = (
            f"(SELECT sum((CASE s.criterion {place} END) * (CASE WHEN s.score BETWEEN {low:d}"
            f" AND {high:d} THEN s.score - ({low - 1:d}) ELSE {1 << 30} END))"
            " FROM scores s WHERE s.assignment_id = a.id)"
            if criteria
            else "NULL"
        )
        bits = " ".join(f"WHEN {literal(key)} THEN {1 << n}" for n, key in enumerate(flags))
        # Most judgments have no flag: a probe of the index says so, cheaper than a sum.
        set_flags = (
            "CASE WHEN EXISTS (SELECT 1 FROM flags f WHERE f.assignment_id = a.id)"
            f" THEN (SELECT sum(CASE f.flag {bits} END) FROM flags f"
            " WHERE f.assignment_id = a.id) END"
            if flags
            else "NULL"
        )
        self.marks_sql = f"COALESCE({scores}, 0) + COALESCE({set_flags}, 0)"

    def marks(self, code: int) -> bytes:
        """`,"scores":{...},"flags":[...],` of a row's marks."""
        known = self.decoded.get(code)
        if known is None:
            if code >> 32:
                raise ValueError("a stored score is off the batch's scale")
            scores = ",".join(
                [
                    f"{key}{step + self._low - 1:d}"
                    for n, key in enumerate(self._criteria)
                    if (step := code >> (8 + 3 * n) & 7)
                ]
            )
            flags = ",".join([key for n, key in enumerate(self._flags) if code >> n & 1])
            if len(self.decoded) >= self.MAX_CACHED:
                self.decoded.clear()
            known = f',"scores":{{{scores}}},"flags":[{flags}],'.encode()
            self.decoded[code] = known
        return known
