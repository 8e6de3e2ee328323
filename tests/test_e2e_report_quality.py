"""The team's quality figures in the daily report, end to end through the fake Bot API: the
rewrites accepted and waiting for review and the trainers paused by gold in the message (both
languages), nothing when there are none, and each trainer's acceptance and gold accuracy (all
their gold answers, per batch and per criterion) and gold pauses in the CSV. The review and gold
rows are written straight into their tables (tests/quality_rows.py)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e import RunningBot
from tests.factories import make_batch
from tests.fakebot import FakeBotApi
from tests.quality_rows import BUDI, RINA, QualityRows, quality_rows, rinas_record
from tests.test_e2e_progress_needs import person
from tests.test_e2e_report import CHART_WAIT, report_of

BOSS = 9000  # COORDINATOR_IDS in the test settings


@pytest.mark.parametrize(
    ("language", "rewrites", "paused"),
    [
        (
            "en",
            "✍️ Rewrites: 3 of 4 accepted (75%) · 2 wait for review",
            "⏸ Paused by gold items: 1 trainer",
        ),
        (
            "id",
            "✍️ Jawaban perbaikan: 3 dari 4 diterima (75%) · 2 menunggu ditinjau",
            "⏸ Dijeda karena item gold: 1 trainer",
        ),
    ],
)
async def test_the_daily_report_has_the_teams_rewrites_and_gold_pauses(
    api: FakeBotApi, nilai: RunningBot, language: str, rewrites: str, paused: str
) -> None:
    boss = await person(api, nilai, BOSS, language)
    await person(api, nilai, RINA, "en")
    await person(api, nilai, BUDI, "id")
    await rinas_record(await quality_rows(nilai.database))
    since = api.mark()
    await boss.send("/report")
    _, message = await report_of(api, boss, since)
    shown = message.plain_text().splitlines()
    team = next(index for index, text in enumerate(shown) if text.startswith("👥"))
    assert shown[team + 1 : team + 3] == [rewrites, paused], shown


async def test_the_report_without_rewrites_or_pauses_has_no_quality_lines(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    boss = await person(api, nilai, BOSS, "en")
    await person(api, nilai, RINA, "en")
    since = api.mark()
    await boss.send("/report")
    _, message = await report_of(api, boss, since)
    assert "✍️" not in message.plain_text() and "⏸" not in message.plain_text()


async def test_the_report_csv_has_each_trainers_acceptance_and_gold(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    boss = await person(api, nilai, BOSS, "en")
    await person(api, nilai, RINA, "en")
    await person(api, nilai, BUDI, "id")
    rows = await quality_rows(nilai.database)
    await rinas_record(rows)
    second = QualityRows(nilai.database, await make_batch(nilai.database, "second", items=5))
    await second.gold_answer(RINA, {"accuracy": (1, 4, 5)}, counted=False)
    since = api.mark()
    await boss.send("/report")
    _, message = await report_of(api, boss, since)
    await boss.tap(message, "CSV")
    document = await boss.wait_bot_message(lambda m: m.document is not None, timeout=CHART_WAIT)
    assert document.document is not None
    content = api.file_content(document.document["file_id"]).decode("utf-8-sig")
    table = {row["name"]: row for row in csv.DictReader(io.StringIO(content))}
    rina, budi = table["User 2001"], table["User 2002"]
    assert (rina["rewrites_decided"], rina["rewrites_accepted"], rina["acceptance_rate"]) == (
        "4",
        "3",
        "0.750",
    )
    # all of Rina's gold answers, the one outside the pausing tally too
    assert (rina["gold_answers"], rina["gold_correct"], rina["gold_accuracy"]) == (
        "6",
        "4",
        "0.667",
    )
    assert rina["gold_by_batch"] == "pilot: 4/5; second: 0/1"
    assert rina["gold_by_criterion"] == (
        "pilot/accuracy: 4/5; pilot/safety: 5/5; second/accuracy: 0/1"
    )
    assert rina["gold_paused_in"] == "pilot"
    quality_columns = list(rina)[list(rina).index("rewrites_decided") :]
    assert all(budi[column] == "" for column in quality_columns)  # nothing decided, no gold
