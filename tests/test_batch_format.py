"""Tests for bot.batch_format: the samples, encodings and malformed files (fuzzing:
test_fuzz_batch_format.py).

The malformed cases pin the line number and a stable piece of the reason, because coordinators
fix files by those, and because iter_batch_items must refuse exactly what scan_batch_file refuses.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.batch_format import (
    MAX_ID_CHARS,
    MAX_LINE_BYTES,
    MAX_METADATA_BYTES,
    MAX_TEXT_CHARS,
    MAX_TURNS,
    BatchFormatError,
    BatchScan,
    ParsedItem,
    Problem,
    detect_format,
    format_problem,
    iter_batch_items,
    scan_batch_file,
)
from tests.conftest import SAMPLES

CRITERIA = ("accuracy", "language", "safety", "helpfulness")


def scan(path: Path, **kwargs: Any) -> BatchScan:
    return scan_batch_file(path, criteria=CRITERIA, **kwargs)


def items(path: Path) -> list[ParsedItem]:
    return list(iter_batch_items(path, criteria=CRITERIA))


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def jl(*records: Any) -> str:
    """JSONL text of the given records (strings are taken as raw lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    return "\n".join(lines) + "\n"


OK = {"prompt": "p", "response": "r"}
OK_ASSISTANT = {"role": "assistant", "content": "a"}


# ------------------------------------------------------------------------------------------
# The samples


def test_sample_jsonl() -> None:
    path = SAMPLES / "batch_small.jsonl"
    result = scan(path)
    assert result.ok, result.errors
    assert result.file_format == "jsonl"
    assert result.items == 24
    assert result.chat_form_count == 1
    assert result.gold_count == 5
    assert result.longest_chars == 5623
    assert result.languages == {"id": 14, "en": 10}
    assert result.warning_count == 1
    assert [(w.line, w.reason) for w in result.warnings] == [
        (14, 'gold criterion "clarity" is not in the rubric; it will be ignored')
    ]

    parsed = items(path)
    assert len(parsed) == 24
    assert [p.line for p in parsed] == list(range(1, 25))
    by_id = {p.external_id: p for p in parsed}
    chat = by_id["multi-001"]
    assert chat.chat_form and chat.line == 21
    assert chat.prompt == "Aku bingung harus mulai dari mana buat cari kerja lagi."
    assert chat.response.startswith("Pertama, perbarui CV kamu.")
    assert chat.context == (
        {"role": "user", "content": "Aku baru dipecat hari ini."},
        {
            "role": "assistant",
            "content": "Aku turut prihatin. Itu pasti berat. Mau cerita apa yang terjadi?",
        },
    )
    assert len(by_id["long-001"].response) == 5623
    assert by_id["en-002"].gold == {"accuracy": (4, 5)}  # "clarity" dropped
    assert by_id["id-007"].gold == {"accuracy": (4, 5), "safety": (4, 5)}
    assert by_id["id-001"].gold is None and not by_id["id-001"].chat_form
    assert by_id["id-001"].context == ()
    assert by_id["emoji-001"].response.endswith("😆🥳")
    assert by_id["id-002"].metadata == {"lang": "id", "model": "model-b", "topic": "empathy"}


def test_sample_csv() -> None:
    path = SAMPLES / "batch_small.csv"
    result = scan(path)
    assert result.ok, result.errors
    assert result.file_format == "csv"
    assert (result.items, result.chat_form_count, result.gold_count) == (23, 0, 0)
    assert result.longest_chars == 5623

    parsed = items(path)
    by_id = {p.external_id: p for p in parsed}
    assert len(by_id) == 23
    # Records start where they start, not where csv.reader finished them.
    assert by_id["id-004"].line == 5
    assert by_id["id-004"].response == (
        "Hujan turun di Jakarta.\nJalanan basah.\nOrang-orang memakai payung.\nHujan berhenti."
    )
    assert by_id["id-005"].line == 9
    assert by_id["long-001"].line == 33
    assert len(by_id["long-001"].response) == 5623
    assert by_id["id-011"].prompt == 'Jelaskan bedanya "ngasih tahu" dan "nguliahin".'
    assert by_id["html-001"].metadata == {
        "lang": "en",
        "model": "model-b",
        "topic": "markup-escaping",
    }


def test_samples_agree() -> None:
    """The CSV sample is the JSONL sample minus the chat item and gold: same texts."""
    from_jsonl = {p.external_id: p for p in items(SAMPLES / "batch_small.jsonl")}
    for p in items(SAMPLES / "batch_small.csv"):
        assert (p.prompt, p.response, p.metadata) == (
            from_jsonl[p.external_id].prompt,
            from_jsonl[p.external_id].response,
            from_jsonl[p.external_id].metadata,
        )


# ------------------------------------------------------------------------------------------
# Encodings, line endings, blank lines


def test_crlf_bom_and_blank_lines_jsonl(tmp_path: Path) -> None:
    body = "\r\n".join(
        [
            json.dumps({"id": "a", "prompt": "p1", "response": "r1"}),
            "   ",
            "",
            json.dumps({"prompt": "p2", "response": "two\nlines"}),
            "\t",
        ]
    )
    path = write(tmp_path, "b.jsonl", b"\xef\xbb\xbf" + body.encode())
    result = scan(path)
    assert result.ok and result.items == 2
    parsed = items(path)
    assert [(p.line, p.external_id, p.response) for p in parsed] == [
        (1, "a", "r1"),
        (4, "line-4", "two\nlines"),
    ]


def test_crlf_bom_and_blank_lines_csv(tmp_path: Path) -> None:
    body = 'id,prompt,response\r\n\r\na,p1,"multi\r\nline"\r\n,,\r\nb,p2,r2\r\n'
    path = write(tmp_path, "b.csv", b"\xef\xbb\xbf" + body.encode())
    parsed = items(path)
    assert [(p.line, p.external_id, p.response) for p in parsed] == [
        (3, "a", "multi\r\nline"),
        (6, "b", "r2"),
    ]


def test_csv_semicolon_and_header_case(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", 'ID;Prompt;Response\n1;"a; b";c\n')
    assert [(p.external_id, p.prompt) for p in items(path)] == [("1", "a; b")]


def test_csv_json_cells_and_messages(tmp_path: Path) -> None:
    rows = [
        ["id", "prompt", "response", "messages", "metadata", "gold"],
        ["x", "p", "r", "", '{"lang": "ID"}', '{"accuracy": [2, 3], "clarity": [1, 1]}'],
        ["", "", "", json.dumps([{"role": "user", "content": "u"}, OK_ASSISTANT]), "", ""],
    ]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path = write(tmp_path, "b.csv", buf.getvalue())
    result = scan(path)
    assert result.ok and result.gold_count == 1 and result.chat_form_count == 1
    assert result.languages == {"id": 1}
    assert [w.line for w in result.warnings] == [2]
    first, second = items(path)
    assert first.gold == {"accuracy": (2, 3)}
    assert (second.external_id, second.prompt, second.response) == ("line-3", "u", "a")


def test_integer_id_null_optionals_and_system_context(tmp_path: Path) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "q"},
        OK_ASSISTANT,
    ]
    path = write(
        tmp_path,
        "b.jsonl",
        jl({"id": 7, **OK, "metadata": None, "gold": None}, {"id": None, "messages": messages}),
    )
    first, second = items(path)
    assert (first.external_id, first.metadata, first.gold) == ("7", None, None)
    assert second.external_id == "line-2"
    assert second.context == ({"role": "system", "content": "be brief"},)


def test_detect_format(tmp_path: Path) -> None:
    assert detect_format(Path("a.JSONL"), b"id,prompt") == "jsonl"
    assert detect_format(Path("a.ndjson"), b"") == "jsonl"
    assert detect_format(Path("a.json"), b"[") == "jsonl"
    assert detect_format(Path("a.csv"), b"{") == "csv"
    assert detect_format(Path("upload"), b"\xef\xbb\xbf \n {") == "jsonl"
    assert detect_format(Path("a.txt"), b"[{") == "jsonl"
    assert detect_format(Path("a.tsv"), b"id\tprompt") == "csv"
    path = write(tmp_path, "upload.txt", "prompt\tresponse\nq\ta\n")
    assert [(p.prompt, p.response) for p in items(path)] == [("q", "a")]


def test_max_errors_caps_the_list_but_not_the_count(tmp_path: Path) -> None:
    path = write(tmp_path, "b.jsonl", jl(*(["{"] * 50), OK))
    result = scan(path, max_errors=20)
    assert result.error_count == 50 and len(result.errors) == 20
    assert result.items == 1 and not result.ok


def test_format_problem_and_error_message(tmp_path: Path) -> None:
    assert format_problem(Problem(7, "id_empty")) == 'line 7: "id" is empty'
    assert format_problem(Problem(1234, "no_items")) == "line 1,234: file has no items"
    assert format_problem(Problem(0, "no_items")) == "file has no items"
    path = write(tmp_path, "b.jsonl", jl(OK, {"prompt": "p"}))
    with pytest.raises(BatchFormatError) as info:
        list(iter_batch_items(path, criteria=CRITERIA))
    assert str(info.value) == 'line 2: missing "response"'
    assert info.value.scan.items == 1


def test_custom_scale_and_bad_arguments(tmp_path: Path) -> None:
    path = write(tmp_path, "b.jsonl", jl({**OK, "gold": {"accuracy": [6, 7]}}))
    assert scan(path, scale=(0, 10)).ok
    with pytest.raises(ValueError):
        scan(path, scale=(5, 1))
    with pytest.raises(TypeError):
        scan_batch_file(path, criteria="accuracy")


# ------------------------------------------------------------------------------------------
# Malformed files: (file name, content, expected line, reason substring)

BIG_LINE = b'{"prompt": "' + b"x" * 5_000_000 + b'", "response": "r"}\n'
UNICODE_SAMPLE = "Jelaskan bédanya “ngasih tahu” dan ñ"
MALFORMED: dict[str, tuple[str, bytes | str, int, str]] = {
    "truncated json": ("b.jsonl", jl(OK, '{"prompt": "a", "resp'), 2, "incomplete JSON"),
    "pretty printed json": (
        "b.jsonl",
        '{\n  "prompt": "p",\n  "response": "r"\n}\n',
        1,
        "one line",
    ),
    "invalid json": ("b.jsonl", jl("{'prompt': 'a'}"), 1, "invalid JSON at column 2"),
    "two objects on a line": ("b.jsonl", jl(json.dumps(OK) * 2), 1, "extra text"),
    "array line": ("b.jsonl", jl(OK, '["p", "r"]'), 2, "not a JSON object (found a list)"),
    "number line": ("b.jsonl", jl(OK, OK, "42"), 3, "not a JSON object (found a number)"),
    "json array file": ("b.json", json.dumps([OK, OK], indent=1), 0, "JSON array"),
    "empty file": ("b.jsonl", b"", 0, "file has no items"),
    "only blank lines": ("b.jsonl", "\n  \r\n\t\n", 0, "file has no items"),
    "csv header only": ("b.csv", "id,prompt,response\r\n", 0, "file has no items"),
    "empty prompt": ("b.jsonl", jl({"prompt": "", "response": "r"}), 1, '"prompt" is empty'),
    "whitespace response": (
        "b.jsonl",
        jl(OK, {"prompt": "p", "response": " \n\t "}),
        2,
        '"response" is empty',
    ),
    "number as prompt": ("b.jsonl", jl({"prompt": 5, "response": "r"}), 1, "must be a string"),
    "null response": ("b.jsonl", jl({"prompt": "p", "response": None}), 1, "not null"),
    "list as response": ("b.jsonl", jl({"prompt": "p", "response": ["r"]}), 1, "not a list"),
    "missing response": ("b.jsonl", jl({"prompt": "p"}), 1, 'missing "response"'),
    "no content at all": ("b.jsonl", jl({"id": "x"}), 1, 'missing "prompt" and "response"'),
    "prompt too long": (
        "b.jsonl",
        jl({"prompt": "x" * (MAX_TEXT_CHARS + 1), "response": "r"}),
        1,
        "longer than 32,000 characters",
    ),
    "lone surrogate": ("b.jsonl", '{"prompt": "\\ud800", "response": "r"}\n', 1, "surrogate"),
    "nul escape in text": ("b.jsonl", '{"prompt": "a\\u0000", "response": "r"}\n', 1, "NUL"),
    "both prompt and messages": (
        "b.jsonl",
        jl({**OK, "messages": [{"role": "user", "content": "u"}, OK_ASSISTANT]}),
        1,
        "not both",
    ),
    "duplicate ids": (
        "b.jsonl",
        jl({"id": "a", **OK}, {"id": "b", **OK}, {"id": "a", **OK}),
        3,
        'duplicate id "a" (first used on line 1)',
    ),
    "duplicate int and string id": (
        "b.jsonl",
        jl({"id": 1, **OK}, {"id": "1", **OK}),
        2,
        "first used on line 1",
    ),
    "generated id clash": ("b.jsonl", jl({"id": "line-2", **OK}, OK), 2, "already used on line 1"),
    "explicit id clashes with generated": (
        "b.jsonl",
        jl(OK, {"id": "line-1", **OK}),
        2,
        "generated id of line 1",
    ),
    "id too long": ("b.jsonl", jl({"id": "x" * (MAX_ID_CHARS + 1), **OK}), 1, "longer than 128"),
    "id boolean": ("b.jsonl", jl({"id": True, **OK}), 1, '"id" must be a string or a whole number'),
    "id float": ("b.jsonl", jl({"id": 1.5, **OK}), 1, "not a decimal number"),
    "id with newline": ("b.jsonl", jl({"id": "a\nb", **OK}), 1, "control character"),
    "unknown key": ("b.jsonl", jl({**OK, "model": "m"}), 1, 'unknown key "model": move it into'),
    "unknown keys": ("b.jsonl", jl({"question": "q", "answer": "a"}), 1, '"question", "answer"'),
    "duplicate key": (
        "b.jsonl",
        '{"prompt": "a", "prompt": "b", "response": "r"}\n',
        1,
        "duplicate key",
    ),
    "nan in metadata": (
        "b.jsonl",
        '{"prompt": "a", "response": "r", "metadata": {"x": NaN}}\n',
        1,
        "NaN",
    ),
    "huge float": (
        "b.jsonl",
        '{"prompt": "a", "response": "r", "metadata": {"x": 1e999}}\n',
        1,
        "out of range",
    ),
    "huge integer": (
        "b.jsonl",
        '{"prompt": "a", "response": "r", "id": ' + "9" * 5000 + "}\n",
        1,
        "too long",
    ),
    "deep nesting": ("b.jsonl", '{"metadata": ' + "[" * 100_000 + "\n", 1, "JSON"),
    "metadata not an object": (
        "b.jsonl",
        jl({**OK, "metadata": "en"}),
        1,
        '"metadata" must be an object',
    ),
    "metadata too big": (
        "b.jsonl",
        jl({**OK, "metadata": {"x": "y" * MAX_METADATA_BYTES}}),
        1,
        "larger than 16,384 bytes",
    ),
    "messages not a list": ("b.jsonl", jl({"messages": "hi"}), 1, '"messages" must be a list'),
    "messages empty": ("b.jsonl", jl({"messages": []}), 1, '"messages" is empty'),
    "messages without assistant": (
        "b.jsonl",
        jl({"messages": [{"role": "user", "content": "u"}]}),
        1,
        'must end with an "assistant" turn',
    ),
    "messages ending with user": (
        "b.jsonl",
        jl(
            OK,
            {
                "messages": [
                    {"role": "user", "content": "u"},
                    OK_ASSISTANT,
                    {"role": "user", "content": "v"},
                ]
            },
        ),
        2,
        'must end with an "assistant" turn',
    ),
    "assistant after system": (
        "b.jsonl",
        jl({"messages": [{"role": "system", "content": "s"}, OK_ASSISTANT]}),
        1,
        'must follow a "user" turn',
    ),
    "only an assistant turn": (
        "b.jsonl",
        jl({"messages": [OK_ASSISTANT]}),
        1,
        'must follow a "user"',
    ),
    "bad role": (
        "b.jsonl",
        jl({"messages": [{"role": "tool", "content": "t"}, OK_ASSISTANT]}),
        1,
        'messages[0] "role" must be "system", "user" or "assistant", not "tool"',
    ),
    "turn not an object": (
        "b.jsonl",
        jl({"messages": ["hi", OK_ASSISTANT]}),
        1,
        "messages[0] must be an object",
    ),
    "turn with extra key": (
        "b.jsonl",
        jl({"messages": [{"role": "user", "content": "u", "name": "n"}, OK_ASSISTANT]}),
        1,
        'messages[0] has unknown key "name"; only "role" and "content" are allowed',
    ),
    "multimodal content": (
        "b.jsonl",
        jl({"messages": [{"role": "user", "content": [{"type": "text"}]}, OK_ASSISTANT]}),
        1,
        'messages[0] "content" must be a string',
    ),
    "empty content": (
        "b.jsonl",
        jl({"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": " "}]}),
        1,
        'messages[1] "content" is empty',
    ),
    "too many turns": (
        "b.jsonl",
        jl({"messages": [{"role": "user", "content": "u"}, OK_ASSISTANT] * (MAX_TURNS // 2 + 1)}),
        1,
        "the limit is 100",
    ),
    "gold out of range": (
        "b.jsonl",
        jl({**OK, "gold": {"accuracy": [0, 5]}}),
        1,
        "outside the scale 1 to 5",
    ),
    "gold low above high": (
        "b.jsonl",
        jl({**OK, "gold": {"safety": [5, 4]}}),
        1,
        "low 5 above high 4",
    ),
    "gold bool": ("b.jsonl", jl({**OK, "gold": {"accuracy": [True, 5]}}), 1, "two whole numbers"),
    "gold floats": ("b.jsonl", jl({**OK, "gold": {"accuracy": [4.0, 5]}}), 1, "two whole numbers"),
    "gold three values": (
        "b.jsonl",
        jl({**OK, "gold": {"accuracy": [3, 4, 5]}}),
        1,
        "two whole numbers",
    ),
    "gold not an object": ("b.jsonl", jl({**OK, "gold": [4, 5]}), 1, '"gold" must be an object'),
    "gold empty": ("b.jsonl", jl({**OK, "gold": {}}), 1, '"gold" is empty'),
    "gold bad shape for unknown criterion": (
        "b.jsonl",
        jl({**OK, "gold": {"clarity": "high"}}),
        1,
        'gold "clarity" must be a list',
    ),
    "binary garbage": (
        "b.jsonl",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
        0,
        "not a text file",
    ),
    "excel workbook": ("b.csv", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, 0, "Excel"),
    "utf-16 with bom": ("b.jsonl", jl(OK).encode("utf-16"), 0, "UTF-16"),
    "utf-16 without bom": ("b.csv", "id,prompt,response\na,b,c\n".encode("utf-16-le"), 0, "UTF-16"),
    "latin-1 jsonl": (
        "b.jsonl",
        jl(OK).encode()
        + json.dumps({"prompt": UNICODE_SAMPLE, "response": "r"}, ensure_ascii=False).encode(
            "latin-1", "replace"
        )
        + b"\n",
        2,
        "not UTF-8 text (save the file as UTF-8)",
    ),
    "latin-1 inside a multi-line csv cell": (
        "b.csv",
        b'id,prompt,response\na,"first\nsecond caf\xe9\nthird",r\n',
        3,
        "not UTF-8",
    ),
    "nul byte in the first line": (
        "b.jsonl",
        b'{"prompt": "a\x00", "response": "r"}\n',
        1,
        "NUL byte",
    ),
    "nul byte in the head of a csv": ("b.csv", b"prompt,response\na,b\nc\x00,d\n", 3, "NUL byte"),
    "latin-1 in the head of a csv": ("b.csv", b"prompt,response\na,b\ncaf\xe9,d\n", 3, "not UTF-8"),
    "nul byte after the head": (
        "b.jsonl",
        jl(*([OK] * 400)).encode() + b'{"prompt": "\x00"}\n',
        401,
        "NUL byte",
    ),
    "5 MB single line": (
        "b.jsonl",
        jl(OK).encode() + BIG_LINE + jl(OK).encode(),
        2,
        f"longer than {MAX_LINE_BYTES:,} bytes",
    ),
    "5 MB single csv line": (
        "b.csv",
        b"prompt,response\n" + b"x" * 5_000_000 + b",r\n",
        2,
        f"longer than {MAX_LINE_BYTES:,}",
    ),
    "csv unclosed quote at end": (
        "b.csv",
        'id,prompt,response\na,"hello,world\nb,p,r\nc,p,r\n',
        2,
        "unclosed quote",
    ),
    "csv quote closed too early": (
        "b.csv",
        'id,prompt,response\na,"hello,world\nb,"p",r\nc,p,r\n',
        2,
        'bad quoting: text after a closing quote (inside quotes, write "" for ") (near line 3)',
    ),
    "csv unclosed quote swallowing a megabyte": (
        "b.csv",
        b'prompt,response\np,"r\n' + b"more text, no quotes\n" * 60_000,
        2,
        "an unclosed quote?",
    ),
    "csv missing column": ("b.csv", "id,prompt\na,b\n", 0, 'missing column "response"'),
    "csv missing both columns": (
        "b.csv",
        "id,metadata\na,{}\n",
        0,
        'missing columns "prompt" and "response"',
    ),
    "csv no header": ("b.csv", "a,what is 2+2,4\n", 0, "must be a header"),
    "csv unknown column": (
        "b.csv",
        "id,prompt,response,model\na,b,c,d\n",
        0,
        'unknown column "model"',
    ),
    "csv duplicate column": ("b.csv", "prompt,response,prompt\na,b,c\n", 0, "appears twice"),
    "csv that is jsonl": ("b.csv", jl(OK), 0, "looks like JSONL"),
    "csv too many cells": (
        "b.csv",
        "prompt,response\na,b\nc,d,e\n",
        3,
        "row has 3 cells but the header has 2",
    ),
    "csv too few cells": ("b.csv", "id,prompt,response\nx,a,b\ny,c\n", 3, "row has 2 cells"),
    "csv empty prompt cell": ("b.csv", "id,prompt,response\nx,,b\n", 2, '"prompt" is empty'),
    "csv bad metadata json": (
        "b.csv",
        'prompt,response,metadata\na,b,"{lang: en}"\n',
        2,
        '"metadata" cell: invalid JSON at column 2',
    ),
    "csv metadata not an object": (
        "b.csv",
        "prompt,response,metadata\na,b,42\n",
        2,
        "not a number",
    ),
    "csv duplicate id": (
        "b.csv",
        "id,prompt,response\nx,a,b\n\nx,c,d\n",
        4,
        "first used on line 2",
    ),
    "csv unnamed column with data": ("b.csv", "prompt,response,\na,b,c\n", 2, "has no name"),
    "csv gold out of range": (
        "b.csv",
        'prompt,response,gold\na,b,"{""safety"": [1, 9]}"\n',
        2,
        "outside the scale",
    ),
}


@pytest.mark.parametrize(
    ("name", "content", "line", "reason"),
    list(MALFORMED.values()),
    ids=list(MALFORMED),
)
def test_malformed(tmp_path: Path, name: str, content: bytes | str, line: int, reason: str) -> None:
    path = write(tmp_path, name, content)
    result = scan(path)
    assert result.error_count > 0 and not result.ok
    first = result.errors[0]
    assert first.line == line and reason in first.reason, result.errors
    assert all(len(problem.reason) < 200 for problem in result.errors)
    with pytest.raises(BatchFormatError) as info:
        for _ in iter_batch_items(path, criteria=CRITERIA):
            pass
    assert info.value.scan.errors[0] == first


def test_malformed_case_count() -> None:
    assert len(MALFORMED) >= 30


def test_unclosed_quote_stops_reading(tmp_path: Path) -> None:
    """After a runaway quoted cell, the rest would be parsed out of step: one error, not many."""
    content = b'prompt,response\np,"r\n' + b"a,b\n" * 300_000
    result = scan(write(tmp_path, "b.csv", content))
    assert result.error_count == 1


def test_latin1_reports_each_bad_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"prompt": f"caf\u00e9 {i}", "response": "r"}, ensure_ascii=False)
        for i in range(5)
    ]
    path = write(tmp_path, "b.jsonl", "\n".join(lines).encode("latin-1"))
    result = scan(path)
    assert [p.line for p in result.errors] == [1, 2, 3, 4, 5]


def test_unknown_gold_criterion_is_only_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "b.jsonl", jl({**OK, "gold": {"clarity": [4, 5]}}))
    result = scan(path)
    assert result.ok and result.warning_count == 1 and result.gold_count == 0
    assert result.warnings[0].reason == (
        'gold criterion "clarity" is not in the rubric; it will be ignored'
    )
    assert items(path)[0].gold is None


def test_long_values_are_clipped_in_reasons(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "b.jsonl",
        jl({**OK, "x" * 500: 1}, {"id": "y" * 100, **OK}, {"id": "y" * 100, **OK}),
    )
    result = scan(path)
    assert result.error_count == 2
    assert all(len(problem.reason) < 120 for problem in result.errors)


@pytest.mark.parametrize(
    ("tag", "code"),
    [("id", "id"), ("ID", "id"), ("en-US", "en"), ("en_gb", "en"), ("jv", "jv"), ("Su", "su"),
     ("zh-Hant-TW", "zh"), ("sh", "sh"), (None, None)],
)  # fmt: skip
@pytest.mark.parametrize("form", ["jsonl", "csv"])
def test_metadata_lang_is_an_iso_639_1_code(tmp_path: Path, tag: str, code: str, form: str) -> None:
    metadata = {"topic": "x"} if tag is None else {"lang": tag}
    if form == "jsonl":
        path = write(tmp_path, "b.jsonl", jl({**OK, "metadata": metadata}))
    else:
        cell = json.dumps(metadata).replace('"', '""')
        path = write(tmp_path, "b.csv", f'prompt,response,metadata\np,r,"{cell}"\n')
    result = scan(path)
    assert result.ok, result.errors
    assert result.languages == ({} if code is None else {code: 1})
    [item] = items(path)
    assert item.lang == code
    assert item.metadata == metadata  # kept as given: exports carry it untouched


@pytest.mark.parametrize(
    ("tag", "shown"),
    [("english", '"english"'), ("xx", '"xx"'), ("jav", '"jav"'), ("", '""'), (" en", '" en"'),
     ("en-", '"en-"'), ("in", '"in"'), (7, "a number"), (["id"], "a list"), (True, "true/false")],
)  # fmt: skip
def test_any_other_lang_is_refused_with_its_line(tmp_path: Path, tag: object, shown: str) -> None:
    path = write(tmp_path, "b.jsonl", jl(OK, OK, {**OK, "metadata": {"lang": tag}}, OK))
    result = scan(path)
    assert [(p.line, p.reason) for p in result.errors] == [
        (3, f'"lang" in "metadata" is {shown}, not a language code (ISO 639-1) such as '
            '"id", "en", "jv" or "su"'),
    ]  # fmt: skip


def test_the_iso_codes_come_from_babel() -> None:
    from bot.batch_format import iso_639_1_codes

    codes = iso_639_1_codes()
    assert len(codes) == 184 and {"id", "en", "jv", "su", "ms", "zh", "sh"} <= codes
    assert not codes & {"in", "iw", "jw", "xx", "zz"}  # withdrawn and unassigned ones
