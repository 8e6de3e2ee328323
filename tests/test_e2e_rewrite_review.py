"""Rewrite review end to end: /review shows a rewrite with Accept / Reject / Skip; the writer is
told the outcome in their language (the reason and the comment word for word, never who
reviewed it); Skip tells nobody; nobody sees their own rewrite; one rewrite is open in one
reviewer's chat at a time; /reviewer makes a trainer a reviewer; trainers are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.onboarding import Onboarding
from bot.rewrite_review import RewriteReviews
from handlers.callback_data import Action, encode
from storage.rewrite_reviews import Decision
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

BOSS = 9000  # COORDINATOR_IDS in the test settings


async def import_batch(nilai: RunningBot, tmp_path: Path, items: int = 2) -> None:
    path = tmp_path / "batch.jsonl"
    records = [
        {"id": f"q{n}", "prompt": f"Prompt {n} asks", "response": f"Answer {n}"}
        for n in range(1, items + 1)
    ]
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    await nilai.import_file(path, overlap=3)


async def boss_in(api: FakeBotApi) -> FakeUser:
    boss = api.user(BOSS, "Boss", language_code="en", username="boss")
    await boss.send("/start")
    await boss.wait_bot_message()
    return boss


async def write_rewrite(api: FakeBotApi, nilai: RunningBot, user: FakeUser, text: str) -> None:
    """The trainer's next item, its rewrite sent as a reply, scored and submitted; then the
    correction window passes, so /review may offer it."""
    panel = await nilai.next_item(user)
    since = api.mark()
    await user.reply(panel, text)
    await user.wait_bot_message(since=since)
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.3)
    nilai.clock.advance(minutes=nilai.settings.edit_window_minutes)  # no longer correctable


async def review(api: FakeBotApi, user: FakeUser, text: str = "/review") -> FakeMessage:
    """The answer to /review: the rewrite's last part (with its buttons), or why none."""
    since = api.mark()
    await user.send(text)
    await user.wait_bot_message(since=since)
    await api.wait_idle(quiet=0.2)
    return user.last_bot_message()


async def tap(api: FakeBotApi, user: FakeUser, message: FakeMessage, label: str) -> str:
    """Tap the button labelled `label`; the toast, once everything it set off is done."""
    toast = await answered(api, await user.tap(message, label))
    await api.wait_idle(quiet=0.2)
    return toast


def sent_to(api: FakeBotApi, user: FakeUser, since: int) -> list[str]:
    return [
        call.params.get("text", "")
        for call in api.calls[since:]
        if call.method == "sendMessage" and call.chat_id == user.chat_id
    ]


async def test_accept_thanks_the_writer_and_the_next_rewrite_comes_by_itself(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    boss = await boss_in(api)
    await import_batch(nilai, tmp_path)
    rina = api.user(2001, "Rina")
    await nilai.onboard(rina)
    await write_rewrite(api, nilai, rina, "A much better first answer")
    await write_rewrite(api, nilai, rina, "A better second answer")

    shown = await review(api, boss)
    text = shown.plain_text()
    assert "Rewrite to review · q1 in pilot" in text
    for part in ("Prompt 1 asks", "Original answer", "Answer 1", "A much better first answer"):
        assert part in text
    assert text.index("Answer 1") < text.index("A much better first answer")

    since = api.mark()
    assert await tap(api, boss, shown, "Accept") == "Accepted"
    told = sent_to(api, rina, since)
    assert len(told) == 1 and "accepted your rewrite of <code>q1</code>" in told[0]
    assert "Boss" not in told[0] and "boss" not in told[0]
    assert "Accepted. Thank you!" in api.message(boss.chat_id, shown.message_id).plain_text()
    following = boss.last_bot_message()
    assert "A better second answer" in following.plain_text()  # came by itself
    row = await nilai.database.fetchone(
        "SELECT status, notified_at FROM rewrite_reviews WHERE assignment_id = 1"
    )
    assert row[0] == "accepted" and row[1] is not None

    again = await answered(api, await boss.tap(shown, data=encode(Action.REVIEW_DECISION, 1, 0)))
    assert "decided already" in again  # a double tap changes nothing and tells the writer nothing
    forged = await answered(
        api, await boss.tap(shown, data=encode(Action.REVIEW_DECISION, 999_999, 0))
    )
    assert "isn't there" in forged
    await api.wait_idle(quiet=0.2)
    assert len(sent_to(api, rina, since)) == 1


@pytest.mark.parametrize(
    ("language", "reason_button", "words"),
    [
        (
            "en",
            "Factually wrong",
            ["didn't accept it", "Reason: Factually wrong", "Their comment:"],
        ),
        ("id", "Faktanya salah", ["belum diterima", "Alasannya: Faktanya salah", "Komentarnya:"]),
    ],
)
async def test_reject_with_a_reason_and_a_comment_tells_the_writer_word_for_word(
    api: FakeBotApi,
    nilai: RunningBot,
    tmp_path: Path,
    language: str,
    reason_button: str,
    words: list[str],
) -> None:
    boss = await boss_in(api)
    await import_batch(nilai, tmp_path, items=1)
    writer = api.user(2001, "Rina", language_code=language)
    await nilai.onboard(writer)
    await write_rewrite(api, nilai, writer, "The moon is made of cheese")

    shown = await review(api, boss)
    assert await tap(api, boss, shown, "Reject") == "Pick a reason"
    reasons = api.message(boss.chat_id, shown.message_id)
    await tap(api, boss, reasons, "Factually wrong")
    question = boss.last_bot_message()
    assert "Reply to this message" in question.plain_text()
    since = api.mark()
    comment = "Check <b>facts</b> & sources: the moon is rock."
    await boss.reply(question, comment)
    await api.wait_idle(quiet=0.3)
    told = writer.last_bot_message().plain_text()
    assert all(word in told for word in words)
    assert comment in told  # word for word, its markup shown as typed
    assert "Boss" not in told
    answers = sent_to(api, boss, since)
    assert any("Rejected with your comment" in text for text in answers)
    assert any("No rewrites are waiting" in text for text in answers)
    row = await nilai.database.fetchone("SELECT status, reason, comment FROM rewrite_reviews")
    assert tuple(row) == ("rejected", "wrong", comment)


async def test_reject_with_no_comment_and_a_skip_that_tells_nobody(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    boss = await boss_in(api)
    await import_batch(nilai, tmp_path)
    rina = api.user(2001, "Rina")
    await nilai.onboard(rina)
    await write_rewrite(api, nilai, rina, "First rewrite")
    await write_rewrite(api, nilai, rina, "Second rewrite")

    since = api.mark()
    shown = await review(api, boss)
    assert "First rewrite" in shown.plain_text()
    assert await tap(api, boss, shown, "Skip") == "Skipped"
    assert sent_to(api, rina, since) == []  # a skip tells the writer nothing
    second = boss.last_bot_message()
    assert "Second rewrite" in second.plain_text()

    await tap(api, boss, second, "Reject")
    await tap(api, boss, api.message(boss.chat_id, second.message_id), "Language or tone")
    question = boss.last_bot_message()
    await tap(api, boss, question, "No comment")
    told = sent_to(api, rina, since)
    assert len(told) == 1 and "Reason:</b> Language or tone" in told[0]
    assert "comment" not in told[0].lower()
    assert "No rewrites are waiting" in boss.last_bot_message().plain_text()  # skipped: not again
    assert await nilai.count("SELECT COUNT(*) FROM rewrite_skips WHERE reviewer_id = ?", BOSS) == 1


async def test_a_reviewer_made_by_reviewer_on_sees_others_rewrites_never_their_own_nor_one_open_elsewhere(  # noqa: E501
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    boss = await boss_in(api)
    await import_batch(nilai, tmp_path, items=1)
    rina = api.user(2001, "Rina", username="rina")
    dewi = api.user(2002, "Dewi", language_code="id")
    await nilai.onboard(rina)
    await nilai.onboard(dewi)
    await write_rewrite(api, nilai, rina, "Rina's own rewrite")

    assert "is for reviewers" in (await review(api, rina)).plain_text()
    since = api.mark()
    await boss.send("/reviewer @rina on")
    await api.wait_idle(quiet=0.2)
    assert "Rina</b> is a reviewer now" in sent_to(api, boss, since)[0]
    assert "made you a <b>reviewer</b>" in sent_to(api, rina, since)[0]
    await boss.send("/reviewer @rina on")
    await api.wait_idle(quiet=0.2)
    assert "is a reviewer already" in boss.last_bot_message().plain_text()
    await boss.send("/reviewer @nobody on")
    await api.wait_idle(quiet=0.2)
    assert "can't find a trainer called @nobody" in boss.last_bot_message().plain_text()

    assert "No rewrites are waiting" in (await review(api, rina)).plain_text()  # only her own
    await write_rewrite(api, nilai, dewi, "Dewi's rewrite")
    assert "Dewi's rewrite" in (await review(api, rina)).plain_text()
    # Open in Rina's chat: the coordinator is shown Rina's; once he skips it, Dewi's is the
    # oldest rewrite left, and still he is not shown it (only the lock keeps it from him).
    shown_to_boss = await review(api, boss)
    assert "Rina's own rewrite" in shown_to_boss.plain_text()
    assert "Dewi's rewrite" not in shown_to_boss.plain_text()
    await tap(api, boss, shown_to_boss, "Skip")
    after_skip = boss.last_bot_message().plain_text()
    assert "No rewrites are waiting" in after_skip and "Dewi's rewrite" not in after_skip
    since = api.mark()
    await rina.send("/help")
    await api.wait_idle(quiet=0.2)
    assert "/review [batch]" in sent_to(api, rina, since)[0]


async def test_a_trainer_is_refused_review_and_reviewer(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await boss_in(api)
    await import_batch(nilai, tmp_path, items=1)
    rina, dewi = api.user(2001, "Rina"), api.user(2002, "Dewi", username="dewi")
    await nilai.onboard(rina)
    await nilai.onboard(dewi)
    await write_rewrite(api, nilai, dewi, "Dewi's rewrite")
    assert "is for reviewers" in (await review(api, rina)).plain_text()
    reply = await review(api, rina, "/reviewer @dewi on")
    assert "coordinator" in reply.plain_text().lower()
    assert await nilai.count("SELECT reviewer FROM trainers WHERE user_id = 2002") == 0
    tap = await rina.tap(reply, data=encode(Action.REVIEW_DECISION, 1, 0))
    assert "Only reviewers" in await answered(api, tap)
    assert await nilai.count("SELECT COUNT(*) FROM rewrite_reviews") == 0


async def test_a_writer_who_blocked_the_bot_does_not_hold_up_the_review(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    boss = await boss_in(api)
    await import_batch(nilai, tmp_path, items=1)
    rina = api.user(2001, "Rina")
    await nilai.onboard(rina)
    await write_rewrite(api, nilai, rina, "A rewrite")
    api.block(rina.chat_id)
    shown = await review(api, boss)
    assert await tap(api, boss, shown, "Accept") == "Accepted"
    assert "No rewrites are waiting" in boss.last_bot_message().plain_text()
    row = await nilai.database.fetchone("SELECT status, notified_at FROM rewrite_reviews")
    assert row[0] == "accepted" and row[1] is not None  # decided; its notice claimed, once
    assert await nilai.count("SELECT reachable FROM trainers WHERE user_id = 2001") == 0


async def run_quality_notices(nilai: RunningBot) -> None:
    (job,) = nilai.app.job_queue.get_jobs_by_name("quality-notices")
    await job.run(nilai.app)


async def test_the_next_rewrite_comes_before_the_writers_notice(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    boss = await boss_in(api)
    await import_batch(nilai, tmp_path)
    rina = api.user(2001, "Rina")
    await nilai.onboard(rina)
    await write_rewrite(api, nilai, rina, "First rewrite")
    await write_rewrite(api, nilai, rina, "Second rewrite")
    shown = await review(api, boss)
    since = api.mark()
    await tap(api, boss, shown, "Accept")
    sends = [
        (call.chat_id, call.params.get("text", ""))
        for call in api.calls[since:]
        if call.method == "sendMessage"
    ]
    to_boss = next(i for i, (chat, text) in enumerate(sends) if "Second rewrite" in text)
    to_rina = next(i for i, (chat, _) in enumerate(sends) if chat == rina.chat_id)
    assert to_boss < to_rina  # the reviewer's next rewrite never waits behind the notice
    await run_quality_notices(nilai)
    await api.wait_idle(quiet=0.2)
    assert len(sent_to(api, rina, since)) == 1  # claimed once it went: the job sends nothing


async def test_a_decision_whose_notice_was_never_sent_is_told_once_by_the_job(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    """The process stopped between the decision's commit and its notice: the per-minute job
    tells the writer once the decision is a minute old, and never again."""
    await boss_in(api)
    await import_batch(nilai, tmp_path, items=1)
    rina = api.user(2001, "Rina", language_code="id")
    await nilai.onboard(rina)
    await write_rewrite(api, nilai, rina, "Jawaban yang lebih baik")
    reviews = RewriteReviews(nilai.database, nilai.settings, nilai.clock)
    boss = await Onboarding(nilai.database, nilai.settings, nilai.clock).trainer(BOSS)
    assert boss is not None
    rewrite = await reviews.next_for(boss, None)
    assert rewrite is not None
    assert isinstance(await reviews.accept(boss, rewrite.assignment_id), Decision)

    since = api.mark()
    nilai.clock.advance(seconds=30)
    await run_quality_notices(nilai)  # under a minute: the immediate path may still be on it
    await api.wait_idle(quiet=0.2)
    assert sent_to(api, rina, since) == []
    nilai.clock.advance(minutes=1)
    await run_quality_notices(nilai)
    await run_quality_notices(nilai)
    await api.wait_idle(quiet=0.2)
    told = sent_to(api, rina, since)
    assert len(told) == 1 and "menerima jawaban perbaikanmu" in told[0]


async def test_a_comment_to_a_review_taken_over_is_refused_never_stored_as_a_text(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    boss = await boss_in(api)
    await import_batch(nilai, tmp_path, items=1)
    rina, dewi = api.user(2001, "Rina"), api.user(2002, "Dewi", username="dewi")
    await nilai.onboard(rina)
    await nilai.onboard(dewi)
    await write_rewrite(api, nilai, rina, "Rina's rewrite")
    await boss.send("/reviewer @dewi on")
    await api.wait_idle(quiet=0.2)
    shown = await review(api, boss)
    await tap(api, boss, shown, "Reject")
    await tap(api, boss, api.message(boss.chat_id, shown.message_id), "Other")
    question = boss.last_bot_message()
    nilai.clock.advance(minutes=nilai.settings.review_lock_minutes)
    assert "Rina's rewrite" in (await review(api, dewi)).plain_text()  # the lock ran out

    judgments = await nilai.database.fetchall("SELECT * FROM judgments")
    since = api.mark()
    await boss.reply(question, "My late comment")
    await api.wait_idle(quiet=0.3)
    assert any("review has moved on" in text for text in sent_to(api, boss, since))
    row = await nilai.database.fetchone("SELECT status, reviewer_id, comment FROM rewrite_reviews")
    assert tuple(row) == ("open", 2002, None)
    assert [tuple(r) for r in await nilai.database.fetchall("SELECT * FROM judgments")] == [
        tuple(r) for r in judgments
    ]
