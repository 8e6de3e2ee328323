"""A coordinator runs the team from Telegram: invites, the trainer list, quotas, pausing and
removing trainers, and /progress; nobody else can, end to end through the fake Bot API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.clock import stamp
from bot.formatting import moment
from handlers.callback_data import Action, encode
from storage import trainers
from tests.conftest import SAMPLES
from tests.e2e import RunningBot, answered, tap_action
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

BOSS = 9000


@pytest.fixture
async def boss(api: FakeBotApi, nilai: RunningBot) -> FakeUser:
    user = api.user(BOSS, "Boss", language_code="en")
    await user.send("/start")
    await user.wait_bot_message()
    return user


@pytest.fixture
async def rina(api: FakeBotApi, nilai: RunningBot) -> FakeUser:
    user = api.user(2001, "Rina", language_code="en", username="rina_r")
    await nilai.onboard(user)
    return user


async def command(user: FakeUser, text: str) -> FakeMessage:
    """Send a command; the bot's answer."""
    await user.send(text)
    return await user.wait_bot_message()


async def review_one(api: FakeBotApi, nilai: RunningBot, user: FakeUser) -> None:
    """The trainer takes the next item, scores every criterion and submits it."""
    panel = await nilai.next_item(user)
    for index in range(4):
        await answered(api, await tap_action(user, panel, Action.SCORE, index, 4))
        await api.wait_idle(quiet=0.05)  # the panel shows the next criterion's buttons
    await answered(api, await tap_action(user, panel, Action.SUBMIT))
    await api.wait_idle(quiet=0.05)


async def audit(nilai: RunningBot) -> list[tuple]:
    rows = await nilai.database.fetchall(
        "SELECT actor_id, action, target, detail FROM audit_log"
        " WHERE action NOT LIKE 'privacy.%' ORDER BY id"  # trainers' own consent: not team work
    )
    return [tuple(row) for row in rows]


def expiry(nilai: RunningBot, days: int, language: str = "en") -> str:
    """An invite's expiry as the coordinator reads it (in the bot's time zone)."""
    return moment(nilai.clock() + timedelta(days=days), nilai.settings.timezone, language)


async def test_an_invite_link_from_chat_lets_a_new_trainer_join(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    answer = await command(boss, "/invite 2 3")
    text = answer.plain_text()
    assert f"Up to 2 people can join with it, until {expiry(nilai, 3)}." in text
    link = re.search(r"https://t\.me/nilai_test_bot\?start=(\S+)", text)
    assert link is not None

    newcomer = api.user(3001, "Nina", language_code="id")
    await newcomer.send(f"/start {link.group(1)}")
    assert "Selamat datang" in (await newcomer.wait_bot_message()).plain_text()
    row = await nilai.database.fetchone(
        "SELECT role, invite_code FROM trainers WHERE user_id = 3001"
    )
    assert tuple(row) == ("trainer", link.group(1))
    assert await nilai.count("SELECT uses_left FROM invites WHERE code = ?", link.group(1)) == 1
    [(actor, action, target, _)] = await audit(nilai)
    assert (actor, action, target) == (BOSS, "invite.create", f"invite:{link.group(1)}")

    one = (await command(boss, "/invite 1 0")).plain_text()  # explicit numbers still work
    assert "1 person can join with it; it never expires." in one
    for bad in ("/invite banana", "/invite 0", "/invite 5 7 9", "/invite trainer -1"):
        assert "/invite [trainer] [uses] [days]" in (await command(boss, bad)).plain_text(), bad
    assert await nilai.count("SELECT COUNT(*) FROM invites") == 2


@pytest.mark.parametrize("language", ["en", "id"])
async def test_invite_alone_is_a_link_for_many_that_expires_and_says_both(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    boss = api.user(BOSS, "Boss", language_code=language)
    await boss.send("/start")
    await boss.wait_bot_message()
    text = (await command(boss, "/invite")).plain_text()
    reach = {
        "en": f"Up to 100 people can join with it, until {expiry(nilai, 7, 'en')}.",
        "id": f"Bisa dipakai sampai 100 orang, berlaku sampai {expiry(nilai, 7, 'id')}.",
    }
    assert reach[language] in text
    code = re.search(r"start=(\S+)", text).group(1)
    row = await nilai.database.fetchone(
        "SELECT role, uses_left, expires_at FROM invites WHERE code = ?", (code,)
    )
    assert tuple(row) == ("trainer", 100, stamp(nilai.clock() + timedelta(days=7)))
    for user_id in range(3001, 3004):  # one link, many people
        newcomer = api.user(user_id, f"Trainer {user_id}", language_code=language)
        await newcomer.send(f"/start {code}")
        await newcomer.wait_bot_message()
    assert await nilai.count("SELECT COUNT(*) FROM trainers WHERE invite_code = ?", code) == 3


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_coordinator_invite_is_for_one_person_for_a_day_and_says_so(
    api: FakeBotApi, nilai: RunningBot, language: str
) -> None:
    boss = api.user(BOSS, "Boss", language_code=language)
    await boss.send("/start")
    await boss.wait_bot_message()
    text = (await command(boss, "/invite coordinator")).plain_text()
    when = expiry(nilai, 1, language)
    said = {
        "en": f"For one person only, and for 24 hours (until {when}).",
        "id": f"Cuma untuk satu orang, berlaku 24 jam (sampai {when}).",
    }
    assert said[language] in text
    code = re.search(r"start=(\S+)", text).group(1)
    row = await nilai.database.fetchone(
        "SELECT role, uses_left, expires_at FROM invites WHERE code = ?", (code,)
    )
    assert tuple(row) == ("coordinator", 1, stamp(nilai.clock() + timedelta(days=1)))

    first, second = api.user(3001, "Ayu"), api.user(3002, "Bayu")
    await first.send(f"/start {code}")
    await first.wait_bot_message()
    await second.send(f"/start {code}")
    await second.wait_bot_message()
    roles = await nilai.database.fetchall(
        "SELECT user_id, role FROM trainers WHERE user_id BETWEEN 3000 AND 3999"
    )
    assert [tuple(row) for row in roles] == [(3001, "coordinator")]  # the second was refused
    for numbers in ("/invite coordinator 5", "/invite coordinator 1 30"):  # no wider ones
        assert "/invite coordinator" in (await command(boss, numbers)).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM invites") == 1


async def add_long_named_trainers(nilai: RunningBot, count: int) -> None:
    """Trainers with the longest names Telegram allows, unreachable and removed: the widest
    lines a page can hold."""
    for number in range(1, count + 1):
        user_id = 5_000_000_000 + number
        await trainers.insert_trainer(
            nilai.database,
            user_id=user_id,
            chat_id=user_id,
            name="Wiwik Widyaningsih Wulandari " * 3,
            username=f"w{number:02d}" + "u" * 29,
            language="id",
            role="trainer",
            invite_code=None,
            now=f"2026-11-25T04:{number:02d}:00.000000+00:00",  # after the boss
        )
        await trainers.set_reachable(nilai.database, user_id, False)
    await nilai.database.execute(
        "UPDATE trainers SET status = 'blocked' WHERE user_id <> ?", (BOSS,)
    )


async def test_the_trainer_list_pages_through_45_people_in_one_message(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    await add_long_named_trainers(nilai, 44)
    listing = await command(boss, "/trainers")
    text = listing.plain_text()
    assert "Team: 45 · page 1/3" in text
    assert re.search(r"^1\. Boss \(9000\) · 🟢 active · 👑 coordinator$", text, re.M)
    assert "2. Wiwik Widyaningsih Wula… (@w01uuuuu" in text  # long names are cut short
    assert "🚫 removed · 📵 blocked the bot" in text
    assert len(re.findall(r"^\d+\. ", text, re.M)) == 20
    assert "today 0/5 · total 0 · last seen Nov 25, 11:01 AM" in text
    assert [b["text"] for row in listing.buttons() for b in row] == ["Next ▶️"]

    for expected_page, first_number, count in ((2, 21, 20), (3, 41, 5)):
        tap = await boss.tap(listing, "Next")
        await answered(api, tap)
        await api.wait_idle(quiet=0.05)
        text = listing.plain_text()  # the same message, edited
        assert f"page {expected_page}/3" in text
        numbers = [int(n) for n in re.findall(r"^(\d+)\. ", text, re.M)]
        assert numbers == list(range(first_number, first_number + count))
    assert [b["text"] for row in listing.buttons() for b in row] == ["◀️ Previous"]
    await answered(api, await boss.tap(listing, "Previous"))
    await api.wait_idle(quiet=0.05)
    assert "page 2/3" in listing.plain_text()
    assert len(boss.bot_messages()) == 2  # the welcome and the one list, edited in place

    await nilai.database.execute("UPDATE trainers SET language = 'id' WHERE user_id = ?", (BOSS,))
    await answered(api, await boss.tap(listing, "Previous"))  # now in longer words
    await api.wait_idle(quiet=0.05)
    assert "Tim: 45 orang · halaman 1/3" in listing.plain_text()
    assert "dikeluarkan · 📵 blokir bot" in listing.plain_text()


async def test_a_new_quota_shows_in_the_trainers_stats_and_item_header(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser, rina: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    confirm = await command(boss, "/quota @rina_r 12")
    assert "Rina's daily quota is now 12 (was the default, 5)" in confirm.plain_text()
    assert "Today: 0 / 12" in (await command(rina, "/stats")).plain_text()
    assert "Today 0/12" in (await nilai.next_item(rina)).plain_text()
    assert "already 12" in (await command(boss, "/quota 2001 12")).plain_text()
    assert await audit(nilai) == [(BOSS, "trainer.quota", "trainer:2001", "default -> 12")]

    for bad in ("/quota @rina_r", "/quota @rina_r 0", "/quota @rina_r many", "/quota 1001 x"):
        assert "(1 to 1,000 reviews a day)" in (await command(boss, bad)).plain_text(), bad
    assert "no trainer @ghost" in (await command(boss, "/quota @ghost 5")).plain_text()
    assert await nilai.count("SELECT daily_quota FROM trainers WHERE user_id = 2001") == 12
    most = (await command(boss, "/quota @rina_r 1000")).plain_text()
    assert "quota is now 1,000 (was 12)" in most  # quantities grouped as English writes them


async def test_a_paused_trainer_gets_no_items_until_resumed(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser, rina: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    confirm = await command(boss, "/pause @rina_r")
    assert "Rina is paused" in confirm.plain_text()
    assert "paused" in (await command(rina, "/next")).plain_text()
    assert rina.last_bot_message().buttons() == []

    await answered(api, await boss.tap(confirm, "Resume"))  # the button under the confirmation
    await api.wait_idle(quiet=0.05)
    assert "Rina is active" in confirm.plain_text()
    await nilai.next_item(rina)  # items flow again
    assert "already active" in (await command(boss, "/resume 2001")).plain_text()
    assert [row[1:] for row in await audit(nilai)] == [
        ("trainer.pause", "trainer:2001", "active -> paused"),
        ("trainer.resume", "trainer:2001", "paused -> active"),
    ]


NOTICE = {
    "paused": {
        "en": "⏸ Your coordinator has paused your reviews for now",
        "id": "⏸ Koordinatormu menjeda penilaianmu untuk sementara",
    },
    "resumed": {
        "en": "▶️ Good news: your coordinator has turned your reviews back on.",
        "id": "▶️ Kabar baik: koordinatormu sudah mengaktifkan penilaianmu lagi.",
    },
}
START = {"en": "▶️ Start reviewing", "id": "▶️ Mulai menilai"}


def sent_to(api: FakeBotApi, chat_id: int, since: int) -> list[FakeMessage]:
    return [
        api.message(chat_id, c.result["message_id"])
        for c in api.calls[since:]
        if c.method == "sendMessage" and c.ok and c.chat_id == chat_id
    ]


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_paused_or_resumed_trainer_is_told_at_once_in_their_language(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser, language: str
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    dewi = api.user(2002, "Dewi", language_code=language, username="dewi")
    await nilai.onboard(dewi)

    since = api.mark()
    confirm = await command(boss, "/pause @dewi")
    await api.wait_idle(quiet=0.1)
    (notice,) = sent_to(api, dewi.chat_id, since)
    assert notice.plain_text().startswith(NOTICE["paused"][language])
    assert notice.buttons() == []
    await command(boss, "/pause @dewi")  # already paused: nothing more to tell
    await api.wait_idle(quiet=0.1)
    assert len(sent_to(api, dewi.chat_id, since)) == 1

    since = api.mark()
    await answered(api, await boss.tap(confirm, "Resume"))
    await api.wait_idle(quiet=0.1)
    (notice,) = sent_to(api, dewi.chat_id, since)
    assert notice.plain_text().startswith(NOTICE["resumed"][language])
    assert notice.buttons()[0][0]["text"] == START[language]
    since = api.mark()
    await dewi.tap(notice, START[language])
    panel = await nilai.wait_panel(dewi, since)  # the button brings the next item
    assert "pilot" in panel.plain_text()


async def test_nobody_removed_or_unreachable_is_written_to(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser, rina: FakeUser
) -> None:
    dewi = api.user(2002, "Dewi", language_code="id", username="dewi")
    await nilai.onboard(dewi)
    budi = api.user(2003, "Budi", language_code="en", username="budi")
    await nilai.onboard(budi)
    await trainers.set_reachable(nilai.database, dewi.user_id, False)  # she blocked the bot
    api.block(budi.chat_id)  # he blocked it too, and the bot does not know yet

    since = api.mark()
    assert "Rina is removed" in (await command(boss, "/remove @rina_r")).plain_text()
    assert "Dewi is paused" in (await command(boss, "/pause @dewi")).plain_text()
    assert "Budi is paused" in (await command(boss, "/pause @budi")).plain_text()
    await api.wait_idle(quiet=0.1)

    to_them = [
        c for c in api.calls[since:] if c.chat_id in (rina.chat_id, dewi.chat_id, budi.chat_id)
    ]
    assert [(c.chat_id, c.error_code) for c in to_them] == [(budi.chat_id, 403)]
    assert await nilai.count("SELECT reachable FROM trainers WHERE user_id = ?", budi.user_id) == 0


async def test_a_removed_trainer_gets_no_more_items_and_their_reviews_still_count(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser, rina: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.jsonl", overlap=1)
    await review_one(api, nilai, rina)
    await nilai.next_item(rina)  # holds a second item when removed
    confirm = await command(boss, "/remove @RINA_R")
    assert "Rina is removed" in confirm.plain_text()
    assert confirm.button("Undo")
    assert "no longer part of this review team" in (await command(rina, "/next")).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'active'") == 0

    listing = (await command(boss, "/trainers")).plain_text()
    assert re.search(r"Rina \(@rina_r\) · 🚫 removed\s+today 1/5 · total 1", listing)
    progress = (await command(boss, "/progress pilot")).plain_text()
    assert "Reviews: 1 / " in progress
    assert [row[1:] for row in await audit(nilai)] == [
        ("trainer.remove", "trainer:2001", "active -> blocked")
    ]


async def test_coordinators_cannot_be_paused_and_unknown_names_are_explained(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser
) -> None:
    assert "coordinator" in (await command(boss, "/pause 9000")).plain_text()
    assert "no trainer @nobody" in (await command(boss, "/remove @nobody")).plain_text()
    assert "Usage: /pause @username" in (await command(boss, "/pause")).plain_text()
    long_name = "@" + "x" * 4050  # echoed cut short, so the answer still fits one message
    assert "no trainer @xxx" in (await command(boss, f"/remove {long_name}")).plain_text()
    assert "no batch called xxx" in (await command(boss, f"/progress {long_name[1:]}")).plain_text()
    assert await audit(nilai) == []


async def test_progress_after_a_few_real_reviews(
    api: FakeBotApi, nilai: RunningBot, boss: FakeUser, rina: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.jsonl", overlap=2)
    items = await nilai.count("SELECT COUNT(*) FROM items WHERE gold IS NULL")
    dewi = api.user(2002, "Dewi", language_code="en")
    await nilai.onboard(dewi)
    for trainer in (rina, dewi):
        await review_one(api, nilai, trainer)
    await review_one(api, nilai, rina)

    text = (await command(boss, "/progress")).plain_text()
    assert "pilot · open" in text
    assert f"Items complete: 1 / {items} " in text
    assert f"Reviews: 3 / {2 * items}" in text
    assert "Trainers active today: 2" in text
    assert "Reviews in the last hour: 3" in text
    assert "not enough data" in text

    assert "no batch called nope" in (await command(boss, "/progress nope")).plain_text()
    await nilai.database.execute("UPDATE batches SET status = 'closed'")
    assert "No batch is open" in (await command(boss, "/progress")).plain_text()
    assert "pilot · closed" in (await command(boss, "/progress pilot")).plain_text()


async def test_progress_in_indonesian_estimates_the_finish(
    api: FakeBotApi, nilai: RunningBot, rina: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.jsonl", overlap=3)
    for _ in range(5):
        await review_one(api, nilai, rina)
    ketua = api.user(BOSS, "Ketua", language_code="id")
    await ketua.send("/start")
    await ketua.wait_bot_message()
    text = (await command(ketua, "/progress")).plain_text()
    assert "Penilaian dalam satu jam terakhir: 5" in text
    assert "Perkiraan selesai:" in text and "WIB" in text and "penilaian per jam" in text


async def test_nobody_else_can_use_any_of_it_and_nothing_changes(
    api: FakeBotApi, nilai: RunningBot, rina: FakeUser
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.jsonl")
    dewi = api.user(2002, "Dewi", language_code="id")
    await nilai.onboard(dewi)
    invites_before = await nilai.count("SELECT COUNT(*) FROM invites")
    commands = (
        "/invite",
        "/invite coordinator 50 0",
        "/trainers",
        "/quota @rina_r 1",
        "/pause 2002",
        "/resume @rina_r",
        "/remove 2002",
        "/progress",
        "/progress pilot",
    )
    for text in commands:
        assert "is for coordinators" in (await command(rina, text)).plain_text(), text
    forged = (
        encode(Action.TRAINERS_PAGE, 1),
        encode(Action.TRAINER, 2002, 0),
        encode(Action.TRAINER, 2002, 2),
        encode(Action.TRAINER, 2001, 1),
        "1M:2002:9",
        "1P:x",
    )
    for data in forged:
        toast = await answered(api, await rina.tap(rina.last_bot_message(), data=data))
        assert toast == "This button is for coordinators only.", data
    stranger = api.user(4040, "Stranger", language_code="en")
    assert "invite" in (await command(stranger, "/trainers")).plain_text()

    assert await nilai.count("SELECT COUNT(*) FROM invites") == invites_before
    assert await audit(nilai) == []
    rows = await nilai.database.fetchall("SELECT status, daily_quota FROM trainers")
    assert {tuple(row) for row in rows} == {("active", None)}
    assert "Hari ini: 0 / 5" in (await command(dewi, "/stats")).plain_text()
