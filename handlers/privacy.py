"""Privacy: the notice a trainer agrees to, /privacy, /mydata and /deleteme.

The consent gate itself runs in the guard (handlers/guard.py, group -1): until a trainer agrees
to the current notice, /next, the Next button and every item button show the notice again and
hand out nothing.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.clock import parse_stamp
from bot.formatting import moment, number
from bot.i18n import t, t_plain
from bot.onboarding import Trainer
from bot.privacy import MAX_NOTICE_CHARS, Consent, Privacy
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext, command_of
from handlers.render import next_keyboard
from handlers.sending import answer_tap
from handlers.text_split import visible_len

log = logging.getLogger(__name__)

DELETE_CANCEL, DELETE_CONFIRM = 0, 1
_SET = re.compile(r"^/privacy(?:@\w+)?\s+set\b\s*", re.IGNORECASE)


def handlers() -> list[BaseHandler]:
    new_message = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("privacy", privacy_command, filters=new_message),
        CommandHandler("mydata", mydata_command, filters=new_message),
        CommandHandler("deleteme", deleteme_command, filters=new_message),
        CallbackQueryHandler(consent_tapped, pattern=r"^1a:"),
        CallbackQueryHandler(delete_tapped, pattern=r"^1D:"),
    ]


def privacy_of(context: NilaiContext) -> Privacy:
    """The one Privacy service of the running bot (it remembers who agreed)."""
    return context.services.privacy


# -- the notice and the consent gate ---------------------------------------------------------


async def notice_with_button(
    context: NilaiContext, language: str, lead: str
) -> tuple[str, InlineKeyboardMarkup]:
    """`lead`, the current notice and the "I agree" button (carrying the notice's version)."""
    notice = await privacy_of(context).notice(language)
    text = "\n\n".join((lead, notice.text, t(language, "privacy.ask")))
    return text, agree_keyboard(notice.version, language)


def agree_keyboard(version: int, language: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        t_plain(language, "button.privacy_agree"), callback_data=encode(Action.CONSENT, version)
    )
    return InlineKeyboardMarkup([[button]])


def asks_for_an_item(update: Update) -> bool:
    """/next, the Next button, or a button of an item's panel: what consent must come before."""
    query = update.callback_query
    if update.message is not None:
        return command_of(update) == "/next"
    if query is None:
        return False
    try:
        callback = decode(query.data)
    except InvalidCallbackData:
        return False
    return callback.action is Action.NEXT or callback.assignment_id is not None


async def stopped_for_consent(update: Update, context: NilaiContext) -> bool:
    """Shows the notice instead of an item to a trainer who has not agreed to it yet."""
    trainer = context.trainer
    if trainer is None or not asks_for_an_item(update):
        return False
    privacy = privacy_of(context)
    if await privacy.has_agreed(trainer.user_id):
        return False
    language = trainer.language
    lead = "privacy.updated" if await privacy.agreed_before(trainer.user_id) else "privacy.first"
    text, markup = await notice_with_button(context, language, t(language, lead))
    if update.callback_query is not None:
        await answer_tap(update.callback_query, t_plain(language, "toast.privacy_first"))
    await context.bot.send_message(
        trainer.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )
    log.info("trainer %s asked to agree to the privacy notice first", trainer.user_id)
    return True


async def consent_tapped(update: Update, context: NilaiContext) -> None:
    """Records the agreement, then offers the first item; an old notice's button shows the new."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    language = trainer.language
    privacy = privacy_of(context)
    outcome = await privacy.agree(trainer.user_id, decode(query.data).args[0])
    if outcome is Consent.OUTDATED:
        await answer_tap(query, t_plain(language, "toast.privacy_outdated"))
        text, markup = await notice_with_button(context, language, t(language, "privacy.updated"))
        await context.bot.send_message(
            trainer.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
        return
    await answer_tap(query, t_plain(language, "toast.privacy_thanks"))
    agreed = t(language, "privacy.agreed", date=await _agreed_date(context, trainer))
    await _edit(
        query.message,
        f"{await _read_part(query.message, context, language)}\n\n{agreed}",
        next_keyboard(language),
    )


async def _read_part(message: object, context: NilaiContext, language: str) -> str:
    """What the tapped message said above its "Tap I agree" line (a welcome, the notice)."""
    if isinstance(message, Message) and message.text:
        return message.text_html.rsplit("\n\n", 1)[0]
    return (await privacy_of(context).notice(language)).text


async def _agreed_date(context: NilaiContext, trainer: Trainer) -> str:
    agreed_at = await privacy_of(context).agreed_at(trainer.user_id)
    zone = trainer.timezone or context.services.settings.timezone
    return moment(parse_stamp(agreed_at), zone, trainer.language) if agreed_at else "–"


async def _edit(message: object, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if not isinstance(message, Message):
        return  # too old for Telegram to hand back: nothing to edit
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as error:  # a double tap: the message already says so
        log.debug("privacy message not edited: %s", error)


# -- /privacy ---------------------------------------------------------------------------------


async def privacy_command(update: Update, context: NilaiContext) -> None:
    """Shows the notice and whether the trainer agreed; coordinators may replace or reset it."""
    message, trainer = update.message, context.trainer
    assert message is not None and trainer is not None
    operation = context.args[0].lower() if context.args else None
    if operation in ("set", "reset"):
        if not trainer.is_coordinator:
            await message.reply_html(t(trainer.language, "coordinator.only"))
        elif operation == "reset":
            privacy = privacy_of(context)
            custom = (await privacy.notice(trainer.language)).custom
            version = await privacy.replace_notice(trainer.user_id, None)
            key = "privacy.reset_done" if custom else "privacy.reset_already"
            await message.reply_html(t(trainer.language, key, version=version))
        else:
            await _set_notice(message, trainer, context)
        return
    await _show_notice(message, trainer, context)


async def _show_notice(message: Message, trainer: Trainer, context: NilaiContext) -> None:
    language = trainer.language
    privacy = privacy_of(context)
    notice = await privacy.notice(language)
    markup = None
    if await privacy.has_agreed(trainer.user_id):
        status = t(language, "privacy.agreed_on", date=await _agreed_date(context, trainer))
    else:
        status = t(language, "privacy.not_agreed")
        markup = agree_keyboard(notice.version, language)
    parts = [notice.text]
    if trainer.is_coordinator:
        source = "privacy.source_custom" if notice.custom else "privacy.source_builtin"
        parts.append(
            t(language, "privacy.manage", version=notice.version, source=t(language, source))
        )
    parts.append(status)  # last: "I agree" replaces it (consent_tapped)
    await message.reply_html("\n\n".join(parts), reply_markup=markup)


async def _set_notice(message: Message, trainer: Trainer, context: NilaiContext) -> None:
    """The organisation's notice: the text after `/privacy set`, or the message replied to."""
    language = trainer.language
    text = _SET.sub("", message.text_html, count=1).strip()
    replied = message.reply_to_message
    if not text and replied is not None and replied.text:
        text = replied.text_html.strip()
    if not text:
        await message.reply_html(t(language, "privacy.set_missing"))
        return
    length = visible_len(text)
    if length > MAX_NOTICE_CHARS:
        await message.reply_html(
            t(
                language,
                "privacy.set_too_long",
                length=number(length, language),
                limit=number(MAX_NOTICE_CHARS, language),
            )
        )
        return
    version = await privacy_of(context).replace_notice(trainer.user_id, text)
    await message.reply_html(t(language, "privacy.set_done", version=version))


# -- /mydata and /deleteme --------------------------------------------------------------------


async def mydata_command(update: Update, context: NilaiContext) -> None:
    """Sends the trainer a JSON file of everything stored about them."""
    message, trainer = update.message, context.trainer
    assert message is not None and trainer is not None
    privacy = privacy_of(context)
    document = await privacy.my_data(trainer.user_id)
    if document is None:
        return
    now = context.services.clock()
    zone = trainer.timezone or context.services.settings.timezone
    caption = t(
        trainer.language,
        "privacy.mydata_caption",
        date=moment(now, zone, trainer.language),
        pseudonym=await privacy.pseudonym(trainer.user_id),
    )
    await context.bot.send_document(
        trainer.chat_id,
        document=document,
        filename=f"nilai-mydata-{now:%Y-%m-%d}.json",
        caption=caption,
        parse_mode=ParseMode.HTML,
    )


async def deleteme_command(update: Update, context: NilaiContext) -> None:
    """Asks the trainer to confirm that their identity should be deleted."""
    message, trainer = update.message, context.trainer
    assert message is not None and trainer is not None
    language = trainer.language
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t_plain(language, "button.delete_confirm"),
                    callback_data=encode(Action.DELETE_ME, DELETE_CONFIRM),
                ),
                InlineKeyboardButton(
                    t_plain(language, "button.delete_cancel"),
                    callback_data=encode(Action.DELETE_ME, DELETE_CANCEL),
                ),
            ]
        ]
    )
    await message.reply_html(t(language, "privacy.delete_confirm"), reply_markup=markup)


async def delete_tapped(update: Update, context: NilaiContext) -> None:
    """Deletes the trainer's identity (or not), and says so in place of the question."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    choice = decode(query.data).args[0]
    if choice == DELETE_CONFIRM:
        await privacy_of(context).delete_identity(trainer.user_id)
        text = t(trainer.language, "privacy.deleted")
    else:
        text = t(trainer.language, "privacy.delete_cancelled")
    await answer_tap(query)
    await _edit(query.message, text, None)
