"""The lease sweeper end to end: the job frees the slots of leases that ran out and says so on
their panels (scores and buttons kept); a tap afterwards goes on while the item still needs the
trainer, else explains and offers the next item; a late Submit is kept; /next gives the item
back; a panel that cannot be edited never stops the sweep."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from bot.i18n import t_plain
from handlers.callback_data import Action, decode
from handlers.sending import BULK
from tests.conftest import FakeClock
from tests.e2e import RunningBot, answered, assignment_of, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

LANGUAGES = pytest.mark.parametrize("language", ["en", "id"])
EXPIRED = {
    "en": "This item's time ran out (30 minutes). Tap any button to carry on",
    "id": "Waktu item ini habis (30 menit). Ketuk tombol mana saja untuk lanjut",
}
TAKEN = {
    "en": "This item's time ran out and it's no longer open for you",
    "id": "Waktu item ini habis dan sekarang sudah tidak bisa kamu nilai",
}
ELSEWHERE = {
    "en": "This item's time ran out, and you're on another item now",
    "id": "Waktu item ini habis, dan sekarang kamu lagi mengerjakan item lain",
}
SCORES = {"en": "Accuracy 3", "id": "Akurasi 3"}


def write_batch(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "batch.jsonl"
    records = [{"prompt": f"Prompt {n}", "response": f"Answer {n}"} for n in range(1, count + 1)]
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    return path


async def trainer_in(api: FakeBotApi, nilai: RunningBot, language: str, uid: int) -> FakeUser:
    user = api.user(uid, f"Trainer {uid}", language_code=language)
    await nilai.onboard(user)
    return user


async def sweep(nilai: RunningBot) -> None:
    """Run the sweeper job now, as the JobQueue does every minute (its edits included)."""
    [job] = nilai.app.job_queue.get_jobs_by_name("lease-sweeper")
    await job.run(nilai.app)


async def tap(api: FakeBotApi, user: FakeUser, panel: FakeMessage, action: Action, *args: int):
    """Tap a panel's button; the toast, once every edit it brings has arrived."""
    toast = await answered(api, await tap_action(user, panel, action, *args))
    await api.wait_idle(quiet=0.05)
    return toast


def button_data(message: FakeMessage) -> list[str]:
    return [button["callback_data"] for row in message.buttons() for button in row]


async def status_of(nilai: RunningBot, assignment_id: int) -> tuple[str, int]:
    row = await nilai.database.fetchone(
        "SELECT status, late FROM assignments WHERE id = ?", (assignment_id,)
    )
    assert row is not None
    return row[0], row[1]


@LANGUAGES
async def test_the_sweeper_frees_the_slot_and_says_so_on_the_panel(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    await nilai.import_file(write_batch(tmp_path, 2), overlap=1)
    rina = await trainer_in(api, nilai, language, 2001)
    budi = await trainer_in(api, nilai, "en", 2002)
    panel = await nilai.next_item(rina)
    await tap(api, rina, panel, Action.SCORE, 0, 3)
    buttons = button_data(panel)
    clock.advance(minutes=29)
    since = api.mark()
    await sweep(nilai)
    assert [c.method for c in api.calls[since:] if c.method != "getUpdates"] == []
    clock.advance(minutes=1, seconds=1)

    since = api.mark()
    await sweep(nilai)
    [edit] = [call for call in api.calls[since:] if call.method == "editMessageText"]
    assert edit.ok and edit.params["message_id"] == panel.message_id
    text = panel.plain_text()
    assert EXPIRED[language] in text
    assert SCORES[language] in text and "Prompt 1" in text  # the item and its scores stay
    assert button_data(panel) == buttons  # the same buttons: a tap goes on from here
    assert await status_of(nilai, assignment_of(panel)) == ("expired", 0)

    taken = await nilai.next_item(budi)  # the slot is free: offered at once
    assert "Prompt 1" in taken.plain_text()


@LANGUAGES
async def test_a_tap_after_the_sweep_goes_on_while_the_item_still_needs_the_trainer(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    await nilai.import_file(write_batch(tmp_path, 2), overlap=1)
    rina = await trainer_in(api, nilai, language, 2001)
    panel = await nilai.next_item(rina)
    await tap(api, rina, panel, Action.SCORE, 0, 3)
    clock.advance(hours=2)
    await sweep(nilai)
    assert EXPIRED[language] in panel.plain_text()

    toast = await tap(api, rina, panel, Action.SCORE, 1, 4)
    assert toast.endswith(": 4")  # scored as usual
    text = panel.plain_text()
    assert EXPIRED[language] not in text and SCORES[language] in text
    assert await status_of(nilai, assignment_of(panel)) == ("active", 0)
    lease = await nilai.database.fetchval(
        "SELECT lease_expires_at FROM assignments WHERE id = ?", (assignment_of(panel),)
    )
    assert lease > clock.now.isoformat()  # a new lease, from the tap on
    for index in (2, 3):
        await tap(api, rina, panel, Action.SCORE, index, 4)
    await tap(api, rina, panel, Action.SUBMIT)
    assert await status_of(nilai, assignment_of(panel)) == ("submitted", 0)  # on time


@LANGUAGES
async def test_a_tap_after_another_trainer_took_the_item_explains_and_offers_the_next(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    await nilai.import_file(write_batch(tmp_path, 2), overlap=1)
    rina = await trainer_in(api, nilai, language, 2001)
    budi = await trainer_in(api, nilai, "en", 2002)
    panel = await nilai.next_item(rina)
    assignment = assignment_of(panel)
    await tap(api, rina, panel, Action.SCORE, 0, 3)
    clock.advance(minutes=31)
    await sweep(nilai)
    await nilai.next_item(budi)  # Budi holds the only slot of item 1 now

    toast = await tap(api, rina, panel, Action.SCORE, 1, 4)
    assert toast == t_plain(language, "toast.lease_taken")
    text = panel.plain_text()
    assert TAKEN[language] in text and SCORES[language] in text
    assert [decode(data).action for data in button_data(panel)] == [Action.NEXT]
    assert await status_of(nilai, assignment) == ("expired", 0)
    assert await nilai.count("SELECT COUNT(*) FROM scores WHERE score = 4") == 0  # not applied

    since = api.mark()
    await rina.tap(panel, data=button_data(panel)[0])
    following = await nilai.wait_panel(rina, since)
    assert "Prompt 2" in following.plain_text()


@LANGUAGES
async def test_a_tap_on_a_swept_item_while_on_another_says_so_not_that_it_is_gone(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path, language: str
) -> None:
    """The item has room again, but the trainer works on another one now: the refusal says
    that (the item is still open to them later), not that it is no longer open for them."""
    await nilai.import_file(write_batch(tmp_path, 3), overlap=1)
    rina = await trainer_in(api, nilai, language, 2001)
    budi = await trainer_in(api, nilai, "en", 2002)
    panel = await nilai.next_item(rina)
    assignment = assignment_of(panel)
    await tap(api, rina, panel, Action.SCORE, 0, 3)
    clock.advance(minutes=31)
    await sweep(nilai)
    theirs = await nilai.next_item(budi)  # Budi takes item 1
    other = await nilai.next_item(rina)  # so Rina gets item 2
    assert "Prompt 2" in other.plain_text()
    await tap(api, budi, theirs, Action.SKIP_MENU)
    await tap(api, budi, theirs, Action.SKIP, 0)  # item 1 has room again

    toast = await tap(api, rina, panel, Action.SCORE, 1, 4)
    assert toast == t_plain(language, "toast.lease_elsewhere")
    text = panel.plain_text()
    assert ELSEWHERE[language] in text and TAKEN[language] not in text
    assert SCORES[language] in text
    assert await status_of(nilai, assignment) == ("expired", 0)


async def test_a_submit_after_expiry_without_room_is_kept_and_marked_late(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, 3), overlap=1)
    rina = await trainer_in(api, nilai, "en", 2001)
    budi = await trainer_in(api, nilai, "en", 2002)
    panel = await nilai.next_item(rina)
    for index in range(4):
        await tap(api, rina, panel, Action.SCORE, index, 3)
    clock.advance(minutes=45)
    await sweep(nilai)
    theirs = await nilai.next_item(budi)
    for index in range(4):
        await tap(api, budi, theirs, Action.SCORE, index, 5)
    await tap(api, budi, theirs, Action.SUBMIT)

    since = api.mark()
    toast = await tap(api, rina, panel, Action.SUBMIT)
    assert toast == t_plain("en", "toast.submitted")
    assert await status_of(nilai, assignment_of(panel)) == ("submitted", 1)
    assert (
        await nilai.count(
            "SELECT done_count FROM items"
            " WHERE id = (SELECT item_id FROM assignments WHERE id = ?)",
            assignment_of(panel),
        )
        == 2
    )
    following = await nilai.wait_panel(rina, since)  # and the loop goes on (Budi has item 2)
    assert "Prompt 3" in following.plain_text()


async def test_next_after_the_sweep_gives_the_item_back_with_its_scores(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path, 2), overlap=1)
    rina = await trainer_in(api, nilai, "en", 2001)
    panel = await nilai.next_item(rina)
    await tap(api, rina, panel, Action.SCORE, 0, 3)
    clock.advance(hours=20)
    await sweep(nilai)

    again = await nilai.next_item(rina)
    assert assignment_of(again) == assignment_of(panel)
    assert "Prompt 1" in again.plain_text() and "Accuracy 3" in again.plain_text()
    await api.wait_idle(quiet=0.05)
    assert panel.buttons() == [] and "moved below" in panel.plain_text()  # one live panel
    assert await status_of(nilai, assignment_of(again)) == ("active", 0)


async def test_a_panel_that_cannot_be_edited_never_stops_the_sweep(
    api: FakeBotApi,
    nilai: RunningBot,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await nilai.import_file(write_batch(tmp_path, 3), overlap=1)
    rina, budi, sari = [await trainer_in(api, nilai, "en", uid) for uid in (2001, 2002, 2003)]
    gone = await nilai.next_item(rina)
    await nilai.next_item(budi)
    kept = await nilai.next_item(sari)
    api.message(rina.chat_id, gone.message_id).deleted = True  # Rina deleted the message
    api.block(budi.chat_id)  # Budi blocked the bot
    clock.advance(minutes=31)

    with caplog.at_level(logging.WARNING, logger="handlers.lease_sweeper"):
        await sweep(nilai)
    assert "not edited" in caplog.text
    assert EXPIRED["en"] in kept.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'expired'") == 3
    reachable = await nilai.database.fetchall(
        "SELECT user_id, reachable FROM trainers WHERE user_id > 2000 ORDER BY user_id"
    )
    assert [tuple(row) for row in reachable] == [(2001, 1), (2002, 0), (2003, 1)]


async def test_the_sweepers_edits_are_paced_as_bulk_sends(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    """Many panels may need the edit at once (a downtime): they share the bulk budget."""
    await nilai.import_file(write_batch(tmp_path, 3), overlap=1)
    users = [await trainer_in(api, nilai, "en", uid) for uid in (2001, 2002, 2003)]
    for user in users:
        await nilai.next_item(user)
    budget = nilai.app.bot.rate_limiter
    seen: list[tuple[str, str | None]] = []
    process = budget.process_request

    async def recorded(callback, args, kwargs, endpoint, data, rate_limit_args):
        seen.append((endpoint, rate_limit_args))
        return await process(callback, args, kwargs, endpoint, data, rate_limit_args)

    budget.process_request = recorded
    clock.advance(minutes=31)
    await sweep(nilai)
    assert [args for endpoint, args in seen if endpoint == "editMessageText"] == [BULK] * 3


async def test_a_tap_while_the_sweepers_edit_waits_for_the_bulk_budget_is_shown_after_it(
    api: FakeBotApi, nilai: RunningBot, clock: FakeClock, tmp_path: Path
) -> None:
    """The "time ran out" edit can wait behind bulk sends (a 429 for the whole budget); a tap
    that takes the lease up meanwhile is edited after it, so the panel ends showing the tap."""
    await nilai.import_file(write_batch(tmp_path, 2), overlap=1)
    rina = await trainer_in(api, nilai, "en", 2001)
    panel = await nilai.next_item(rina)
    await tap(api, rina, panel, Action.SCORE, 0, 3)
    budget = nilai.app.bot.rate_limiter
    process = budget.process_request
    waiting, released = asyncio.Event(), asyncio.Event()

    async def bulk_held(callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint == "editMessageText" and rate_limit_args == BULK:
            waiting.set()
            await released.wait()  # the bulk budget is spent for now
        return await process(callback, args, kwargs, endpoint, data, rate_limit_args)

    budget.process_request = bulk_held
    clock.advance(hours=2)
    sweeping = asyncio.create_task(sweep(nilai))
    await asyncio.wait_for(waiting.wait(), timeout=10)
    toast = await tap(api, rina, panel, Action.SCORE, 1, 4)  # taken up again, answered now
    assert toast.endswith(": 4")
    assert await status_of(nilai, assignment_of(panel)) == ("active", 0)
    since = api.mark()
    released.set()
    await sweeping
    await api.wait_idle(quiet=0.05)
    text = panel.plain_text()
    assert EXPIRED["en"] not in text and "Natural & warm 4" in text
    edits = [call for call in api.calls[since:] if call.method == "editMessageText"]
    assert len(edits) == 2  # the sweeper's, then the tap's
