"""A coordinator's exports through Telegram: /export sends the file as a document, then its
manifest as a second one."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from bot.chat_exports import Exports
from bot.exports import export_batch
from bot.i18n import t
from handlers.callback_data import Action, encode
from handlers.exports import send_export
from tests.e2e import RunningBot, answered
from tests.fakebot import ApiCall, FakeBotApi, FakeMessage, FakeUser
from tests.test_exports import (
    CITRA,
    REWRITE_CHAT,
    REWRITE_ID,
    Reviewed,
    response_of,
    review_rewrite,
    reviewed_pilot,
)


@pytest.fixture
async def pilot(nilai: RunningBot, tmp_path: Path) -> Reviewed:
    return await reviewed_pilot(nilai.database, nilai.settings, nilai.clock, tmp_path)


async def ask(api: FakeBotApi, user: FakeUser, text: str) -> FakeMessage:
    """Send a command; the bot's first answer."""
    since = api.mark()
    await user.send(text)
    return await user.wait_bot_message(since=since)


async def documents_after(api: FakeBotApi, user: FakeUser, since: int) -> list[ApiCall]:
    """Wait until the export's status shows its outcome; the documents sent meanwhile."""
    await api.wait_for_call(
        "editMessageText",
        lambda c: c.chat_id == user.chat_id and "✅" in str(c.params.get("text")),
        since=since,
        timeout=10,
    )
    return [c for c in api.calls[since:] if c.method == "sendDocument" and c.ok]


def content_of(api: FakeBotApi, call: ApiCall) -> bytes:
    return api.file_content(call.result["document"]["file_id"])


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_coordinator_gets_every_format_as_a_document(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed, tmp_path: Path
) -> None:
    for fmt, name, rows in (
        ("raw", "pilot-raw.jsonl", 6),
        ("sft", "pilot-sft.jsonl", 1),  # accepted rewrites only
        ("dpo", "pilot-dpo.jsonl", 1),
        ("ratings", "pilot-ratings.csv", 16),
    ):
        since = api.mark()
        status = await ask(api, coordinator, f"/export pilot {fmt}")
        assert f"Exporting pilot as {fmt}" in status.plain_text()
        [document, manifest_document] = await documents_after(api, coordinator, since)
        message = api.message(coordinator.chat_id, document.result["message_id"])
        assert message.document is not None and message.document["file_name"] == name
        unit = "row" if rows == 1 else "rows"
        assert message.plain_text() == f"📤 pilot · {fmt} · {rows} {unit}"
        expected = tmp_path / f"expected-{name}"
        await export_batch(nilai.database, nilai.settings, "pilot", fmt, expected)
        data = content_of(api, document)
        assert data == expected.read_bytes()
        assert manifest_document.result["document"]["file_name"] == f"{name}.manifest.json"
        caption = api.message(coordinator.chat_id, manifest_document.result["message_id"])
        assert caption.plain_text() == t("en", "export.manifest_caption")
        manifest = json.loads(content_of(api, manifest_document))
        assert manifest["file"] == {"name": name, "size": len(data), "sha256": sha256_of(data)}
        assert (manifest["batch"], manifest["format"], manifest["rows"]) == ("pilot", fmt, rows)
        assert (manifest["items"], manifest["gold_items"], manifest["submitted_reviews"]) == (
            4,
            1,
            6,
        )
        assert manifest["filters"] == {"with_trainer_ids": False, "all_rewrites": False}
        assert "sent" not in manifest
        final = api.message(coordinator.chat_id, status.message_id).plain_text()
        assert final.startswith(f"✅ pilot as {fmt}: {rows} {unit}")

    raw = content_of(api, api.calls_to("sendDocument")[0]).decode("utf-8")
    assert REWRITE_ID in raw and '"trainer":"' in raw
    assert "trainer_id" not in raw and "1001" not in raw  # chat exports never carry real ids


async def test_export_explains_itself_and_lists_the_choices(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed
) -> None:
    usage = (await ask(api, coordinator, "/export")).plain_text()
    assert "/export BATCH FORMAT" in usage and "ratings" in usage and "Batches: pilot" in usage

    unknown = (await ask(api, coordinator, "/export pilto raw")).plain_text()
    assert "no batch named pilto" in unknown and "Batches: pilot" in unknown

    bad_format = (await ask(api, coordinator, "/export pilot <b>xml</b>")).plain_text()
    assert "<b>xml</b> is not an export format" in bad_format
    assert "raw, sft, dpo, ratings" in bad_format
    await api.wait_idle(quiet=0.1)
    assert api.calls_to("sendDocument") == []


async def test_a_batch_with_nothing_to_export_says_so(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, tmp_path: Path
) -> None:
    source = tmp_path / "fresh.jsonl"
    source.write_text('{"prompt": "Halo?", "response": "Hai!"}\n', "utf-8")
    await nilai.import_file(source, name="fresh batch")
    since = api.mark()
    status = await ask(api, coordinator, "/export fresh batch sft")
    await api.wait_for_call("editMessageText", since=since)
    text = api.message(coordinator.chat_id, status.message_id).plain_text()
    assert "Nothing to export from fresh batch as sft yet" in text
    assert api.calls_to("sendDocument") == []


async def test_a_trainer_cannot_export(api: FakeBotApi, nilai: RunningBot, pilot: Reviewed) -> None:
    trainer = api.user(2001, "Rina", language_code="id")
    await nilai.onboard(trainer)
    refusal = await ask(api, trainer, "/export pilot raw")
    assert "khusus koordinator" in refusal.plain_text()
    await api.wait_idle(quiet=0.2)
    assert api.calls_to("sendDocument") == []
    assert not any("pilot" in (m.text or "") for m in trainer.bot_messages())


async def test_an_export_above_the_upload_limit_is_compressed_then_split(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed, tmp_path: Path
) -> None:
    expected = tmp_path / "expected.jsonl"
    await export_batch(nilai.database, nilai.settings, "pilot", "raw", expected)
    size = expected.stat().st_size
    services = nilai.app.bot_data["services"]
    bot = nilai.app.bot

    since = api.mark()
    await send_export(bot, 9000, "en", services, "pilot", "raw", upload_limit=size - 1)
    [single, manifest_document] = await documents_after(api, coordinator, since)
    assert single.result["document"]["file_name"] == "pilot-raw.jsonl.gz"
    assert gzip.decompress(content_of(api, single)) == expected.read_bytes()
    # The manifest describes the export as written (what gunzip gives back) and the file sent.
    manifest = json.loads(content_of(api, manifest_document))
    assert manifest_document.result["document"]["file_name"] == "pilot-raw.jsonl.manifest.json"
    assert manifest["file"] == {
        "name": "pilot-raw.jsonl",
        "size": size,
        "sha256": sha256_of(expected.read_bytes()),
    }
    sent = content_of(api, single)
    assert manifest["sent"] == [
        {"name": "pilot-raw.jsonl.gz", "size": len(sent), "sha256": sha256_of(sent)}
    ]
    status = api.message(9000, api.calls[since].result["message_id"]).plain_text()
    assert "sent it compressed (.gz)" in status

    since = api.mark()
    await send_export(bot, 9000, "en", services, "pilot", "raw", upload_limit=1_000)
    *parts, manifest_document = await documents_after(api, coordinator, since)
    count = len(parts)
    assert count >= 2
    names = [part.result["document"]["file_name"] for part in parts]
    assert names == [f"pilot-raw.part{n:02d}-of-{count:02d}.jsonl.gz" for n in range(1, count + 1)]
    assert all(len(content_of(api, part)) <= 1_000 for part in parts)
    captions = [api.message(9000, part.result["message_id"]).plain_text() for part in parts]
    assert captions[-1] == f"📤 pilot · raw · part {count} of {count}"
    joined = b"".join(gzip.decompress(content_of(api, part)) for part in parts)
    assert joined == expected.read_bytes()
    manifest = json.loads(content_of(api, manifest_document))
    assert manifest["file"]["sha256"] == sha256_of(joined)
    assert [(f["name"], f["sha256"]) for f in manifest["sent"]] == [
        (name, sha256_of(content_of(api, part))) for name, part in zip(names, parts, strict=True)
    ]
    status = api.message(9000, api.calls[since].result["message_id"]).plain_text()
    assert f"in {count} .gz parts" in status and "Each part is a complete file" in status
    assert [json.loads(line)["item_id"] for line in joined.splitlines()][:2] == ["id-001"] * 2


async def test_a_long_export_shows_its_progress(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed
) -> None:
    services = nilai.app.bot_data["services"]
    since = api.mark()
    await send_export(
        nilai.app.bot, 9000, "id", services, "pilot", "raw", chunk_size=1, edit_every=0
    )
    await api.wait_idle(quiet=0.1)
    edits = [
        call.params["text"]
        for call in api.calls[since:]
        if call.method == "editMessageText" and call.ok
    ]
    assert edits[:-1] == [  # items read of the batch's four
        t("id", "export.progress", batch="pilot", format="raw", done=1, total=4, percent="25%"),
        t("id", "export.progress", batch="pilot", format="raw", done=2, total=4, percent="50%"),
        t("id", "export.progress", batch="pilot", format="raw", done=3, total=4, percent="75%"),
    ]
    assert edits[-1].startswith("✅ <b>pilot</b>") and "<b>raw</b>: 6 baris" in edits[-1]


# -- rewrites' review: accepted only, and a button for the unreviewed ones ----------------------


async def export_status(api: FakeBotApi, user: FakeUser, text: str) -> tuple[FakeMessage, int]:
    """Send /export ...; its status message once it shows the outcome, and the mark before."""
    since = api.mark()
    status = await ask(api, user, text)
    await api.wait_for_call(
        "editMessageText",
        lambda c: c.chat_id == user.chat_id and str(c.params.get("text"))[:1] in "✅📭",
        since=since,
        timeout=10,
    )
    return api.message(user.chat_id, status.message_id), since


async def test_sft_sends_the_accepted_rewrites_and_a_button_adds_the_unreviewed_ones(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed
) -> None:
    status, since = await export_status(api, coordinator, "/export pilot sft")
    [document, _] = [c for c in api.calls[since:] if c.method == "sendDocument" and c.ok]
    assert content_of(api, document).count(b"\n") == 1  # Ana's accepted rewrite only
    text = status.plain_text()
    assert text.startswith("✅ pilot as sft: 1 row")
    assert "2 unreviewed rewrites were left out. Tap Include unreviewed" in text
    [[button]] = status.buttons()
    assert button["text"] == "➕ Include unreviewed"

    since = api.mark()
    tap = await coordinator.tap(status, "Include unreviewed")
    assert await answered(api, tap) == "⏳ Exporting sft with the unreviewed rewrites…"
    [everything, manifest_document] = await documents_after(api, coordinator, since)
    lines = [json.loads(line) for line in content_of(api, everything).splitlines()]
    assert [line["messages"][-1]["content"] for line in lines] == [
        REWRITE_ID,
        REWRITE_CHAT,
        response_of("multi-001"),
    ]  # never Budi's rejected rewrite, nor the gold item's
    manifest = json.loads(content_of(api, manifest_document))
    assert manifest["filters"]["all_rewrites"] is True
    assert manifest["rewrites"]["unreviewed_included"] is True
    final = api.message(coordinator.chat_id, api.calls[since:][-1].result["message_id"])
    assert final.buttons() == [] and "left out" not in final.plain_text()
    assert status.buttons() == []  # the tapped button is gone from its message
    # Claimed in the database: another bot process on it (its own Exports) finds it taken.
    elsewhere = Exports(nilai.database, nilai.settings)
    assert not await elsewhere.claim_button(coordinator.chat_id, status.message_id, nilai.clock())

    # Tapped again (a double tap on a stale copy), or the tap redelivered: no second export.
    since = api.mark()
    second = await coordinator.tap(status, data=button["callback_data"])
    assert await answered(api, second) == "That export is already on its way."
    api.redeliver(tap)
    await api.wait_for_call(
        "answerCallbackQuery",
        lambda c: c.params.get("callback_query_id") == tap["callback_query"]["id"],
        since=since,
    )
    await api.wait_idle(quiet=0.3)
    assert [c for c in api.calls[since:] if c.method == "sendDocument"] == []


@pytest.mark.parametrize("language", ["en", "id"])
async def test_with_nothing_accepted_the_export_says_so_instead_of_an_empty_file(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed, language: str
) -> None:
    await review_rewrite(nilai.database, await accepted_assignment(nilai), "rejected", CITRA)
    services = nilai.app.bot_data["services"]
    since = api.mark()
    await send_export(nilai.app.bot, 9000, language, services, "pilot", "dpo")
    await api.wait_idle(quiet=0.2)
    assert [c for c in api.calls[since:] if c.method == "sendDocument"] == []
    status = api.message(9000, api.calls[since].result["message_id"])
    # dpo counts what it could take: Budi's unreviewed "rewrite" equal to its answer is none.
    assert status.text == "\n".join(
        [
            t(
                language,
                "export.none_accepted",
                batch="pilot",
                format="dpo",
                unreviewed="1",
                count=1,
            ),
            t(language, "export.tally_dpo", accepted="0", rejected="2", unreviewed="1"),
        ]
    )
    shown = status.plain_text()
    assert ("0 rows" if language == "en" else "0 baris") in shown and "--all-rewrites" in shown
    [[button]] = status.buttons()
    assert button["text"] == t("en" if language == "en" else "id", "export.include_unreviewed")

    since = api.mark()
    tap = await coordinator.tap(status, data=button["callback_data"])
    [document, _] = await documents_after(api, coordinator, since)
    [line] = [json.loads(text) for text in content_of(api, document).splitlines()]
    assert line["chosen"] == [{"role": "assistant", "content": REWRITE_CHAT}]
    await answered(api, tap)


async def test_a_tapped_include_button_goes_and_a_failed_export_may_be_tapped_again(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed
) -> None:
    status, _ = await export_status(api, coordinator, "/export pilot sft")
    [[button]] = status.buttons()
    api.fail_next("sendDocument", status=400, description="Bad Request: file is too big")
    since = api.mark()
    tap = await coordinator.tap(status, "Include unreviewed")
    assert await answered(api, tap) == "⏳ Exporting sft with the unreviewed rewrites…"
    await api.wait_for_call(
        "editMessageText",
        lambda c: c.chat_id == coordinator.chat_id and "😓" in str(c.params.get("text")),
        since=since,
        timeout=10,
    )
    assert api.message(coordinator.chat_id, status.message_id).buttons() == []
    assert [c for c in api.calls[since:] if c.method == "sendDocument" and c.ok] == []
    assert await nilai.count("SELECT COUNT(*) FROM export_claims") == 0  # released

    # The export failed: a stale copy of the button (or the tap redelivered) tries again.
    since = api.mark()
    again = await coordinator.tap(status, data=button["callback_data"])
    assert await answered(api, again) == "⏳ Exporting sft with the unreviewed rewrites…"
    [everything, _] = await documents_after(api, coordinator, since)
    assert content_of(api, everything).count(b"\n") == 3

    # That one went: the same tap once more is one export too many.
    since = api.mark()
    third = await coordinator.tap(status, data=button["callback_data"])
    assert await answered(api, third) == "That export is already on its way."
    await api.wait_idle(quiet=0.3)
    assert [c for c in api.calls[since:] if c.method == "sendDocument"] == []


@pytest.mark.parametrize("language", ["en", "id"])
async def test_with_every_rewrite_rejected_the_export_gives_the_counts(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed, language: str
) -> None:
    for assignment in await nilai.database.fetchall(
        "SELECT a.id FROM assignments a JOIN judgments j ON j.assignment_id = a.id"
        " JOIN items i ON i.id = a.item_id LEFT JOIN rewrite_reviews r ON r.assignment_id = a.id"
        " WHERE j.rewrite IS NOT NULL AND i.gold IS NULL AND r.status IS NOT 'rejected'"
    ):
        await review_rewrite(nilai.database, assignment[0], "rejected", CITRA, reason="other")
    services = nilai.app.bot_data["services"]
    for fmt, rejected in (("sft", "4"), ("dpo", "3")):  # dpo: Budi's unchanged answer is none
        since = api.mark()
        await send_export(nilai.app.bot, 9000, language, services, "pilot", fmt)
        await api.wait_idle(quiet=0.2)
        assert [c for c in api.calls[since:] if c.method == "sendDocument"] == []
        status = api.message(9000, api.calls[since].result["message_id"])
        tally = "tally_dpo" if fmt == "dpo" else "tally"
        assert status.text == "\n".join(
            [
                t(language, "export.empty_rewrites", batch="pilot", format=fmt),
                t(language, f"export.{tally}", accepted="0", rejected=rejected, unreviewed="0"),
            ]
        )
        assert status.buttons() == []
    shown = status.plain_text()
    assert ("3 rejected" if language == "en" else "3 ditolak") in shown


async def test_forged_or_stale_include_buttons_and_trainers_change_nothing(
    api: FakeBotApi, nilai: RunningBot, coordinator: FakeUser, pilot: Reviewed
) -> None:
    status, _ = await export_status(api, coordinator, "/export pilot sft")
    batch_id = await nilai.database.fetchval("SELECT id FROM batches WHERE name = 'pilot'")
    for data in (
        encode(Action.EXPORT_ALL, batch_id + 1, 1),  # no such batch
        encode(Action.EXPORT_ALL, batch_id, 0),  # raw has every rewrite already
        encode(Action.EXPORT_ALL, batch_id, 9),  # no such format
        "1W:1:x",
    ):
        since = api.mark()
        tap = await coordinator.tap(status, data=data)
        assert await answered(api, tap) == "That batch or format is no longer there."
        await api.wait_idle(quiet=0.2)
        assert [c for c in api.calls[since:] if c.method == "sendDocument"] == []

    trainer = api.user(2001, "Rina", language_code="id")
    await nilai.onboard(trainer)
    since = api.mark()
    tap = await trainer.tap(status, data=encode(Action.EXPORT_ALL, batch_id, 1))
    assert "koordinator" in await answered(api, tap)
    await api.wait_idle(quiet=0.2)
    assert [c for c in api.calls[since:] if c.method == "sendDocument"] == []


async def accepted_assignment(nilai: RunningBot) -> int:
    return await nilai.database.fetchval(
        "SELECT assignment_id FROM rewrite_reviews WHERE status = 'accepted'"
    )
