"""Fuzzing the callback-data codec: a client can send any 1-64 bytes back as `callback_data`.

`decode` may only ever refuse with InvalidCallbackData (never another exception, never a
misreading), and every button `encode` agrees to make decodes back to exactly what it meant:
for any Telegram id (Telegram's ids have at most 52 significant bits).
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.callback_data import (
    MAX_BYTES,
    MAX_NUMBER,
    Action,
    Callback,
    InvalidCallbackData,
    decode,
    encode,
)
from tests.test_callback_data import ARITY, fields_of  # the spec, once

TELEGRAM_LARGEST_ID = 2**52 - 1


def fits(data: str) -> bool:
    return len(data.encode("utf-8", "surrogatepass")) <= MAX_BYTES


# Any text Telegram could hand back (lone surrogates too, though no client sends them), text
# made of the codec's own characters, and raw bytes read as a client might.
any_text = st.text(st.characters(exclude_categories=()), max_size=64).filter(fits)
codec_text = st.text(
    alphabet="0123456789:" + "".join(a.value for a in Action) + "ide ", max_size=64
)
raw_bytes = st.binary(max_size=64)
as_text = raw_bytes.map(lambda raw: raw.decode("utf-8", "surrogateescape"))


def check_refuses_or_reads_canonically(data: object) -> None:
    try:
        callback = decode(data)  # type: ignore[arg-type]
    except InvalidCallbackData:
        return
    assert isinstance(data, str)
    assert encode(callback.action, *fields_of(callback)) == data


@settings(max_examples=500)
@given(st.one_of(any_text, codec_text, as_text, raw_bytes, st.none(), st.integers()))
def test_decode_only_ever_refuses_or_reads_what_encode_writes(data: object) -> None:
    check_refuses_or_reads_canonically(data)


@settings(max_examples=300)
@given(
    st.sampled_from([a for a in Action if a is not Action.LANGUAGE]),
    st.lists(st.integers(min_value=0, max_value=MAX_NUMBER + 2), max_size=4).map(
        lambda xs: ":".join(map(str, xs))
    ),
)
def test_decode_of_well_formed_looking_numbers_never_raises_anything_else(
    action: Action, fields: str
) -> None:
    check_refuses_or_reads_canonically(f"1{action.value}:{fields}")


ids = st.integers(min_value=0, max_value=MAX_NUMBER)
telegram_ids = st.integers(min_value=1, max_value=TELEGRAM_LARGEST_ID)


@st.composite
def buttons(draw: st.DrawFn) -> tuple[Action, tuple[int | str, ...]]:
    action = draw(st.sampled_from(list(Action)))
    if action is Action.LANGUAGE:
        return action, (draw(st.sampled_from(["id", "en"])),)
    return action, tuple(draw(st.one_of(ids, telegram_ids)) for _ in range(ARITY[action]))


@settings(max_examples=500)
@given(buttons())
@example((Action.TRAINER, (TELEGRAM_LARGEST_ID, 1)))  # a 16-digit Telegram id once did not decode
def test_every_button_decodes_to_exactly_its_fields(
    button: tuple[Action, tuple[int | str, ...]],
) -> None:
    action, fields = button
    data = encode(action, *fields)
    assert 1 <= len(data.encode()) <= MAX_BYTES
    callback = decode(data)
    assert (callback.action, fields_of(callback)) == (action, fields)


@settings(max_examples=300)
@given(
    st.sampled_from(list(Action)),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.booleans()), max_size=4),
)
@example(Action.REWRITE, [-1])  # encode once wrote buttons decode refuses
@example(Action.REWRITE, [10**16])
@example(Action.SCORE, [1])
@example(Action.LANGUAGE, ["fr"])
def test_encode_refuses_what_decode_would_not_read_back(
    action: Action, fields: list[int | str]
) -> None:
    try:
        data = encode(action, *fields)
    except ValueError:
        return
    assert (decode(data).action, fields_of(decode(data))) == (action, tuple(fields))


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        (Action.REWRITE, (-1,)),
        (Action.REWRITE, (MAX_NUMBER + 1,)),
        (Action.SCORE, (1, 2)),
        (Action.NEXT, (1,)),
        (Action.LANGUAGE, ("fr",)),
        (Action.SKIP, (1, "2")),
        (Action.FLAG, (1, 0, True)),
    ],
)
def test_a_button_the_bot_could_not_read_back_is_refused_when_made(
    action: Action, fields: tuple[int | str, ...]
) -> None:
    with pytest.raises(ValueError, match="callback data"):
        encode(action, *fields)


def test_the_largest_telegram_user_id_fits_a_trainer_button() -> None:
    data = encode(Action.TRAINER, TELEGRAM_LARGEST_ID, 3)
    assert decode(data) == Callback(Action.TRAINER, args=(TELEGRAM_LARGEST_ID, 3))
