"""Tests of the fake Bot API itself, driven by the real PTB client (no Nilai handlers).

If PTB can talk to the fake and gets Telegram's answers and exceptions, end-to-end tests of the
bot built on it mean something.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from tests.fakebot import FakeBotApi, FakeUser, fast_request, parse_html, utf16_len

USER_ID = 1001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with api.bot() as client:
        yield client


@pytest.fixture
def alice(api: FakeBotApi) -> FakeUser:
    return api.user(USER_ID, "Alice", username="alice")


def keyboard(*labels_and_data: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in labels_and_data]
    )


# -- basics ---------------------------------------------------------------------------------------


async def test_get_me_and_call_log(api: FakeBotApi, bot: Bot) -> None:
    assert bot.username == "nilai_test_bot"
    assert bot.id == 123456
    assert api.base_url.startswith("http://127.0.0.1:")
    [call] = api.calls_to("getMe")
    assert call.ok and call.result["first_name"] == "Nilai" and call.index == 0
    assert api.mark() == 1


async def test_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    # Built the plain PTB way once, to prove the fake does not depend on fast_request().
    other = Bot("999:WRONG", base_url=api.base_url, base_file_url=api.file_url)
    with pytest.raises(InvalidToken):
        await other.initialize()
    await other.shutdown()
    assert api.calls[-1].error_code == 401


async def test_unknown_method_is_404(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert api.calls[-1].method == "sendTelepathy" and api.calls[-1].error_code == 404


async def test_json_and_form_bodies_are_accepted(api: FakeBotApi, alice: FakeUser) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    url = f"{api.base_url}{api.token}/sendMessage"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url, json={"chat_id": USER_ID, "text": "123", "reply_markup": markup}
        ) as resp:
            assert resp.status == 200
        form = {"chat_id": str(USER_ID), "text": "456", "reply_markup": '{"inline_keyboard": []}'}
        async with session.post(url, data=form) as resp:
            assert (await resp.json())["result"]["text"] == "456"
    first, second = api.calls_to("sendMessage")
    assert first.params == {"chat_id": USER_ID, "text": "123", "reply_markup": markup}
    assert second.params["text"] == "456" and second.params["reply_markup"] == {
        "inline_keyboard": []
    }
    assert first.chat_id == second.chat_id == USER_ID


# -- sending and validation -----------------------------------------------------------------------


async def test_send_html_message_with_keyboard(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    sent = await bot.send_message(
        USER_ID,
        "<b>Hi</b> &amp; <i>you</i> 😀 <a href='https://x.org'>link</a>",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Yes ✅", "vote:yes"), ("No", "vote:no")),
    )
    # PTB gets what Telegram returns: plain text with UTF-16 entities.
    assert sent.text == "Hi & you 😀 link"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("italic", 5, 3),
        ("text_link", 12, 4),
    ]
    msg = alice.last_bot_message()
    assert msg.text.startswith("<b>Hi</b>") and msg.parse_mode == "HTML"
    assert msg.plain_text() == "Hi & you 😀 link"
    assert msg.button("yes")["callback_data"] == "vote:yes"
    assert len(msg.buttons()) == 2
    with pytest.raises(AssertionError, match="labels"):
        msg.button("maybe")
    call = api.calls_to("sendMessage")[0]
    assert call.chat_id == USER_ID and call.params["reply_markup"]["inline_keyboard"][1][0] == {
        "text": "No",
        "callback_data": "vote:no",
    }


async def test_chat_not_found_and_empty_text(bot: Bot, alice: FakeUser) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(4242, "hello")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER_ID, "  \n ")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER_ID, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_length_is_counted_in_utf16_after_html_parsing(bot: Bot, alice: FakeUser) -> None:
    assert utf16_len("😀") == 2
    await bot.send_message(USER_ID, "😀" * 2048)  # 4096 UTF-16 units: the maximum
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER_ID, "😀" * 2048 + "a")  # only 2049 characters
    # Tags and entity escapes do not count.
    await bot.send_message(USER_ID, "<b>" + "&lt;" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER_ID, "&amp;" * 4097, parse_mode=ParseMode.HTML)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("line<br>break", 'unsupported start tag "br" at byte offset 4'),
        ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("1 < 2", 'unsupported start tag "" at byte offset 2'),
        ("<b><i>x</b></i>", 'unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("</b>", "unexpected end tag at byte offset 0"),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
        ("Q&A", 'unescaped "&" at byte offset 1'),
        ("a&nbsp;b", "unsupported html entity"),
    ],
)
async def test_bad_html_is_rejected(bot: Bot, alice: FakeUser, text: str, error: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities") as info:
        await bot.send_message(USER_ID, text, parse_mode=ParseMode.HTML)
    assert error in str(info.value)  # PTB lower-cases everything after the first letter


async def test_supported_html(bot: Bot, alice: FakeUser) -> None:
    text = (
        '<strong>a</strong><em>b</em><ins>c</ins><del>d</del><span class="tg-spoiler">e</span>'
        '<tg-spoiler>f</tg-spoiler><code>g</code><pre><code class="language-py">h</code></pre>'
        "<blockquote expandable>i</blockquote>&#128512;&#x41;&quot;"
    )
    sent = await bot.send_message(USER_ID, text, parse_mode=ParseMode.HTML)
    assert sent.text == 'abcdefghi😀A"'
    types = [(e.type, e.offset, e.language) for e in sent.entities]
    assert types == [
        ("bold", 0, None),
        ("italic", 1, None),
        ("underline", 2, None),
        ("strikethrough", 3, None),
        ("spoiler", 4, None),
        ("spoiler", 5, None),
        ("code", 6, None),
        ("pre", 7, "py"),
        ("expandable_blockquote", 8, None),
    ]


def test_parse_html_lenient_mode_matches_telegram() -> None:
    assert parse_html("Q&A &nbsp; &lt", strict_entities=False) == ("Q&A &nbsp; <", [])
    assert parse_html("<b>😀x</b>y") == ("😀xy", [{"type": "bold", "offset": 0, "length": 3}])


async def test_callback_data_is_limited_to_64_bytes(bot: Bot, alice: FakeUser) -> None:
    await bot.send_message(USER_ID, "ok", reply_markup=keyboard(("A", "é" * 32)))  # 64 bytes
    for data in ("x" * 65, "é" * 33):
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(USER_ID, "no", reply_markup=keyboard(("A", data)))


async def test_caption_limit_and_reply_target(bot: Bot, alice: FakeUser) -> None:
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(USER_ID, b"x", filename="a.txt", caption="c" * 1025)
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(USER_ID, "re", reply_to_message_id=77)
    sent = await bot.send_message(
        USER_ID, "re", reply_to_message_id=77, allow_sending_without_reply=True
    )
    assert sent.reply_to_message is None
    question = await alice.send("question?")
    answer = await bot.send_message(USER_ID, "answer", reply_to_message_id=question.message_id)
    assert answer.reply_to_message.text == "question?"
    assert alice.last_bot_message().reply_to_message_id == question.message_id
    # One message_id counter per chat, shared by the user and the bot.
    assert answer.message_id == question.message_id + 1


# -- edits ----------------------------------------------------------------------------------------


async def test_edits_and_not_modified(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    kb = keyboard(("Next", "n"))
    sent = await bot.send_message(USER_ID, "<b>v1</b>", parse_mode="HTML", reply_markup=kb)
    msg = api.message(USER_ID, sent.message_id)

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>v1</b>", USER_ID, sent.message_id, parse_mode="HTML", reply_markup=kb
        )
    # <strong> renders exactly like <b>: still not modified, as on Telegram.
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<strong>v1</strong>", USER_ID, sent.message_id, parse_mode="HTML", reply_markup=kb
        )
    edited = await bot.edit_message_text("v2", USER_ID, sent.message_id, reply_markup=kb)
    assert edited.edit_date is not None
    assert msg.text == "v2" and msg.edit_history == ["<b>v1</b>"] and msg.buttons()

    # Omitting reply_markup in editMessageText drops the keyboard, like Telegram.
    await bot.edit_message_text("v3", USER_ID, sent.message_id)
    assert msg.buttons() == []
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER_ID, sent.message_id)
    await bot.edit_message_reply_markup(USER_ID, sent.message_id, reply_markup=kb)
    assert msg.button("next")["callback_data"] == "n"

    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER_ID, 999)
    own = await alice.send("mine")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", USER_ID, own.message_id)

    assert await bot.delete_message(USER_ID, sent.message_id)
    assert msg.deleted and msg not in api.chat_messages(USER_ID)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER_ID, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER_ID, sent.message_id)


# -- updates --------------------------------------------------------------------------------------


async def test_long_poll_wakes_up_on_enqueue(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)  # let the request reach the server and start waiting
    assert not poll.done()
    sent = await alice.send("/start@nilai_test_bot hello")
    [update] = await asyncio.wait_for(poll, 2)
    assert loop.time() - started < 1
    assert update.message.text == "/start@nilai_test_bot hello"
    assert update.message.from_user.username == "alice"
    assert update.message.chat.type == "private"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start@nilai_test_bot")
    assert update.message.message_id == sent.message_id

    # Not confirmed yet: returned again; then confirmed by the offset.
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [update.update_id]
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert api.pending_updates == 0


async def test_redeliver_returns_the_same_update(
    api: FakeBotApi, bot: Bot, alice: FakeUser
) -> None:
    await bot.send_message(USER_ID, "pick", reply_markup=keyboard(("A", "a")))
    raw = await alice.tap(alice.last_bot_message(), "a")
    [first] = await bot.get_updates(timeout=0)
    assert first.callback_query.data == "a"
    assert first.callback_query.message.text == "pick"
    offset = first.update_id + 1
    assert await bot.get_updates(offset=offset, timeout=0) == ()
    api.redeliver(raw)
    [second] = await bot.get_updates(offset=offset, timeout=1)
    assert second.update_id == first.update_id
    assert second.callback_query.id == first.callback_query.id


async def test_user_updates_shapes(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    bot_msg = await bot.send_message(USER_ID, "Rate this")
    target = api.message(USER_ID, bot_msg.message_id)
    reply = await alice.reply(target, "7/10")
    await alice.edit(reply, "8/10")
    await alice.send_sticker(reply_to=target)
    await alice.send_photo(caption="look")
    await alice.send_document("data.csv", b"a,b\n1,2\n", caption="csv")
    updates = await bot.get_updates(timeout=0)
    assert updates[0].message.reply_to_message.text == "Rate this"
    assert updates[1].edited_message.text == "8/10" and updates[1].edited_message.edit_date
    assert updates[2].message.sticker.emoji == "👍"
    assert updates[2].message.reply_to_message.message_id == target.message_id
    assert updates[3].message.photo[-1].width == 1280 and updates[3].message.caption == "look"
    doc = updates[4].message.document
    assert (doc.file_name, doc.mime_type, doc.file_size) == ("data.csv", "text/csv", 8)
    assert reply.edit_history == ["7/10"]
    assert [m.from_bot for m in api.chat_messages(USER_ID)] == [True, False, False, False, False]


async def test_a_long_text_arrives_split_the_way_telegram_apps_split_it(
    api: FakeBotApi, bot: Bot, alice: FakeUser
) -> None:
    bot_msg = await bot.send_message(USER_ID, "Rewrite this")
    target = api.message(USER_ID, bot_msg.message_id)
    text = "a" * 4095 + "😀" + "b" * 5000  # the emoji cannot be cut in half
    parts = await alice.send_long(text, reply_to=target)
    assert [utf16_len(part.text or "") for part in parts] == [4095, 4096, 906]
    assert "".join(part.text or "" for part in parts) == text
    ids = [part.message_id for part in parts]
    assert ids == list(range(ids[0], ids[0] + 3))  # consecutive, as one burst
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == [part.text for part in parts]
    assert {u.message.reply_to_message.message_id for u in updates} == {target.message_id}
    assert [u.update_id for u in updates] == list(
        range(updates[0].update_id, updates[0].update_id + 3)
    )
    await alice.send_long("c" * 5000, reply_to=target, every_part_replies=False)
    first, second = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert first.message.reply_to_message is not None and second.message.reply_to_message is None
    await alice.edit(parts[1], "edited part")  # each part is a message of its own
    (edited,) = await bot.get_updates(offset=second.update_id + 1, timeout=0)
    assert edited.edited_message.message_id == parts[1].message_id


async def test_callback_answers_are_recorded(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    await bot.send_message(USER_ID, "pick", reply_markup=keyboard(("A", "a")))
    raw = await alice.tap(alice.last_bot_message(), "A")
    forged = await alice.tap(alice.last_bot_message(), data="admin:delete_all")
    query_id = raw["callback_query"]["id"]
    record = api.callback(query_id)
    assert not record.answered and record.data == "a"
    assert await bot.answer_callback_query(query_id, text="Saved")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("nope")
    assert record.answered and record.answered_twice and record.answer_count == 2
    assert record.answer is not None and record.answer.chat_id == USER_ID
    assert record.answer.index >= record.created_index  # created_index = mark() at tap
    assert api.callback(forged["callback_query"]["id"]).data == "admin:delete_all"


# -- failure injection ----------------------------------------------------------------------------


async def test_429_surfaces_as_retry_after(
    api: FakeBotApi, bot: Bot, alice: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without PTB_TIMEDELTA, PTB 22 warns (deprecation) whenever it builds a RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER_ID, "hi")
    assert info.value.retry_after == dtm.timedelta(seconds=3)
    call = api.calls[-1]
    assert not call.ok and call.error_code == 429
    assert call.description == "Too Many Requests: retry after 3"
    assert alice.bot_messages() == []  # the failed call had no effect
    await bot.send_message(USER_ID, "hi")  # only the next call failed
    assert len(alice.bot_messages()) == 1


async def test_fail_next_for_one_chat_and_5xx(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    bob = api.user(2002, "Bob", language_code="uk")
    api.fail_next(
        "sendMessage", chat_id=bob.chat_id, status=502, description="Bad Gateway", times=2
    )
    await bot.send_message(USER_ID, "alice is fine")
    for _ in range(2):
        with pytest.raises(Exception, match="Bad Gateway"):
            await bot.send_message(bob.chat_id, "bob is not")
    await bot.send_message(bob.chat_id, "now fine")
    assert [m.plain_text() for m in bob.bot_messages()] == ["now fine"]


async def test_a_dropped_connection_is_a_network_error_with_or_without_effect(
    api: FakeBotApi, bot: Bot, alice: FakeUser
) -> None:
    api.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "lost on the way in")
    assert alice.bot_messages() == []
    api.drop_next("sendMessage", chat_id=alice.chat_id, after_effect=True)
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "sent, but the answer is lost")
    assert [m.plain_text() for m in alice.bot_messages()] == ["sent, but the answer is lost"]
    dropped = api.calls_to("sendMessage")
    assert [(c.ok, c.error_code, c.description) for c in dropped] == [
        (False, None, "connection reset")
    ] * 2
    await api.wait_idle(quiet=0.05)  # the aborted handlers are not left in flight
    await bot.send_message(USER_ID, "fine again")  # only the next calls were dropped
    assert alice.last_bot_message().plain_text() == "fine again"


async def test_bulk_messages_beyond_the_flood_limit_get_429_but_replies_to_users_do_not(
    api: FakeBotApi, bot: Bot, alice: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    crowd = [api.user(3001 + n, f"Trainer {n}") for n in range(6)]
    for user in crowd:  # no limit by default: a burst to many chats passes
        await bot.send_message(user.chat_id, "welcome")

    api.limit_bulk_messages(2, reply_seconds=0.3)
    await alice.send("/start")
    await asyncio.sleep(0.4)  # alice's update is older than reply_seconds now
    for user in crowd[:2]:  # a burst as large as the limit passes
        await bot.send_message(user.chat_id, "news")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(crowd[2].chat_id, "news")
    assert info.value.retry_after == dtm.timedelta(seconds=1)
    refused = api.calls[-1]
    assert refused.error_code == 429 and refused.description == "Too Many Requests: retry after 1"
    assert [m.plain_text() for m in crowd[2].bot_messages()] == ["welcome"]  # no effect
    with pytest.raises(RetryAfter):  # not a reply to anything recent: bulk
        await bot.send_message(USER_ID, "a reminder")

    # Paid broadcasts have a bucket of their own; replies to a user's own update are free.
    await bot.send_message(crowd[3].chat_id, "paid news", allow_paid_broadcast=True)
    await alice.send("/next")
    await bot.send_message(USER_ID, "your item")
    await bot.send_message(USER_ID, "and its buttons")
    assert [m.plain_text() for m in alice.bot_messages()] == ["your item", "and its buttons"]

    await asyncio.sleep(1)  # waiting retry_after, as the bot must
    await bot.send_message(crowd[2].chat_id, "news")
    assert crowd[2].bot_messages()[-1].plain_text() == "news"
    api.limit_bulk_messages(None)
    for user in crowd:
        await bot.send_message(user.chat_id, "unlimited again")


async def test_a_delay_beyond_the_read_timeout_is_a_timeout_without_effect(
    api: FakeBotApi, alice: FakeUser
) -> None:
    arrived = api.delay_next("sendMessage", 0.5, chat_id=alice.chat_id)
    async with api.bot(request=fast_request(read_timeout=0.2)) as impatient:
        sending = asyncio.create_task(impatient.send_message(USER_ID, "too slow"))
        await arrived.wait()  # the call is held: a test can act right now
        assert not sending.done()
        with pytest.raises(TimedOut):
            await sending
        await api.wait_idle(quiet=0.05)
        assert alice.bot_messages() == []  # the bot gave up, so nothing was sent
        [call] = api.calls_to("sendMessage")
        assert (call.ok, call.description) == (False, "client gave up")
        await impatient.send_message(USER_ID, "only the next call was slow")
    assert alice.last_bot_message().plain_text() == "only the next call was slow"


async def test_clear_faults_ends_every_injected_fault(
    api: FakeBotApi, bot: Bot, alice: FakeUser
) -> None:
    api.fail_next("sendMessage", times=5)
    api.drop_next("sendMessage", times=5)
    api.delay_next("sendMessage", 10, times=5)
    api.set_delay("sendMessage", 10)
    api.clear_faults()
    await bot.send_message(USER_ID, "the API is back")
    assert alice.last_bot_message().plain_text() == "the API is back"


async def test_blocked_user_gives_forbidden(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    sent = await bot.send_message(USER_ID, "hello")
    await alice.block_bot()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "still there?")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("edit", USER_ID, sent.message_id)
    with pytest.raises(Forbidden):
        await bot.send_chat_action(USER_ID, "typing")
    [update] = await bot.get_updates(timeout=0)
    member = update.my_chat_member
    assert member.old_chat_member.status == "member"
    assert member.new_chat_member.status == "kicked"
    assert member.new_chat_member.user.id == bot.id
    assert api.calls[-2].error_code == 403


async def test_delay_slows_a_method(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    api.set_delay("sendChatAction", 0.15)
    loop = asyncio.get_running_loop()
    started = loop.time()
    action = asyncio.create_task(bot.send_chat_action(USER_ID, "typing"))
    with pytest.raises(TimeoutError):
        await api.wait_idle(quiet=0.02, timeout=0.1)  # the slow call is still in flight
    assert await action
    assert loop.time() - started >= 0.15


# -- files ----------------------------------------------------------------------------------------


async def test_document_upload_and_download_roundtrip(
    api: FakeBotApi, bot: Bot, alice: FakeUser
) -> None:
    payload = "name,score\nÄlice,5\n".encode()
    sent = await bot.send_document(
        USER_ID,
        payload,
        filename="report.csv",
        caption="<b>Report</b> for <i>today</i>",
        parse_mode=ParseMode.HTML,
    )
    assert sent.caption == "Report for today"
    assert sent.document.file_name == "report.csv" and sent.document.file_size == len(payload)
    call = api.calls_to("sendDocument")[0]
    assert call.params["document"].filename == "report.csv"  # multipart upload
    msg = alice.last_bot_message()
    assert msg.document["file_name"] == "report.csv" and msg.plain_text() == "Report for today"
    assert api.file_content(msg.document["file_id"]) == payload

    file = await bot.get_file(sent.document.file_id)
    assert file.file_path.startswith(api.file_url + api.token + "/documents/")
    assert bytes(await file.download_as_bytearray()) == payload

    # A user's document is downloadable the same way.
    incoming = await alice.send_document("in.txt", b"from alice")
    file = await bot.get_file(incoming.document["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"from alice"
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("missing")

    # Re-sending by file_id works too.
    again = await bot.send_document(USER_ID, sent.document.file_id)
    assert again.document.file_id == sent.document.file_id


# -- misc methods ---------------------------------------------------------------------------------


async def test_commands_and_housekeeping(api: FakeBotApi, bot: Bot, alice: FakeUser) -> None:
    commands = [BotCommand("start", "Begin"), BotCommand("help", "Help")]
    assert await bot.set_my_commands(commands, language_code="en")
    assert await bot.get_my_commands(language_code="en") == tuple(commands)
    assert await bot.get_my_commands() == ()
    assert api.my_commands(language_code="en")[0] == {"command": "start", "description": "Begin"}
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "Caps are not allowed")])
    assert await bot.delete_my_commands(language_code="en")
    assert await bot.get_my_commands(language_code="en") == ()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.send_chat_action(USER_ID, "typing")
    assert await bot.log_out() and await bot.close()


async def test_wait_for_call_timeout_lists_recent_calls(api: FakeBotApi, bot: Bot) -> None:
    api.user(USER_ID)
    await bot.send_chat_action(USER_ID, "typing")
    with pytest.raises(TimeoutError, match=r"sendChatAction\(chat=1001\)"):
        await api.wait_for_call("sendMessage", since=0, timeout=0.05)
    since = api.mark()
    waiter = asyncio.create_task(
        api.wait_for_call("sendMessage", lambda c: c.params["text"] == "b", since=since)
    )
    await bot.send_message(USER_ID, "a")
    await bot.send_message(USER_ID, "b")
    call = await waiter
    assert call.params["text"] == "b" and call.index == since + 1


# -- the real Application -------------------------------------------------------------------------


async def test_application_polls_the_fake(api: FakeBotApi) -> None:
    """Smoke test of the setup the e2e tests use: Application + polling + wait helpers."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"<b>echo</b> {update.effective_message.text}",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("Again", "again")),
        )

    async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.edit_message_text(f"tapped {query.data}")
        await query.answer()

    app = api.application_builder().build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(on_tap))
    alice = api.user(USER_ID, "Alice")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        try:
            await alice.send("ping")
            reply = await alice.wait_bot_message()
            assert reply.plain_text() == "echo ping"
            update = await alice.tap(reply, "again")
            await api.wait_for_call("answerCallbackQuery", since=alice.last_action_mark)
            assert reply.text == "tapped again" and reply.buttons() == []
            record = api.callback(update["callback_query"]["id"])
            edit = api.calls_to("editMessageText")[-1]
            assert record.answer is not None and record.answer.index > edit.index
            await api.wait_idle(quiet=0.05)
        finally:
            await app.updater.stop()
            await app.stop()


async def test_users_are_cached_and_raw_updates_can_be_enqueued(api: FakeBotApi, bot: Bot) -> None:
    alice = api.user(USER_ID, "Alice")
    assert api.user(USER_ID) is alice and alice.chat_id == USER_ID
    update = api.enqueue({"message": {**(await alice.send("x")).to_api(), "text": "raw"}})
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [update["update_id"] - 1, update["update_id"]]
    assert updates[1].message.text == "raw"


async def test_second_poller_gets_conflict(api: FakeBotApi, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    try:
        await asyncio.sleep(0.05)  # let the first long poll start waiting
        async with api.bot() as second_instance:
            assert await second_instance.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 1)
    finally:
        first.cancel()
        with contextlib.suppress(BaseException):
            await first
