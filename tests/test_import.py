"""Importing a batch in steps: other writers go on, nobody sees a half import, failures vanish."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.batch_format import BatchFormatError
from bot.batches import CHUNK, discard_interrupted_imports, import_batch_file, list_batches
from bot.config import Settings
from bot.review import ReviewService
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_trainer


def write_items(path: Path, count: int, bad_line: int | None = None) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for n in range(1, count + 1):
            record = {"id": f"q{n}", "prompt": f"Prompt {n}", "response": f"Answer {n}"}
            if n == bad_line:
                record["prompt"] = ""
            f.write(json.dumps(record) + "\n")
    return path


async def test_other_writers_and_readers_go_on_between_chunks(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    path = write_items(tmp_path / "b.jsonl", CHUNK * 3)
    trainer = await make_trainer(db, 1)
    review = ReviewService(db, settings, clock)
    seen: list[tuple[int, bool, int]] = []

    async def between_chunks(done: int, total: int) -> None:
        # Another process's write must not wait for the whole import: no lock is held now.
        other = sqlite3.connect(settings.database_path, timeout=0)
        with other:
            other.execute("INSERT INTO bot_facts (name, value) VALUES (?, 'x')", (f"w{len(seen)}",))
        other.close()
        view, _ = await review.next_item(trainer)
        seen.append((done, view is None, len(await list_batches(db))))

    result = await import_batch_file(
        db, settings, path, name="big", clock=clock, on_progress=between_chunks
    )
    assert result.items == CHUNK * 3
    # while importing, the batch handed out nothing and was not listed; at the end it is
    assert [(hidden, listed) for _, hidden, listed in seen[:-1]] == [(True, 0)] * (len(seen) - 1)
    assert await db.fetchval("SELECT COUNT(*) FROM bot_facts WHERE name LIKE 'w%'") == len(seen)
    assert await db.fetchval("SELECT status || importing FROM batches") == "open0"


async def test_a_bad_line_after_many_good_ones_leaves_nothing(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path
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
