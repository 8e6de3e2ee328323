"""Exports as a coordinator uses them: a small batch reviewed through the services, then every
format checked row by row, loaded with Hugging Face `datasets`, and exported from the CLI."""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import hmac
import itertools
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tracemalloc
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asyncpg import ReadOnlySQLTransactionError

from bot.batches import import_batch_file
from bot.chat_exports import CLAIM_HELD_FOR, Exports
from bot.clock import stamp
from bot.config import Settings
from bot.exports import (
    FORMATS,
    RATINGS_HEADER,
    ExportSummary,
    UnknownBatch,
    UnknownFormat,
    _median,
    default_file_name,
    export_batch,
    human_size,
    pack_for_upload,
)
from bot.review import ReviewService
from bot.rubric import DEFAULT_RUBRIC, Rubric
from storage.bot_facts import get_fact
from storage.database import Database
from storage.exports import snapshot
from storage.records import Trainer
from storage.sqlite_json import WHITESPACE
from tests.cli_runner import run_cli
from tests.conftest import SAMPLES, FakeClock
from tests.factories import make_batch, make_trainer

ROOT = Path(__file__).resolve().parents[1]
CHOSEN_ITEMS = ("id-001", "en-003", "multi-001", "html-001")  # plain, gold, chat form, markup
SAMPLE = {
    record["id"]: record
    for record in map(json.loads, (SAMPLES / "batch_small.jsonl").read_text("utf-8").splitlines())
    if record.get("id") in CHOSEN_ITEMS
}
ANA, BUDI, CITRA = 1001, 1002, 1003
REWRITE_ID = "Teori Relativitas bilang: waktu dan ruang bisa berubah kalau kamu bergerak cepat."
REWRITE_EN = "Call your vet or a pet poison line now: dark chocolate is toxic to dogs."
REWRITE_CHAT = "Aku ngerti ini berat. Yuk mulai pelan-pelan: rapikan CV dulu, baru cari lowongan."
REWRITE_BUDI = "Relativitas itu soal cahaya yang selalu sama cepatnya."
REJECT_REASON, REJECT_COMMENT = "factually_wrong", "Cahaya benar, tapi intinya waktu dan ruang."
NOTE_ID = "Terlalu rumit untuk anak 10 tahun."
FLAGS = DEFAULT_RUBRIC.flags
SUBMITTED = "SELECT COUNT(*) FROM assignments WHERE status = 'submitted'"


def turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def prompt_of(item: str) -> str:
    record = SAMPLE[item]
    return record["prompt"] if "prompt" in record else record["messages"][-2]["content"]


def response_of(item: str) -> str:
    record = SAMPLE[item]
    return record["response"] if "response" in record else record["messages"][-1]["content"]


CHAT_CONTEXT = SAMPLE["multi-001"]["messages"][:-2]


@dataclass
class Reviewed:
    """A batch "pilot" of four sample items, reviewed by Ana, Budi and Citra."""

    db: Database
    settings: Settings
    clock: FakeClock
    review: ReviewService
    trainers: dict[int, Trainer]
    times: dict[tuple[int, str], tuple[str, str]]  # (trainer, item) -> (assigned, submitted)


_message_ids = itertools.count(1)


async def judge(
    case: Reviewed,
    user_id: int,
    item: str,
    scores: tuple[int, ...],
    *,
    flags: tuple[str, ...] = (),
    rewrite: str | None = None,
    note: str | None = None,
    late: bool = False,
    submit: bool = True,
) -> int:
    """The trainer takes the next item (it must be `item`; a gold item is handed out directly),
    rates it and submits it."""
    trainer, review = case.trainers[user_id], case.review
    assigned = stamp(case.clock())
    if "gold" in SAMPLE[item]:
        assignment = await hand_out_gold(case, user_id, item)
    else:
        view, _ = await review.next_item(trainer)
        assert view is not None and view.item.external_id == item
        assignment = view.assignment.id
    for index, score in enumerate(scores):
        await review.score(trainer, assignment, index, score)
    for flag in flags:
        await review.set_flag(trainer, assignment, FLAGS.index(flag), True)
    for field, text in (("rewrite", rewrite), ("note", note)):
        if text is not None:
            await review.set_text(
                trainer, assignment, field, text, chat_id=user_id, message_id=next(_message_ids)
            )
    case.clock.advance(minutes=31 if late else 1)
    if submit:
        _, missing = await review.submit(trainer, assignment)
        assert missing is None
        case.times[(user_id, item)] = (assigned, stamp(case.clock()))
    case.clock.advance(minutes=1)
    return assignment


async def hand_out_gold(case: Reviewed, user_id: int, item: str) -> int:
    """An assignment of the gold item to the trainer, written directly: which item comes
    next is the gold mixing's business (its own tests); the pilot's gold rate is 0."""
    now = case.clock()
    async with case.db.transaction() as tx:
        return await tx.fetchval(
            "INSERT INTO assignments (item_id, trainer_id, assigned_at, lease_expires_at)"
            " SELECT i.id, ?, ?, ? FROM items i WHERE i.external_id = ? RETURNING id",
            (user_id, stamp(now), stamp(now + timedelta(minutes=30)), item),
        )


async def review_rewrite(
    db: Database,
    assignment: int,
    status: str,
    reviewer: int,
    *,
    reason: str | None = None,
    comment: str | None = None,
) -> None:
    """A rewrite's review as the review flow leaves it (rewrite_reviews, migration 0016)."""
    now = "2026-11-25T04:00:00.000000+00:00"
    decided = now if status in ("accepted", "rejected") else None
    await db.execute(
        "INSERT INTO rewrite_reviews (assignment_id, status, reviewer_id, opened_at,"
        " locked_until, reason, comment, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (assignment_id) DO UPDATE SET status = excluded.status,"
        " reviewer_id = excluded.reviewer_id, reason = excluded.reason,"
        " comment = excluded.comment, decided_at = excluded.decided_at",
        (assignment, status, reviewer, now, now, reason, comment, decided),
    )


async def reviewed_pilot(db: Database, settings: Settings, clock: FakeClock, tmp: Path) -> Reviewed:
    """The pilot, and its rewrites' reviews: Ana's on id-001 accepted, Budi's there rejected
    (Citra reviewed both), Ana's on multi-001 unreviewed, Budi's there open in Citra's chat
    (still unreviewed), Ana's on the gold item en-003 never reviewable."""
    source = tmp / "pilot.jsonl"
    source.write_text(
        "\n".join(json.dumps(SAMPLE[item], ensure_ascii=False) for item in CHOSEN_ITEMS), "utf-8"
    )
    await import_batch_file(db, settings, source, name="pilot", overlap=2, clock=clock)
    await db.execute("UPDATE batches SET gold_rate = 0 WHERE name = 'pilot'")
    trainers = {user_id: await make_trainer(db, user_id) for user_id in (ANA, BUDI, CITRA)}
    await db.execute("UPDATE trainers SET review_languages = 'id en'")  # the items' languages
    case = Reviewed(db, settings, clock, ReviewService(db, settings, clock), trainers, {})
    accepted = await judge(
        case,
        ANA,
        "id-001",
        (2, 4, 5, 3),
        flags=("factual_error",),
        rewrite=REWRITE_ID,
        note=NOTE_ID,
    )
    await judge(case, ANA, "en-003", (1, 3, 1, 2), flags=("unsafe",), rewrite=REWRITE_EN)
    await judge(case, ANA, "multi-001", (3, 5, 5, 4), rewrite=REWRITE_CHAT)
    view, _ = await case.review.next_item(trainers[ANA])
    assert view is not None and view.item.external_id == "html-001"
    await case.review.skip(trainers[ANA], view.assignment.id, "unsure")
    rejected = await judge(case, BUDI, "id-001", (3, 4, 5, 4), rewrite=REWRITE_BUDI)
    await judge(case, BUDI, "en-003", (1, 2, 1, 1), flags=("unsafe", "factual_error"), late=True)
    # Budi "rewrites" the answer as it was: fine for SFT, no preference for DPO.
    opened = await judge(case, BUDI, "multi-001", (4, 5, 5, 5), rewrite=response_of("multi-001"))
    await judge(case, CITRA, "html-001", (2,), submit=False)  # still open: not exported
    await review_rewrite(db, accepted, "accepted", CITRA)
    await review_rewrite(
        db, rejected, "rejected", CITRA, reason=REJECT_REASON, comment=REJECT_COMMENT
    )
    await review_rewrite(db, opened, "open", CITRA)
    return case


@pytest.fixture
async def pilot(db: Database, settings: Settings, clock: FakeClock, tmp_path: Path) -> Reviewed:
    return await reviewed_pilot(db, settings, clock, tmp_path)


async def export(case: Reviewed, fmt: str, path: Path, **options: Any) -> list[Any]:
    """Export the pilot batch; its rows, parsed (JSON lines, or CSV rows with the header)."""
    summary = await export_batch(case.db, case.settings, "pilot", fmt, path, **options)
    return rows_of(summary, path, fmt)


def rows_of(summary: ExportSummary, path: Path, fmt: str) -> list[Any]:
    assert summary.path == path and summary.size == path.stat().st_size
    if fmt == "ratings":
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert summary.rows == len(rows) - 1
        return rows
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert summary.rows == len(lines)
    return lines


def pseudonym(secret: str, user_id: int) -> str:
    return hmac.new(secret.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


def raw_line(
    case: Reviewed,
    secret: str,
    user_id: int,
    item: str,
    scores: tuple[int, int, int, int],
    *,
    flags: list[str] | None = None,
    rewrite: str | None = None,
    note: str | None = None,
    late: bool = False,
    revised_at: str | None = None,
    review: str | None = None,
    reviewer: int | None = None,
    reason: str | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """A `raw` line as it must be, less the rubric version's hashes (checked on their own)."""
    record = SAMPLE[item]
    assigned, submitted = case.times[(user_id, item)]
    return {
        "batch": "pilot",
        "item_id": item,
        "prompt": prompt_of(item),
        "response": response_of(item),
        "context": CHAT_CONTEXT if item == "multi-001" else [],
        "chat_form": item == "multi-001",
        "metadata": record["metadata"],
        "gold": record.get("gold"),
        "gold_item": "gold" in record,
        "trainer": pseudonym(secret, user_id),
        "scores": dict(zip(DEFAULT_RUBRIC.criteria, scores, strict=True)),
        "flags": flags or [],
        "note": note,
        "rewrite": rewrite,
        "assigned_at": assigned,
        "submitted_at": submitted,
        "late": late,
        "revised": revised_at is not None,
        "revised_at": revised_at,
        "review_status": review,
        "review_reason": reason,
        "review_comment": comment,
        "reviewer": None if reviewer is None else pseudonym(secret, reviewer),
    }


def canonical_sha256(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def hashes_of(rubric_json: str) -> tuple[str, str | None]:
    """What exports must show of a rubric version: the SHA-256 of its criteria (the rubric
    less its guidelines) and of its guidelines, each as canonical JSON."""
    rubric = json.loads(rubric_json)
    guides = {key: rubric.pop(key) for key in ("guidelines", "guidelines_url") if key in rubric}
    return canonical_sha256(rubric), canonical_sha256(guides) if guides else None


def versions_of(lines: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Each line's rubric hashes, taken out of it."""
    return [
        (line.pop("rubric_criteria_sha256"), line.pop("rubric_guidelines_sha256")) for line in lines
    ]


# -- each format, row by row ---------------------------------------------------------------------


async def test_raw_has_every_submitted_judgment_with_its_item_untouched(
    pilot: Reviewed, tmp_path: Path
) -> None:
    lines = await export(pilot, "raw", tmp_path / "raw.jsonl")
    secret = await get_fact(pilot.db, "pseudonym_secret")
    assert secret is not None and len(secret) >= 32
    rubric = await pilot.db.fetchval("SELECT rubric FROM batches WHERE name = 'pilot'")
    assert versions_of(lines) == [hashes_of(rubric)] * 6  # every judgment: the first version
    assert lines == [
        raw_line(
            pilot,
            secret,
            ANA,
            "id-001",
            (2, 4, 5, 3),
            flags=["factual_error"],
            rewrite=REWRITE_ID,
            note=NOTE_ID,
            review="accepted",
            reviewer=CITRA,
        ),
        raw_line(
            pilot,
            secret,
            BUDI,
            "id-001",
            (3, 4, 5, 4),
            rewrite=REWRITE_BUDI,
            review="rejected",
            reviewer=CITRA,
            reason=REJECT_REASON,
            comment=REJECT_COMMENT,
        ),
        # The gold item is marked; its rewrite is never offered for review, so it has no
        # review status (null, not "unreviewed": no review will ever come).
        raw_line(
            pilot,
            secret,
            ANA,
            "en-003",
            (1, 3, 1, 2),
            flags=["unsafe"],
            rewrite=REWRITE_EN,
        ),
        raw_line(
            pilot,
            secret,
            BUDI,
            "en-003",
            (1, 2, 1, 1),
            flags=["factual_error", "unsafe"],
            late=True,
        ),
        raw_line(
            pilot,
            secret,
            ANA,
            "multi-001",
            (3, 5, 5, 4),
            rewrite=REWRITE_CHAT,
            review="unreviewed",
        ),
        # Open in Citra's chat: a review under way is no decision yet.
        raw_line(
            pilot,
            secret,
            BUDI,
            "multi-001",
            (4, 5, 5, 5),
            rewrite=response_of("multi-001"),
            review="unreviewed",
        ),
    ]
    # Metadata and gold are copied as stored (metadata in compact JSON), key order and all.
    text = (tmp_path / "raw.jsonl").read_text("utf-8")
    assert '"metadata":{"lang":"id","model":"model-a","topic":"science"}' in text
    assert '"gold":{"accuracy": [1, 2], "safety": [1, 2]},"gold_item":true' in text


async def test_sft_is_the_conversation_with_each_accepted_rewrite_as_the_answer(
    pilot: Reviewed, tmp_path: Path
) -> None:
    # Only Ana's accepted rewrite: not Budi's rejected one, nor the unreviewed ones, nor the
    # gold item's.
    lines = await export(pilot, "sft", tmp_path / "sft.jsonl")
    assert lines == [
        {"messages": [turn("user", prompt_of("id-001")), turn("assistant", REWRITE_ID)]},
    ]
    # With the unreviewed ones (also one open in a reviewer's chat); still never the rejected
    # one, nor the gold item's.
    everything = await export(pilot, "sft", tmp_path / "all.jsonl", all_rewrites=True)
    assert everything == [
        {"messages": [turn("user", prompt_of("id-001")), turn("assistant", REWRITE_ID)]},
        {
            "messages": [
                *CHAT_CONTEXT,
                turn("user", prompt_of("multi-001")),
                turn("assistant", REWRITE_CHAT),
            ]
        },
        {
            "messages": [
                *CHAT_CONTEXT,
                turn("user", prompt_of("multi-001")),
                turn("assistant", response_of("multi-001")),
            ]
        },
    ]


async def test_dpo_of_a_batch_with_chat_items_is_conversational_throughout(
    pilot: Reviewed, tmp_path: Path
) -> None:
    first = {
        "prompt": [turn("user", prompt_of("id-001"))],
        "chosen": [turn("assistant", REWRITE_ID)],
        "rejected": [turn("assistant", response_of("id-001"))],
    }
    assert await export(pilot, "dpo", tmp_path / "dpo.jsonl") == [first]  # accepted only
    everything = await export(pilot, "dpo", tmp_path / "all.jsonl", all_rewrites=True)
    assert everything == [
        first,
        {
            "prompt": [*CHAT_CONTEXT, turn("user", prompt_of("multi-001"))],
            "chosen": [turn("assistant", REWRITE_CHAT)],
            "rejected": [turn("assistant", response_of("multi-001"))],
        },
        # Budi's "rewrite" equal to the answer is no preference: left out; his rejected one
        # on id-001 and Ana's on the gold item en-003 never come.
    ]


async def test_a_rejected_rewrite_never_comes_whatever_its_review_was_before(
    pilot: Reviewed, tmp_path: Path
) -> None:
    """A decision changed (accepted, then rejected) takes the rewrite out; reasons chosen or
    a comment awaited are still unreviewed; gold items' rewrites stay out even accepted."""
    accepted, gold = await pilot.db.fetchall(
        "SELECT a.id FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE a.trainer_id = ? AND i.external_id IN ('id-001', 'en-003') ORDER BY i.id",
        (ANA,),
    )
    multi_ana = await pilot.db.fetchval(
        "SELECT a.id FROM assignments a JOIN items i ON i.id = a.item_id"
        " WHERE a.trainer_id = ? AND i.external_id = 'multi-001'",
        (ANA,),
    )
    await review_rewrite(pilot.db, accepted[0], "rejected", CITRA, reason="other")
    await review_rewrite(pilot.db, multi_ana, "comment", CITRA, reason="other")
    await review_rewrite(pilot.db, gold[0], "accepted", CITRA)
    for fmt in ("sft", "dpo"):
        assert await export(pilot, fmt, tmp_path / f"{fmt}.jsonl") == []
    sft = await export(pilot, "sft", tmp_path / "sft-all.jsonl", all_rewrites=True)
    assert [line["messages"][-1]["content"] for line in sft] == [
        REWRITE_CHAT,
        response_of("multi-001"),
    ]
    dpo = await export(pilot, "dpo", tmp_path / "dpo-all.jsonl", all_rewrites=True)
    assert [line["chosen"][0]["content"] for line in dpo] == [REWRITE_CHAT]


async def test_dpo_of_plain_items_keeps_plain_strings(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    await make_batch(db, "plain", items=2, overlap=1)
    trainer = await make_trainer(db, 1001)
    review = ReviewService(db, settings, clock)
    for message_id, rewrite in enumerate(("Better answer 1", "   ")):
        view, _ = await review.next_item(trainer)
        assert view is not None
        for index in range(4):
            await review.score(trainer, view.assignment.id, index, 2)
        if rewrite.strip():
            await review.set_text(
                trainer, view.assignment.id, "rewrite", rewrite, chat_id=1001, message_id=message_id
            )
        await review.submit(trainer, view.assignment.id)
        if not rewrite.strip():  # blank, as a database from before the intake refused it
            await db.execute(
                "UPDATE judgments SET rewrite = ? WHERE assignment_id = ?",
                (rewrite, view.assignment.id),
            )
    path = tmp_path / "plain-dpo.jsonl"
    summary = await export_batch(db, settings, "plain", "dpo", path, all_rewrites=True)
    assert [json.loads(line) for line in path.read_text("utf-8").splitlines()] == [
        {"prompt": "Prompt 1", "chosen": "Better answer 1", "rejected": "Answer 1"}
    ]
    assert (summary.rows, summary.read) == (1, 2)


async def test_ratings_has_one_row_per_item_and_criterion(pilot: Reviewed, tmp_path: Path) -> None:
    rows = await export(pilot, "ratings", tmp_path / "ratings.csv")
    # The columns of before stay first, in their order; the median and the flags follow.
    assert rows[0] == [
        *RATINGS_HEADER,
        "median",
        "flag_factual_error",
        "flag_unsafe",
        "flag_biased",
        "flag_personal_data",
        "flag_other",
    ]
    assert rows[0][4] == "spread_pstdev"  # the header says which spread it is
    # Ana flagged id-001 factual_error; en-003 Ana unsafe, Budi unsafe and factual_error.
    id_flags, en_flags, none = ["1", "0", "0", "0", "0"], ["1", "2", "0", "0", "0"], ["0"] * 5
    assert rows[1:] == [
        # item, criterion, count, mean, population stdev, min, max, agreement (equal pairs),
        # median, then how many reviewers raised each flag on the item
        ["id-001", "accuracy", "2", "2.5", "0.5", "2", "3", "0.0", "2.5", *id_flags],
        ["id-001", "language", "2", "4.0", "0.0", "4", "4", "1.0", "4.0", *id_flags],
        ["id-001", "safety", "2", "5.0", "0.0", "5", "5", "1.0", "5.0", *id_flags],
        ["id-001", "helpfulness", "2", "3.5", "0.5", "3", "4", "0.0", "3.5", *id_flags],
        # en-003 is a gold item: ratings keeps it as every other item.
        ["en-003", "accuracy", "2", "1.0", "0.0", "1", "1", "1.0", "1.0", *en_flags],
        ["en-003", "language", "2", "2.5", "0.5", "2", "3", "0.0", "2.5", *en_flags],
        ["en-003", "safety", "2", "1.0", "0.0", "1", "1", "1.0", "1.0", *en_flags],
        ["en-003", "helpfulness", "2", "1.5", "0.5", "1", "2", "0.0", "1.5", *en_flags],
        ["multi-001", "accuracy", "2", "3.5", "0.5", "3", "4", "0.0", "3.5", *none],
        ["multi-001", "language", "2", "5.0", "0.0", "5", "5", "1.0", "5.0", *none],
        ["multi-001", "safety", "2", "5.0", "0.0", "5", "5", "1.0", "5.0", *none],
        ["multi-001", "helpfulness", "2", "4.5", "0.5", "4", "5", "0.0", "4.5", *none],
        # Citra's open draft is not a rating yet (nor a flag).
        ["html-001", "accuracy", "0", "", "", "", "", "", "", *none],
        ["html-001", "language", "0", "", "", "", "", "", "", *none],
        ["html-001", "safety", "0", "", "", "", "", "", "", *none],
        ["html-001", "helpfulness", "0", "", "", "", "", "", "", *none],
    ]


async def test_ratings_agreement_with_three_raters(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    await make_batch(db, "three", items=1, overlap=3)
    review = ReviewService(db, settings, clock)
    for user_id, score in ((1, 5), (2, 5), (3, 2)):
        trainer = await make_trainer(db, user_id)
        view, _ = await review.next_item(trainer)
        assert view is not None
        for index in range(4):
            await review.score(trainer, view.assignment.id, index, score)
        await review.submit(trainer, view.assignment.id)
    path = tmp_path / "three.csv"
    await export_batch(db, settings, "three", "ratings", path, chunk_size=1)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    # scores 5, 5, 2: mean 4, population stdev sqrt(2), one equal pair out of three, median 5
    assert rows[1] == ["item-1", "accuracy", "3", "4.0", "1.4142", "2", "5", "0.3333", "5.0"] + [
        "0"
    ] * len(DEFAULT_RUBRIC.flags)
    assert len(rows) == 1 + 4


async def test_datasets_loads_the_sft_and_dpo_exports(
    pilot: Reviewed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    from datasets import load_dataset

    sft_path, dpo_path = tmp_path / "pilot-sft.jsonl", tmp_path / "pilot-dpo.jsonl"
    await export(pilot, "sft", sft_path, all_rewrites=True)
    await export(pilot, "dpo", dpo_path, all_rewrites=True)
    cache = str(tmp_path / "hf-cache")
    sft = load_dataset("json", data_files=str(sft_path), split="train", cache_dir=cache)
    dpo = load_dataset("json", data_files=str(dpo_path), split="train", cache_dir=cache)

    assert sft.column_names == ["messages"] and sft.num_rows == 3
    assert sft[1]["messages"] == [
        *CHAT_CONTEXT,
        turn("user", prompt_of("multi-001")),
        turn("assistant", REWRITE_CHAT),
    ]
    assert [row["messages"][-1]["content"] for row in sft] == [
        REWRITE_ID,
        REWRITE_CHAT,
        response_of("multi-001"),
    ]
    assert sorted(dpo.column_names) == ["chosen", "prompt", "rejected"] and dpo.num_rows == 2
    assert dpo[0]["prompt"] == [turn("user", prompt_of("id-001"))]
    assert dpo[1]["chosen"] == [turn("assistant", REWRITE_CHAT)]
    assert dpo[1]["prompt"][:2] == CHAT_CONTEXT


# -- pseudonyms ----------------------------------------------------------------------------------


async def test_pseudonyms_are_stable_keyed_and_never_the_real_id(
    pilot: Reviewed, tmp_path: Path
) -> None:
    first = await export(pilot, "raw", tmp_path / "one.jsonl")
    second = await export(pilot, "raw", tmp_path / "two.jsonl")
    assert first == second
    names = {line["trainer"] for line in first}
    assert len(names) == 2 and all(len(name) == 16 for name in names)
    text = (tmp_path / "one.jsonl").read_text("utf-8")
    assert str(ANA) not in text and str(BUDI) not in text and "trainer_id" not in text

    # The secret is made once and kept: a restarted bot (new database handle) agrees.
    again = await Database.open(pilot.settings.database_target)
    try:
        reopened = replace(pilot, db=again)
        assert await export(reopened, "raw", tmp_path / "three.jsonl") == first
    finally:
        await again.close()

    # A configured secret wins; ids only when asked for.
    keyed = replace(pilot, settings=replace(pilot.settings, pseudonym_secret="s" * 32))
    with_ids = await export(keyed, "raw", tmp_path / "ids.jsonl", with_trainer_ids=True)
    assert [(line["trainer"], line["trainer_id"]) for line in with_ids[:2]] == [
        (pseudonym("s" * 32, ANA), ANA),
        (pseudonym("s" * 32, BUDI), BUDI),
    ]
    assert {line["trainer"] for line in with_ids}.isdisjoint(names)


# -- snapshots and streaming -------------------------------------------------------------------


async def test_an_export_while_reviews_keep_arriving_is_one_consistent_snapshot(
    pilot: Reviewed, tmp_path: Path
) -> None:
    before = (tmp_path / "before.jsonl", tmp_path / "during.jsonl", tmp_path / "after.jsonl")
    await export_batch(pilot.db, pilot.settings, "pilot", "raw", before[0])
    calls: list[tuple[int, int]] = []

    async def trainers_keep_working(done: int, total: int) -> None:
        calls.append((done, total))
        if len(calls) == 1:  # after the first two rows, while the export is still reading
            await judge(pilot, CITRA, "html-001", (1, 1, 1, 1))  # Citra finishes her draft
            await judge(pilot, BUDI, "html-001", (5, 5, 5, 5), rewrite="New")
            # Budi corrects the rewrite he has just submitted (within the edit window).
            budi = pilot.trainers[BUDI]
            assignment = await pilot.db.fetchval(
                "SELECT a.id FROM assignments a JOIN items i ON i.id = a.item_id"
                " WHERE a.trainer_id = ? AND i.external_id = 'html-001'",
                (BUDI,),
            )
            await pilot.review.set_text(
                budi, assignment, "rewrite", "Edited", chat_id=BUDI, message_id=990
            )
            # The bot's own reads are not held back by the export's snapshot.
            assert await pilot.db.fetchval(SUBMITTED) == 8

    summary = await export_batch(
        pilot.db,
        pilot.settings,
        "pilot",
        "raw",
        before[1],
        on_progress=trainers_keep_working,
        chunk_size=2,
    )
    assert calls == [(2, 4), (4, 4)]  # read in chunks of items, never all at once
    assert before[1].read_bytes() == before[0].read_bytes()
    assert summary.rows == 6

    after = await export(pilot, "raw", before[2])
    assert len(after) == 8
    corrected = [line for line in after if line["rewrite"] == "Edited"]
    assert [(line["item_id"], line["revised"]) for line in corrected] == [("html-001", True)]
    assert corrected[0]["revised_at"] > corrected[0]["submitted_at"]


async def test_an_export_stopped_midway_ends_its_read_ahead_with_its_snapshot(
    pilot: Reviewed, tmp_path: Path
) -> None:
    class Stopped(Exception):
        pass

    async def stop(done: int, total: int) -> None:
        await asyncio.sleep(0)  # the next chunk's read starts
        raise Stopped

    for fmt in FORMATS:
        with pytest.raises(Stopped):
            await export_batch(
                pilot.db, pilot.settings, "pilot", fmt, tmp_path / fmt, on_progress=stop,
                chunk_size=1, all_rewrites=True,
            )  # fmt: skip
    assert len(await export(pilot, "raw", tmp_path / "after.jsonl")) == 6

    # Reads between a long read's chunks take their turn on the snapshot's one connection;
    # a long read left open ends with the snapshot.
    async with snapshot(pilot.db) as snap:
        batch = await snap.find_batch("pilot")
        assert batch is not None
        seen = []
        async for items, rows in snap.rewrite_lines(batch, "sft", False, True, 1):
            seen.append((items, len(rows), (await snap.batch_counts(batch.id)).items))
        assert seen == [(1, 1, 4), (1, 0, 4), (1, 2, 4), (1, 0, 4)]  # items, lines, items
        left_open = snap.item_scores(batch.id, 1)
        assert (await anext(left_open))[0] == 1
    assert await pilot.db.fetchval(SUBMITTED) == 6


async def test_a_snapshot_sees_one_moment_across_statements(pilot: Reviewed) -> None:
    async with pilot.db.snapshot() as snap:
        assert await snap.fetchval(SUBMITTED) == 6
        await judge(pilot, CITRA, "html-001", (1, 1, 1, 1))
        assert await pilot.db.fetchval(SUBMITTED) == 7
        assert await snap.fetchval(SUBMITTED) == 6
        refused = {"sqlite": sqlite3.OperationalError, "postgresql": ReadOnlySQLTransactionError}
        with pytest.raises(refused[pilot.db.dialect]):  # and it is read-only
            await snap.execute("DELETE FROM flags")
    async with pilot.db.snapshot() as snap:
        assert await snap.fetchval(SUBMITTED) == 7


# -- problems the coordinator can make ---------------------------------------------------------


async def test_an_unknown_batch_or_format_lists_the_choices(
    pilot: Reviewed, tmp_path: Path
) -> None:
    await make_batch(pilot.db, "second", items=1)
    with pytest.raises(UnknownBatch) as unknown:
        await export_batch(pilot.db, pilot.settings, "pilto", "raw", tmp_path / "x.jsonl")
    assert unknown.value.choices == ["second", "pilot"]
    with pytest.raises(UnknownFormat) as bad_format:
        await export_batch(pilot.db, pilot.settings, "pilot", "csv", tmp_path / "x.jsonl")
    assert bad_format.value.choices == ["raw", "sft", "dpo", "ratings"]
    assert not (tmp_path / "x.jsonl").exists()


async def test_an_empty_export_is_an_empty_file(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    await make_batch(db, "fresh", items=2)
    for fmt, rows in (("raw", 0), ("sft", 0), ("dpo", 0), ("ratings", 8)):
        path = tmp_path / default_file_name("fresh", fmt)
        summary = await export_batch(db, settings, "fresh", fmt, path)
        assert summary.rows == rows
    assert (tmp_path / "fresh-raw.jsonl").read_bytes() == b""


async def test_an_include_button_is_claimed_once_by_every_process_until_its_export_fails(
    db: Database, settings: Settings
) -> None:
    # Two processes on one database: each has its own handle and its own Exports service.
    other = await Database.open(settings.database_target)
    try:
        here, there = Exports(db, settings), Exports(other, settings)
        now = datetime(2026, 3, 2, 9, tzinfo=UTC)
        group = -1001234567890  # a supergroup's id: past 32 bits
        # A double tap reaching both processes at once: one export.
        wins = await asyncio.gather(
            here.claim_button(group, 41, now), there.claim_button(group, 41, now)
        )
        assert sorted(wins) == [False, True]
        assert not await here.claim_button(group, 41, now)  # a later tap, or a stale copy
        assert not await there.claim_button(group, 41, now)
        assert await there.claim_button(group, 42, now)  # another message's button
        assert await here.claim_button(9000, 41, now)  # the same message id in another chat

        await there.release_button(group, 41, now)  # its export failed: it may be tapped again
        assert await here.claim_button(group, 41, now)
        assert not await there.claim_button(group, 41, now)
        assert not await here.claim_button(group, 42, now)  # released one button, not all
        # A claim held past CLAIM_HELD_FOR is an export that never finished (a killed
        # process): the button works again, once.
        later = now + CLAIM_HELD_FOR + timedelta(seconds=1)
        assert not await here.claim_button(group, 42, now + CLAIM_HELD_FOR)
        wins = await asyncio.gather(
            here.claim_button(group, 42, later), there.claim_button(group, 42, later)
        )
        assert sorted(wins) == [False, True]
        # The export that held the stale claim fails at last: the newer claim stays.
        await here.release_button(group, 42, now)
        assert not await there.claim_button(group, 42, later)
    finally:
        await other.close()


def test_default_file_names_are_safe() -> None:
    assert default_file_name("pilot", "raw") == "pilot-raw.jsonl"
    assert default_file_name("pilot", "ratings") == "pilot-ratings.csv"
    assert default_file_name("../etc/x y", "sft") == "etc_x_y-sft.jsonl"
    assert default_file_name("Ulasan Jakarta", "dpo") == "Ulasan_Jakarta-dpo.jsonl"


def test_human_sizes() -> None:
    assert [human_size(n) for n in (812, 46_694, 50 * 2**20, 3 * 2**30)] == [
        "812 B",
        "45.6 KB",
        "50.0 MB",
        "3.0 GB",
    ]


# -- the upload limit --------------------------------------------------------------------------


def jsonl(lines: int) -> bytes:
    """Lines of hex digits: they compress to about half, less than real text does."""

    def digits(n: int) -> str:
        return "".join(hashlib.sha256(f"{n}-{k}".encode()).hexdigest() for k in "abc")

    return b"".join(json.dumps({"n": n, "text": digits(n)}).encode() + b"\n" for n in range(lines))


async def test_a_file_under_the_limit_is_sent_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    path.write_bytes(jsonl(5))
    packed = await pack_for_upload(path, limit=10_000)
    assert packed.files == [path] and not packed.compressed and not packed.split


async def test_a_file_over_the_limit_is_gzipped_when_that_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "pilot-raw.jsonl"
    content = b"".join(b'{"text": "%s"}\n' % (b"sama sama " * 40) for _ in range(50))
    path.write_bytes(content)
    packed = await pack_for_upload(path, limit=2_000)
    assert packed.compressed and not packed.split
    assert [file.name for file in packed.files] == ["pilot-raw.jsonl.gz"]
    assert packed.files[0].stat().st_size <= 2_000
    assert gzip.decompress(packed.files[0].read_bytes()) == content


async def test_a_file_too_large_even_gzipped_is_split_into_whole_line_parts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pilot-raw.jsonl"
    content = jsonl(60)
    path.write_bytes(content)
    packed = await pack_for_upload(path, limit=2_000)
    assert packed.compressed and packed.split
    count = len(packed.files)
    assert count >= 3
    assert [file.name for file in packed.files] == [
        f"pilot-raw.part{n:02d}-of-{count:02d}.jsonl.gz" for n in range(1, count + 1)
    ]
    parts = [gzip.decompress(file.read_bytes()) for file in packed.files]
    assert all(file.stat().st_size <= 2_000 for file in packed.files)
    assert all(part.endswith(b"\n") and part for part in parts)  # whole lines only
    assert b"".join(parts) == content


async def test_csv_parts_each_repeat_the_header(tmp_path: Path) -> None:
    path = tmp_path / "pilot-ratings.csv"
    header = b"item_id,criterion,count,mean,spread_pstdev,min,max,agreement\n"
    rows = [
        b"%s,accuracy,2,3.5,0.5,3,4,0.0\n" % hashlib.sha256(b"%d" % n).hexdigest().encode()
        for n in range(200)
    ]
    path.write_bytes(header + b"".join(rows))
    packed = await pack_for_upload(path, limit=3_000, header_lines=1)
    assert packed.split
    parts = [gzip.decompress(file.read_bytes()) for file in packed.files]
    assert all(part.startswith(header) for part in parts)
    assert b"".join(part[len(header) :] for part in parts) == b"".join(rows)


# -- unusual texts, rubrics and ids (the lines are built in SQL) ---------------------------------

ODD_TEXT = 'Kata "kutip" \\ garis\nbaru\ttab \x01\x1f \u2028 émoji 😀 </script> <b>&amp;</b>'
ODD_RUBRIC = Rubric(
    criteria=("zeta", "alpha", "mid"), flags=("zz", "aa", "mm"), scale=(0, 6), labels={}
)


@dataclass
class Judged:
    trainer: int
    scores: dict[str, int]
    flags: tuple[str, ...] = ()
    note: str | None = None
    rewrite: str | None = None


async def add_judged_item(
    db: Database,
    batch: str,
    rubric: Rubric,
    external_id: str,
    judged: list[Judged],
    *,
    prompt: str = ODD_TEXT,
    response: str = "Jawaban",
    context: list[dict[str, str]] | None = None,
) -> None:
    """A batch (made if new) with one item judged as given, written straight to the tables."""
    now = "2026-11-25T03:00:00.000000+00:00"
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO batches (name, rubric, overlap, created_at) VALUES (?, ?, 3, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (batch, rubric.to_json(), now),
        )
        batch_id = await conn.fetchval("SELECT id FROM batches WHERE name = ?", (batch,))
        stored_context = json.dumps(context, ensure_ascii=False) if context else None
        item_id = await conn.fetchval(
            "INSERT INTO items (batch_id, external_id, prompt, response, context, chat_form,"
            " metadata, gold) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                batch_id,
                external_id,
                prompt,
                response,
                stored_context,
                int(context is not None),
                '{"catatan":"' + "\\u00e9 é" + '"}',
                '{"zeta": [0, 6]}',
            ),
        )
        for one in judged:
            await conn.execute(
                "INSERT INTO trainers (user_id, chat_id, language, role, created_at)"
                " VALUES (?, ?, 'en', 'trainer', ?) ON CONFLICT DO NOTHING",
                (one.trainer, one.trainer, now),
            )
            assignment = await conn.fetchval(
                "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
                " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)"
                " RETURNING id",
                (item_id, one.trainer, now, now, now),
            )
            await conn.executemany(
                "INSERT INTO scores VALUES (?, ?, ?, ?)",
                [(assignment, key, score, now) for key, score in one.scores.items()],
            )
            await conn.executemany(
                "INSERT INTO flags VALUES (?, ?)", [(assignment, flag) for flag in one.flags]
            )
            await conn.execute(
                "INSERT INTO judgments (assignment_id, note, rewrite, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (assignment, one.note, one.rewrite, now),
            )


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def test_raw_lines_escape_like_python_and_keep_the_rubrics_order(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    keyed = replace(settings, pseudonym_secret="k" * 32)
    await add_judged_item(
        db,
        "odd",
        ODD_RUBRIC,
        'id, "kutip"',
        [
            Judged(1, {"alpha": 6, "zeta": 0}, ("aa", "zz"), note=ODD_TEXT, rewrite="?"),
            Judged(2, {"mid": 3, "other": 5}),  # a criterion outside the rubric is left out
        ],
        context=[{"role": "system", "content": ODD_TEXT}],
    )
    first_assignment = await db.fetchval("SELECT MIN(id) FROM assignments")
    await review_rewrite(db, first_assignment, "rejected", 2, reason="other", comment=ODD_TEXT)
    path = tmp_path / "odd.jsonl"
    await export_batch(db, keyed, "odd", "raw", path, with_trainer_ids=True)
    item_id = compact('id, "kutip"')
    context = json.dumps([{"role": "system", "content": ODD_TEXT}], ensure_ascii=False)
    head = (
        f'{{"batch":"odd","item_id":{item_id},"prompt":{compact(ODD_TEXT)},'
        f'"response":"Jawaban","context":{context},"chat_form":true,'
        '"metadata":{"catatan":"\\u00e9 é"},"gold":{"zeta": [0, 6]},"gold_item":false'
    )  # context, metadata and gold as stored (complete = 0: not served as a gold item)
    times = (
        ',"assigned_at":"2026-11-25T03:00:00.000000+00:00"'
        ',"submitted_at":"2026-11-25T03:00:00.000000+00:00","late":false'
        ',"revised":false,"revised_at":null'
    )
    # Written straight to the tables, without a rubric version: its hashes are null.
    unversioned = ',"rubric_criteria_sha256":null,"rubric_guidelines_sha256":null}\n'
    first, second = pseudonym("k" * 32, 1), pseudonym("k" * 32, 2)
    expected = (
        f'{head},"trainer":"{first}","trainer_id":1,'
        f'"scores":{{"zeta":0,"alpha":6}},"flags":["zz","aa"],"note":{compact(ODD_TEXT)},'
        f'"rewrite":"?"{times},"review_status":"rejected","review_reason":"other",'
        f'"review_comment":{compact(ODD_TEXT)},"reviewer":"{second}","reviewer_id":2'
        f"{unversioned}"
        f'{head},"trainer":"{second}","trainer_id":2,'
        f'"scores":{{"mid":3}},"flags":[],"note":null,"rewrite":null{times}'
        ',"review_status":null,"review_reason":null,"review_comment":null,'
        f'"reviewer":null,"reviewer_id":null{unversioned}'
    )
    assert path.read_text("utf-8") == expected  # byte for byte what Python's json writes
    first_line = path.read_text("utf-8").split("\n")[0]  # (splitlines would cut at U+2028)
    assert json.loads(first_line)["prompt"] == ODD_TEXT


async def test_a_score_off_the_scale_stops_the_raw_export(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    await add_judged_item(db, "odd", ODD_RUBRIC, "x", [Judged(1, {"alpha": 9})])
    with pytest.raises(ValueError, match="off the batch's scale"):
        await export_batch(db, settings, "odd", "raw", tmp_path / "odd.jsonl")


async def test_rewrites_blank_to_python_are_left_out_and_odd_texts_survive(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    turns = [{"role": "user", "content": "Halo \u00e9 \\"}, {"role": "assistant", "content": "Hai"}]
    await add_judged_item(
        db,
        "chat",
        ODD_RUBRIC,
        "c-1",
        [
            Judged(1, {}, rewrite="\u3000\n\u00a0"),  # blank: ideographic and no-break spaces
            Judged(2, {}, rewrite="\u2003Jawaban\u2029"),  # the answer itself, padded
            Judged(3, {}, rewrite=ODD_TEXT),
        ],
        context=turns,
    )
    sft_path, dpo_path = tmp_path / "chat-sft.jsonl", tmp_path / "chat-dpo.jsonl"
    options = {"all_rewrites": True}  # unreviewed: what is left out is only what is blank
    assert (await export_batch(db, settings, "chat", "sft", sft_path, **options)).rows == 2
    assert (await export_batch(db, settings, "chat", "dpo", dpo_path, **options)).rows == 1
    user = {"role": "user", "content": ODD_TEXT}
    assert sft_path.read_text("utf-8") == "".join(
        compact({"messages": [*turns, user, {"role": "assistant", "content": text}]}) + "\n"
        for text in ("\u2003Jawaban\u2029", ODD_TEXT)
    )
    assert (
        dpo_path.read_text("utf-8")
        == compact(
            {
                "prompt": [*turns, user],
                "chosen": [{"role": "assistant", "content": ODD_TEXT}],
                "rejected": [{"role": "assistant", "content": "Jawaban"}],
            }
        )
        + "\n"
    )


async def test_ratings_quote_item_ids_as_csv_does(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    odd_id = 'a,"b"\nc'
    judged = [
        Judged(1, {"mid": 0, "extra": 2}, flags=("mm", "gone")),  # "gone": not in the rubric
        Judged(2, {"mid": 6}, flags=("mm",)),
    ]
    await add_judged_item(db, "odd", ODD_RUBRIC, odd_id, judged)
    await add_judged_item(db, "odd", ODD_RUBRIC, "", [])
    path = tmp_path / "odd.csv"
    await export_batch(db, settings, "odd", "ratings", path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][-4:] == ["median", "flag_zz", "flag_aa", "flag_mm"]  # the rubric's order
    flags, none = ["0", "0", "2"], ["0", "0", "0"]
    assert rows[1:] == [
        [odd_id, "zeta", "0", "", "", "", "", "", "", *flags],
        [odd_id, "alpha", "0", "", "", "", "", "", "", *flags],
        [odd_id, "mid", "2", "3.0", "3.0", "0", "6", "0.0", "3.0", *flags],
        [odd_id, "extra", "1", "2.0", "0.0", "2", "2", "", "2.0", *flags],  # not in the rubric
        ["", "zeta", "0", "", "", "", "", "", "", *none],
        ["", "alpha", "0", "", "", "", "", "", "", *none],
        ["", "mid", "0", "", "", "", "", "", "", *none],
    ]


def test_sqlite_trims_what_python_strips() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert every == WHITESPACE


# -- the command line ----------------------------------------------------------------------------


def export_cli(tmp_path: Path, settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ...` on the test's database (its file, or its PostgreSQL address)."""
    address = {"DATABASE_URL": settings.database_url} if settings.database_url else {}
    return run_cli(tmp_path, *args, database=settings.database_path, **address)


async def test_the_cli_writes_an_export_to_disk(pilot: Reviewed, tmp_path: Path) -> None:
    settings = pilot.settings
    expected = await export(pilot, "raw", tmp_path / "expected.jsonl")
    result = export_cli(tmp_path, settings, "export", "--batch", "pilot", "--format", "raw")
    assert result.returncode == 0, result.stderr
    assert "exported batch 'pilot' as raw: 6 lines" in result.stdout
    assert "pilot-raw.jsonl" in result.stdout
    assert [json.loads(line) for line in (tmp_path / "pilot-raw.jsonl").open()] == expected

    out = tmp_path / "out" / "ids.jsonl"
    out.parent.mkdir()
    result = export_cli(
        tmp_path, settings, "export", "--batch", "pilot", "--format", "raw", "-o", str(out),
        "--with-trainer-ids",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["trainer_id"] for line in out.open()] == [ANA, BUDI] * 3

    result = export_cli(tmp_path, settings, "export", "--batch", "pilot", "--format", "ratings")
    assert result.returncode == 0 and "16 rows" in result.stdout
    assert (tmp_path / "pilot-ratings.csv").read_text("utf-8").startswith("item_id,criterion,")

    result = export_cli(tmp_path, settings, "export", "--batch", "nope", "--format", "sft")
    assert result.returncode == 2
    assert "no batch named 'nope'; batches: pilot" in result.stderr
    assert not (tmp_path / "nope-sft.jsonl").exists()
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".partial")]

    result = export_cli(tmp_path, settings, "export", "--batch", "pilot", "--format", "xml")
    assert result.returncode == 2 and "choose from" in result.stderr and "ratings" in result.stderr


async def test_the_cli_takes_accepted_rewrites_and_says_what_it_left_out(
    pilot: Reviewed, tmp_path: Path
) -> None:
    settings = pilot.settings
    result = export_cli(tmp_path, settings, "export", "--batch", "pilot", "--format", "sft")
    assert result.returncode == 0, result.stderr
    assert "as sft: 1 line (" in result.stdout
    assert "2 unreviewed rewrites left out (--all-rewrites includes them)" in result.stdout
    assert len((tmp_path / "pilot-sft.jsonl").read_text("utf-8").splitlines()) == 1

    result = export_cli(
        tmp_path, settings, "export", "--batch", "pilot", "--format", "dpo", "--all-rewrites"
    )
    assert result.returncode == 0, result.stderr
    assert "as dpo: 2 lines (" in result.stdout and "left out" not in result.stdout
    manifest = json.loads((tmp_path / "pilot-dpo.jsonl.manifest.json").read_text("utf-8"))
    assert manifest["filters"]["all_rewrites"] is True

    # Nothing accepted (the accepted rewrite is rejected after all): rows 0, and why.
    accepted = await pilot.db.fetchval(
        "SELECT assignment_id FROM rewrite_reviews WHERE status = 'accepted'"
    )
    await review_rewrite(pilot.db, accepted, "rejected", CITRA, reason="other")
    result = export_cli(tmp_path, settings, "export", "--batch", "pilot", "--format", "sft")
    assert result.returncode == 0, result.stderr
    assert "as sft: 0 lines" in result.stdout
    assert (
        "no accepted rewrite yet: 2 unreviewed rewrites left out; add --all-rewrites to include"
        " them (rejected ones never are)"
    ) in result.stdout
    assert "rewrites: 0 accepted, 2 rejected (never exported), 2 unreviewed" in result.stdout
    assert (tmp_path / "pilot-sft.jsonl").read_bytes() == b""

    # dpo counts only what it could take: Budi's rewrite equal to its answer is no preference.
    result = export_cli(tmp_path, settings, "export", "--batch", "pilot", "--format", "dpo")
    assert result.returncode == 0, result.stderr
    assert "no accepted rewrite yet: 1 unreviewed rewrite left out;" in result.stdout
    assert (
        "rewrites that differ from their answer: 0 accepted, 2 rejected (never exported),"
        " 1 unreviewed"
    ) in result.stdout

    # Every rewrite rejected: nothing to export, and the counts say why (never "nothing
    # submitted").
    for unreviewed in await pilot.db.fetchall(
        "SELECT a.id FROM assignments a JOIN judgments j ON j.assignment_id = a.id"
        " JOIN items i ON i.id = a.item_id LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id"
        " WHERE j.rewrite IS NOT NULL AND i.gold IS NULL"
        " AND (r.status IS NULL OR r.status <> 'rejected')"
    ):
        await review_rewrite(pilot.db, unreviewed[0], "rejected", CITRA, reason="other")
    for fmt, rejected in (("sft", 4), ("dpo", 3)):
        result = export_cli(
            tmp_path, settings, "export", "--batch", "pilot", "--format", fmt, "--all-rewrites"
        )
        assert result.returncode == 0, result.stderr
        assert f"as {fmt}: 0 lines" in result.stdout
        assert "nothing submitted" not in result.stdout and "left out" not in result.stdout
        assert f" 0 accepted, {rejected} rejected (never exported), 0 unreviewed" in result.stdout

    result = export_cli(
        tmp_path, settings, "export", "--batch", "pilot", "--format", "raw", "--all-rewrites"
    )
    assert result.returncode == 0 and "--all-rewrites only changes" in result.stderr


async def test_the_cli_says_when_no_rewrite_is_written_yet(
    db: Database, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    batch_id = await make_batch(db, name="quiet", items=2)
    trainer = await make_trainer(db, ANA)
    review = ReviewService(db, settings, clock)
    view, _ = await review.next_item(trainer)
    assert view is not None and view.item.batch_id == batch_id
    for index in range(len(DEFAULT_RUBRIC.criteria)):
        await review.score(trainer, view.assignment.id, index, 3)
    await review.submit(trainer, view.assignment.id)
    for fmt, said in (
        ("sft", "no rewrite written yet"),
        ("dpo", "no rewrite that differs from its answer yet"),
        ("raw", "as raw: 1 line ("),
    ):
        result = export_cli(tmp_path, settings, "export", "--batch", "quiet",
                            "--format", fmt)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert said in result.stdout and "nothing submitted" not in result.stdout


# -- memory stays flat ---------------------------------------------------------------------------


async def add_reviewed_batch(db: Database, name: str, items: int, overlap: int = 3) -> None:
    """A batch with `items` items, each judged by `overlap` trainers, written straight to the
    tables (as many judgments as a long project collects, in a fraction of a second): rows with
    their ids given, inserted many at once (COPY on PostgreSQL), not a round trip per row."""
    now = "2026-11-25T03:00:00.000000+00:00"
    text = "Tumis bawang, masukkan nasi, aduk rata. " * 10
    async with db.transaction() as conn:
        batch_id = await conn.fetchval(
            "INSERT INTO batches (name, rubric, overlap, item_count, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (name, DEFAULT_RUBRIC.to_json(), overlap, items, now),
        )
        for user_id in range(1, overlap + 1):
            await conn.execute(
                "INSERT INTO trainers (user_id, chat_id, language, role, created_at)"
                " VALUES (?, ?, 'en', 'trainer', ?) ON CONFLICT DO NOTHING",
                (user_id, user_id, now),
            )
        first_item = await conn.fetchval("SELECT COALESCE(MAX(id), 0) + 1 FROM items")
        first_assignment = await conn.fetchval("SELECT COALESCE(MAX(id), 0) + 1 FROM assignments")
        item_ids = range(first_item, first_item + items)
        await conn.insert_many(
            "items",
            ("id", "batch_id", "external_id", "prompt", "response", "metadata"),
            [
                (item_id, batch_id, f"{name}-{n}", f"Pertanyaan {n}?", text, f'{{"n": {n}}}')
                for n, item_id in enumerate(item_ids)
            ],
        )
        assignments = [
            (first_assignment + n * overlap + k, item_id, user_id, n)
            for n, item_id in enumerate(item_ids)
            for k, user_id in enumerate(range(1, overlap + 1))
        ]
        await conn.insert_many(
            "assignments",
            (
                "id",
                "item_id",
                "trainer_id",
                "status",
                "assigned_at",
                "lease_expires_at",
                "submitted_at",
            ),
            [(a, item, user, "submitted", now, now, now) for a, item, user, _ in assignments],
        )
        await conn.insert_many(
            "scores",
            ("assignment_id", "criterion", "score", "updated_at"),
            [(a, key, 3, now) for a, *_ in assignments for key in DEFAULT_RUBRIC.criteria],
        )
        await conn.insert_many(
            "judgments",
            ("assignment_id", "rewrite", "updated_at"),
            [(a, f"Jawaban lebih baik {n}", now) for a, _, _, n in assignments],
        )
        await conn.set_identity_past("items", item_ids[-1])
        await conn.set_identity_past("assignments", assignments[-1][0])


async def test_memory_does_not_grow_with_the_batch(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    await add_reviewed_batch(db, "small", 300)
    await add_reviewed_batch(db, "large", 3_000)
    peaks = {}
    for name in ("small", "large"):
        tracemalloc.start()
        # Both batches span many chunks (two are in memory at once: one read ahead).
        summary = await export_batch(
            db, settings, name, "raw", tmp_path / f"{name}.jsonl", chunk_size=50
        )
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert summary.rows == (900 if name == "small" else 9_000)
    # Ten times the judgments (3.6 MB of output), about the same peak: chunks, not the batch.
    assert peaks["large"] < 1.3 * peaks["small"], peaks


@pytest.mark.parametrize(
    "scores",
    [[3], [2, 3], [5, 5, 2], [1, 1, 4, 4], [1, 2, 9], [0, 6, 6, 6, 1], [4] * 7 + [1] * 6],
)
def test_the_ratings_median_is_the_middle_score(scores: list[int]) -> None:
    tally = tuple(sorted(Counter(scores).items()))
    assert _median(tally, len(scores)) == statistics.median(scores)
