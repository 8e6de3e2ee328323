"""Coordinators' /reviewer @name on|off: who may review other trainers' rewrites (/review).

The change is committed and audited before the coordinator is told; a trainer made a reviewer
hears it at once, in their language, with what /review does.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.i18n import t
from bot.onboarding import Trainer
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.render import trainer_name
from handlers.text_split import echo

log = logging.getLogger(__name__)

_SWITCH = {"on": True, "off": False}


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [CommandHandler("reviewer", reviewer_command, filters=private)]


@coordinators_only
async def reviewer_command(update: Update, context: NilaiContext) -> None:
    """Makes a trainer a reviewer (and tells them) or not, or explains the usage."""
    message, me = update.message, context.trainer
    assert message is not None and me is not None
    args = context.args or []
    if len(args) != 2 or args[1].lower() not in _SWITCH:
        await message.reply_html(t(me.language, "reviewer.usage"))
        return
    target = await context.services.team.find(args[0])
    if target is None:
        await message.reply_html(t(me.language, "reviewer.unknown", who=echo(args[0])))
        return
    on = _SWITCH[args[1].lower()]
    changed = await context.services.rewrite_reviews.set_reviewer(
        target.user_id, on, actor_id=me.user_id
    )
    key = {(True, True): "made", (True, False): "already_on", (False, True): "removed"}.get(
        (on, changed), "already_off"
    )
    await message.reply_html(t(me.language, f"reviewer.{key}", name=trainer_name(target)))
    if on and changed:
        await _tell(context, target)


async def _tell(context: NilaiContext, trainer: Trainer) -> None:
    """The new reviewer hears it at once (it answers the coordinator's own action, so it is
    interactive traffic); a 403 marks them unreachable, as elsewhere."""
    if not trainer.reachable:
        return
    try:
        await context.bot.send_message(
            trainer.chat_id, t(trainer.language, "reviewer.told"), parse_mode=ParseMode.HTML
        )
    except Forbidden:
        await context.services.onboarding.set_reachable(trainer.user_id, False)
    except TelegramError as error:  # the change stands; only the notice is lost
        log.warning("new reviewer %s not told: %s", trainer.user_id, error)
