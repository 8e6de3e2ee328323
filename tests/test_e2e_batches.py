"""A coordinator's batches through Telegram: uploading files, opening them, /batches."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLES
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

RUBRIC_TOML = b"""
scale = [1, 3]

[[criteria]]
key = "clarity"
id = "Kejelasan"
en = "Clarity"

[[criteria]]
key = "tone"
id = "Nada"
en = "Tone"

[[flags]]
key = "off_topic"
id = "Melenceng"
en = "Off topic"
"""


async def upload(
    api: FakeBotApi, user: FakeUser, name: str, content: bytes, caption: str | None = None
) -> FakeMessage:
    """Send a document; the bot's status message once it has its final text."""
    since = api.mark()
    await user.send_document(name, content, caption=caption)
    status = await user.wait_bot_message(since=since)
    if "Checking" in status.plain_text():  # the check runs off the event loop: await its result
        await api.wait_for_call(
            "editMessageText",
            lambda c: c.params.get("message_id") == status.message_id,
            since=since,
            timeout=30,
        )
    return api.message(user.chat_id, status.message_id)


async def test_an_uploaded_sample_is_summarised_then_opened(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    content = (SAMPLES / "batch_small.jsonl").read_bytes()
    status = await upload(api, coordinator, "batch_small.jsonl", content)
    text = status.plain_text()
    assert "batch_small is ready to open" in text
    assert "Items: 24" in text and "control items: 5" in text and "Languages: en 10, id 14" in text
    assert "warning" in text  # the gold criterion "clarity" is not in the default rubric
    assert await nilai.count("SELECT COUNT(*) FROM items") == 0  # nothing until the decision
    since = api.mark()
    tap = await coordinator.tap(status, "Open quietly")
    await api.wait_for_call("editMessageText", since=since)
    await api.wait_idle(quiet=0.1)
    assert "is open: 24 items" in status.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM items") == 24
    again = await coordinator.tap(status, data=tap["callback_query"]["data"])  # double tap
    await api.wait_idle(quiet=0.1)
    assert api.callback(again["callback_query"]["id"]).answered
    assert await nilai.count("SELECT COUNT(*) FROM batches") == 1
    trainer = api.user(3001, "Ayu", language_code="id")
    await nilai.onboard(trainer)
    panel = await nilai.next_item(trainer)
    assert "Teori Relativitas" in panel.plain_text()


async def test_a_csv_with_a_caption_sets_name_overlap_and_priority(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    content = (SAMPLES / "batch_small.csv").read_bytes()
    status = await upload(
        api, coordinator, "small.csv", content, caption="csv-pilot overlap=1 priority=3"
    )
    assert "csv-pilot is ready" in status.plain_text() and "Items: 23" in status.plain_text()
    await coordinator.tap(status, "Open quietly")
    await api.wait_idle(quiet=0.1)
    row = await nilai.database.fetchone("SELECT overlap, priority, item_count FROM batches")
    assert tuple(row) == (1, 3, 23)


async def test_a_bad_file_is_refused_whole_with_line_numbers(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    lines = [json.dumps({"prompt": f"p{n}", "response": f"r{n}"}) for n in range(30)]
    lines[4] = '{"prompt": "", "response": "x"}'
    lines[9] = '{"prompt": "truncated'
    lines += ['{"prompt": 5, "response": "x"}'] * 15
    status = await upload(api, coordinator, "bad.jsonl", "\n".join(lines).encode())
    text = status.plain_text()
    assert "was not imported: 17 problems" in text and "Nothing was stored" in text
    assert "line 5" in text and "line 10" in text and "and 7 more" in text
    assert status.buttons() == []
    assert await nilai.count("SELECT COUNT(*) FROM uploads") == 0
    assert not list((nilai.settings.data_dir / "uploads").glob("*"))


async def test_discard_stores_nothing_and_a_taken_name_is_refused(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    content = (SAMPLES / "batch_small.csv").read_bytes()
    status = await upload(api, coordinator, "one.csv", content)
    await coordinator.tap(status, "Discard")
    await api.wait_idle(quiet=0.1)
    assert "discarded" in status.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM items") == 0
    first = await upload(api, coordinator, "two.csv", content, caption="same")
    await coordinator.tap(first, "Open quietly")
    await api.wait_idle(quiet=0.1)
    second = await upload(api, coordinator, "three.csv", content, caption="same")
    assert "exists already" in second.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM batches") == 1


async def test_a_twenty_thousand_line_file_is_imported(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    lines = "\n".join(
        json.dumps({"id": f"q{n}", "prompt": f"Pertanyaan nomor {n}?", "response": f"Jawaban {n}."})
        for n in range(20_000)
    )
    status = await upload(api, coordinator, "big.jsonl", lines.encode())
    assert "Items: 20,000" in status.plain_text()
    await coordinator.tap(status, "Open quietly")
    await api.wait_for_call(
        "editMessageText", lambda c: "is open" in c.params.get("text", ""), timeout=30
    )
    assert await nilai.count("SELECT COUNT(*) FROM items") == 20_000


async def test_files_too_big_to_download_point_to_the_cli(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    status = await upload(api, coordinator, "huge.jsonl", b"x" * (20 * 2**20 + 1))
    assert "python -m bot import" in status.plain_text()
    assert not api.downloads


async def test_other_file_types_get_a_hint(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    status = await upload(api, coordinator, "notes.txt", b"hello")
    assert ".jsonl" in status.plain_text()


async def test_a_rubric_file_gives_the_batch_its_own_criteria(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    saved = await upload(api, coordinator, "rubric.toml", RUBRIC_TOML)
    assert "Clarity, Tone" in saved.plain_text()
    batch = "\n".join(json.dumps({"prompt": f"p{n}", "response": f"r{n}"}) for n in range(3))
    status = await upload(api, coordinator, "b.jsonl", batch.encode(), caption="custom")
    assert "custom (Clarity, Tone)" in status.plain_text()
    await coordinator.tap(status, "Open quietly")
    await api.wait_idle(quiet=0.1)
    trainer = api.user(3002, "Ayu", language_code="id")
    await nilai.onboard(trainer)
    panel = await nilai.next_item(trainer)
    labels = [b["text"] for row in panel.buttons() for b in row]
    assert "▶ Kejelasan –" in labels and "☐ Melenceng" in labels
    assert [b["text"] for b in panel.buttons()[0]] == ["1", "2", "3"]


async def test_a_bad_rubric_is_refused_with_the_reason(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    status = await upload(api, coordinator, "rubric.toml", b'[[criteria]]\nkey = "Bad Key"\n')
    assert "not saved" in status.plain_text() and "key" in status.plain_text()


async def test_batches_pause_resume_close_and_priority(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    content = (SAMPLES / "batch_small.csv").read_bytes()
    status = await upload(api, coordinator, "b.csv", content, caption="pilot")
    await coordinator.tap(status, "Open quietly")
    await api.wait_idle(quiet=0.1)
    since = api.mark()
    await coordinator.send("/batches")
    listing = await coordinator.wait_bot_message(since=since)
    assert "pilot · open · priority 0" in listing.plain_text()
    assert "23 items · reviews 0/46 (0%)" in listing.plain_text()
    await coordinator.tap(listing, "⏸ pilot")
    await api.wait_idle(quiet=0.1)
    assert "pilot · paused" in listing.plain_text()
    trainer = api.user(3003, "Ayu", language_code="en")
    await nilai.onboard(trainer)
    since = api.mark()
    await trainer.send("/next")
    assert "All done" in (await trainer.wait_bot_message(since=since)).plain_text()
    await coordinator.tap(listing, "▶ pilot")
    await api.wait_idle(quiet=0.1)
    await coordinator.tap(listing, "⬆")
    await api.wait_idle(quiet=0.1)
    assert "pilot · open · priority 1" in listing.plain_text()
    await nilai.next_item(trainer)
    await coordinator.tap(listing, "✖")
    await api.wait_idle(quiet=0.1)
    assert "pilot · closed" in listing.plain_text()
    log = await nilai.database.fetchall(
        "SELECT actor_id, action FROM audit_log WHERE action NOT LIKE 'privacy.%' ORDER BY id"
    )
    assert [tuple(row) for row in log] == [
        (9000, "batch.paused"),
        (9000, "batch.open"),
        (9000, "batch.priority"),
        (9000, "batch.closed"),
    ]


async def test_trainers_cannot_use_any_batch_control(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    content = (SAMPLES / "batch_small.csv").read_bytes()
    status = await upload(api, coordinator, "b.csv", content, caption="pilot")
    trainer = api.user(3004, "Eko", language_code="en")
    await nilai.onboard(trainer)
    refused = await upload(api, trainer, "mine.jsonl", content)
    assert "for coordinators" in refused.plain_text()
    since = api.mark()
    await trainer.send("/batches")
    assert "for coordinators" in (await trainer.wait_bot_message(since=since)).plain_text()
    for data in ("1o:1:1", "1o:1:2", "1B:1:2"):
        update = await trainer.tap(status, data=data)
        await api.wait_idle(quiet=0.05)
        assert "coordinators" in api.callback(update["callback_query"]["id"]).answer.params["text"]
    assert await nilai.count("SELECT status FROM uploads WHERE id = 1") == 0 or (
        await nilai.database.fetchval("SELECT status FROM uploads WHERE id = 1") == "pending"
    )
    assert await nilai.count("SELECT COUNT(*) FROM batches") == 0


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.csv", b'prompt,response\n"unclosed,x\nb,c\n', "line 2"),
        ("bad.csv", b"prompt,answer\na,b\n", 'unknown column "answer"'),
        ("bad.csv", "prompt,response\nä,b\n".encode("latin-1"), "UTF-8"),
        ("bad.jsonl", b"\x00\x01\x02binary", "not a text file"),
        ("bad.jsonl", b'{"prompt": "a", "response": "b", "id": "x"}\n' * 2, "line 2"),
        ("bad.jsonl", b"", "no items"),
    ],
)
async def test_bad_uploads_in_both_formats_are_refused_with_a_reason(
    api: FakeBotApi,
    nilai: RunningBot,
    coordinator: FakeUser,
    name: str,
    content: bytes,
    reason: str,
) -> None:
    status = await upload(api, coordinator, name, content)
    assert "was not imported" in status.plain_text()
    assert reason.lower() in status.plain_text().lower()
    assert await nilai.count("SELECT COUNT(*) FROM uploads") == 0


async def test_a_long_batch_list_stays_within_one_message(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser
) -> None:
    from tests.factories import make_batch

    for number in range(80):
        await make_batch(nilai.database, f"batch-<{number:02}>-&-a-rather-long-name", items=1)
    since = api.mark()
    await coordinator.send("/batches")
    listing = await coordinator.wait_bot_message(since=since)
    text = listing.plain_text()
    assert "batch-<79>-&-a-rather-long-name" in text and "…and 36 more." in text  # newest first
    assert len(listing.buttons()) == 15
