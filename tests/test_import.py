"""Importing a batch in steps: other writers go on, nobody sees a half import, failures vanish."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

import bot.batches
from bot.batch_format import BatchFormatError, scan_batch_file
from bot.batches import (
    CHUNK,
    ImportProgress,
    discard_interrupted_imports,
    import_batch_file,
    list_batches,
)
from bot.config import Settings
from bot.review import ReviewService
from bot.rubric import DEFAULT_RUBRIC
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_trainer


def write_items(
    path: Path,
    count: int,
    bad_line: int | None = None,
    ids: dict[int, str | None] | None = None,
    bad_lines: tuple[int, ...] = (),
) -> Path:
    """`count` good items with ids q1, q2, ...; `ids` gives some lines another id (None: no id),
    and `bad_line`/`bad_lines` get an empty prompt."""
    with path.open("w", encoding="utf-8") as f:
        for n in range(1, count + 1):
            record: dict = {"id": f"q{n}", "prompt": f"Prompt {n}", "response": f"Answer {n}"}
            if ids and n in ids:
                record["id"] = ids[n]
                if ids[n] is None:
                    del record["id"]
            if n == bad_line or n in bad_lines:
                record["prompt"] = ""
            f.write(json.dumps(record) + "\n")
    return path


@pytest.fixture(params=["parsed here", "parser process"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with both parsers: in the importing process, and in a process beside it
    (what big files get where a core is free)."""
    if request.param == "parser process":
        monkeypatch.setattr(bot.batches, "PARSER_PROCESS_MIN_BYTES", 0)
        monkeypatch.setattr(bot.batches, "_cores", lambda: 2)
    else:
        monkeypatch.setattr(bot.batches, "PARSER_PROCESS_MIN_BYTES", 1 << 62)
    return request.param


async def refusal(db: Database, settings: Settings, path: Path) -> list[tuple[int, str]]:
    """Import `path`, expecting a refusal: its reasons as (line, reason); nothing stored."""
    with pytest.raises(BatchFormatError) as refused:
        await import_batch_file(db, settings, path, name="dups")
    assert await db.fetchval("SELECT COUNT(*) FROM items") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM batches") == 0
    scan = refused.value.scan
    assert scan.error_count >= len(scan.errors)
    return [(problem.line, problem.reason) for problem in scan.errors]


async def test_other_writers_and_readers_go_on_between_chunks(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path, parser: str
) -> None:
    path = write_items(tmp_path / "b.jsonl", CHUNK * 3)
    trainer = await make_trainer(db, 1)
    review = ReviewService(db, settings, clock)
    seen: list[tuple[int, bool, int]] = []

    # Another process's write must not wait for the whole import: no lock is held now. (On
    # SQLite a write that found the import's lock held would wait its busy timeout, fail, and
    # fail the test.)
    other = await Database.open(settings.database_target)

    async def between_chunks(progress: ImportProgress) -> None:
        await other.execute(
            "INSERT INTO bot_facts (name, value) VALUES (?, 'x')", (f"w{len(seen)}",)
        )
        view, _ = await review.next_item(trainer)
        seen.append((progress.items, view is None, len(await list_batches(db))))

    try:
        result = await import_batch_file(
            db, settings, path, name="big", clock=clock, on_progress=between_chunks
        )
    finally:
        await other.close()
    assert result.items == CHUNK * 3
    # while importing, the batch handed out nothing and was not listed; at the end it is
    assert [(hidden, listed) for _, hidden, listed in seen[:-1]] == [(True, 0)] * (len(seen) - 1)
    assert await db.fetchval("SELECT COUNT(*) FROM bot_facts WHERE name LIKE 'w%'") == len(seen)
    assert await db.fetchval("SELECT status || importing FROM batches") == "open0"


async def test_a_bad_line_after_many_good_ones_leaves_nothing(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path, parser: str
) -> None:
    path = write_items(tmp_path / "b.jsonl", CHUNK * 2 + 10, bad_line=CHUNK * 2 + 5)
    with pytest.raises(BatchFormatError) as refused:
        await import_batch_file(db, settings, path, name="big", clock=clock)
    assert [problem.line for problem in refused.value.scan.errors] == [CHUNK * 2 + 5]
    assert await db.fetchval("SELECT COUNT(*) FROM items") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM batches") == 0
    again = write_items(tmp_path / "good.jsonl", 3)
    assert (await import_batch_file(db, settings, again, name="big", clock=clock)).items == 3


async def test_what_a_crash_left_of_an_import_is_removed_later(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO batches (id, name, rubric, overlap, status, importing, created_at)"
            " VALUES (7, 'half', '{}', 1, 'paused', 1, '2026-11-25T01:00:00.000000+00:00')"
        )
        await conn.execute(
            "INSERT INTO items (batch_id, external_id, prompt, response) VALUES (7, 'a', 'p', 'r')"
        )
        await conn.execute(
            "INSERT INTO batches (id, name, rubric, overlap, status, importing, created_at)"
            " VALUES (8, 'running', '{}', 1, 'paused', 1, '2026-11-25T02:59:00.000000+00:00')"
        )
    assert await discard_interrupted_imports(db, clock=clock) == 1  # 'running' is too young
    assert [row[0] for row in await db.fetchall("SELECT name FROM batches")] == ["running"]
    assert await db.fetchval("SELECT COUNT(*) FROM items") == 0


async def test_duplicate_ids_are_found_by_the_database_with_their_first_lines(
    db: Database, settings: Settings, tmp_path: Path, parser: str
) -> None:
    # Line 3's id again two chunks later, and a line without an id whose generated id
    # ("line-7") an earlier line took explicitly: the database's unique index finds both.
    last = CHUNK * 2 + 10
    path = write_items(tmp_path / "b.jsonl", last, ids={2: "line-7", 7: None, CHUNK * 2 + 5: "q3"})
    assert await refusal(db, settings, path) == [
        (
            7,
            'no "id", and the generated id "line-7" is already used on line 2: give this item '
            'an "id"',
        ),
        (CHUNK * 2 + 5, 'duplicate id "q3" (first used on line 3)'),
    ]


async def test_an_id_taken_by_a_line_without_one_is_reported(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_items(tmp_path / "b.jsonl", 10, ids={4: None, 9: "line-4"})
    assert await refusal(db, settings, path) == [
        (9, 'id "line-4" is already the generated id of line 4, which has no "id"')
    ]


async def test_a_duplicate_of_a_refused_line_is_reported_too(
    db: Database, settings: Settings, tmp_path: Path, parser: str
) -> None:
    path = write_items(tmp_path / "b.jsonl", CHUNK + 10, ids={CHUNK + 8: "q2"}, bad_lines=(2,))
    assert await refusal(db, settings, path) == [
        (2, '"prompt" is empty'),
        (CHUNK + 8, 'duplicate id "q2" (first used on line 2)'),
    ]


async def test_many_problems_are_all_counted_and_the_first_listed_by_line(
    db: Database, settings: Settings, tmp_path: Path, parser: str
) -> None:
    # 30 duplicates of q1 after a chunk of good lines, and bad lines among them: the first
    # 20 reasons by line mix both kinds, and every problem is counted.
    duplicate_lines = range(CHUNK + 1, CHUNK + 31)
    path = write_items(
        tmp_path / "b.jsonl",
        CHUNK + 40,
        ids=dict.fromkeys(duplicate_lines, "q1"),
        bad_lines=(CHUNK - 1, CHUNK + 5, CHUNK + 35),
    )
    with pytest.raises(BatchFormatError) as refused:
        await import_batch_file(db, settings, path, name="dups")
    scan = refused.value.scan
    assert scan.error_count == 30 + 2  # line CHUNK + 5 is bad and a duplicate: one reason
    lines = [problem.line for problem in scan.errors]
    assert lines == [CHUNK - 1, *range(CHUNK + 1, CHUNK + 20)]
    assert (scan.errors[5].line, scan.errors[5].reason) == (CHUNK + 5, '"prompt" is empty')
    assert scan.errors[1].reason == 'duplicate id "q1" (first used on line 1)'
    assert await db.fetchval("SELECT COUNT(*) FROM items") == 0


async def test_the_importer_and_the_upload_check_agree_on_a_bad_file(
    db: Database, settings: Settings, tmp_path: Path, parser: str
) -> None:
    path = write_items(
        tmp_path / "b.jsonl", 50, ids={5: None, 9: "line-5", 12: "q3", 20: None}, bad_lines=(3,)
    )
    checked = scan_batch_file(path, criteria=DEFAULT_RUBRIC.criteria)
    with pytest.raises(BatchFormatError) as refused:
        await import_batch_file(db, settings, path, name="dups")
    assert refused.value.scan.errors == checked.errors
    assert refused.value.scan.error_count == checked.error_count == 3


@pytest.mark.parametrize(
    ("name", "bad", "reason"),
    [
        ("b.jsonl", b'{"prompt": "a\x00b", "response": "r"}\n', "NUL byte"),
        ("b.jsonl", b'{"prompt": "caf\xe9", "response": "r"}\n', "not UTF-8"),
        ("b.csv", b"x,caf\xe9,r\n", "not UTF-8"),
        ("b.csv", b"x,a\x00b,r\n", "NUL byte"),
    ],
)
async def test_a_nul_byte_or_bad_utf8_in_the_first_lines_is_refused_with_its_line(
    db: Database, settings: Settings, tmp_path: Path, name: str, bad: bytes, reason: str
) -> None:
    if name.endswith(".jsonl"):
        before, after = (
            b'{"prompt": "p", "response": "r"}\n' * 3,
            b'{"prompt": "p", "response": "r"}\n',
        )
    else:
        before, after = b"id,prompt,response\na,p,r\nb,p,r\n", b"c,p,r\n"
    path = tmp_path / name
    path.write_bytes(before + bad + after)
    [(line, found)] = await refusal(db, settings, path)
    assert line == 4 and reason in found


async def test_a_big_file_is_parsed_in_a_process_beside_the_inserts(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_items(tmp_path / "b.jsonl", CHUNK * 2)
    monkeypatch.setattr(bot.batches, "PARSER_PROCESS_MIN_BYTES", path.stat().st_size)
    monkeypatch.setattr(bot.batches, "_cores", lambda: 2)
    seen: list[str] = []

    async def between_chunks(progress: ImportProgress) -> None:
        seen.extend(child.name for child in multiprocessing.active_children())

    result = await import_batch_file(db, settings, path, name="big", on_progress=between_chunks)
    assert result.items == CHUNK * 2 and result.scan.ok
    assert "nilai-batch-parser" in seen
    assert await db.fetchval("SELECT COUNT(*) FROM items") == CHUNK * 2
    assert "nilai-batch-parser" not in [c.name for c in multiprocessing.active_children()]
    # With one core the same file is parsed in the importing process, with the same result.
    monkeypatch.setattr(bot.batches, "_cores", lambda: 1)
    seen.clear()
    again = await import_batch_file(db, settings, path, name="again", on_progress=between_chunks)
    assert again.items == CHUNK * 2 and seen == []


async def test_a_parser_process_that_dies_leaves_nothing(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_items(tmp_path / "b.jsonl", CHUNK * 4)
    monkeypatch.setattr(bot.batches, "PARSER_PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(bot.batches, "_cores", lambda: 2)

    async def kill_the_parser(progress: ImportProgress) -> None:
        for child in multiprocessing.active_children():
            if child.name == "nilai-batch-parser":
                child.kill()

    with pytest.raises(RuntimeError, match="parser process"):
        await import_batch_file(db, settings, path, name="big", on_progress=kill_the_parser)
    assert await db.fetchval("SELECT COUNT(*) FROM items") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM batches") == 0


async def test_each_items_language_is_stored_by_either_parser(
    db: Database, settings: Settings, tmp_path: Path, parser: str
) -> None:
    tags = ["id", "EN", "en-US", "jv", "su_ID", None]
    path = tmp_path / "langs.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for n in range(1, 2 * CHUNK + 1):  # more than one chunk: every chunk carries its langs
            metadata = {"topic": "x"} if tags[n % 6] is None else {"lang": tags[n % 6]}
            f.write(
                json.dumps({"id": f"q{n}", "prompt": "p", "response": "r", "metadata": metadata})
            )
            f.write("\n")
    result = await import_batch_file(db, settings, path, name="langs")
    assert result.scan.languages == {"id": 1666, "en": 3334, "jv": 1667, "su": 1667}
    rows = await db.fetchall(
        "SELECT lang, COUNT(*) FROM items GROUP BY lang ORDER BY COALESCE(lang, '')"
    )
    assert [tuple(row) for row in rows] == [
        (None, 1666),
        ("en", 3334),
        ("id", 1666),
        ("jv", 1667),
        ("su", 1667),
    ]
    assert await db.fetchval("SELECT lang FROM items WHERE external_id = 'q2'") == "en"  # en-US


async def test_a_bad_language_is_refused_with_its_line_by_either_parser(
    db: Database, settings: Settings, tmp_path: Path, parser: str
) -> None:
    path = write_items(tmp_path / "b.jsonl", CHUNK + 10)
    lines = path.read_text("utf-8").splitlines()
    for line, tag in ((3, "english"), (CHUNK + 4, "xx"), (CHUNK + 6, "e")):
        record = json.loads(lines[line - 1])
        record["metadata"] = {"lang": tag}
        lines[line - 1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    found = await refusal(db, settings, path)
    assert [line for line, _ in found] == [3, CHUNK + 4, CHUNK + 6]
    assert 'is "english", not a language code (ISO 639-1)' in found[0][1]


async def test_progress_counts_items_not_lines(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV whose answers span two lines each: the items are half the lines. Checked first
    (as a chat upload is), the total is the items; straight from the CLI it is not known, and
    the count is items still."""
    monkeypatch.setattr(bot.batches, "CHUNK", 100)
    path = tmp_path / "b.csv"
    rows = "".join(f'q{n},Prompt {n},"First line\nsecond line"\n' for n in range(1, 301))
    path.write_text("id,prompt,response\n" + rows, "utf-8")
    seen: list[ImportProgress] = []

    async def note(progress: ImportProgress) -> None:
        seen.append(progress)

    scan = scan_batch_file(path, criteria=DEFAULT_RUBRIC.criteria)
    await import_batch_file(
        db, settings, path, name="checked", expected_items=scan.items, on_progress=note
    )
    assert [(p.items, p.total) for p in seen] == [(100, 300), (200, 300), (300, 300), (300, 300)]
    seen.clear()
    await import_batch_file(db, settings, path, name="unchecked", on_progress=note)
    assert [(p.items, p.total) for p in seen[:-1]] == [(100, None), (200, None), (300, None)]
    assert [round(p.fraction, 2) for p in seen[:-1]] == [0.33, 0.67, 1.0]
    assert (seen[-1].items, seen[-1].total) == (300, 300)


async def test_a_jsonl_files_total_is_its_lines_that_are_not_blank(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.batches, "CHUNK", 100)
    path = write_items(tmp_path / "b.jsonl", 250)
    text = path.read_text("utf-8").replace("\n", "\n\n   \n", 40)  # 80 blank lines
    path.write_text(text, "utf-8")
    seen: list[ImportProgress] = []

    async def note(progress: ImportProgress) -> None:
        seen.append(progress)

    await import_batch_file(db, settings, path, name="blanks", on_progress=note)
    assert [(p.items, p.total) for p in seen] == [(100, 250), (200, 250), (250, 250), (250, 250)]
