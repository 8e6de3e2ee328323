"""Batch files a coordinator sends in chat: checked whole, then opened or discarded on a tap.

The file is kept in `<data dir>/uploads/` until the decision, so opening it later imports
exactly what was checked; its rubric (sent as a second document) travels with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shlex
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bot.batch_format import BatchScan
from bot.batch_options import (
    DEFAULT_GOLD_RATE,
    DEFAULT_OPTIONS,
    QualityOptions,
    dynamic_overlap,
    parse_gold_rate,
    parse_whole,
)
from bot.batches import (
    BatchExistsError,
    Progress,
    discard_interrupted_imports,
    import_batch_file,
    scan_file,
)
from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.deadlines import deadline_end, parse_deadline
from bot.rubric import DEFAULT_RUBRIC, Rubric
from storage import batches, bot_facts, uploads
from storage.database import Database

log = logging.getLogger(__name__)

CHOICES = ("broadcast", "quiet", "discard")
_NAME = re.compile(r"[^\s=]{1,64}")


class DeadlinePassedError(Exception):
    """An upload's deadline ended between its check and the tap on Open: not imported (a batch
    cannot be late before it starts), and the upload is discarded."""

    def __init__(self, deadline: date):
        super().__init__(f"deadline {deadline.isoformat()} has passed")
        self.deadline = deadline


class RubricTooNarrowError(ValueError):
    """A rubric sent after its upload, whose scale is too short for the upload's
    `disagreement` (checked against the rubric pending when the caption came): not attached,
    nor kept for the next upload."""

    def __init__(self, disagreement: int, span: int):
        super().__init__(f"disagreement {disagreement} is more than the scale's {span} points")
        self.disagreement = disagreement
        self.span = span


class CaptionError(ValueError):
    """The caption could not be read; `.detail` names the part."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class UploadRequest:
    name: str
    overlap: int | None
    priority: int
    deadline: date | None = None  # the last day (in TIMEZONE) the batch should finish on
    quality: QualityOptions = DEFAULT_OPTIONS  # gold rate and dynamic overlap (issue 9)


@dataclass(frozen=True, slots=True)
class CheckedUpload:
    """A file that passed (upload_id set) or failed (scan.errors) the check."""

    upload_id: int | None
    request: UploadRequest
    scan: BatchScan
    rubric: Rubric
    name_taken: bool = False


@dataclass(frozen=True, slots=True)
class Opened:
    batch_id: int
    name: str
    items: int
    broadcast: bool


def parse_caption(
    caption: str | None,
    default_name: str,
    *,
    now: datetime,
    zone: str,
    rubric: Rubric = DEFAULT_RUBRIC,
) -> UploadRequest:
    """`name overlap=N priority=N deadline=YYYY-MM-DD gold_rate=P extra_reviews=N
    disagreement=SPREAD` (all optional; `name=` works too) -> UploadRequest. A deadline that is
    malformed or whose day (in `zone`) has ended raises bot.deadlines.DeadlineError, so the
    coordinator is told which of the two it is. `now` (the clock's) and `zone` (TIMEZONE) say
    which days have ended. A quality option that cannot be used raises
    bot.batch_options.OptionError; `rubric` (the one the upload will get) bounds the
    disagreement."""
    name, overlap, priority, deadline = None, None, 0, None
    gold_rate, extra_reviews, disagreement = DEFAULT_GOLD_RATE, None, None
    try:
        words = shlex.split(caption or "")
    except ValueError:
        raise CaptionError(caption or "") from None
    for word in words:
        key, sep, value = word.partition("=")
        key = key.lower()
        if not sep:
            name = word if name is None else f"{name} {word}"
        elif key == "name" and value:
            name = value
        elif key == "overlap" and value.isascii() and value.isdigit() and 1 <= int(value) <= 100:
            overlap = int(value)
        elif key == "priority" and re.fullmatch(r"-?[0-9]{1,6}", value):
            priority = int(value)
        elif key == "deadline":
            deadline = parse_deadline(value, now, zone)
        elif key == "gold_rate":
            gold_rate = parse_gold_rate(value)
        elif key in ("extra_reviews", "disagreement"):
            number = parse_whole(value, key)
            extra_reviews, disagreement = (
                (number, disagreement) if key == "extra_reviews" else (extra_reviews, number)
            )
        else:
            raise CaptionError(word)
    name = (name or default_name).strip()[:64]
    if not name:
        raise CaptionError("name")
    extra, spread = dynamic_overlap(extra_reviews, disagreement, rubric)
    return UploadRequest(
        name=name,
        overlap=overlap,
        priority=priority,
        deadline=deadline,
        quality=QualityOptions(gold_rate, extra, spread),
    )


class Uploads:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now):
        self.db = db
        self.settings = settings
        self.clock = clock

    @property
    def folder(self) -> Path:
        return self.settings.data_dir / "uploads"

    def path_for(self, unique_id: str, file_name: str) -> Path:
        """Where a downloaded upload is kept (named by Telegram's unique id, never the user's)."""
        suffix = Path(file_name).suffix.lower()
        safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", unique_id)[:64]
        self.folder.mkdir(parents=True, exist_ok=True)
        return (
            self.folder
            / f"{safe_id}{suffix if suffix in ('.csv', '.jsonl', '.json', '.ndjson') else '.jsonl'}"
        )

    async def check(
        self, coordinator_id: int, path: Path, file_name: str, request: UploadRequest
    ) -> CheckedUpload:
        """Validate the whole file; a good one is recorded as pending the coordinator's choice."""
        rubric = await self.pending_rubric(coordinator_id) or DEFAULT_RUBRIC
        if await batches.batch_exists(self.db, request.name):
            await _remove(path)
            return CheckedUpload(None, request, BatchScan(), rubric, name_taken=True)
        scan = await scan_file(path, rubric)
        if not scan.ok:
            await _remove(path)
            log.info(
                "coordinator %s uploaded %r: refused (%d problems)",
                coordinator_id,
                file_name,
                scan.error_count,
            )
            return CheckedUpload(None, request, scan, rubric)
        upload_id = await uploads.create_upload(
            self.db,
            coordinator_id=coordinator_id,
            file_path=str(path),
            file_name=file_name,
            batch_name=request.name,
            overlap=request.overlap,
            priority=request.priority,
            deadline=request.deadline.isoformat() if request.deadline else None,
            gold_rate=request.quality.gold_rate,
            extra_reviews=request.quality.extra_reviews,
            disagreement=request.quality.disagreement,
            rubric_json=rubric.to_json() if rubric != DEFAULT_RUBRIC else None,
            item_count=scan.items,
            now=stamp(self.clock()),
        )
        await bot_facts.delete_fact(self.db, _rubric_key(coordinator_id))
        log.info(
            "coordinator %s uploaded %r: %d items, pending", coordinator_id, file_name, scan.items
        )
        return CheckedUpload(upload_id, request, scan, rubric)

    async def save_rubric(self, coordinator_id: int, rubric: Rubric) -> bool:
        """Attach a rubric to the coordinator's latest pending upload (True), or keep it for
        their next upload (False). RubricTooNarrowError when that upload's disagreement is
        wider than the rubric's scale allows (its caption was checked against the rubric
        pending then): the upload keeps the rubric it had."""
        span = rubric.scale[1] - rubric.scale[0]
        attached, disagreement = await uploads.attach_rubric(
            self.db, coordinator_id, rubric.to_json(), widest=span
        )
        if not attached and disagreement is not None:
            raise RubricTooNarrowError(disagreement, span)
        if not attached:
            await bot_facts.set_fact(self.db, _rubric_key(coordinator_id), rubric.to_json())
        return attached

    async def pending_rubric(self, coordinator_id: int) -> Rubric | None:
        raw = await bot_facts.get_fact(self.db, _rubric_key(coordinator_id))
        return None if raw is None else Rubric.from_dict(json.loads(raw))

    async def batch_name(self, upload_id: int) -> str | None:
        upload = await uploads.get_upload(self.db, upload_id)
        return None if upload is None else upload["batch_name"]

    async def claim(self, upload_id: int, coordinator_id: int, choice: str) -> bool:
        """Record the coordinator's choice; False if the upload was decided already (a double
        tap) or is not theirs. Committed before the tap is answered."""
        status = "discarded" if choice == "discard" else "importing"
        return await uploads.claim_upload(self.db, upload_id, coordinator_id, status)

    async def carry_out(
        self, upload_id: int, coordinator_id: int, choice: str, on_progress: Progress | None = None
    ) -> Opened:
        """Import (or discard) a claimed upload. DeadlinePassedError (the upload discarded) when
        its deadline's day ended after the check."""
        upload = await uploads.get_upload(self.db, upload_id)
        assert upload is not None
        path = Path(upload["file_path"])
        if choice == "discard":
            await _remove(path)
            log.info("coordinator %s discarded upload %s", coordinator_id, upload_id)
            return Opened(0, upload["batch_name"], 0, broadcast=False)
        deadline = date.fromisoformat(upload["deadline"]) if upload["deadline"] else None
        if deadline is not None and deadline_end(deadline, self.settings.timezone) <= self.clock():
            await uploads.finish_upload(self.db, upload_id, "discarded", None)
            await _remove(path)
            log.info("upload %s not opened: its deadline %s has passed", upload_id, deadline)
            raise DeadlinePassedError(deadline)
        rubric = (
            Rubric.from_dict(json.loads(upload["rubric"])) if upload["rubric"] else DEFAULT_RUBRIC
        )
        try:
            result = await import_batch_file(
                self.db,
                self.settings,
                path,
                name=upload["batch_name"],
                overlap=upload["overlap"],
                priority=upload["priority"],
                deadline=deadline,
                rubric=rubric,
                quality=QualityOptions(
                    upload["gold_rate"], upload["extra_reviews"], upload["disagreement"]
                ),
                clock=self.clock,
                expected_items=upload["item_count"],  # counted when the file was checked
                on_progress=on_progress,
            )
        except BatchExistsError:
            await uploads.finish_upload(self.db, upload_id, "failed", None)
            raise
        except Exception:
            await uploads.finish_upload(self.db, upload_id, "pending", None)  # may tap again
            raise
        await uploads.finish_upload(self.db, upload_id, "imported", result.batch_id)
        await _remove(path)
        return Opened(result.batch_id, result.name, result.items, broadcast=choice == "broadcast")

    async def recover_interrupted(self) -> int:
        """After a crash during an import (rolled back: nothing stored), let the coordinator
        tap Open again."""
        stuck = await uploads.abandoned_imports(self.db)
        for upload in stuck:
            await discard_interrupted_imports(self.db, clock=self.clock, name=upload["batch_name"])
            await uploads.finish_upload(self.db, upload["id"], "pending", None)
        await discard_interrupted_imports(self.db, clock=self.clock)
        return len(stuck)


async def _remove(path: Path) -> None:
    await asyncio.to_thread(path.unlink, missing_ok=True)


def _rubric_key(coordinator_id: int) -> str:
    return f"next_rubric:{coordinator_id}"
