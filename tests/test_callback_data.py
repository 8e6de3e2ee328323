"""Tests for handlers.callback_data: every button the bot makes decodes back to what it meant.

Telegram hands back whatever `callback_data` a client sends, so decoding is tested like an
attack surface: anything the bot did not make itself must be refused with InvalidCallbackData,
never crash with another exception and never be read as something else.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.callback_data import (
    MAX_BYTES,
    VERSION,
    Action,
    Callback,
    InvalidCallbackData,
    decode,
    encode,
)

BIG_ID = 10**14
LARGEST_ID = 2**53 - 1  # the codec reads up to 2**53 - 1 (Telegram ids have <= 52 bits)

ARITY = {
    Action.SCORE: 3,
    Action.CRITERION: 2,
    Action.FLAG: 3,
    Action.REWRITE: 1,
    Action.NOTE: 1,
    Action.SKIP_MENU: 1,
    Action.SKIP: 2,
    Action.BACK: 1,
    Action.SUBMIT: 1,
    Action.NEXT: 0,
    Action.UPLOAD: 2,
    Action.BATCH: 2,
    Action.TRAINERS_PAGE: 1,
    Action.TRAINER: 2,
    Action.ANNOUNCE: 2,
    Action.REPORT_CSV: 1,
    Action.EXPORT: 2,
    Action.FLAGGED_ITEM: 1,
    Action.EXPORT_ALL: 2,
    Action.GOLD_RESUME: 2,
    Action.REVIEW_DECISION: 2,
    Action.REJECT_REASON: 2,
    Action.NO_COMMENT: 1,
    Action.REVIEW_LANGUAGE: 2,
    Action.CONSENT: 1,
    Action.DELETE_ME: 1,
    Action.TIMEZONE: 1,
    Action.REMINDERS: 1,
    Action.UNDO: 1,
    Action.GUIDELINES: 1,
}
COORDINATOR_ACTIONS = {
    Action.UPLOAD,
    Action.BATCH,
    Action.TRAINERS_PAGE,
    Action.TRAINER,
    Action.ANNOUNCE,
    Action.REVIEW_LANGUAGE,
    Action.CONSENT,
    Action.DELETE_ME,
    Action.TIMEZONE,
    Action.REMINDERS,
    Action.REPORT_CSV,
    Action.EXPORT,
    Action.FLAGGED_ITEM,
    Action.EXPORT_ALL,
    Action.GOLD_RESUME,
    Action.REVIEW_DECISION,
    Action.REJECT_REASON,
    Action.NO_COMMENT,
}

ROUND_TRIPS = [
    # a trainer taps score 4 for the first criterion of assignment 812
    (Action.SCORE, (812, 0, 4), Callback(Action.SCORE, 812, (0, 4))),
    (Action.SCORE, (BIG_ID, 3, 5), Callback(Action.SCORE, BIG_ID, (3, 5))),
    (Action.SCORE, (LARGEST_ID, 9, 10), Callback(Action.SCORE, LARGEST_ID, (9, 10))),
    (Action.SCORE, (0, 0, 0), Callback(Action.SCORE, 0, (0, 0))),
    # goes back to change the score of the second criterion
    (Action.CRITERION, (812, 1), Callback(Action.CRITERION, 812, (1,))),
    (Action.CRITERION, (BIG_ID, 0), Callback(Action.CRITERION, BIG_ID, (0,))),
    # turns the "unsafe" flag on, then off again
    (Action.FLAG, (812, 1, 1), Callback(Action.FLAG, 812, (1, 1))),
    (Action.FLAG, (BIG_ID, 4, 0), Callback(Action.FLAG, BIG_ID, (4, 0))),
    (Action.REWRITE, (812,), Callback(Action.REWRITE, 812)),
    (Action.REWRITE, (BIG_ID,), Callback(Action.REWRITE, BIG_ID)),
    (Action.NOTE, (812,), Callback(Action.NOTE, 812)),
    (Action.NOTE, (LARGEST_ID,), Callback(Action.NOTE, LARGEST_ID)),
    (Action.SKIP_MENU, (812,), Callback(Action.SKIP_MENU, 812)),
    (Action.SKIP, (812, 3), Callback(Action.SKIP, 812, (3,))),
    (Action.SKIP, (BIG_ID, 0), Callback(Action.SKIP, BIG_ID, (0,))),
    (Action.BACK, (812,), Callback(Action.BACK, 812)),
    (Action.SUBMIT, (812,), Callback(Action.SUBMIT, 812)),
    (Action.SUBMIT, (BIG_ID,), Callback(Action.SUBMIT, BIG_ID)),
    (Action.NEXT, (), Callback(Action.NEXT)),
    (Action.LANGUAGE, ("id",), Callback(Action.LANGUAGE, language="id")),
    (Action.LANGUAGE, ("en",), Callback(Action.LANGUAGE, language="en")),
    # a coordinator opens upload 7 quietly, pauses batch 3, pages trainers, pauses a trainer
    (Action.UPLOAD, (7, 1), Callback(Action.UPLOAD, args=(7, 1))),
    (Action.BATCH, (3, 0), Callback(Action.BATCH, args=(3, 0))),
    (Action.TRAINERS_PAGE, (2,), Callback(Action.TRAINERS_PAGE, args=(2,))),
    (Action.TRAINER, (LARGEST_ID, 1), Callback(Action.TRAINER, args=(LARGEST_ID, 1))),
    # a coordinator sends the announcement draft 7 after its preview
    (Action.ANNOUNCE, (7, 0), Callback(Action.ANNOUNCE, args=(7, 0))),
    # a trainer turns on reviewing in the third language of the list
    (Action.REVIEW_LANGUAGE, (2, 1), Callback(Action.REVIEW_LANGUAGE, args=(2, 1))),
    (Action.CONSENT, (1,), Callback(Action.CONSENT, args=(1,))),
    (Action.DELETE_ME, (0,), Callback(Action.DELETE_ME, args=(0,))),
    # a trainer in Makassar picks WITA
    (Action.TIMEZONE, (1,), Callback(Action.TIMEZONE, args=(1,))),
    # a trainer turns reminders off; a coordinator asks for the CSV of the report of a moment
    (Action.REMINDERS, (0,), Callback(Action.REMINDERS, args=(0,))),
    (Action.REPORT_CSV, (1796130000,), Callback(Action.REPORT_CSV, args=(1796130000,))),
    # a coordinator exports batch 3 in the second format from its "batch complete" message
    (Action.EXPORT, (3, 1), Callback(Action.EXPORT, args=(3, 1))),
    # a coordinator opens item 4711 from the /flagged list
    (Action.FLAGGED_ITEM, (4711,), Callback(Action.FLAGGED_ITEM, args=(4711,))),
    # a coordinator exports batch 3 as sft with unreviewed rewrites, lifts gold pause 3
    (Action.EXPORT_ALL, (3, 1), Callback(Action.EXPORT_ALL, args=(3, 1))),
    (Action.GOLD_RESUME, (LARGEST_ID, 3), Callback(Action.GOLD_RESUME, args=(LARGEST_ID, 3))),
    # a reviewer rejects the rewrite of assignment 812 as factually wrong, with no comment
    (Action.REVIEW_DECISION, (812, 1), Callback(Action.REVIEW_DECISION, args=(812, 1))),
    (Action.REJECT_REASON, (812, 1), Callback(Action.REJECT_REASON, args=(812, 1))),
    (Action.NO_COMMENT, (BIG_ID,), Callback(Action.NO_COMMENT, args=(BIG_ID,))),
    # undoes the submit of assignment 812, or opens its batch's guidelines
    (Action.UNDO, (812,), Callback(Action.UNDO, 812)),
    (Action.GUIDELINES, (BIG_ID,), Callback(Action.GUIDELINES, BIG_ID)),
]


def test_the_round_trips_cover_every_action() -> None:
    assert {action for action, _, _ in ROUND_TRIPS} == set(Action)
    assert set(ARITY) | {Action.LANGUAGE} == set(Action)


@pytest.mark.parametrize(("action", "fields", "expected"), ROUND_TRIPS)
def test_a_button_decodes_to_what_it_was_made_for(
    action: Action, fields: tuple[int | str, ...], expected: Callback
) -> None:
    data = encode(action, *fields)
    assert 1 <= len(data.encode("utf-8")) <= MAX_BYTES == 64
    assert data.startswith(VERSION + action.value)
    assert decode(data) == expected


@pytest.mark.parametrize(
    ("action", "fields", "data"),
    [
        (Action.SCORE, (812, 0, 4), "1s:812:0:4"),
        (Action.NEXT, (), "1x"),
        (Action.LANGUAGE, ("id",), "1l:id"),
        (Action.SKIP, (BIG_ID, 2), "1K:100000000000000:2"),
    ],
)
def test_the_wire_format_is_short_and_stable(
    action: Action, fields: tuple[int | str, ...], data: str
) -> None:
    """Buttons already sitting in chats must keep working after a deploy."""
    assert encode(action, *fields) == data


def test_the_longest_real_button_fits_comfortably() -> None:
    data = encode(Action.SCORE, LARGEST_ID, LARGEST_ID, LARGEST_ID)
    assert len(data.encode()) <= MAX_BYTES
    assert decode(data) == Callback(Action.SCORE, LARGEST_ID, (LARGEST_ID, LARGEST_ID))


@pytest.mark.parametrize(
    "fields", [(10**30, 10**30, 10**30), ("x" * 62,), ("é" * 31,), (1, "🙂" * 15)]
)
def test_encoding_more_than_64_bytes_is_refused(fields: tuple[int | str, ...]) -> None:
    with pytest.raises(ValueError, match="too long"):
        encode(Action.SCORE, *fields)


def test_invalid_callback_data_is_a_value_error() -> None:
    assert issubclass(InvalidCallbackData, ValueError)


FORGED = [
    # nothing at all
    "",
    None,
    "1",
    "s",
    ":",
    # another version (an old keyboard, or a future one)
    "2s:1:0:4",
    "0s:1:0:4",
    "s:1:0:4",
    "11s:1:0:4",
    "１s:1:0:4",
    # unknown or mis-cased actions
    "1y:1",
    "1S:1:0:4",
    "1ｓ:1:0:4",
    "1?:1",
    "1\x00:1",
    "1:1:0:4",
    # missing fields
    "1s",
    "1s:",
    "1s:1",
    "1s:1:0",
    "1s:1:0:",
    "1c:1",
    "1f:1:2",
    "1K:1",
    "1r",
    "1r:",
    "1u",
    # extra fields
    "1s:1:0:4:5",
    "1s:1:0:4:",
    "1r:1:2",
    "1u:1:",
    "1x:",
    "1x:1",
    "1x1",
    "1b:1:0",
    # wrong separators
    "1s1:0:4",
    "1s;1;0;4",
    "1s:1;0:4",
    "1s::1:0:4",
    "1s:1::0:4",
    "1s,1,0,4",
    "1s/1/0/4",
    # numbers that encode never writes
    "1s:-1:0:4",
    "1s:1:-0:4",
    "1s:01:0:4",
    "1s:1:00:4",
    "1s:1:0:04",
    "1r:0812",
    "1s:+1:0:4",
    "1s:1.0:0:4",
    "1s:1e3:0:4",
    "1s:0x1F:0:4",
    "1s:1_000:0:4",
    "1s:1:0:4.5",
    "1r:" + "9" * 16,
    "1r:9007199254740992",  # 2**53
    # non-digits and digits from other scripts
    "1s:a:0:4",
    "1s:812:zero:4",
    "1s:١:0:4",
    "1s:812:0:٤",
    "1s:８１２:0:4",
    "1s:812:0:४",
    "1s:812:0:²",
    "1r:Ⅻ",
    # whitespace anywhere
    " 1s:1:0:4",
    "1s:1:0:4 ",
    "1s: 1:0:4",
    "1s:1 :0:4",
    "1s:1:0:4\n",
    "1s:1:0:4\r\n",
    "\t1x",
    "1x ",
    "1x\n",
    "1s:1:0:\u00a04",
    "1s:1:0:4\u200b",
    # languages we do not have, or not spelled as we write them
    "1l",
    "1l:",
    "1l:fr",
    "1l:ID",
    "1l:En",
    "1l:id:en",
    "1l:id ",
    "1l:id\n",
    "1l::id",
    "1l:1",
    "1l:ind",
    "1l:id-ID",
    # injection attempts
    "1s:1' OR '1'='1:0:4",
    "1s:1;DROP TABLE assignments;--",
    "1r:1 OR 1=1",
    "1r:1--",
    "1r:(SELECT 1)",
    "1l:id' --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "%s%s%s%n",
    # too long for Telegram, even if it looks right
    "1r:" + "1" * 62,
    "1s:1:0:4" + ":" * 57,
    "1l:" + "é" * 31,
    "1" + "s:1" * 30,
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_or_garbled_data_is_refused(data: str | None) -> None:
    with pytest.raises(InvalidCallbackData):
        decode(data)


@pytest.mark.parametrize("data", ["1\ud800", "1s:1:0:\udfff", "\udcff"])
def test_a_lone_surrogate_is_refused_like_any_garbage(data: str) -> None:
    with pytest.raises(InvalidCallbackData):
        decode(data)


# --- properties ----------------------------------------------------------------------------------

ids = st.integers(min_value=0, max_value=LARGEST_ID)
small = st.integers(min_value=0, max_value=10**6)


@st.composite
def buttons(draw: st.DrawFn) -> tuple[Action, tuple[int | str, ...]]:
    action = draw(st.sampled_from(list(Action)))
    if action is Action.LANGUAGE:
        return action, (draw(st.sampled_from(["id", "en"])),)
    arity = ARITY[action]
    if arity == 0:
        return action, ()
    rest = draw(st.tuples(*[small] * (arity - 1)))
    return action, (draw(ids), *rest)


@settings(max_examples=60)
@given(buttons())
def test_encode_then_decode_is_the_identity(button: tuple[Action, tuple[int | str, ...]]) -> None:
    action, fields = button
    data = encode(action, *fields)
    assert len(data.encode()) <= MAX_BYTES
    callback = decode(data)
    assert callback.action is action
    if action is Action.LANGUAGE:
        assert (callback.language, callback.assignment_id, callback.args) == (fields[0], None, ())
    elif action in COORDINATOR_ACTIONS:
        assert (callback.assignment_id, callback.args) == (None, fields)
    elif fields:
        assert (callback.assignment_id, *callback.args) == fields
        assert callback.language is None
    else:
        assert callback == Callback(Action.NEXT)


def fields_of(callback: Callback) -> tuple[int | str, ...]:
    if callback.action is Action.LANGUAGE:
        assert callback.language is not None
        return (callback.language,)
    if callback.action in COORDINATOR_ACTIONS:
        return callback.args
    if callback.assignment_id is None:
        return ()
    return (callback.assignment_id, *callback.args)


def check_decode_is_safe(data: str) -> None:
    """decode either refuses cleanly, or accepts exactly what encode would have written."""
    try:
        callback = decode(data)
    except InvalidCallbackData:
        return
    assert encode(callback.action, *fields_of(callback)) == data


@settings(max_examples=60)
@given(st.text())
def test_decode_of_arbitrary_text_only_ever_refuses_or_reads_canonical_data(data: str) -> None:
    check_decode_is_safe(data)


near_valid = st.text(alphabet="12sScfrnkKbuxlLide:0-9 \n١", max_size=30).map(lambda s: "1" + s)


@settings(max_examples=60)
@given(near_valid)
def test_decode_of_near_valid_text_only_ever_refuses_or_reads_canonical_data(data: str) -> None:
    check_decode_is_safe(data)


@settings(max_examples=60)
@given(buttons(), st.integers(min_value=0, max_value=30), st.text(min_size=1, max_size=3))
def test_any_edit_of_a_real_button_is_refused_or_canonical(
    button: tuple[Action, tuple[int | str, ...]], position: int, inserted: str
) -> None:
    data = encode(button[0], *button[1])
    position = min(position, len(data))
    check_decode_is_safe(data[:position] + inserted + data[position:])
