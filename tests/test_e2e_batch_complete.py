""" "Batch complete" end to end: the per-minute job announces a batch its reviews completed,
once, to every coordinator, with a button per export format that sends the file; a second
run, a restart, and an Undo that reopens and re-completes an item send nothing more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.exports import FORMATS
from handlers.callback_data import Action, encode
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

COMPLETE = ("is complete", "selesai: semua item")


def write_batch(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "batch.jsonl"
    records = [{"prompt": f"Prompt {n}", "response": f"Answer {n}"} for n in range(1, count + 1)]
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    return path


async def run_batch_events(nilai: RunningBot) -> None:
    """One run of the per-minute job, now, as the JobQueue would run it."""
    (job,) = nilai.app.job_queue.get_jobs_by_name("batch-events")
    await job.run(nilai.app)
    await nilai.api.wait_idle(quiet=0.1)


def announcements(api: FakeBotApi, since: int = 0) -> dict[int, list[FakeMessage]]:
    """The "batch complete" messages sent since `since`, by chat."""
    sent: dict[int, list[FakeMessage]] = {}
    for call in api.calls_to("sendMessage"):
        if call.index >= since and call.ok and any(w in call.params["text"] for w in COMPLETE):
            message = api.message(call.chat_id, call.result["message_id"])
            sent.setdefault(call.chat_id, []).append(message)
    return sent


async def review(api: FakeBotApi, nilai: RunningBot, user: FakeUser) -> FakeMessage:
    """Score and submit the next item; its panel (with Undo)."""
    panel = await nilai.next_item(user)
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.05)
    return panel


async def coordinator_from_invite(
    api: FakeBotApi, nilai: RunningBot, user_id: int, name: str, language: str
) -> FakeUser:
    user = api.user(user_id, name, language_code=language)
    await user.send(f"/start {await nilai.invite(role='coordinator')}")
    await user.wait_bot_message()
    return user


@pytest.fixture
async def pilot(api: FakeBotApi, nilai: RunningBot, tmp_path: Path) -> int:
    """A batch of two items, one review each; its id."""
    await nilai.import_file(write_batch(tmp_path, 2), name="pilot", overlap=1)
    return await nilai.count("SELECT id FROM batches WHERE name = 'pilot'")


@pytest.fixture
async def rina(api: FakeBotApi, nilai: RunningBot) -> FakeUser:
    user = api.user(2001, "Rina", language_code="en")
    await nilai.onboard(user)
    return user


async def test_a_completed_batch_is_announced_once_to_each_coordinator_with_export_buttons(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: int, rina: FakeUser
) -> None:
    ketua = await coordinator_from_invite(api, nilai, 9100, "Ketua", "id")
    gone = await coordinator_from_invite(api, nilai, 9200, "Gone", "en")
    api.block(gone.chat_id)
    await review(api, nilai, rina)
    await run_batch_events(nilai)
    assert announcements(api) == {}  # one item still wants its review
    nilai.clock.advance(minutes=90)
    await review(api, nilai, rina)
    await run_batch_events(nilai)

    sent = announcements(api)
    assert set(sent) == {coordinator.chat_id, ketua.chat_id}
    assert [len(messages) for messages in sent.values()] == [1, 1]
    (english,), (indonesian,) = sent[coordinator.chat_id], sent[ketua.chat_id]
    assert english.plain_text().splitlines()[:4] == [
        "🎉 pilot is complete: every item has its reviews.",
        "Items: 2 · Reviews: 2",
        "Trainers who took part: 1",
        "Time from upload to finish: 1 hour 30 minutes",
    ]
    assert "Trainer yang ikut menilai: 1" in indonesian.plain_text()
    assert "1 jam 30 menit" in indonesian.plain_text()
    for message, word in ((english, "Export"), (indonesian, "Ekspor")):
        buttons = [button for row in message.buttons() for button in row]
        assert [b["text"] for b in buttons] == [f"⬇️ {word} {fmt}" for fmt in FORMATS]
        assert [b["callback_data"] for b in buttons] == [
            encode(Action.EXPORT, pilot, index) for index in range(len(FORMATS))
        ]
    # The coordinator who blocked the bot is marked unreachable; the others got theirs.
    assert await nilai.count("SELECT reachable FROM trainers WHERE user_id = 9200") == 0
    assert await nilai.count("SELECT COUNT(*) FROM batches WHERE completed_at IS NULL") == 0

    since = api.mark()
    await run_batch_events(nilai)
    await nilai.restart()
    await run_batch_events(nilai)
    assert announcements(api, since) == {}


async def test_an_undo_that_reopens_and_recompletes_the_batch_sends_nothing_more(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: int, rina: FakeUser
) -> None:
    await review(api, nilai, rina)
    last = await review(api, nilai, rina)
    await run_batch_events(nilai)
    assert [len(messages) for messages in announcements(api).values()] == [1]

    since = api.mark()
    await answered(api, await tap_action(rina, last, Action.UNDO))
    await api.wait_idle(quiet=0.1)
    assert await nilai.count("SELECT COUNT(*) FROM items WHERE complete = 0") == 1
    await run_batch_events(nilai)
    await answered(api, await tap_action(rina, last, Action.SUBMIT))
    await api.wait_idle(quiet=0.1)
    assert await nilai.count("SELECT COUNT(*) FROM items WHERE complete = 0") == 0
    await run_batch_events(nilai)
    assert announcements(api, since) == {}


async def test_an_export_button_sends_the_file_and_a_forged_or_trainer_s_tap_is_refused(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: int, rina: FakeUser
) -> None:
    for _ in range(2):
        await review(api, nilai, rina)
    await run_batch_events(nilai)
    (message,) = announcements(api)[coordinator.chat_id]

    since = api.mark()
    toast = await answered(api, await coordinator.tap(message, "⬇️ Export raw"))
    assert toast == "Exporting as raw…"
    call = await api.wait_for_call(
        "sendDocument", lambda c: c.chat_id == coordinator.chat_id, since=since, timeout=15
    )
    document = api.message(coordinator.chat_id, call.result["message_id"]).document
    assert document is not None and document["file_name"].endswith(".jsonl")
    lines = api.file_content(document["file_id"]).decode().splitlines()
    assert len(lines) == 2 and {json.loads(line)["prompt"] for line in lines} == {
        "Prompt 1",
        "Prompt 2",
    }

    for forged in (encode(Action.EXPORT, 999, 0), encode(Action.EXPORT, pilot, 9), "1E:x"):
        toast = await answered(api, await coordinator.tap(message, data=forged))
        assert toast == "That batch or format no longer exists. /export lists what there is."
    toast = await answered(api, await rina.tap(rina.last_bot_message(), data=message_data(message)))
    assert toast == "This button is for coordinators only."
    await api.wait_idle(quiet=0.2)
    assert len(api.calls_to("sendDocument")) == 2  # the file and its manifest, once


def message_data(message: FakeMessage) -> str:
    return message.buttons()[0][0]["callback_data"]
