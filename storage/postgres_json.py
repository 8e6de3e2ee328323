"""PostgreSQL's dialect for export lines built in SQL: the twin of `storage/sqlite_json.py`.

The same queries, giving the same bytes for the same rows (tests/test_exports.py runs on both
backends and compares the files with what Python's `json` writes). The lines are put together
with `||` rather than `json_build_object`, whose text has spaces (`{"a" : 1, "b" : 2}`); each
value is `to_json(...)`, which escapes a string exactly as Python's `json` module does with
`ensure_ascii=False` (`\\"`, `\\\\`, `\\b\\f\\n\\r\\t`, other control characters as `\\u00xx`,
everything else as it is). `raw` copies stored JSON (context, metadata, gold) as it is; sft and
dpo re-render the context's turns compactly, as SQLite's `json_insert` does: each turn's keys
in their order, each value's JSON text as stored (contexts are written by the import: turns of
strings). `convert_to(..., 'UTF8')` hands the bytes over as bytes.

PostgreSQL takes no `ON` after `CROSS JOIN` (SQLite's way of fixing the join order): the joins
are plain `JOIN`s, in the same order, and PostgreSQL's planner walks from the chunk's items.
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
    json_text,
    literal,
)

__all__ = ["WHITESPACE", "RawTails", "dpo_lines", "raw_heads", "sft_lines"]


def _value(sql: str) -> str:
    """The JSON text of a value: a string quoted and escaped, NULL as null."""
    return f"COALESCE(CAST(to_json({sql}) AS TEXT), 'null')"


def _bytes(text: str) -> str:
    return f"convert_to({text}, 'UTF8')"


def _members(*pairs: tuple[str, str]) -> str:
    """`"key":value,"key":value...` from (key, the value's JSON text in SQL), no braces."""
    return " || ".join(
        f"{literal(('' if n == 0 else ',') + json_text(key) + ':')} || {value}"
        for n, (key, value) in enumerate(pairs)
    )


def raw_heads(batch_name: str) -> tuple[str, list[object]]:
    """Items of the chunk with a submitted judgment: (item id, the line's first half), as
    `sqlite_json.raw_heads`. Parameters after the chunk's three: the batch name."""
    head = "'{' || " + _members(
        ("batch", _value("CAST(?4 AS TEXT)")),
        ("item_id", _value("i.external_id")),
        ("prompt", _value("i.prompt")),
        ("response", _value("i.response")),
        ("context", "COALESCE(i.context, '[]')"),
        ("chat_form", BOOL.format("i.chat_form <> 0")),
        ("metadata", "COALESCE(i.metadata, 'null')"),
        ("gold", "COALESCE(i.gold, 'null')"),
        ("gold_item", BOOL.format(GOLD)),
    )
    sql = (
        f"SELECT i.id, {_bytes(head)} FROM items i WHERE {CHUNK}"
        f" AND EXISTS (SELECT 1 FROM assignments a WHERE {SUBMITTED}) ORDER BY i.id"
    )
    return sql, [batch_name]


class RawTails(RawMarks):
    """Submitted judgments of a chunk, as `sqlite_json.RawTails`: (item id, trainer id, marks,
    the line's end from `"note":` to `"review_comment":...`, the deciding reviewer, the rubric
    version). Parameters after the chunk's three: WHITESPACE."""

    def __init__(self, criteria: Sequence[str], flags: Sequence[str], scale: tuple[int, int]):
        super().__init__(criteria, flags, scale)
        end = _members(
            ("note", _value("j.note")),
            ("rewrite", _value("j.rewrite")),
            ("assigned_at", _value("a.assigned_at")),
            ("submitted_at", _value("a.submitted_at")),
            ("late", BOOL.format("a.late <> 0")),
            ("revised", BOOL.format("j.revised_at IS NOT NULL")),
            ("revised_at", _value("j.revised_at")),
            ("review_status", _value(REVIEW_STATUS)),
            ("review_reason", _value(f"CASE WHEN {DECIDED} THEN r.reason END")),
            ("review_comment", _value(f"CASE WHEN {DECIDED} THEN r.comment END")),
        )
        self.sql = (
            f"SELECT a.item_id, a.trainer_id, {self.marks_sql},"
            f" {_bytes(end)}, CASE WHEN {DECIDED} THEN r.reviewer_id END,"
            f" a.rubric_version FROM items i JOIN assignments a ON {SUBMITTED}"
            " LEFT JOIN judgments j ON j.assignment_id = a.id"
            " LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id AND j.rewrite IS NOT NULL"
            f" WHERE {CHUNK} ORDER BY a.item_id, a.id"
        )
        self.params: list[object] = [WHITESPACE]


def _turn(role: str, content: str) -> str:
    """`{"role":...,"content":...}` of a turn whose content is the SQL `content`."""
    members = _members(("role", literal(json_text(role))), ("content", _value(content)))
    return f"'{{' || {members} || '}}'"


# The stored context's turns, compact and joined by commas (NULL when there are none): each
# turn's keys in their order (WITH ORDINALITY), each value's JSON text as stored.
_CONTEXT_TURNS = (
    "(SELECT string_agg((SELECT '{' || string_agg(CAST(to_json(m.key) AS TEXT) || ':'"
    " || CAST(m.value AS TEXT), ',' ORDER BY m.n) || '}'"
    " FROM json_each(t.turn) WITH ORDINALITY AS m (key, value, n)), ',' ORDER BY t.n)"
    " FROM json_array_elements(CAST(i.context AS JSON)) WITH ORDINALITY AS t (turn, n))"
)


def _after_context(*turns: str) -> str:
    """A JSON array of the item's context turns, then `turns`."""
    then = " || ',' || ".join(turns)
    return f"'[' || COALESCE({_CONTEXT_TURNS} || ',', '') || {then} || ']'"


def sft_lines(all_rewrites: bool) -> tuple[str, list[object]]:
    """(rubric version, `{"messages": [...]}` line) of the chunk, as `sqlite_json.sft_lines`."""
    messages = _after_context(_turn("user", "i.prompt"), _turn("assistant", "j.rewrite"))
    line = f"'{{\"messages\":' || {messages} || '}}' || chr(10)"
    return _rewrite_lines(line, all_rewrites), [WHITESPACE]


def dpo_lines(conversational: bool, all_rewrites: bool) -> tuple[str, list[object]]:
    """(rubric version, TRL preference line `{"prompt", "chosen", "rejected"}`), as
    `sqlite_json.dpo_lines`."""
    if conversational:
        prompt = _after_context(_turn("user", "i.prompt"))
        chosen = f"'[' || {_turn('assistant', 'j.rewrite')} || ']'"
        rejected = f"'[' || {_turn('assistant', 'i.response')} || ']'"
    else:
        prompt, chosen, rejected = _value("i.prompt"), _value("j.rewrite"), _value("i.response")
    line = (
        f"'{{\"prompt\":' || {prompt} || ',\"chosen\":' || {chosen}"
        f" || ',\"rejected\":' || {rejected} || '}}' || chr(10)"
    )
    return _rewrite_lines(line, all_rewrites, DIFFERS), [WHITESPACE]


def _rewrite_lines(line: str, all_rewrites: bool, condition: str = "") -> str:
    # Accepted only: the review row must be there. With unreviewed ones: any but rejected.
    reviewed = (
        "LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id"
        " WHERE (r.status IS NULL OR r.status <> 'rejected') AND"
        if all_rewrites
        else "JOIN rewrite_reviews r ON r.assignment_id = a.id WHERE r.status = 'accepted' AND"
    )
    return (
        f"SELECT a.rubric_version, {_bytes(line)} FROM items i"
        f" JOIN assignments a ON {SUBMITTED}"
        f" JOIN judgments j ON j.assignment_id = a.id {reviewed}"
        f" {CHUNK} AND NOT {GOLD} AND {REWRITTEN}{condition} ORDER BY a.item_id, a.id"
    )
