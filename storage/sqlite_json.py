"""SQLite's dialect for export lines built in SQL: JSON text made in SQLite's C code.

A million-line export spent most of its time turning rows into Python objects and back into
JSON; here each line (or, for `raw`, its two halves) comes out of the query as finished UTF-8
JSON bytes. `json_quote` and `json_object` escape exactly as Python's `json` module does with
`ensure_ascii=False`; `raw` copies stored JSON (context, metadata, gold) as it is, and
`json_insert` re-renders context turns compactly for sft/dpo, so the files are byte for byte
what the Python encoders wrote (tests/test_exports.py holds them to it). `CAST(... AS BLOB)`
hands the bytes over without decoding them into Python strings.

Only this module knows SQLite's JSON functions; PostgreSQL's twin is
`storage/postgres_json.py` (the same queries and bytes, with `to_json`), what both share is in
`storage/export_json.py`, and `storage/exports.py` holds the portable queries around them.

Each query reads one chunk of a batch's items (`export_json.CHUNK`). `CROSS JOIN` (SQLite:
join in the order written) walks from those items to their assignments, never from every
submitted assignment to its item.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.export_json import (
    BOOL,
    CHUNK,
    DECIDED,
    DIFFERS,
    GOLD,
    REVIEW_STATUS,
    REWRITTEN,
    SUBMITTED,
    WHITESPACE,
    RawMarks,
)

__all__ = ["WHITESPACE", "RawTails", "dpo_lines", "raw_heads", "sft_lines"]


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
        f" || ',\"chat_form\":' || {BOOL.format('i.chat_form')}"
        " || ',\"metadata\":' || COALESCE(i.metadata, 'null')"
        " || ',\"gold\":' || COALESCE(i.gold, 'null')"
        f" || ',\"gold_item\":' || {BOOL.format(GOLD)}"
    )
    sql = (
        f"SELECT i.id, CAST({head} AS BLOB) FROM items i WHERE {CHUNK}"
        f" AND EXISTS (SELECT 1 FROM assignments a WHERE {SUBMITTED}) ORDER BY i.id"
    )
    return sql, [batch_name]


class RawTails(RawMarks):
    """Submitted judgments of a chunk, oldest assignment first: (item id, trainer id, marks,
    the line's end from `"note":` to `"review_comment":...` with no closing brace, the
    reviewer who decided on the rewrite (None: none did), the rubric version it was made
    under). The trainer goes after the item's head, the reviewer and the version's hashes
    after the end: pseudonyms are keyed (HMAC) and hashes made once per version, outside SQL.
    The marks (scores and flags) are decoded by `marks` (`export_json.RawMarks`).
    Parameters after the chunk's three: WHITESPACE.

    `review_status` is null for a judgment without a (non-blank) rewrite and for any judgment
    of a gold item (its rewrite is never offered for review), else `accepted`, `rejected` or
    `unreviewed`; its reason and comment come with a rejection.
    """

    def __init__(self, criteria: Sequence[str], flags: Sequence[str], scale: tuple[int, int]):
        super().__init__(criteria, flags, scale)
        # json_object's `{"note":...}` without its braces (the marks end with the comma; the
        # last value is a string or null, so rtrim takes the closing brace only);
        # `revised`/`revised_at`: corrected after Submit (migration 0008), the text is final.
        end = (
            "substr(rtrim(json_object('note', j.note, 'rewrite', j.rewrite,"
            " 'assigned_at', a.assigned_at, 'submitted_at', a.submitted_at,"
            f" 'late', json({BOOL.format('a.late')}),"
            f" 'revised', json({BOOL.format('j.revised_at IS NOT NULL')}),"
            f" 'revised_at', j.revised_at, 'review_status', {REVIEW_STATUS},"
            f" 'review_reason', CASE WHEN {DECIDED} THEN r.reason END,"
            f" 'review_comment', CASE WHEN {DECIDED} THEN r.comment END), '}}'), 2)"
        )
        self.sql = (
            f"SELECT a.item_id, a.trainer_id, {self.marks_sql},"
            f" CAST({end} AS BLOB), CASE WHEN {DECIDED} THEN r.reviewer_id END,"
            f" a.rubric_version FROM items i CROSS JOIN assignments a ON {SUBMITTED}"
            " LEFT JOIN judgments j ON j.assignment_id = a.id"
            # Only a rewrite has a review: no probe for the judgments without one.
            " LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id AND j.rewrite IS NOT NULL"
            f" WHERE {CHUNK} ORDER BY a.item_id, a.id"
        )
        self.params: list[object] = [WHITESPACE]


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
    return _rewrite_lines(line, all_rewrites, DIFFERS), [WHITESPACE]


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
        f" CROSS JOIN assignments a ON {SUBMITTED}"
        f" CROSS JOIN judgments j ON j.assignment_id = a.id {reviewed}"
        f" {CHUNK} AND NOT {GOLD} AND {REWRITTEN}{condition} ORDER BY a.item_id, a.id"
    )
