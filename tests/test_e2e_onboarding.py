"""Joining Nilai through Telegram: invites, strangers, languages, help."""

from __future__ import annotations

from tests.conftest import SAMPLES
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi


async def test_an_invited_indonesian_trainer_is_welcomed_in_indonesian(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    siti = api.user(1001, "Siti", language_code="id")
    welcome = await nilai.onboard(siti)
    assert "Selamat datang" in welcome.plain_text()
    assert welcome.button("Berikutnya")
    row = await nilai.database.fetchone("SELECT role, language FROM trainers WHERE user_id = 1001")
    assert tuple(row) == ("trainer", "id")


async def test_an_invited_english_trainer_is_welcomed_in_english(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    sam = api.user(1002, "Sam", language_code="en-GB")
    welcome = await nilai.onboard(sam)
    assert "Welcome to Nilai" in welcome.plain_text()
    assert welcome.button("Next")


async def test_a_stranger_is_refused_politely_everywhere_and_nothing_is_stored(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    stranger = api.user(1003, "Stranger", language_code="en")
    for text in ("/start", "/start not-a-code", "/next", "/stats", "/help", "hello"):
        since = api.mark()
        await stranger.send(text)
        reply = await stranger.wait_bot_message(since=since)
        assert "coordinator" in reply.plain_text()
    since = api.mark()
    await stranger.send_sticker()
    assert "coordinator" in (await stranger.wait_bot_message(since=since)).plain_text()
    update = await stranger.tap(await stranger.wait_bot_message(since=0), data="1u:1")
    call = await api.wait_for_call(
        "answerCallbackQuery",
        lambda c: c.params["callback_query_id"] == update["callback_query"]["id"],
    )
    assert "invite" in call.params["text"]
    assert await nilai.count("SELECT COUNT(*) FROM trainers") == 0


async def test_an_invalid_or_used_up_invite_is_refused(api: FakeBotApi, nilai: RunningBot) -> None:
    code = await nilai.invite(uses=1)
    first, second = api.user(1004, language_code="id"), api.user(1005, language_code="id")
    await first.send(f"/start {code}")
    await first.wait_bot_message()
    await second.send(f"/start {code}")
    refusal = await second.wait_bot_message()
    assert "tidak berlaku" in refusal.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM trainers") == 1


async def test_coordinators_from_settings_need_no_code(api: FakeBotApi, nilai: RunningBot) -> None:
    boss = api.user(9000, "Boss", language_code="en")
    await boss.send("/start")
    welcome = await boss.wait_bot_message()
    assert "coordinator" in welcome.plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM trainers WHERE role = 'coordinator'") == 1


async def test_start_again_welcomes_back_without_using_another_invite(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    user = api.user(1006, "Dewi", language_code="en")
    await nilai.onboard(user)
    since = api.mark()
    await user.send("/start")
    assert "Welcome back" in (await user.wait_bot_message(since=since)).plain_text()


async def test_lang_switches_every_text(api: FakeBotApi, nilai: RunningBot) -> None:
    user = api.user(1007, "Budi", language_code="en")
    await nilai.onboard(user)
    since = api.mark()
    await user.send("/lang")
    chooser = await user.wait_bot_message(since=since)
    since = api.mark()
    await user.tap(chooser, "Bahasa Indonesia")
    await api.wait_for_call("editMessageText", since=since)
    assert "Bahasa Indonesia" in api.message(user.chat_id, chooser.message_id).plain_text()
    since = api.mark()
    await user.send("/help")
    assert "Cara pakai Nilai" in (await user.wait_bot_message(since=since)).plain_text()


async def test_the_command_menu_is_set_in_both_languages(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    indonesian = {c["command"]: c["description"] for c in api.my_commands(language_code="id")}
    english = {c["command"]: c["description"] for c in api.my_commands(language_code="en")}
    menu = {"next", "stats", "reminders", "lang", "help", "privacy", "mydata"}
    assert set(indonesian) == set(english) == menu
    assert indonesian["next"] != english["next"]
    assert api.my_commands() == api.my_commands(language_code="id")  # DEFAULT_LANGUAGE=id


async def test_a_trainer_listed_in_coordinator_ids_later_becomes_a_coordinator(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    boss = api.user(9000, "Boss", language_code="en")
    await nilai.onboard(boss)  # joined through a trainer invite before being listed
    await nilai.database.execute("UPDATE trainers SET role = 'trainer' WHERE user_id = 9000")
    since = api.mark()
    await boss.send("/batches")
    assert "No batches yet" in (await boss.wait_bot_message(since=since)).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM trainers WHERE role = 'coordinator'") == 1


async def test_a_removed_trainer_is_turned_away_from_everything(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    await nilai.import_file(SAMPLES / "batch_small.csv")
    user = api.user(1010, "Rudi", language_code="en")
    await nilai.onboard(user)
    panel = await nilai.next_item(user)
    await nilai.database.execute("UPDATE trainers SET status = 'blocked' WHERE user_id = 1010")
    update = await user.tap(panel, "1")
    await api.wait_idle(quiet=0.1)
    assert "no longer part" in api.callback(update["callback_query"]["id"]).answer.params["text"]
    for text in ("/next", "/stats", "/start"):
        since = api.mark()
        await user.send(text)
        assert "no longer part" in (await user.wait_bot_message(since=since)).plain_text()
    since = api.mark()
    await user.reply(panel, "a rewrite")
    assert "no longer part" in (await user.wait_bot_message(since=since)).plain_text()
    assert await nilai.count("SELECT COUNT(*) FROM scores") == 0
    assert await nilai.count("SELECT COUNT(*) FROM judgments") == 0


async def test_a_changed_username_is_picked_up_so_coordinators_can_use_it(
    api: FakeBotApi, nilai: RunningBot
) -> None:
    user = api.user(1011, "Sari", language_code="en", username="sari_old")
    await nilai.onboard(user)
    user.username = "sari_new"  # renamed in Telegram's settings
    since = api.mark()
    await user.send("/stats")
    await user.wait_bot_message(since=since)
    row = await nilai.database.fetchone("SELECT username FROM trainers WHERE user_id = 1011")
    assert row[0] == "sari_new"
