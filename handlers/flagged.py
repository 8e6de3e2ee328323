"""Coordinators' /flagged: the answers trainers flagged (unsafe, biased, personal data, ...), most
flagged first, with a button to open each one: its prompt, the AI's answer, how many trainers
raised each flag and the notes they wrote."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.flagged import FlaggedItem, FlaggedList, ItemFlags, UnknownBatch
from bot.formatting import number
from bot.i18n import Html, t, t_plain
from bot.onboarding import Trainer
from bot.rubric import Rubric
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.panel_edits import NO_PREVIEW
from handlers.render import Blocks, pack_in_parts
from handlers.sending import answer_tap
from handlers.text_split import MESSAGE_LIMIT, echo, visible_len

PROMPT_SHOWN = 80  # characters of each prompt in the list
BUTTON_ID = 20  # characters of an external id on a button


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("flagged", flagged_command, filters=private),
        CallbackQueryHandler(item_button, pattern=rf"^1{Action.FLAGGED_ITEM.value}:"),
    ]


def _me(context: NilaiContext) -> Trainer:
    assert context.trainer is not None  # coordinators_only let only registered users through
    return context.trainer


@coordinators_only
async def flagged_command(update: Update, context: NilaiContext) -> None:
    """Lists the flagged items of every open batch (or of the named batch), most flagged first,
    with a button per item."""
    message, me = update.message, _me(context)
    assert message is not None and message.text is not None
    parts = message.text.split(maxsplit=1)
    name = parts[1].strip() if len(parts) > 1 else None
    try:
        listing = await context.services.flagged.listing(name)
    except UnknownBatch:
        await message.reply_html(t(me.language, "flagged.unknown", name=echo(name or "")))
        return
    if not listing.items:
        if listing.batch_name is None:
            await message.reply_html(t(me.language, "flagged.none_open"))
        else:
            await message.reply_html(t(me.language, "flagged.none_batch", name=listing.batch_name))
        return
    text, shown = render_list(listing, me.language)
    await message.reply_html(text, reply_markup=_buttons(listing.items[:shown], me.language))


def render_list(listing: FlaggedList, language: str) -> tuple[str, int]:
    """The list's message, within Telegram's limit, and how many items it shows."""
    if listing.batch_name is None:
        title = t(language, "flagged.title_open", count=listing.total)
    else:
        title = t(language, "flagged.title_batch", name=listing.batch_name, count=listing.total)
    entries = [
        _entry(rank, item, listing, language) for rank, item in enumerate(listing.items, start=1)
    ]
    shown = len(entries)
    while True:
        lines = [title, "", *entries[:shown]]
        if shown < listing.total:
            lines += [
                "",
                t(
                    language,
                    "flagged.listed",
                    shown=number(shown, language),
                    total=number(listing.total, language),
                ),
            ]
        lines += ["", t(language, "flagged.open_hint")]
        text = "\n".join(lines)
        if visible_len(text) <= MESSAGE_LIMIT or shown == 1:
            return text, shown
        shown -= 1


def _entry(rank: int, item: FlaggedItem, listing: FlaggedList, language: str) -> str:
    rubric = listing.rubrics[item.batch_id]
    in_batch = (
        t(language, "flagged.in_batch", name=listing.batch_names[item.batch_id])
        if listing.batch_name is None
        else ""
    )
    return t(
        language,
        "flagged.entry",
        rank=rank,
        id=echo(item.external_id),
        batch=Html(in_batch),
        count=item.raisers,
        flags=Html(_flag_counts(item.flags, rubric, language)),
        prompt=_start_of(item.prompt_start),
    )


def _flag_counts(flags: tuple[tuple[str, int], ...], rubric: Rubric, language: str) -> str:
    """ "Unsafe: 3 · Biased: 1": labels and numbers only, the same in every language."""
    return " · ".join(
        f"{html.escape(rubric.label(flag, language))}: {number(count, language)}"
        for flag, count in flags
    )


def _start_of(prompt: str) -> str:
    """The prompt's start on one line, cut with an ellipsis."""
    line = " ".join(prompt.split())
    return line if len(line) <= PROMPT_SHOWN else line[: PROMPT_SHOWN - 1].rstrip() + "…"


def _buttons(items: tuple[FlaggedItem, ...], language: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            t_plain(language, "button.flagged_item", rank=rank, id=_clip(item.external_id)),
            callback_data=encode(Action.FLAGGED_ITEM, item.item_id),
        )
        for rank, item in enumerate(items, start=1)
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _clip(external_id: str) -> str:
    return external_id if len(external_id) <= BUTTON_ID else external_id[: BUTTON_ID - 1] + "…"


@coordinators_only
async def item_button(update: Update, context: NilaiContext) -> None:
    """Shows one flagged item: its prompt, the AI's answer, the flags by count and the notes (a
    forged or vanished item: a polite toast)."""
    query, me = update.callback_query, _me(context)
    assert query is not None
    found = None
    try:
        (item_id,) = decode(query.data).args
    except (InvalidCallbackData, ValueError):
        pass
    else:
        found = await context.services.flagged.item(item_id)
    if found is None:
        await answer_tap(query, t_plain(me.language, "toast.flagged_unknown"), show_alert=True)
        return
    await answer_tap(query)
    for text in render_item(*found, me.language):
        await context.bot.send_message(
            me.chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        )


def render_item(item: ItemFlags, rubric: Rubric, language: str) -> list[str]:
    """The messages that show one flagged item, long texts split across them."""
    blocks: Blocks = [
        (
            "html",
            t(language, "flagged.item_title", id=echo(item.external_id), batch=item.batch_name),
        ),
        ("html", ""),
    ]
    if item.flags:
        blocks.append(("html", t(language, "flagged.item_flags")))
        blocks += [
            (
                "html",
                t(
                    language,
                    "flagged.item_flag",
                    flag=rubric.label(flag, language),
                    count=count,
                ),
            )
            for flag, count in item.flags
        ]
    else:
        blocks.append(("html", t(language, "flagged.item_no_flags")))
    blocks += [
        ("html", "\n" + t(language, "item.prompt")),
        ("text", item.prompt),
        ("html", "\n" + t(language, "item.response")),
        ("text", item.response),
    ]
    if item.notes:
        blocks.append(("html", "\n" + t(language, "flagged.item_notes")))
        blocks += [("text", f"• {note}") for note in item.notes]
    return pack_in_parts(blocks, language)
