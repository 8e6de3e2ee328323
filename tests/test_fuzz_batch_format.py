"""Fuzzing the batch parser with hypothesis: whatever a coordinator uploads, the verdict is a
clean acceptance or a clean refusal with line-numbered reasons, and the fast paths (msgspec for
JSONL lines, the database's unique index for duplicate ids) decide exactly as the careful ones.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.batch_format import (
    MAX_ID_CHARS,
    BatchFormatError,
    ParsedItem,
    _Bad,
    _loads,
    _Validator,
    iter_batch_items,
    scan_batch_file,
)
from bot.batches import import_batch_file
from bot.config import Settings
from bot.upload_problems import Phrase
from storage.database import Database

CRITERIA = ("accuracy", "language", "safety", "helpfulness")
SCALE = (1, 5)

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def scan(path: Path):
    return scan_batch_file(path, criteria=CRITERIA)


def items(path: Path) -> list[ParsedItem]:
    return list(iter_batch_items(path, criteria=CRITERIA))


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# ------------------------------------------------------------------------------------------
# Strategies: texts with the characters that break parsers, and records valid or nearly so

_TRICKY = ['"', ",", ";", ":", "\n", "\r", "\t", " ", "'", "\\", "é", "😀", "中", "\u2028"]
_CHAR = st.one_of(
    st.sampled_from(_TRICKY),
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
)
_TEXT = st.text(_CHAR, min_size=1, max_size=30).filter(lambda s: bool(s.strip()))
_ID = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(
        st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=MAX_ID_CHARS
    ).filter(lambda s: bool(s.strip()) and not s.startswith("line-")),
)
_JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)
_METADATA_VALUE = st.recursive(
    _JSON_SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(_CHAR, max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
_METADATA = st.one_of(
    st.none(),
    st.dictionaries(
        st.text(_CHAR, max_size=8).filter(lambda key: key != "lang"), _METADATA_VALUE, max_size=4
    ),
)
# Language tags a file may carry in metadata "lang", and the code each item gets.
_LANG_CODES = {"id": "id", "EN": "en", "en-US": "en", "jv": "jv", "su_ID": "su", "zh-Hant-TW": "zh"}


@st.composite
def _gold(draw: st.DrawFn) -> dict[str, list[int]] | None:
    if draw(st.booleans()):
        return None
    names = draw(
        st.lists(st.sampled_from([*CRITERIA, "clarity"]), min_size=1, max_size=4, unique=True)
    )
    gold = {}
    for name in names:
        low, high = sorted(draw(st.lists(st.integers(1, 5), min_size=2, max_size=2)))
        gold[name] = [low, high]
    return gold


@st.composite
def _valid_record(draw: st.DrawFn, item_id: Any = None) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if item_id is not None:
        record["id"] = item_id
    if draw(st.booleans()):
        roles = st.sampled_from(["system", "user", "assistant"])
        context = draw(
            st.lists(st.fixed_dictionaries({"role": roles, "content": _TEXT}), max_size=3)
        )
        record["messages"] = [
            *context,
            {"role": "user", "content": draw(_TEXT)},
            {"role": "assistant", "content": draw(_TEXT)},
        ]
    else:
        record["prompt"] = draw(_TEXT)
        record["response"] = draw(_TEXT)
    metadata = draw(_METADATA)
    if metadata is not None:
        if draw(st.booleans()):
            metadata["lang"] = draw(st.sampled_from(sorted(_LANG_CODES)))
        record["metadata"] = metadata
    gold = draw(_gold())
    if gold is not None:
        record["gold"] = gold
    return record


# Small changes that make a record invalid, or valid in an unusual way.
_BREAKAGES = st.sampled_from(
    [
        ("prompt", ""),
        ("prompt", None),
        ("response", 5),
        ("prompt", "a\x00b"),
        ("id", True),
        ("id", 1.5),
        ("id", ""),
        ("id", "a\nb"),
        ("id", None),
        ("id", 10**30),
        ("extra", 1),
        ("metadata", "en"),
        ("metadata", None),
        ("metadata", {"deep": [[[[{"a": 1}]]]]}),
        ("metadata", {"lang": "english"}),
        ("metadata", {"lang": "xx"}),
        ("metadata", {"lang": "EN-us"}),
        ("metadata", {"lang": "en-"}),
        ("metadata", {"lang": ""}),
        ("metadata", {"lang": 7}),
        ("metadata", {"lang": None}),
        ("metadata", {"lang": ["id"]}),
        ("gold", {}),
        ("gold", None),
        ("gold", {"accuracy": [5, 1]}),
        ("gold", {"accuracy": [0, 9]}),
        ("gold", {" ": [1, 2]}),
        ("gold", {"accuracy": [True, 2]}),
        ("messages", []),
        ("messages", [{"role": "assistant", "content": "a"}]),
        ("messages", [{"role": "user", "content": "u"}, {"role": "tool", "content": "t"}]),
        (
            "messages",
            [{"role": "user", "content": "u", "x": 1}, {"role": "assistant", "content": "a"}],
        ),
    ]
)


@st.composite
def _record(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record, or one with a breakage applied."""
    record = draw(_valid_record(item_id=draw(st.one_of(st.none(), _ID))))
    if draw(st.booleans()):
        key, value = draw(_BREAKAGES)
        record[key] = value
    return record


@st.composite
def _json_line(draw: st.DrawFn, record: dict[str, Any], duplicate_key: bool = True) -> bytes:
    """The record as one JSONL line, written the way different tools write JSON."""
    separators = draw(st.sampled_from([(", ", ": "), (",", ":"), (" , ", " : "), (",", ":\t")]))
    text = json.dumps(record, ensure_ascii=draw(st.booleans()), separators=separators)
    if duplicate_key and draw(st.booleans()) and "prompt" in record:
        # A duplicated key, which msgspec would silently accept (the last one wins).
        text = text.replace("{", '{"prompt"' + separators[1] + '"first",', 1)
    return (text + draw(st.sampled_from(["\n", "\r\n", " \n"]))).encode()


# ------------------------------------------------------------------------------------------
# Properties

_FRAGMENTS = st.sampled_from(
    [
        b"{",
        b"}",
        b"[",
        b'"prompt"',
        b'"response"',
        b'"messages"',
        b'"metadata"',
        b'"gold"',
        b'"id"',
        b":",
        b" : ",
        b",",
        b'"x"',
        b'"\\u0000"',
        b'"\\ud800"',
        b"1",
        b"1e999",
        b"null",
        b"\n",
        b"\r\n",
        b'"',
        b"\xff",
        b"\xc3",
        b"\x00",
        b"\xef\xbb\xbf",
        b"id,prompt,response\n",
        b"prompt,response,gold\n",
        b'{"prompt": "p", "response": "r"}\n',
        b'{"id": "a", "prompt": "p", "response": "r"}\n',
    ]
)
_BYTES = st.one_of(st.binary(max_size=400), st.lists(_FRAGMENTS, max_size=40).map(b"".join))


@FUZZ
@given(content=_BYTES, name=st.sampled_from(["x.jsonl", "x.csv", "x.txt", "x.json"]))
def test_arbitrary_bytes_are_accepted_or_refused_cleanly(
    tmp_path: Path, content: bytes, name: str
) -> None:
    path = write(tmp_path, name, content)
    result = scan(path)  # never raises
    lines = content.count(b"\n") + 1
    assert result.error_count > 0 or result.items > 0
    assert len(result.errors) == min(result.error_count, 20)
    assert [p.line for p in result.errors] == sorted(p.line for p in result.errors)
    assert all(0 <= p.line <= lines and 0 < len(p.reason) < 200 for p in result.errors)
    if result.ok:
        assert len(items(path)) == result.items
    else:
        with pytest.raises(BatchFormatError) as refused:
            items(path)
        assert refused.value.scan.errors[0] in result.errors


def _careful(
    validator: _Validator, raw: bytes, line: int
) -> tuple[ParsedItem, list[Phrase]] | None:
    """What the plain-json path makes of one line: (item, warnings), or None if refused."""
    try:
        record = _loads(raw.decode("utf-8"))
    except (_Bad, UnicodeDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    events = list(validator.check(record, line))
    if not isinstance(events[-1], ParsedItem):
        return None
    return events[-1], [Phrase(e.problem.key, e.problem.params) for e in events[:-1]]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_fast_path_decides_as_the_careful_one(data: st.DataObject) -> None:
    validator = _Validator(CRITERIA, SCALE)
    record = data.draw(_record())
    raw = data.draw(_json_line(record))
    fast = validator.fast(raw, 7)
    careful = _careful(validator, raw, 7)
    if fast is None:
        return  # the careful path decides; nothing to compare
    assert careful is not None, (raw, fast)
    (item, warnings), (expected, expected_warnings) = fast, careful
    assert item == expected
    assert (item.metadata_json, item.generated_id) == (
        expected.metadata_json,
        expected.generated_id,
    )
    assert warnings == expected_warnings


@FUZZ
@given(data=st.data())
def test_well_formed_lines_take_the_fast_path(data: st.DataObject) -> None:
    """The common case must be fast: plain records written by json.dumps never fall back."""
    record = data.draw(_valid_record(item_id=data.draw(st.one_of(st.none(), _ID))))
    text = json.dumps(record, ensure_ascii=data.draw(st.booleans()))
    # A `":` inside a text counts as a key end, and `" :` as a key end with blanks: both are
    # left to the careful path (rare in real files, and never in json.dumps's own syntax).
    assume('":' not in text.replace('": ', "") and not re.search(r'"\s+:', text))
    assert _Validator(CRITERIA, SCALE).fast(text.encode() + b"\n", 3) is not None


def _expected(record: dict[str, Any], line: int) -> ParsedItem:
    messages = record.get("messages")
    gold = {k: (lo, hi) for k, (lo, hi) in (record.get("gold") or {}).items() if k in CRITERIA}
    return ParsedItem(
        line=line,
        external_id=str(record["id"]) if "id" in record else f"line-{line}",
        prompt=messages[-2]["content"] if messages else record["prompt"],
        response=messages[-1]["content"] if messages else record["response"],
        context=tuple(messages[:-2]) if messages else (),
        chat_form=messages is not None,
        metadata=record.get("metadata"),
        gold=gold or None,
        lang=_LANG_CODES.get((record.get("metadata") or {}).get("lang")),
    )


_COLUMNS = ["id", "prompt", "response", "messages", "metadata", "gold"]


def _csv_text(records: list[dict[str, Any]]) -> tuple[str, list[int]]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(_COLUMNS)
    lines = []
    for record in records:
        lines.append(buf.getvalue().count("\n") + 1)
        cells = []
        for column in _COLUMNS:
            value = record.get(column)
            if value is None:
                cells.append("")
            elif column in ("messages", "metadata", "gold"):
                cells.append(json.dumps(value, ensure_ascii=False))
            else:
                cells.append(str(value))
        writer.writerow(cells)
    return buf.getvalue(), lines


@st.composite
def _valid_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 6))
    ids = draw(st.lists(_ID, min_size=count, max_size=count, unique_by=str))
    return [
        draw(_valid_record(item_id=ids[index] if draw(st.booleans()) else None))
        for index in range(count)
    ]


@FUZZ
@given(records=_valid_records(), data=st.data())
def test_valid_records_round_trip(
    tmp_path: Path, records: list[dict[str, Any]], data: st.DataObject
) -> None:
    jsonl = b"".join(data.draw(_json_line(record, duplicate_key=False)) for record in records)
    path = write(tmp_path, "round.jsonl", jsonl)
    expected = [_expected(record, line) for line, record in enumerate(records, 1)]
    assert scan(path).ok
    assert items(path) == expected

    text, lines = _csv_text(records)
    path = write(tmp_path, "round.csv", text)
    expected = [_expected(record, line) for line, record in zip(lines, records, strict=True)]
    result = scan(path)
    assert result.ok, result.errors
    assert result.items == len(records)
    assert items(path) == expected


@FUZZ
@given(
    records=_valid_records(),
    bad=st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80"]),
    data=st.data(),
    name=st.sampled_from(["b.jsonl", "b.csv"]),
)
def test_a_nul_byte_or_bad_utf8_anywhere_is_refused_with_its_line(
    tmp_path: Path, records: list[dict[str, Any]], bad: bytes, data: st.DataObject, name: str
) -> None:
    if name == "b.jsonl":
        content = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    else:
        content = _csv_text(records)[0].encode()
    at = data.draw(st.integers(0, len(content) - 1))
    while 0x80 <= content[at] < 0xC0:  # not inside a character: the bad bytes stay bad
        at -= 1
    line = content[:at].count(b"\n") + 1
    result = scan(write(tmp_path, name, content[:at] + bad + content[at:]))
    assert not result.ok
    reason = "NUL byte" if bad == b"\x00" else "not UTF-8"
    assert any(p.line == line and reason in p.reason for p in result.errors), result.errors


# ------------------------------------------------------------------------------------------
# The importer's duplicate check (the database's unique index) against the upload check's
# (ids kept in memory): the same reasons on the same lines.

_counter = itertools.count()


@st.composite
def _file_with_duplicates(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 25))
    pool = st.one_of(
        st.none(),
        st.sampled_from(["a", "b", 1, "1", "line-1", "line-2", "line-3", "line-9"]),
    )
    records = []
    for _ in range(count):
        record = draw(_valid_record(item_id=draw(pool)))
        if draw(st.integers(0, 5)) == 0:
            key, value = draw(_BREAKAGES)
            record[key] = value
        records.append(record)
    return records


async def _import(path: Path, folder: Path) -> tuple[list, int, int]:
    number = next(_counter)
    db_settings = Settings(telegram_bot_token=None, database_path=folder / f"f{number}.db")
    db = await Database.open(db_settings.database_path)
    try:
        try:
            result = await import_batch_file(db, db_settings, path, name=f"fuzz{number}")
        except BatchFormatError as refused:
            assert await db.fetchval("SELECT COUNT(*) FROM items") == 0
            return refused.scan.errors, refused.scan.error_count, -1
        stored = await db.fetchval("SELECT COUNT(*) FROM items")
        return [], 0, stored if stored == result.items else -2
    finally:
        await db.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=_file_with_duplicates())
def test_the_importer_refuses_what_the_upload_check_refuses(
    tmp_path: Path, records: list[dict[str, Any]]
) -> None:
    path = write(tmp_path, "b.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    checked = scan(path)
    errors, error_count, stored = asyncio.run(_import(path, tmp_path))
    assert (errors, error_count) == (checked.errors, checked.error_count)
    if checked.ok:
        assert stored == checked.items
