"""SQLite's dialect for export lines built in SQL: JSON text made in SQLite's C code.

A million-line export spent most of its time turning rows into Python objects and back into
JSON; here each line (or, for `raw`, its two halves) comes out of the query as finished UTF-8
JSON bytes. `json_quote` and `json_object` escape exactly as Python's `json` module does with
`ensure_ascii=False`; `raw` copies stored JSON (context, metadata, gold) as it is, and
`json_insert` re-renders context turns compactly for sft/dpo, so the files are byte for byte
what the Python encoders wrote (tests/test_exports.py holds them to it). `CAST(... AS BLOB)`
hands the bytes over without decoding them into Python strings.

Only this module knows SQLite's JSON functions; `storage/exports.py` holds the portable
queries around them. (PostgreSQL's side will use `to_json(...)::text` and
`json_build_object`, with `convert_to(..., 'UTF8')` for the bytes.)

Each query reads one chunk of a batch's items: `?1` the batch id, `?2`..`?3` the first and last
item id of the chunk. `+i.batch_id` keeps the planner on the item id range (the primary key)
rather than an index on the batch, and `CROSS JOIN` (SQLite: join in the order written) walks
from those items to their assignments, never from every submitted assignment to its item.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from storage.gold import GOLD_ITEM

# What Python's str.strip() removes (every character with str.isspace()); SQLite's trim()
# removes only what it is given, so a rewrite blank to Python is blank here too.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_CHUNK = "+i.batch_id = ?1 AND i.id BETWEEN ?2 AND ?3"
_SUBMITTED = "a.item_id = i.id AND a.status = 'submitted'"
_BOOL = "CASE WHEN {} THEN 'true' ELSE 'false' END"
_GOLD = f"i.complete = {GOLD_ITEM:d}"
# A rewrite counts when it is not blank; ?4 is WHITESPACE.
_REWRITTEN = "trim(j.rewrite, ?4) <> ''"
# A rewrite's review, as exports name it: a decision, else unreviewed (a row still `open`,
# `reason` or `comment` is a review under way, not a decision).
_DECIDED = "r.status IN ('accepted', 'rejected')"


def _literal(text: str) -> str:
    """A SQL string literal (rubric keys are data: quoted, never trusted as SQL)."""
    return "'" + text.replace("'", "''") + "'"


def _json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def raw_heads(batch_name: str) -> tuple[str, list[object]]:
    """Items of the chunk with a submitted judgment: (item id, the line's first half).

    The half runs from `{"batch":...` to `"gold_item":...` (whether it is a gold item, besides
    the expectation `gold` copies), with no closing brace; the item's text is escaped once
    however many trainers judged it. Parameters after the chunk's three: the batch name.
    """
    head = (
        "'{\"batch\":' || json_quote(?4) || ',\"item_id\":' || json_quote(i.external_id)"
        " || ',\"prompt\":' || json_quote(i.prompt) || ',\"response\":' || json_quote(i.response)"
        " || ',\"context\":' || COALESCE(i.context, '[]')"
        f" || ',\"chat_form\":' || {_BOOL.format('i.chat_form')}"
        " || ',\"metadata\":' || COALESCE(i.metadata, 'null')"
        " || ',\"gold\":' || COALESCE(i.gold, 'null')"
        f" || ',\"gold_item\":' || {_BOOL.format(_GOLD)}"
    )
    sql = (
        f"SELECT i.id, CAST({head} AS BLOB) FROM items i WHERE {_CHUNK}"
        f" AND EXISTS (SELECT 1 FROM assignments a WHERE {_SUBMITTED}) ORDER BY i.id"
    )
    return sql, [batch_name]


class RawTails:
    """Submitted judgments of a chunk, oldest assignment first: (item id, trainer id, marks,
    the line's end from `"note":` to `"review_comment":...` with no closing brace, the
    reviewer who decided on the rewrite (None: none did), the rubric version it was made
    under). The trainer goes after the item's head, the reviewer and the version's hashes
    after the end: pseudonyms are keyed (HMAC) and hashes made once per version, outside SQL.
    Parameters after the chunk's three: WHITESPACE.

    `review_status` is null for a judgment without a (non-blank) rewrite and for any judgment
    of a gold item (its rewrite is never offered for review), else `accepted`, `rejected` or
    `unreviewed`; its reason and comment come with a rejection.

    Scores and flags come as one integer, decoded here into `,"scores":{...},"flags":[...],`
    in the rubric's order: building that text in SQL cost more than the rest of the line.
    Bits 0-7: the flags, one bit each; from bit 8, three bits per criterion: 0 for no score,
    else the score's step on the scale (1 is the lowest). A score off the scale, which the
    review never stores, sets bits above 32 and stops the export rather than hide it.
    """

    MAX_CACHED = 65_536  # distinct score-and-flag combinations kept decoded

    def __init__(self, criteria: Sequence[str], flags: Sequence[str], scale: tuple[int, int]):
        if len(flags) > 8 or len(criteria) > 8 or scale[1] - scale[0] > 6:
            raise ValueError("the marks' bits hold 8 flags and 8 criteria of 7 steps")
        self._criteria = [_json(key) + ":" for key in criteria]
        self._flags = [_json(key) for key in flags]
        self._low = scale[0]
        self.decoded: dict[int, bytes] = {}  # marks -> text, filled by marks()
        low, high = scale
        place = " ".join(
            f"WHEN {_literal(key)} THEN {1 << (8 + 3 * n)}" for n, key in enumerate(criteria)
        )
        scores = (
            f"(SELECT sum((CASE s.criterion {place} END) * (CASE WHEN s.score BETWEEN {low:d}"
            f" AND {high:d} THEN s.score - {low - 1:d} ELSE {1 << 30} END))"
            " FROM scores s WHERE s.assignment_id = a.id)"
            if criteria
            else "NULL"
        )
        bits = " ".join(f"WHEN {_literal(key)} THEN {1 << n}" for n, key in enumerate(flags))
        # Most judgments have no flag: a probe of the index says so, cheaper than a sum.
        set_flags = (
            "CASE WHEN EXISTS (SELECT 1 FROM flags f WHERE f.assignment_id = a.id)"
            f" THEN (SELECT sum(CASE f.flag {bits} END) FROM flags f"
            " WHERE f.assignment_id = a.id) END"
            if flags
            else "NULL"
        )
        # json_object's `{"note":...}` without its braces (the marks end with the comma; the
        # last value is a string or null, so rtrim takes the closing brace only);
        # `revised`/`revised_at`: corrected after Submit (migration 0008), the text is final.
        # A gold item's rewrite is never offered for review: no status, not "unreviewed".
        status = (
            f"CASE WHEN j.rewrite IS NULL OR NOT {_REWRITTEN} OR {_GOLD} THEN NULL"
            f" WHEN {_DECIDED} THEN r.status ELSE 'unreviewed' END"
        )
        end = (
            "substr(rtrim(json_object('note', j.note, 'rewrite', j.rewrite,"
            " 'assigned_at', a.assigned_at, 'submitted_at', a.submitted_at,"
            f" 'late', json({_BOOL.format('a.late')}),"
            f" 'revised', json({_BOOL.format('j.revised_at IS NOT NULL')}),"
            f" 'revised_at', j.revised_at, 'review_status', {status},"
            f" 'review_reason', CASE WHEN {_DECIDED} THEN r.reason END,"
            f" 'review_comment', CASE WHEN {_DECIDED} THEN r.comment END), '}}'), 2)"
        )
        self.sql = (
            f"SELECT a.item_id, a.trainer_id, COALESCE({scores}, 0) + COALESCE({set_flags}, 0),"
            f" CAST({end} AS BLOB), CASE WHEN {_DECIDED} THEN r.reviewer_id END,"
            f" a.rubric_version FROM items i CROSS JOIN assignments a ON {_SUBMITTED}"
            " LEFT JOIN judgments j ON j.assignment_id = a.id"
            # Only a rewrite has a review: no probe for the judgments without one.
            " LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id AND j.rewrite IS NOT NULL"
            f" WHERE {_CHUNK} ORDER BY a.item_id, a.id"
        )
        self.params: list[object] = [WHITESPACE]

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


def _turn(role: str, content: str) -> str:
    return f"json_object('role', '{role}', 'content', {content})"


def sft_lines(all_rewrites: bool) -> tuple[str, list[object]]:
    """(rubric version, `{"messages": [...context, user prompt, assistant rewrite]}` line) of
    the chunk, one per non-blank rewrite that is accepted (`all_rewrites`: or unreviewed;
    rejected never) on an item that is not gold, in item and assignment order."""
    messages = (
        "json_insert(COALESCE(i.context, '[]'),"
        f" '$[#]', {_turn('user', 'i.prompt')}, '$[#]', {_turn('assistant', 'j.rewrite')})"
    )
    line = f"'{{\"messages\":' || {messages} || '}}' || char(10)"
    return _rewrite_lines(line, all_rewrites), [WHITESPACE]


def dpo_lines(conversational: bool, all_rewrites: bool) -> tuple[str, list[object]]:
    """(rubric version, TRL preference line `{"prompt", "chosen", "rejected"}`): each rewrite
    `sft_lines` takes that differs from the answer (both stripped) is chosen over the answer.
    Conversational: the prompt is the turns so far, chosen and rejected one assistant turn
    each."""
    if conversational:
        prompt = f"json_insert(COALESCE(i.context, '[]'), '$[#]', {_turn('user', 'i.prompt')})"
        chosen = f"json_array({_turn('assistant', 'j.rewrite')})"
        rejected = f"json_array({_turn('assistant', 'i.response')})"
    else:
        prompt, chosen, rejected = (
            "json_quote(i.prompt)",
            "json_quote(j.rewrite)",
            "json_quote(i.response)",
        )
    line = (
        f"'{{\"prompt\":' || {prompt} || ',\"chosen\":' || {chosen}"
        f" || ',\"rejected\":' || {rejected} || '}}' || char(10)"
    )
    differs = " AND trim(j.rewrite, ?4) <> trim(i.response, ?4)"
    return _rewrite_lines(line, all_rewrites, differs), [WHITESPACE]


def _rewrite_lines(line: str, all_rewrites: bool, condition: str = "") -> str:
    # Accepted only: the review row must be there. With unreviewed ones: any but rejected.
    reviewed = (
        "LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id"
        " WHERE (r.status IS NULL OR r.status <> 'rejected') AND"
        if all_rewrites
        else "CROSS JOIN rewrite_reviews r ON r.assignment_id = a.id"
        " WHERE r.status = 'accepted' AND"
    )
    return (
        f"SELECT a.rubric_version, CAST({line} AS BLOB) FROM items i"
        f" CROSS JOIN assignments a ON {_SUBMITTED}"
        f" CROSS JOIN judgments j ON j.assignment_id = a.id {reviewed}"
        f" {_CHUNK} AND NOT {_GOLD} AND {_REWRITTEN}{condition} ORDER BY a.item_id, a.id"
    )
