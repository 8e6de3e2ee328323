"""An export's manifest: what a lab checks before it trains on the file.

A JSON document beside the data (`<file>.manifest.json`): the batch, the format and the
options that chose the rows (`with_trainer_ids`, `all_rewrites`), how many rows, items, gold
items, submitted reviews and reviews of gold items there are, the batch's rewrites by review
(accepted, rejected, unreviewed) and whether this file took the unreviewed ones, Krippendorff's
alpha per criterion with the items it rests on (`bot/agreement.py`; null when there are too
few), the rubric with a SHA-256 of its stored JSON as its version, the current rubric version's
criteria and guidelines hashes and those of every version the exported judgments were made
under (`bot/rubric_provenance.py`), when and by which tool it was made, and the SHA-256 and
size of the data file. The counts come from the export's own snapshot; the alpha is the
batch's current figure.

In chat the manifest is sent as one more small document after the data. When the data went
compressed or in parts, `file` still describes the export as written (what `gunzip` gives
back; for parts, their lines together), and `sent` lists each file sent with its own SHA-256
and size.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.agreement import BatchAgreement, batch_agreement
from bot.config import Settings
from bot.exports import REWRITE_FORMATS, ExportSummary, export_batch
from bot.rubric import Rubric
from bot.rubric_provenance import RubricHashes
from storage import exports as store
from storage.database import Database

SUFFIX = ".manifest.json"
TOOL = "nilai"


def manifest_path(data: Path) -> Path:
    """`<data file>.manifest.json`, beside it."""
    return data.with_name(data.name + SUFFIX)


def tool_version() -> str | None:
    """The installed `nilai` package's version, if it is installed."""
    try:
        return metadata.version(TOOL)
    except metadata.PackageNotFoundError:
        return None


def file_facts(path: Path) -> dict[str, Any]:
    """Name, size and SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return {"name": path.name, "size": path.stat().st_size, "sha256": digest.hexdigest()}


# Above this many items the manifest leaves the agreement out: the krippendorff package's
# working memory grows with items x values^2 (about 300 MB at 333,000 items), which would
# break the export's own memory target (200 MB at a million judgments; bench/export_speed.py).
# /progress shows those batches' agreement.
MANIFEST_AGREEMENT_ITEMS = 50_000


async def export_with_agreement(
    db: Database, settings: Settings, batch: str, fmt: str, path: Path, **options: Any
) -> tuple[ExportSummary, BatchAgreement | None]:
    """`export_batch`, with the batch's agreement worked out meanwhile (reads on the other
    connection, numpy in a worker thread), so the manifest costs the export little time;
    None for a batch too large for it (`MANIFEST_AGREEMENT_ITEMS`)."""
    batch_id = await store.batch_id_of(db, batch)
    if batch_id is not None and await store.item_count_of(db, batch_id) > MANIFEST_AGREEMENT_ITEMS:
        return await export_batch(db, settings, batch, fmt, path, **options), None
    figures = None if batch_id is None else asyncio.ensure_future(batch_agreement(db, batch_id))
    try:
        summary = await export_batch(db, settings, batch, fmt, path, **options)
    except BaseException:
        if figures is not None:
            figures.cancel()
            await asyncio.gather(figures, return_exceptions=True)
        raise
    if figures is None or batch_id != summary.batch_id:  # made or replaced meanwhile
        return summary, await batch_agreement(db, summary.batch_id)
    return summary, await figures


async def build_manifest(
    summary: ExportSummary,
    agreement: BatchAgreement | None,
    created_at: datetime,
    *,
    file_name: str | None = None,
    sent: list[Path] | None = None,
) -> dict[str, Any]:
    """The manifest of an export (`file_name`: the data file's name as delivered, by default
    its path's); `sent`: the compressed files sent instead of it, if any."""
    rubric = Rubric.from_dict(json.loads(summary.rubric_json))
    manifest: dict[str, Any] = {
        "batch": summary.batch,
        "format": summary.format,
        "filters": dict(summary.filters),
        "rows": summary.rows,
        "items": summary.counts.items,
        "gold_items": summary.counts.gold_items,
        "submitted_reviews": summary.counts.submitted_reviews,
        "gold_reviews": summary.counts.gold_reviews,
        "rewrites": _rewrites(summary),
        # null for a batch above MANIFEST_AGREEMENT_ITEMS items (see /progress for it)
        "agreement": None
        if agreement is None
        else {
            figure.criterion: {"alpha": figure.alpha, "items": figure.items} for figure in agreement
        },
        "rubric": {
            "criteria": list(rubric.criteria),
            "flags": list(rubric.flags),
            "scale": list(rubric.scale),
        },
        "rubric_version": hashlib.sha256(summary.rubric_json.encode("utf-8")).hexdigest(),
        "current_rubric_version": _version(summary, summary.rubric_version),
        "rubric_versions": [
            {**_version(summary, version), "judgments": judgments}
            for version, judgments in sorted(
                summary.versions.items(), key=lambda entry: (entry[0] is None, entry[0])
            )
        ],
        "created_at": created_at.astimezone(UTC).isoformat(timespec="seconds"),
        "tool": {"name": TOOL, "version": tool_version()},
        "file": {
            "name": file_name or summary.path.name,
            "size": summary.size,
            "sha256": summary.sha256,
        },
    }
    if sent:
        manifest["sent"] = await asyncio.to_thread(lambda: [file_facts(path) for path in sent])
    return manifest


def _rewrites(summary: ExportSummary) -> dict[str, Any]:
    """The batch's rewrites (gold items' aside) by review, and whether the file has the
    unreviewed ones: raw has every rewrite, with its status; ratings has none."""
    counts = summary.rewrites
    if summary.format in REWRITE_FORMATS:
        included = bool(summary.filters.get("all_rewrites"))
    else:
        included = summary.format == "raw"
    return {
        "accepted": counts.accepted,
        "rejected": counts.rejected,
        "unreviewed": counts.unreviewed,
        "unreviewed_included": included,
    }


def _version(summary: ExportSummary, version: int | None) -> dict[str, Any]:
    """A rubric version by its id and hashes (null hashes: unknown, e.g. made before versions
    were recorded)."""
    hashes: RubricHashes | None = None if version is None else summary.version_hashes.get(version)
    return {
        "version": version,
        "criteria_sha256": None if hashes is None else hashes.criteria_sha256,
        "guidelines_sha256": None if hashes is None else hashes.guidelines_sha256,
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as the file holds it: indented UTF-8 JSON, one final newline."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_manifest(manifest: dict[str, Any], data: Path) -> Path:
    """Write the manifest beside the data file; its path."""
    path = manifest_path(data)
    path.write_bytes(manifest_bytes(manifest))
    return path
