"""Every coordinator command and button, tried by a trainer: a polite refusal, nothing changes."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLES
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeUser

COMMANDS = [
    "/batches",
    "/announce Libur besok!",
    "/progress",
    "/progress pilot",
    "/invite",
    "/invite coordinator 5 30",
    "/trainers",
    "/quota 3001 50",
    "/pause 3001",
    "/resume 3001",
    "/remove 9000",
    "/export pilot raw",
    # quality control (issue 9)
    "/flagged",
    "/flagged pilot",
    "/resume 3001 pilot",
    "/reviewer 3001 on",
    "/report",
]
TABLES = (
    "invites",
    "broadcasts",
    "deliveries",
    "audit_log",
    "uploads",
    "batches",
    "gold_pauses",
    "rewrite_reviews",
    "rewrite_skips",
)


@pytest.fixture
async def trainer(api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser) -> FakeUser:
    await nilai.import_file(SAMPLES / "batch_small.csv", name="pilot")
    user = api.user(3001, "Eko", language_code="id")
    await nilai.onboard(user)
    return user


async def snapshot(nilai: RunningBot) -> dict[str, int]:
    counts = {table: await nilai.count(f"SELECT COUNT(*) FROM {table}") for table in TABLES}
    row = await nilai.database.fetchone(
        "SELECT status, daily_quota FROM trainers WHERE user_id = 3001"
    )
    counts["trainer"] = hash(tuple(row))
    counts["reviewer"] = await nilai.count("SELECT COUNT(*) FROM trainers WHERE reviewer = 1")
    return counts


@pytest.mark.parametrize("command", COMMANDS)
async def test_a_trainer_is_refused_every_coordinator_command(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, command: str
) -> None:
    before = await snapshot(nilai)
    since = api.mark()
    await trainer.send(command)
    reply = await trainer.wait_bot_message(since=since)
    assert "khusus koordinator" in reply.plain_text()  # in the trainer's language
    await api.wait_idle(quiet=0.1)
    assert await snapshot(nilai) == before
    sent = [c for c in api.calls[since:] if c.method in ("sendMessage", "sendDocument")]
    assert [c.chat_id for c in sent] == [trainer.chat_id]  # nobody else was messaged


@pytest.mark.parametrize(
    "data",
    [
        *("1o:1:0", "1o:1:2", "1B:1:0", "1B:1:2", "1P:1", "1M:3001:0", "1M:9000:1"),
        *("1E:1:0", "1W:1:1", "1F:1", "1G:3001:1", "1R:1796130000"),
    ],
)
async def test_a_trainer_is_refused_every_coordinator_button(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser, data: str
) -> None:
    before = await snapshot(nilai)
    message = trainer.bot_messages()[-1]
    update = await trainer.tap(message, data=data)
    await api.wait_idle(quiet=0.1)
    answer = api.callback(update["callback_query"]["id"]).answer
    assert answer is not None and "koordinator" in answer.params["text"]
    assert await snapshot(nilai) == before


async def test_a_trainer_cannot_upload_a_batch(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser
) -> None:
    before = await snapshot(nilai)
    since = api.mark()
    await trainer.send_document("mine.jsonl", (SAMPLES / "batch_small.jsonl").read_bytes())
    assert "khusus koordinator" in (await trainer.wait_bot_message(since=since)).plain_text()
    await api.wait_idle(quiet=0.1)
    assert await snapshot(nilai) == before and not api.downloads


async def test_a_trainer_who_is_not_a_reviewer_is_refused_review_and_its_buttons(
    api: FakeBotApi, nilai: RunningBot, trainer: FakeUser
) -> None:
    before = await snapshot(nilai)
    since = api.mark()
    await trainer.send("/review")
    reply = await trainer.wait_bot_message(since=since)
    assert "khusus untuk peninjau" in reply.plain_text()
    for data in ("1v:1:0", "1v:1:2", "1j:1:0", "1w:1"):
        update = await trainer.tap(trainer.bot_messages()[-1], data=data)
        await api.wait_idle(quiet=0.1)
        answer = api.callback(update["callback_query"]["id"]).answer
        assert answer is not None and "peninjau" in answer.params["text"]
    assert await snapshot(nilai) == before
