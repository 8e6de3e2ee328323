"""A coordinator's batches through Telegram: uploading files, opening them, /batches."""

from __future__ import annotations

import json
import re

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
    if status.plain_text().startswith("📥"):  # the check runs off the event loop: await it
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
    assert "Items: 24" in text and "Languages: en 10, id 14" in text
    assert "Gold: 5 items, mixed into each trainer's items at 10%" in text
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


# -- reasons and progress in the coordinator's language ------------------------------------------

PROBLEM_LINES = [
    '{"id": "a", "prompt": "Halo", "response": "Hai", "metadata": {"lang": "id-ID"}}',
    '{"id": "b", "prompt": "x", "response": "y", "metadata": {"lang": "bahasa"}}',
    '{"id": "c", "prompt": "", "response": "y"}',
    '{"id": "d", "prompt": "x", "response": "y", "warna": "biru"}',
    '{"id": "e", "prompt": "x" "response": "y"}',
    '{"id": "a", "prompt": "x", "response": "y"}',
    '{"id": ["f"], "prompt": "x", "response": "y"}',
    '{"prompt": "x", "messages": []}',
    '{"id": "g", "prompt": "x", "response": "y", "gold": {"accuracy": [0, 9]}}',
]
EXPECTED_REASONS = {
    "en": [
        'line 2: "lang" in "metadata" is "bahasa", not a language code (ISO 639-1)',
        'line 3: "prompt" is empty',
        'line 4: unknown key "warna": move it into "metadata"',
        "line 5: invalid JSON at column 27: a comma is missing",
        'line 6: duplicate id "a" (first used on line 1)',
        'line 7: "id" must be a string or a whole number, not a list',
        'line 8: use either "prompt" and "response" or "messages", not both',
        'line 9: gold "accuracy" [0, 9] is outside the scale 1 to 5',
    ],
    "id": [
        'baris 2: "lang" di "metadata" berisi "bahasa", bukan kode bahasa (ISO 639-1)',
        'baris 3: "prompt" kosong',
        'baris 4: kunci "warna" tidak dikenal: pindahkan ke dalam "metadata"',
        "baris 5: JSON-nya salah di kolom 27: ada koma yang kurang",
        'baris 6: id "a" dipakai dua kali (pertama di baris 1)',
        'baris 7: "id" harus berupa teks atau bilangan bulat, bukan daftar',
        'baris 8: pakai "prompt" dan "response" atau "messages", jangan dua-duanya',
        'baris 9: gold "accuracy" [0, 9] di luar skala 1 sampai 5',
    ],
}
# English words of the refusal, none of which may reach an Indonesian coordinator.
ENGLISH_WORDS = ("line", "empty", "unknown", "invalid", "duplicate", "must", "outside", "problem")


async def start_coordinator(api: FakeBotApi, language: str) -> FakeUser:
    """The coordinator from settings (user 9000), with Telegram in `language`."""
    boss = api.user(9000, "Boss", language_code=language)
    await boss.send("/start")
    await boss.wait_bot_message()
    return boss


@pytest.fixture
async def koordinator(api: FakeBotApi, nilai: RunningBot) -> FakeUser:
    """The coordinator, with Telegram in Indonesian."""
    return await start_coordinator(api, "id")


@pytest.mark.parametrize("language", ["en", "id"])
async def test_every_reason_a_file_is_refused_is_in_the_coordinators_language(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    boss = await start_coordinator(api, language)
    status = await upload(api, boss, "masalah.jsonl", "\n".join(PROBLEM_LINES).encode())
    text = status.plain_text()
    for reason in EXPECTED_REASONS[language]:
        assert f"• {reason}" in text
    if language == "id":
        assert "tidak diimpor: ada 8 masalah" in text
        words = set(re.findall(r"[a-z]+", re.sub(r'"[^"]*"', "", text.lower())))
        assert words.isdisjoint(ENGLISH_WORDS), words & set(ENGLISH_WORDS)
    else:
        assert "was not imported: 8 problems" in text
    assert await nilai.count("SELECT COUNT(*) FROM uploads") == 0


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_bad_rubric_is_refused_in_the_coordinators_language(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    boss = await start_coordinator(api, language)
    bad = b'scale = [3, 3]\n[[criteria]]\nkey = "a"\nid = "A"\nen = "A"\n'
    status = await upload(api, boss, "rubrik.toml", bad)
    expected = {
        "en": "That rubric was not saved: 'scale' must be [low, high], 0 <= low < high",
        "id": "Rubrik itu tidak disimpan: 'scale' harus [bawah, atas], dengan 0 <= bawah < atas",
    }
    assert expected[language] in status.plain_text()
    unparsable = await upload(api, boss, "rubrik.toml", b"[[criteria]\n")
    where = {"en": "not valid TOML (line 1, column 11)", "id": "bukan TOML yang sah (baris 1"}
    assert where[language] in unparsable.plain_text()


async def test_warnings_and_languages_in_the_summary_are_indonesian(
    api: FakeBotApi, nilai: RunningBot, koordinator: FakeUser
) -> None:
    lines = [
        '{"prompt": "Halo", "response": "Hai", "metadata": {"lang": "ID"}}',
        '{"prompt": "Hello", "response": "Hi", "metadata": {"lang": "en-GB"}}',
        '{"prompt": "Punten", "response": "Mangga", "metadata": {"lang": "su"}}',
        '{"prompt": "Hai", "response": "Halo", "metadata": {"lang": "id"}, "gold": {"gaya": [1, 1]}}',  # noqa: E501
    ]
    status = await upload(api, koordinator, "b.jsonl", "\n".join(lines).encode())
    text = status.plain_text()
    assert "Bahasa: en 1, id 2, su 1" in text
    assert 'Ada 1 peringatan, misalnya baris 4: kriteria gold "gaya" tidak ada di rubrik' in text
    await koordinator.tap(status, "Buka tanpa umumkan")
    await api.wait_for_call("editMessageText", lambda c: "sudah dibuka" in c.params["text"])
    rows = await nilai.database.fetchall("SELECT lang FROM items ORDER BY id")
    assert [row[0] for row in rows] == ["id", "en", "su", "id"]


@pytest.mark.parametrize("language", ["en", "id"])
async def test_import_progress_counts_items_not_lines(
    api: FakeBotApi, nilai: RunningBot, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """A CSV whose answers span two lines: 2,500 items on 5,001 lines. The progress message
    counts the items stored of the items checked, with the reader's digit grouping."""
    import bot.batches

    monkeypatch.setattr(bot.batches, "CHUNK", 1_000)
    boss = await start_coordinator(api, language)
    rows = "".join(f'q{n},Prompt {n},"Line one\nline two"\n' for n in range(1, 2_501))
    status = await upload(api, boss, "dua.csv", ("id,prompt,response\n" + rows).encode())
    since = api.mark()
    await boss.tap(status, "Open quietly" if language == "en" else "Buka tanpa umumkan")
    done = "is open: 2,500 items" if language == "en" else "sudah dibuka: 2.500 item"
    await api.wait_for_call("editMessageText", lambda c: done in c.params["text"], since=since)
    shown = [
        call.params["text"]
        for call in api.calls[since:]
        if call.method == "editMessageText" and call.params["text"].startswith("⏳")
    ]
    expected = {
        "en": "⏳ Importing <b>dua</b>… 1,000/2,500 items",
        "id": "⏳ Lagi mengimpor <b>dua</b>… 1.000/2.500 item",
    }
    assert shown and shown[0] == expected[language]
    assert not [text for text in shown if "5,001" in text or "5.001" in text]
