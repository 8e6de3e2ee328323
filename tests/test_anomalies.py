"""Anomaly signals (bot/anomalies.py) over a scripted crowd written straight into the tables:
honest trainers with noise are never flagged; a fast clicker, a heavy skipper, an always-5
clicker and a paster each are, with the numbers behind it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.agreement import BatchAgreement, CriterionAgreement
from bot.anomalies import (
    MIN_SECONDS,
    WINDOW,
    Anomaly,
    Kind,
    find_anomalies,
    normalise_rewrite,
    reading_floor,
)
from bot.clock import stamp
from bot.formatting import number
from bot.i18n import t
from bot.report import BatchFigures, Report, TrainerFigures
from bot.rubric import DEFAULT_RUBRIC
from bot.streaks import Days
from bot.team import PAGE_SIZE, TrainerLine, TrainerPage
from handlers.anomaly_text import anomaly_phrases
from handlers.coordinator_team import render_trainer_page
from handlers.report_message import render_report
from handlers.text_split import MESSAGE_LIMIT, visible_len
from storage.database import Database, Transaction
from storage.records import Trainer
from tests.factories import make_batch, make_trainer

NOW = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
ITEMS = 30
HONEST = (1, 2, 3, 4)
FAST, SKIPPER, ALWAYS_5, PASTER = 11, 12, 13, 14


class Crowd:
    """Reviews of one batch's items, each trainer taking the items in order."""

    def __init__(self, db: Database, items: list[int]):
        self.db, self.items = db, items
        self.quality = {item: random.Random(item).randint(1, 5) for item in items}

    async def review(
        self,
        trainer_id: int,
        item: int,
        handed: datetime,
        seconds: float,
        scores: dict[str, int],
        rewrite: str | None = None,
    ) -> None:
        submitted = handed + timedelta(seconds=seconds)

        async def write(tx: Transaction) -> None:
            assignment = await tx.fetchval(
                "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
                " lease_expires_at, submitted_at) VALUES (?, ?, 'submitted', ?, ?, ?)"
                " RETURNING id",
                (item, trainer_id, stamp(handed), stamp(submitted), stamp(submitted)),
            )
            for criterion, score in scores.items():
                await tx.execute(
                    "INSERT INTO scores (assignment_id, criterion, score, updated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (assignment, criterion, score, stamp(submitted)),
                )
            if rewrite is not None:
                await tx.execute(
                    "INSERT INTO judgments (assignment_id, rewrite, updated_at) VALUES (?, ?, ?)",
                    (assignment, rewrite, stamp(submitted)),
                )

        await self.db.write(write)

    async def skip(self, trainer_id: int, item: int, handed: datetime) -> None:
        await self.db.execute(
            "INSERT INTO assignments (item_id, trainer_id, status, assigned_at,"
            " lease_expires_at) VALUES (?, ?, 'skipped', ?, ?)",
            (item, trainer_id, stamp(handed), stamp(handed)),
        )

    def honest_scores(self, item: int, noise: random.Random) -> dict[str, int]:
        base = self.quality[item]
        return {
            c: min(5, max(1, base + noise.choice((-1, 0, 0, 1)))) for c in DEFAULT_RUBRIC.criteria
        }


async def scripted_crowd(db: Database) -> Crowd:
    batch = await make_batch(db, items=ITEMS, overlap=10)
    items = [row[0] for row in await db.fetchall("SELECT id FROM items ORDER BY id")]
    for user_id in (*HONEST, FAST, SKIPPER, ALWAYS_5, PASTER):
        await make_trainer(db, user_id)
    crowd = Crowd(db, items)
    start = NOW - timedelta(days=3)
    assert batch
    for trainer_id in (*HONEST, FAST, SKIPPER, ALWAYS_5, PASTER):
        noise = random.Random(trainer_id)
        for index, item in enumerate(items):
            handed = start + timedelta(minutes=5 * index, seconds=trainer_id)
            honest = crowd.honest_scores(item, noise)
            rewrite = f"A better answer to item {item}, by {trainer_id}." if index % 3 else None
            skips = index % 15 == 7 if trainer_id in HONEST else index % 3 == 0  # now and then
            if skips and trainer_id in (*HONEST, SKIPPER):
                await crowd.skip(trainer_id, item, handed)
            elif trainer_id == FAST:
                await crowd.review(trainer_id, item, handed, noise.uniform(1, 3), honest)
            elif trainer_id == ALWAYS_5:
                always = dict.fromkeys(DEFAULT_RUBRIC.criteria, 5)
                await crowd.review(trainer_id, item, handed, 60 + noise.uniform(0, 120), always)
            elif trainer_id == PASTER and index < 4:
                pasted = "  This answer is  GOOD.\n" if index % 2 else "this answer is good."
                await crowd.review(trainer_id, item, handed, 90, honest, pasted)
            else:
                seconds = 45 + noise.uniform(0, 240)
                await crowd.review(trainer_id, item, handed, seconds, honest, rewrite)
    return crowd


async def test_the_scripted_crowd_flags_each_odd_one_and_no_honest_trainer(db: Database) -> None:
    await scripted_crowd(db)
    found = await find_anomalies(db, NOW)
    assert not set(HONEST) & set(found), found
    assert [a.kind for a in found[FAST]] == [Kind.FAST]
    assert found[FAST][0] == Anomaly(Kind.FAST, ITEMS, ITEMS)
    assert [a.kind for a in found[ALWAYS_5]] == [Kind.SAME_SCORE]
    assert found[ALWAYS_5][0] == Anomaly(Kind.SAME_SCORE, ITEMS, ITEMS)
    assert [a.kind for a in found[PASTER]] == [Kind.PASTED]
    assert found[PASTER][0].count == 4  # two spellings of one text, folded together
    skips = found[SKIPPER]
    assert [a.kind for a in skips] == [Kind.SKIPS]
    # the crowd: 4 honest trainers skip 2 of 30 each, the skipper 10 of 30, the rest none
    assert (skips[0].count, skips[0].of) == (10, ITEMS)
    assert skips[0].crowd == pytest.approx(18 / (8 * ITEMS))


async def test_only_the_trainers_asked_about_and_only_the_window(db: Database) -> None:
    await scripted_crowd(db)
    found = await find_anomalies(db, NOW, [FAST, 1, SKIPPER])
    assert set(found) == {FAST, SKIPPER}
    assert found[SKIPPER][0].crowd == pytest.approx(18 / (8 * ITEMS))  # still the whole crowd
    assert await find_anomalies(db, NOW, []) == {}
    assert await find_anomalies(db, NOW + WINDOW) == {}  # all of it more than 7 days old


async def test_too_few_submissions_are_no_evidence(db: Database) -> None:
    await make_batch(db, items=5, overlap=2)
    await make_trainer(db, 1)
    crowd = Crowd(db, [row[0] for row in await db.fetchall("SELECT id FROM items ORDER BY id")])
    for index, item in enumerate(crowd.items):
        scores = dict.fromkeys(DEFAULT_RUBRIC.criteria, 5)
        await crowd.review(1, item, NOW - timedelta(hours=index + 1), 1, scores, "same")
    found = await find_anomalies(db, NOW)
    assert [a.kind for a in found[1]] == [Kind.PASTED]  # 5 items: enough to see a paste only


def test_reading_floor_and_folding() -> None:
    assert reading_floor(0) == MIN_SECONDS
    assert reading_floor(4_000) == 100
    assert normalise_rewrite("  This\tanswer\n is GOOD ") == "this answer is good"


def person(user_id: int, name: str, username: str | None, language: str) -> Trainer:
    return Trainer(
        user_id, user_id, name, username, language, None, None, "trainer", "active", True
    )


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_page_of_trainers_with_every_anomaly_fits_one_message(language: str) -> None:
    """20 trainers with long names and every signal: quality lines are left out (and the page
    says so) before the page would pass Telegram's limit; a short page keeps them all."""
    every = (
        Anomaly(Kind.FAST, 1_000, 1_000),
        Anomaly(Kind.SKIPS, 500, 1_000, 0.05),
        Anomaly(Kind.SAME_SCORE, 1_000, 1_000),
        Anomaly(Kind.PASTED, 1_000, 1_000),
    )
    me = person(1, "Boss", None, language)
    lines = [
        TrainerLine(
            person(n, "N" * 64, "u" * 32, "en"),
            today=1,
            quota=5,
            total=1_000,
            last_seen=None,
            anomalies=every,
            distance=1.25,
        )
        for n in range(100, 100 + PAGE_SIZE)
    ]
    text, _ = render_trainer_page(TrainerPage(lines, 0, 1, PAGE_SIZE), me, None)  # type: ignore[arg-type]
    assert visible_len(text) <= MESSAGE_LIMIT
    assert t(language, "anomalies.cut") in text
    assert "⚡" in text  # the first trainers keep theirs
    text, _ = render_trainer_page(TrainerPage(lines[:3], 0, 1, 3), me, None)  # type: ignore[arg-type]
    assert text.count("⚡") == 3 and t(language, "anomalies.cut") not in text


def test_the_report_has_an_agreement_line_per_batch_with_two_decimals() -> None:
    figures = (0.7149, None, 0.6, -0.126)
    agreement = BatchAgreement(
        DEFAULT_RUBRIC,
        tuple(
            CriterionAgreement(c, a, 5)
            for c, a in zip(DEFAULT_RUBRIC.criteria, figures, strict=True)
        ),
    )
    early = BatchAgreement(
        DEFAULT_RUBRIC, tuple(CriterionAgreement(c, None, 1) for c in DEFAULT_RUBRIC.criteria)
    )
    batches = (
        BatchFigures(1, "pilot", 3, 10, 110, None, agreement),
        BatchFigures(2, "fresh", 0, 0, 110, None, early),
    )
    text = render_report(Report(NOW, (), batches, (0,) * 7), "en", "Asia/Jakarta")
    assert "🤝 Agreement: Accuracy 0.71 · Ethics &amp; safety 0.60 · Helpfulness -0.13" in text
    assert "🤝 Agreement: not enough overlapping reviews yet" in text
    assert text.index("pilot") < text.index("Accuracy 0.71") < text.index("fresh")
    text = render_report(Report(NOW, (), batches, (0,) * 7), "id", "Asia/Jakarta")
    assert "🤝 Kesepakatan: Akurasi 0,71 · " in text


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_reports_anomalies_are_listed_as_far_as_they_fit_and_say_so(language: str) -> None:
    every = (Anomaly(Kind.FAST, 28, 30), Anomaly(Kind.SKIPS, 12, 30, 0.05))
    people = [person(n, f"Trainer with a long name {n}", None, "en") for n in range(1, 1001)]
    days = Days(NOW.date(), 5, (0,) * 7, 0)
    team = tuple(TrainerFigures(p, days, 0, 0.0, 0.0, None) for p in people)
    report = Report(NOW, team, (), (0,) * 7, tuple((p, every) for p in people))
    text = render_report(report, language, "Asia/Jakarta")
    assert visible_len(text) <= MESSAGE_LIMIT
    lines = text.splitlines()
    listed = [line for line in lines if ": " in line and "long name" in line]
    assert 5 < len(listed) < 1000
    first = anomaly_phrases(every, language)
    assert listed[0] == f"Trainer with a long name 1: {first}"
    assert t(language, "anomalies.report_title", count=number(1000, language)) in text
    note = t(
        language,
        "anomalies.report_listed",
        shown=number(len(listed), language),
        total=number(1000, language),
    )
    assert note in text
    assert "<i>" in text.split(t(language, "anomalies.report_title", count="1"))[0]  # met lists
    few = Report(NOW, team[:2], (), (0,) * 7, tuple((p, every) for p in people[:2]))
    text = render_report(few, language, "Asia/Jakarta")
    assert text.count(first) == 2 and note.split()[0] not in text.splitlines()[-1]
