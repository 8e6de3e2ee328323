"""The quality figures (bot/quality.py) from rows of the quality tables: acceptance rates,
nothing while none is decided, gold accuracy overall, per batch and per criterion, gold pauses,
and the crowd's line; the /trainers and report renderings of them (their room, what is left
out)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.anomalies import Anomaly, Kind
from bot.clock import parse_stamp, stamp
from bot.config import Settings
from bot.formatting import number
from bot.i18n import Html, t
from bot.quality import (
    CriterionGold,
    CrowdQuality,
    GoldAccuracy,
    Share,
    TrainerQuality,
    acceptance_of,
    crowd_quality,
    gold_criteria,
    trainer_quality,
)
from bot.report import build_report
from bot.report_table import report_csv
from bot.team import PAGE_SIZE, TrainerLine, TrainerPage
from handlers.coordinator_team import render_trainer_page
from handlers.quality_text import report_lines, stats_line, trainer_phrases
from handlers.report_message import render_report
from handlers.text_split import MESSAGE_LIMIT, visible_len
from storage.database import Database
from storage.quality import GoldTally
from tests.factories import NOW, make_batch, make_trainer
from tests.quality_rows import AT, RIGHT, WRONG_ACCURACY, QualityRows
from tests.test_anomalies import person

ANI, BUDI, CITRA = 2001, 2002, 2003
REVIEWER = 9000  # QualityRows' default reviewer
MOMENT, WIB = parse_stamp(NOW), "Asia/Jakarta"  # a report's moment: an hour after the rows


@pytest.fixture
async def rows(db: Database) -> QualityRows:
    for user_id in (ANI, BUDI, CITRA):
        await make_trainer(db, user_id)
    await make_trainer(db, REVIEWER, role="coordinator")
    return QualityRows(db, await make_batch(db, "pilot", items=40))


async def test_acceptance_is_accepted_of_decided_and_waiting_ones_do_not_count(
    db: Database, rows: QualityRows
) -> None:
    for status in ("accepted", "accepted", "accepted", "rejected"):
        await rows.rewrite(ANI, status)
    for status in ("open", "reason", "comment", None):  # opened, mid-decision, never opened
        await rows.rewrite(ANI, status)
    await rows.rewrite(BUDI, "rejected")
    assert await acceptance_of(db, ANI) == Share(3, 4)
    assert (await acceptance_of(db, ANI)).rate == 0.75  # type: ignore[union-attr]
    assert await acceptance_of(db, BUDI) == Share(0, 1)


async def test_no_decided_rewrite_is_no_acceptance_rate(db: Database, rows: QualityRows) -> None:
    await rows.rewrite(ANI, "open")
    await rows.rewrite(ANI)
    assert await acceptance_of(db, ANI) is None
    assert await acceptance_of(db, CITRA) is None  # never wrote one
    assert ANI not in await trainer_quality(db)


async def test_gold_accuracy_overall_per_batch_and_per_criterion(
    db: Database, rows: QualityRows
) -> None:
    for detail in (RIGHT, RIGHT, RIGHT, WRONG_ACCURACY):
        await rows.gold_answer(ANI, detail)
    await rows.gold_answer(ANI, RIGHT, counted=False)
    second = QualityRows(db, await make_batch(db, "second", items=5))
    await second.gold_answer(ANI, {"accuracy": (3, 1, 2)})
    await rows.gold_answer(BUDI, RIGHT)
    figures = await trainer_quality(db, [ANI])
    gold = figures[ANI].gold
    assert gold is not None
    # every gold answer counts, also the one a /resume took out of the pausing tally
    assert gold.overall == Share(4, 6)
    assert [(t.batch_name, t.correct, t.answers) for t in gold.batches] == [
        ("pilot", 4, 5),
        ("second", 0, 1),
    ]
    assert set(figures) == {ANI}  # only the trainers asked about
    criteria = await gold_criteria(db)
    # per batch and criterion; a criterion is right on its own: the wrong answers were wrong
    # on accuracy only
    assert criteria[ANI] == (
        CriterionGold("pilot", "accuracy", Share(4, 5)),
        CriterionGold("pilot", "safety", Share(5, 5)),
        CriterionGold("second", "accuracy", Share(0, 1)),
    )
    assert criteria[BUDI] == (
        CriterionGold("pilot", "accuracy", Share(1, 1)),
        CriterionGold("pilot", "safety", Share(1, 1)),
    )


async def test_a_report_counts_only_what_was_done_before_its_moment(
    db: Database, rows: QualityRows
) -> None:
    await rows.rewrite(ANI, "accepted")
    await rows.gold_answer(ANI, RIGHT)
    await rows.gold_pause(ANI)
    # at the rows' moment: none of it yet, the pause neither
    assert ANI not in await trainer_quality(db, until=AT)
    assert await gold_criteria(db, until=AT) == {}
    later = (await trainer_quality(db, until=NOW))[ANI]
    assert later.acceptance == Share(1, 1) and later.gold is not None
    assert later.gold.overall == Share(1, 1) and later.paused_in == ("pilot",)


async def test_live_gold_pauses_name_their_batch_and_lifted_ones_are_gone(
    db: Database, rows: QualityRows
) -> None:
    await rows.gold_pause(ANI)
    await rows.gold_pause(BUDI, lifted=True)
    second = QualityRows(db, await make_batch(db, "second", items=5))
    await second.gold_pause(ANI)
    figures = await trainer_quality(db)
    assert figures[ANI].paused_in == ("pilot", "second")
    assert BUDI not in figures


async def test_the_crowd_adds_up_the_listed_trainers_and_counts_rewrites_waiting(
    db: Database, rows: QualityRows
) -> None:
    for status in ("accepted", "rejected", "open", None):
        await rows.rewrite(ANI, status)
    await rows.rewrite(BUDI, "accepted")
    await rows.rewrite(CITRA, "accepted")  # not listed (say, paused since)
    await rows.rewrite(BUDI, None, gold=True)  # on a gold item: never offered for review
    await rows.gold_pause(BUDI)
    crowd = await crowd_quality(db, await trainer_quality(db), [ANI, BUDI])
    assert crowd.acceptance == Share(2, 3)
    assert crowd.waiting == 2  # the open one and the unopened one; not the gold item's
    assert crowd.paused == 1


async def test_rewrites_of_closed_batches_do_not_wait(db: Database, rows: QualityRows) -> None:
    await rows.rewrite(ANI)
    assert (await crowd_quality(db, {}, [])).waiting == 1
    await db.execute("UPDATE batches SET status = 'closed' WHERE id = ?", (rows.batch_id,))
    crowd = await crowd_quality(db, {}, [])
    assert (crowd.acceptance, crowd.waiting, crowd.paused) == (None, 0, 0)


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_page_of_trainers_with_every_figure_fits_one_message(language: str) -> None:
    """20 long-named trainers paused by gold in three long-named batches, with gold, acceptance
    and every anomaly: the page stays within Telegram's limit, saying what it left out."""
    every = (Anomaly(Kind.FAST, 1_000, 1_000), Anomaly(Kind.PASTED, 1_000, 1_000))
    batches = tuple(f"{n}" + "b" * 63 for n in range(3))
    figures = TrainerQuality(
        Share(999, 1_000),
        GoldAccuracy(Share(1, 1_000), (GoldTally(1, batches[0], 1_000, 1),)),
        batches,
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
            quality=figures,
        )
        for n in range(100, 100 + PAGE_SIZE)
    ]
    text, _ = render_trainer_page(TrainerPage(lines, 0, 1, PAGE_SIZE), me, None)  # type: ignore[arg-type]
    assert visible_len(text) <= MESSAGE_LIMIT
    assert t(language, "anomalies.cut") in text
    shown = trainer_phrases(figures, language)
    assert " · ".join(shown) in text  # the first trainers keep theirs, in that order
    assert f"999/{number(1_000, language)} (99%)" in text  # 999 of 1,000: never "100%"


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_reports_quality_lines_say_only_what_there_is(language: str) -> None:
    none = CrowdQuality(None, 0, 0)
    waiting = CrowdQuality(None, 1, 0)
    decided = CrowdQuality(Share(1, 3), 0, 2)
    assert report_lines(none, language) == []
    only_waiting = report_lines(waiting, language)
    assert only_waiting == [
        t(
            language,
            "quality.report_rewrites_none",
            waiting=Html(t(language, "quality.report_waiting", count=1)),
        )
    ]
    rewrites, paused = report_lines(decided, language)
    assert f"1 {'of' if language == 'en' else 'dari'} 3" in rewrites and "(33%)" in rewrites
    assert paused == t(language, "quality.report_gold_paused", count=2)
    assert stats_line(None, language) is None


async def test_a_report_rebuilt_after_a_resume_and_a_decision_gives_the_same_figures(
    db: Database, rows: QualityRows, settings: Settings
) -> None:
    """The CSV button rebuilds the report at its moment: a /resume and a rewrite decided since
    change neither its message nor its CSV, while a report of a later moment shows both."""
    await rows.gold_pause(ANI)
    waiting = await rows.rewrite(BUDI, "open")
    sent = await build_report(db, settings, MOMENT)
    message, table = render_report(sent, "en", WIB), report_csv(sent, WIB)
    assert sent.crowd == CrowdQuality(None, 1, 1)
    later = stamp(MOMENT + timedelta(minutes=5))
    await db.execute(
        "UPDATE gold_pauses SET lifted_at = ?, lifted_by = ? WHERE trainer_id = ?",
        (later, REVIEWER, ANI),
    )
    await db.execute(
        "UPDATE rewrite_reviews SET status = 'accepted', decided_at = ? WHERE assignment_id = ?",
        (later, waiting),
    )
    rebuilt = await build_report(db, settings, MOMENT)
    assert rebuilt.crowd == sent.crowd
    assert (render_report(rebuilt, "en", WIB), report_csv(rebuilt, WIB)) == (message, table)
    after = await build_report(db, settings, MOMENT + timedelta(minutes=10))
    assert after.crowd == CrowdQuality(Share(1, 1), 0, 0)
