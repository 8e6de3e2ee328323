"""Exports of a batch as training data: raw judgments, SFT, DPO pairs and a ratings table.

Every export streams from one database snapshot to a file, a chunk of items at a time, so
memory stays flat whatever the batch size, and judgments that arrive meanwhile never tear it.
The JSON lines are built by the database (`storage/exports.py`): a million-line export spends
its time in the database, not in Python objects. Trainer ids leave only as keyed hashes
(HMAC-SHA256), added here, unless the caller asks for the real ones. Chat exports above
Telegram's upload limit are gzipped, or split into gzipped parts.

The formats:
- `raw`: one JSON line per submitted judgment: the item as imported (metadata untouched;
  `gold` its expectation, `gold_item` whether it is a gold item), the trainer's pseudonym,
  scores, flags, note, rewrite, times and the late marker, and `revised`/`revised_at`:
  whether (and when last) the judgment was corrected after Submit; the rewrite's review
  (`review_status` accepted, rejected or unreviewed; null without a rewrite and on a gold
  item, whose rewrites are never offered for review; on a decision
  `review_reason`, `review_comment` and the `reviewer`'s pseudonym); and the rubric version
  the judgment was made under, as `rubric_criteria_sha256` and `rubric_guidelines_sha256`
  (`bot/rubric_provenance.py`). The note and rewrite are always the final texts; what a
  correction replaced stays in the database (`judgment_revisions`), not in exports.
- `sft`: `{"messages": [...context, user prompt, assistant rewrite]}` per non-empty rewrite
  that a reviewer accepted; with `all_rewrites`, unreviewed ones too; rejected ones never, nor
  any written on a gold item (the same for `dpo`). `sft` and `dpo` keep exactly the columns
  TRL reads, with the final texts; a judgment's own facts (revised, late, trainer, review)
  are in `raw`.
- `dpo`: TRL's preference form `{"prompt", "chosen": rewrite, "rejected": original}`. A batch
  with chat-form items is exported in TRL's conversational form (all rows alike, so the file
  loads as one dataset); a batch of plain items keeps plain strings.
- `ratings`: CSV, one row per item and criterion: count, mean, spread (population standard
  deviation), min, max, and agreement (the share of pairs of raters who gave the same score;
  empty with fewer than two ratings), then the median, and per flag of the rubric
  (`flag_<key>`) how many reviewers raised it on the item (the same on each of the item's
  rows: flags belong to an item, not a criterion).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import itertools
import json
import logging
import math
import re
import secrets
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.formatting import number
from bot.rubric import Rubric
from bot.rubric_provenance import RubricHashes, rubric_hashes
from storage import exports as store
from storage.database import Database
from storage.exports import BatchCounts, ExportBatch, ExportSnapshot, RewriteCounts
from storage.privacy import kept_pseudonyms

log = logging.getLogger(__name__)

FORMATS = ("raw", "sft", "dpo", "ratings")
REWRITE_FORMATS = ("sft", "dpo")  # made of rewrites: they honour the rewrites' review
SUFFIXES = {"raw": ".jsonl", "sft": ".jsonl", "dpo": ".jsonl", "ratings": ".csv"}
RATINGS_HEADER = (
    "item_id",
    "criterion",
    "count",
    "mean",
    "spread_pstdev",
    "min",
    "max",
    "agreement",
)
"""The ratings columns every rubric has, in order; `ratings_header` adds the median and the
rubric's flags after them."""
PSEUDONYM_FACT = "pseudonym_secret"
PSEUDONYM_CHARS = 16  # 64 bits of the HMAC: no collisions among any realistic team
CHUNK_ITEMS = 1000  # ~3,000 judgments, a few MB: few trips to SQLite's thread, flat memory

Progress = Callable[[int, int], Awaitable[None]]
"""Called with (items read so far, items in the batch) after each chunk."""

_quote: Callable[[str], str] = encode_basestring  # a JSON string literal, in C


class UnknownBatch(LookupError):
    def __init__(self, name: str, choices: list[str]):
        super().__init__(name)
        self.name = name
        self.choices = choices


class UnknownFormat(LookupError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name
        self.choices = list(FORMATS)


class TooLargeToSend(ValueError):
    """One line of an export is larger than the upload limit even compressed."""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    batch: str
    format: str
    path: Path
    rows: int  # records written: JSON lines, or CSV rows below the header
    read: int  # items of the batch read
    size: int  # bytes written
    sha256: str  # of the bytes written (hex)
    batch_id: int
    rubric_json: str  # the batch's rubric as stored, when the export was made
    counts: BatchCounts  # of the batch, in the export's snapshot
    filters: dict[str, Any]  # the options that chose the rows, for the manifest
    rubric_version: int | None  # the batch's current version (rubric_versions id)
    rewrites: RewriteCounts  # the batch's, by review status
    versions: dict[int | None, int]  # exported judgments per rubric version
    version_hashes: dict[int, RubricHashes]  # every version of the batch
    # The rewrites this format chooses among, by review status: sft the batch's, dpo those
    # that differ from their answer (an unchanged answer is no preference); none for the rest.
    exportable: RewriteCounts

    @property
    def unreviewed_left_out(self) -> int:
        """Unreviewed rewrites this sft/dpo export left out (0: none, or it took them)."""
        taken = self.filters.get("all_rewrites", False) or self.format not in REWRITE_FORMATS
        return 0 if taken else self.exportable.unreviewed


@dataclass(frozen=True, slots=True)
class Packed:
    """An export made ready for an upload limit: the file itself, one .gz, or .gz parts."""

    files: list[Path]
    compressed: bool

    @property
    def split(self) -> bool:
        return len(self.files) > 1


# -- pseudonyms ------------------------------------------------------------------------------


class Pseudonyms:
    """Trainer id -> stable pseudonym: HMAC-SHA256 of the id with a secret key."""

    def __init__(self, secret: str, kept: dict[int, str] | None = None):
        self._key = secret.encode("utf-8")
        # Trainers who deleted their identity: their id is gone, the pseudonym is kept.
        self._known: dict[int, str] = dict(kept or {})
        self._kept = frozenset(self._known.values())

    def __call__(self, user_id: int) -> str:
        known = self._known.get(user_id)
        if known is None:
            known = self._known[user_id] = self._fresh(user_id)
        return known

    def _fresh(self, user_id: int) -> str:
        """HMAC of the id; for someone who deleted their identity and joined again, of the id
        and how many times, so the new judgments are not linked to the deleted ones."""
        for generation in itertools.count():
            name = str(user_id) if generation == 0 else f"{user_id}:{generation}"
            digest = hmac.new(self._key, name.encode("ascii"), hashlib.sha256)
            pseudonym = digest.hexdigest()[:PSEUDONYM_CHARS]
            if pseudonym not in self._kept:
                return pseudonym
        raise AssertionError("unreachable")


async def load_pseudonyms(db: Database, settings: Settings) -> Pseudonyms:
    """The settings' secret, or one generated once and kept in the database."""
    secret = settings.pseudonym_secret
    if secret is None:
        secret = await store.keep_first_fact(db, PSEUDONYM_FACT, secrets.token_hex(32))
    return Pseudonyms(secret, await kept_pseudonyms(db))


# -- the formats ---------------------------------------------------------------------------
# `raw`, `sft` and `dpo` lines are built as JSON in SQL (storage/sqlite_json.py or
# postgres_json.py); here `raw` gets its trainers, whose keyed pseudonyms SQL cannot make, and
# `ratings` its statistics.


class RawTrainers:
    """The JSON text that names a trainer in a `raw` line: `,"trainer":"<pseudonym>"`, and
    `,"trainer_id":<id>` when asked for."""

    def __init__(self, pseudonyms: Pseudonyms, with_ids: bool):
        self._pseudonyms = pseudonyms
        self._with_ids = with_ids

    def __call__(self, trainer_id: int) -> bytes:
        text = f',"trainer":{_quote(self._pseudonyms(trainer_id))}'
        if self._with_ids:
            text += f',"trainer_id":{trainer_id:d}'
        return text.encode("utf-8")

    def reviewer(self, reviewer_id: int | None) -> bytes:
        """`,"reviewer":<pseudonym>` of who decided on the rewrite (null: nobody yet), by the
        same scheme as trainers (a reviewer is a trainer or a coordinator)."""
        if reviewer_id is None:
            return b',"reviewer":null' + (b',"reviewer_id":null' if self._with_ids else b"")
        text = f',"reviewer":{_quote(self._pseudonyms(reviewer_id))}'
        if self._with_ids:
            text += f',"reviewer_id":{reviewer_id:d}'
        return text.encode("utf-8")


class RawVersions:
    """The end of a `raw` line: the hashes of the rubric version the judgment was made under
    (null for one made before versions were recorded), the closing brace and the newline.
    Hashed once per version, from the versions read in the export's snapshot."""

    def __init__(self, hashes: dict[int, RubricHashes]):
        self._hashes = hashes

    def __call__(self, version_id: int | None) -> bytes:
        known = self._hashes.get(version_id) if version_id is not None else None
        criteria = _quote(known.criteria_sha256) if known else "null"
        guidelines = (
            _quote(known.guidelines_sha256) if known and known.guidelines_sha256 else "null"
        )
        text = f',"rubric_criteria_sha256":{criteria},"rubric_guidelines_sha256":{guidelines}}}\n'
        return text.encode("utf-8")


def ratings_header(rubric: Rubric) -> tuple[str, ...]:
    """The ratings CSV's columns for a batch with `rubric`."""
    return (*RATINGS_HEADER, "median", *(f"flag_{key}" for key in rubric.flags))


class RatingStats:
    """The CSV text of count, mean, spread (population standard deviation), min, max,
    agreement and median of one item's scores for one criterion, from ((score, how many gave
    it), ...) in score order. Overlaps are small, so the same few tallies recur: each is
    worked out and formatted once (formatting floats was most of a ratings export)."""

    MAX_CACHED = 65_536

    def __init__(self) -> None:
        self._known: dict[tuple[tuple[int, int], ...], str] = {}

    def __call__(self, tally: tuple[tuple[int, int], ...]) -> str:
        known = self._known.get(tally)
        if known is None:
            if len(self._known) >= self.MAX_CACHED:
                self._known.clear()
            known = self._known[tally] = csv_text(_stats(tally))
        return known


def _stats(tally: tuple[tuple[int, int], ...]) -> list[Any]:
    n = sum(count for _, count in tally)
    if n == 0:
        return [0, "", "", "", "", "", ""]
    mean = sum(score * count for score, count in tally) / n
    variance = sum(count * (score - mean) ** 2 for score, count in tally) / n
    agreement = round(sum(c * (c - 1) for _, c in tally) / (n * (n - 1)), 4) if n > 1 else ""
    return [
        n,
        round(mean, 4),
        round(math.sqrt(variance), 4),
        tally[0][0],
        tally[-1][0],
        agreement,
        round(_median(tally, n), 4),
    ]


def _median(tally: tuple[tuple[int, int], ...], n: int) -> float:
    """The middle of `n` scores tallied in score order (the mean of the two middle ones when
    `n` is even)."""
    low_at, high_at = (n - 1) // 2, n // 2  # 0-based positions of the middle score(s)
    seen, low = 0, None
    for score, count in tally:
        seen += count
        if low is None and seen > low_at:
            low = score
        if seen > high_at:
            assert low is not None
            return (low + score) / 2
    raise ValueError("the tally holds fewer than n scores")


def csv_text(values: Iterable[Any]) -> str:
    """One CSV record's fields as the csv module writes them (quoted where needed), with no
    line end: the pieces of a ratings line are made once and put together."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)  # "\n" in a field gets quoted
    return buffer.getvalue()[:-1]


def rating_lines(
    external_id: str,
    counts: dict[str, dict[int, int]],
    criteria: dict[str, str],
    stats: RatingStats,
    flags: str = "",
) -> list[str]:
    """Ratings lines of one item from {criterion: {score: how many gave it}}: the rubric's
    `criteria` ({name: its CSV text}), then any other criterion scored (sorted); `flags` is
    the item's flag columns' text (`,2,0,...`), the same on each line."""
    item = csv_text([external_id]) if external_id else ""  # alone, "" would be quoted
    names = criteria
    if not counts.keys() <= criteria.keys():
        extra = sorted(counts.keys() - criteria.keys())
        names = {**criteria, **{name: csv_text([name]) for name in extra}}
    lines = []
    for criterion, text in names.items():
        given = counts.get(criterion)
        tally = tuple(sorted(given.items())) if given else ()
        lines.append(f"{item},{text},{stats(tally)}{flags}\n")
    return lines


# -- streaming a whole export ----------------------------------------------------------------


async def export_batch(
    db: Database,
    settings: Settings,
    batch: str,
    fmt: str,
    path: Path,
    *,
    with_trainer_ids: bool = False,
    all_rewrites: bool = False,
    on_progress: Progress | None = None,
    chunk_size: int = CHUNK_ITEMS,
) -> ExportSummary:
    """Write one export of `batch` to `path` from a consistent snapshot, reading `chunk_size`
    items at a time; progress counts items. `all_rewrites`: sft/dpo take unreviewed rewrites
    besides accepted ones (rejected ones never).

    Raises UnknownFormat or UnknownBatch (with the choices) before writing anything.
    """
    if fmt not in FORMATS:
        raise UnknownFormat(fmt)
    async with store.snapshot(db) as snap:
        found = await snap.find_batch(batch)
        if found is None:
            raise UnknownBatch(batch, await store.batch_names(db))
        # After the snapshot's first read: every deleted identity it holds is kept by then.
        pseudonyms = await load_pseudonyms(db, settings) if fmt == "raw" else None
        rubric = Rubric.from_dict(json.loads(found.rubric_json))
        counts = await snap.batch_counts(found.id)
        rewrites = await snap.rewrite_counts(found.id)
        exportable = RewriteCounts()
        if fmt in REWRITE_FORMATS:
            exportable = (
                await snap.rewrite_counts(found.id, differing=True) if fmt == "dpo" else rewrites
            )
        hashes = {
            version: rubric_hashes(text)
            for version, text in (await snap.rubric_versions(found.id)).items()
        }
        versions: dict[int | None, int] = {}
        if fmt not in REWRITE_FORMATS:  # every submitted judgment is exported (or counted)
            versions = await snap.judgments_per_version(found.id)
        total = counts.items
        if fmt == "raw":
            assert pseudonyms is not None
            trainers = RawTrainers(pseudonyms, with_trainer_ids)
            chunks = _raw_chunks(snap, found, rubric, trainers, RawVersions(hashes), chunk_size)
        elif fmt == "ratings":
            chunks = _ratings_chunks(snap, found.id, rubric, chunk_size)
        else:
            conversational = fmt == "dpo" and await snap.has_chat_form(found.id)
            chunks = _rewrite_chunks(
                snap, found, fmt, conversational, all_rewrites, versions, chunk_size
            )
        rows = read = size = 0
        digest = hashlib.sha256()  # while writing: the file is never read again for it
        with path.open("wb") as out:
            async for data, count, items in chunks:
                out.write(data)
                digest.update(data)
                rows, read, size = rows + count, read + items, size + len(data)
                if on_progress is not None and items:
                    await on_progress(read, total)
    log.info("exported batch %r as %s: %d rows to %s", batch, fmt, rows, path)
    return ExportSummary(
        batch=batch,
        format=fmt,
        path=path,
        rows=rows,
        read=read,
        size=size,
        sha256=digest.hexdigest(),
        batch_id=found.id,
        rubric_json=found.rubric_json,
        counts=counts,
        filters={  # as applied
            "with_trainer_ids": with_trainer_ids and fmt == "raw",
            "all_rewrites": all_rewrites and fmt in REWRITE_FORMATS,
        },
        rubric_version=found.rubric_version,
        rewrites=rewrites,
        versions=versions,
        version_hashes=hashes,
        exportable=exportable,
    )


Chunk = tuple[bytes, int, int]
"""Bytes to write, records in them, items read for them."""


async def _raw_chunks(
    snap: ExportSnapshot,
    batch: ExportBatch,
    rubric: Rubric,
    trainers: RawTrainers,
    versions: RawVersions,
    chunk_size: int,
) -> AsyncIterator[Chunk]:
    def line_end(reviewer_id: int | None, version_id: int | None) -> bytes:
        return trainers.reviewer(reviewer_id) + versions(version_id)

    lines = snap.raw_lines(
        batch, rubric.criteria, rubric.flags, rubric.scale, trainers, line_end, chunk_size
    )
    async for items, count, text in lines:
        yield text, count, items


async def _rewrite_chunks(
    snap: ExportSnapshot,
    batch: ExportBatch,
    fmt: str,
    conversational: bool,
    all_rewrites: bool,
    versions: dict[int | None, int],
    chunk_size: int,
) -> AsyncIterator[Chunk]:
    """The lines, counting into `versions` how many each rubric version gave."""
    chunks = snap.rewrite_lines(batch, fmt, conversational, all_rewrites, chunk_size)
    async for items, rows in chunks:
        for version, _ in rows:
            versions[version] = versions.get(version, 0) + 1
        yield b"".join([line for _, line in rows]), len(rows), items


async def _ratings_chunks(
    snap: ExportSnapshot, batch_id: int, rubric: Rubric, chunk_size: int
) -> AsyncIterator[Chunk]:
    yield (csv_text(ratings_header(rubric)) + "\n").encode("utf-8"), 0, 0
    stats = RatingStats()
    criteria = {name: csv_text([name]) for name in rubric.criteria}
    column = {key: index for index, key in enumerate(rubric.flags)}
    no_flags = ",0" * len(column)
    async for items, (names, scores, raised) in snap.item_scores(batch_id, chunk_size):
        per_item: dict[int, dict[str, dict[int, int]]] = {}
        for (item_id, criterion, score), count in Counter(scores).items():
            if criterion is not None:
                per_item.setdefault(item_id, {}).setdefault(criterion, {})[score] = count
        flag_counts: dict[int, list[int]] = {}
        for item_id, flag, reviewers in raised:
            if flag in column:  # a flag no longer in the rubric has no column
                flag_counts.setdefault(item_id, [0] * len(column))[column[flag]] = reviewers
        flag_text = {
            item_id: "".join(f",{count:d}" for count in counts)
            for item_id, counts in flag_counts.items()
        }
        lines = [
            line
            for item_id, external_id in names
            for line in rating_lines(
                external_id,
                per_item.get(item_id, {}),
                criteria,
                stats,
                flag_text.get(item_id, no_flags),
            )
        ]
        yield "".join(lines).encode("utf-8"), len(lines), items


async def batch_choices(db: Database) -> list[str]:
    """Names of the batches one can export, newest first."""
    return await store.batch_names(db)


# -- files -----------------------------------------------------------------------------------


def human_size(size: int, language: str = "en") -> str:
    """Bytes for people: 812 B, 45.6 KB, 63.2 MB (1 KB = 1024 bytes, as Telegram counts);
    45,6 KB in Indonesian."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{number(value, language, decimals=1)} {unit}"
        value /= 1024
    return f"{number(value, language, decimals=1)} GB"


def default_file_name(batch: str, fmt: str) -> str:
    """`<batch>-<format>.jsonl` (or `.csv`), with characters unsafe in file names replaced."""
    safe = re.sub(r"[^\w.-]+", "_", batch, flags=re.UNICODE).strip("._") or "batch"
    return f"{safe}-{fmt}{SUFFIXES[fmt]}"


_GZIP_RESERVE = 64  # the final deflate block and the gzip trailer
_CHUNK_BYTES = 64 * 1024


async def pack_for_upload(path: Path, limit: int, *, header_lines: int = 0) -> Packed:
    """Make `path` fit an upload limit: as it is, else gzip, else gzip parts of whole lines.

    Each part is a complete file of its own (CSV parts repeat the header), so a part can be
    loaded without the others. Runs in a worker thread: compressing is CPU work.
    """
    return await asyncio.to_thread(_pack, path, limit, header_lines)


def _pack(path: Path, limit: int, header_lines: int) -> Packed:
    if path.stat().st_size <= limit:
        return Packed(files=[path], compressed=False)
    return Packed(files=_gzip_parts(path, limit, header_lines), compressed=True)


def _gzip_parts(path: Path, limit: int, header_lines: int) -> list[Path]:
    parts = _GzipParts(path, limit)
    with path.open("rb") as source:
        header = b"".join(source.readline() for _ in range(header_lines))
        parts.header = header
        pending = bytearray()
        target = max(1, min(_CHUNK_BYTES, limit // 8))
        for line in source:
            pending += line
            if len(pending) >= target:
                parts.add(bytes(pending))
                pending.clear()
        if pending:
            parts.add(bytes(pending))
    return parts.finish()


class _GzipParts:
    """Writes .gz parts, each at most `limit` bytes, checking every chunk before taking it:
    a trial on a copy of the compressor says exactly how many bytes the chunk adds."""

    def __init__(self, path: Path, limit: int):
        self.path = path
        self.limit = limit
        self.header = b""
        self.files: list[Path] = []
        self._out: io.BufferedWriter | None = None
        self._compressor: Any = None
        self._written = 0
        self._lines = 0

    def add(self, chunk: bytes) -> None:
        if self._out is None:
            self._start()
        if self._take(chunk):
            return
        for line in chunk.splitlines(keepends=True):
            if self._take(line):
                continue
            if self._lines == 0:
                raise TooLargeToSend(f"a line of {len(line):,} bytes does not fit {self.limit:,}")
            self._close()
            self._start()
            if not self._take(line):
                raise TooLargeToSend(f"a line of {len(line):,} bytes does not fit {self.limit:,}")

    def _take(self, data: bytes) -> bool:
        trial = self._compressor.copy()
        out = trial.compress(data) + trial.flush(zlib.Z_SYNC_FLUSH)
        if self._written + len(out) + _GZIP_RESERVE > self.limit:
            return False
        assert self._out is not None
        self._out.write(out)
        self._compressor = trial
        self._written += len(out)
        self._lines += data.count(b"\n") or 1
        return True

    def _start(self) -> None:
        name = self.path.with_name(f"{self.path.name}.part{len(self.files) + 1}.gz")
        self.files.append(name)
        self._out = name.open("wb")
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip framing
        self._written = 0
        self._lines = 0
        if not self._take(self.header) and self.header:
            raise TooLargeToSend("the header alone does not fit the limit")
        self._lines = 0

    def _close(self) -> None:
        assert self._out is not None
        self._out.write(self._compressor.flush(zlib.Z_FINISH))
        self._out.close()
        self._out = None

    def finish(self) -> list[Path]:
        if self._out is None:
            self._start()
        self._close()
        if len(self.files) == 1:
            single = self.path.with_name(self.path.name + ".gz")
            self.files[0].replace(single)
            return [single]
        count = len(self.files)
        named = []
        for index, part in enumerate(self.files, start=1):
            stem, suffix = self.path.stem, self.path.suffix
            final = self.path.with_name(f"{stem}.part{index:02d}-of-{count:02d}{suffix}.gz")
            part.replace(final)
            named.append(final)
        return named
