"""An export's manifest as a lab reads it: the SHA-256 and size of the data file as written,
counts that match the database, alpha per criterion, the rubric and its version, when and by
what it was made. Written beside the file by the CLI (in chat: tests/test_e2e_exports.py)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from bot.agreement import batch_agreement
from bot.config import Settings
from bot.manifest import build_manifest, export_with_agreement, manifest_path, write_manifest
from bot.rubric import DEFAULT_RUBRIC
from storage.batches import add_rubric_version
from storage.database import Database
from tests.conftest import FakeClock
from tests.factories import make_batch
from tests.test_exports import (
    CITRA,
    Reviewed,
    export,
    export_cli,
    hashes_of,
    judge,
    reviewed_pilot,
)

MADE_AT = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)


@pytest.fixture
async def pilot(db: Database, settings: Settings, clock: FakeClock, tmp_path: Path) -> Reviewed:
    return await reviewed_pilot(db, settings, clock, tmp_path)


async def database_counts(db: Database, batch: str) -> dict[str, int]:
    """The counts a manifest must show, asked of the database directly."""
    items = await db.fetchone(
        "SELECT COUNT(*), SUM(CASE WHEN i.gold IS NOT NULL THEN 1 ELSE 0 END) FROM items i"
        " JOIN batches b ON b.id = i.batch_id WHERE b.name = ?",
        (batch,),
    )
    reviews = await db.fetchone(
        "SELECT COUNT(*) FROM assignments a JOIN items i ON i.id = a.item_id"
        " JOIN batches b ON b.id = i.batch_id WHERE b.name = ? AND a.status = 'submitted'",
        (batch,),
    )
    assert items is not None and reviews is not None
    return {"items": items[0], "gold_items": items[1] or 0, "submitted_reviews": reviews[0]}


async def stored_rubric(db: Database, batch: str) -> str:
    row = await db.fetchone("SELECT rubric FROM batches WHERE name = ?", (batch,))
    assert row is not None
    return row[0]


async def manifest_of(case: Reviewed, fmt: str, path: Path, **options: Any) -> dict[str, Any]:
    summary, agreement = await export_with_agreement(
        case.db, case.settings, "pilot", fmt, path, **options
    )
    return await build_manifest(summary, agreement, MADE_AT)


@pytest.mark.parametrize("fmt", ["raw", "sft", "dpo", "ratings"])
async def test_the_manifest_describes_the_file_and_the_batch(
    pilot: Reviewed,
    tmp_path: Path,
    fmt: str,
) -> None:
    path = tmp_path / f"pilot-{fmt}.data"
    manifest = await manifest_of(pilot, fmt, path)
    data = path.read_bytes()
    assert manifest["file"] == {
        "name": path.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    lines = data.count(b"\n") - (fmt == "ratings")  # CSV: the header is no row
    assert manifest["batch"] == "pilot" and manifest["format"] == fmt
    assert manifest["rows"] == lines
    counts = await database_counts(pilot.db, "pilot")
    assert counts == {"items": 4, "gold_items": 1, "submitted_reviews": 6}  # en-003 is gold
    assert {key: manifest[key] for key in counts} == counts
    rubric_json = await stored_rubric(pilot.db, "pilot")
    assert manifest["rubric_version"] == hashlib.sha256(rubric_json.encode()).hexdigest()
    assert manifest["rubric"] == {
        "criteria": list(DEFAULT_RUBRIC.criteria),
        "flags": list(DEFAULT_RUBRIC.flags),
        "scale": [1, 5],
    }
    batch_id = (await pilot.db.fetchone("SELECT id FROM batches WHERE name = 'pilot'"))[0]
    figures = await batch_agreement(pilot.db, batch_id)
    assert manifest["agreement"] == {
        figure.criterion: {"alpha": figure.alpha, "items": figure.items} for figure in figures
    }
    # Two ordinary items with two reviews each (the gold one never counts).
    assert {entry["items"] for entry in manifest["agreement"].values()} == {2}
    assert manifest["created_at"] == "2026-12-01T10:30:00+00:00"
    assert manifest["tool"] == {"name": "nilai", "version": metadata.version("nilai")}
    assert manifest["filters"] == {"with_trainer_ids": False, "all_rewrites": False}
    assert "sent" not in manifest
    # Gold: one gold item, reviewed twice; the rewrites outside it by review, and whether
    # this file took the unreviewed ones (raw has every rewrite with its status).
    assert manifest["gold_reviews"] == 2
    assert manifest["rewrites"] == {
        "accepted": 1,
        "rejected": 1,
        "unreviewed": 2,
        "unreviewed_included": fmt == "raw",
    }
    # Every exported judgment was made under the batch's first (and current) version.
    version = await pilot.db.fetchval("SELECT rubric_version FROM batches WHERE name = 'pilot'")
    criteria, guidelines = hashes_of(rubric_json)
    current = {"version": version, "criteria_sha256": criteria, "guidelines_sha256": guidelines}
    assert manifest["current_rubric_version"] == current
    exported = {"raw": 6, "ratings": 6, "sft": 1, "dpo": 1}[fmt]
    assert manifest["rubric_versions"] == [{**current, "judgments": exported}]


async def test_the_filters_say_what_chose_the_data(
    pilot: Reviewed,
    tmp_path: Path,
) -> None:
    raw = await manifest_of(
        pilot, "raw", tmp_path / "raw.jsonl", with_trainer_ids=True, all_rewrites=True
    )
    assert raw["filters"] == {"with_trainer_ids": True, "all_rewrites": False}
    # Only raw carries trainer ids, only sft and dpo choose rewrites: elsewhere the options
    # changed nothing.
    ratings = await manifest_of(
        pilot, "ratings", tmp_path / "r.csv", with_trainer_ids=True, all_rewrites=True
    )
    assert ratings["filters"] == {"with_trainer_ids": False, "all_rewrites": False}
    assert ratings["rewrites"]["unreviewed_included"] is False
    for fmt, rows in (("sft", 3), ("dpo", 2)):
        every = await manifest_of(pilot, fmt, tmp_path / f"{fmt}.jsonl", all_rewrites=True)
        assert every["filters"] == {"with_trainer_ids": False, "all_rewrites": True}
        assert every["rows"] == rows and every["rewrites"]["unreviewed_included"] is True
        assert [entry["judgments"] for entry in every["rubric_versions"]] == [rows]


async def test_judgments_made_under_an_older_rubric_keep_its_hashes(
    pilot: Reviewed, tmp_path: Path
) -> None:
    """The rubric changed (new guidelines) after the pilot's judgments: raw shows each
    judgment's version, the manifest both versions beside the current one."""
    batch_id, first = await pilot.db.fetchone(
        "SELECT id, rubric_version FROM batches WHERE name = 'pilot'"
    )
    old_rubric = await stored_rubric(pilot.db, "pilot")
    changed = json.loads(old_rubric)
    changed["guidelines"] = {"en": "Score what the answer says, not how.", "id": "Nilai isinya."}
    new_rubric = json.dumps(changed, ensure_ascii=False)
    async with pilot.db.transaction() as conn:
        await add_rubric_version(conn, batch_id, new_rubric, "2026-11-26T00:00:00+00:00")
        await conn.execute("UPDATE batches SET rubric = ? WHERE id = ?", (new_rubric, batch_id))
    await judge(pilot, CITRA, "html-001", (1, 2, 3, 4))  # her open draft, submitted now
    second = await pilot.db.fetchval("SELECT rubric_version FROM batches WHERE id = ?", (batch_id,))
    assert second != first

    lines = await export(pilot, "raw", tmp_path / "raw.jsonl")
    old, new = hashes_of(old_rubric), hashes_of(new_rubric)
    assert old[0] == new[0] and old[1] is None and new[1] is not None  # only guidelines changed
    made_under = [
        (line["rubric_criteria_sha256"], line["rubric_guidelines_sha256"]) for line in lines
    ]
    assert made_under == [old] * 6 + [new]
    assert lines[-1]["item_id"] == "html-001"

    manifest = await manifest_of(pilot, "raw", tmp_path / "again.jsonl")
    assert manifest["current_rubric_version"] == {
        "version": second,
        "criteria_sha256": new[0],
        "guidelines_sha256": new[1],
    }
    assert manifest["rubric_versions"] == [
        {"version": first, "criteria_sha256": old[0], "guidelines_sha256": None, "judgments": 6},
        {"version": second, "criteria_sha256": new[0], "guidelines_sha256": new[1], "judgments": 1},
    ]


async def test_a_batch_without_reviews_has_no_alpha(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    await make_batch(db, "fresh", items=3, overlap=2)
    path = tmp_path / "fresh.csv"
    summary, agreement = await export_with_agreement(db, settings, "fresh", "ratings", path)
    manifest = await build_manifest(summary, agreement, MADE_AT)
    assert manifest["agreement"] == {
        criterion: {"alpha": None, "items": 0} for criterion in DEFAULT_RUBRIC.criteria
    }
    assert (manifest["items"], manifest["gold_items"], manifest["submitted_reviews"]) == (3, 0, 0)
    written = write_manifest(manifest, path)
    assert written == manifest_path(path) == tmp_path / "fresh.csv.manifest.json"
    text = written.read_text("utf-8")
    assert json.loads(text) == manifest and '"alpha": null' in text


async def test_the_cli_writes_the_manifest_beside_the_file(
    pilot: Reviewed,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out" / "pilot.jsonl"
    out.parent.mkdir()
    result = export_cli(
        tmp_path, pilot.settings, "export", "--batch", "pilot", "--format", "raw", "-o", str(out),
        "--with-trainer-ids",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = out.parent / "pilot.jsonl.manifest.json"
    assert str(written) in result.stdout
    manifest = json.loads(written.read_text("utf-8"))
    data = out.read_bytes()
    assert manifest["file"] == {
        "name": "pilot.jsonl",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert manifest["rows"] == 6
    assert manifest["filters"] == {"with_trainer_ids": True, "all_rewrites": False}
    counts = await database_counts(pilot.db, "pilot")
    assert {key: manifest[key] for key in counts} == counts
    made = datetime.fromisoformat(manifest["created_at"])
    assert made.utcoffset() is not None and made.utcoffset().total_seconds() == 0
    assert not [name for name in out.parent.iterdir() if name.suffix == ".partial"]


async def test_a_batch_too_large_for_the_exports_memory_leaves_the_agreement_out(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The krippendorff package's memory grows with items x values^2: above
    MANIFEST_AGREEMENT_ITEMS the manifest says null (and /progress shows the figure)."""
    from bot import manifest as manifests

    monkeypatch.setattr(manifests, "MANIFEST_AGREEMENT_ITEMS", 2)
    await make_batch(db, "big", items=3, overlap=2)
    path = tmp_path / "big.csv"
    summary, agreement = await export_with_agreement(db, settings, "big", "ratings", path)
    assert agreement is None
    manifest = await build_manifest(summary, agreement, MADE_AT)
    assert manifest["agreement"] is None and manifest["items"] == 3
