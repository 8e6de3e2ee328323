"""The lease sweeper in Telegram: the job every minute, the panel edits it makes, and the answer
to a tap on a swept item that no longer needs its trainer (bot/leases.py has the rules).

The edits are nobody's reply: many leases can run out together (a downtime, a class that left
at once), so they go out paced with the bulk sends (`rate_limit_args=BULK`), a few in flight,
each in its panel's own order (handlers/panel_edits.py), so a tap that takes the lease up
while the edit waits for the bulk budget is shown after it, never under it. A
failed edit (the message deleted, the chat blocked, the Bot API down) is logged and the sweep
goes on: the lease is expired already, and the panel's next tap or /next says what to do. A
crash between the write and the edits loses those edits, nothing else.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import CallbackQuery
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from bot.formatting import duration
from bot.i18n import t, t_plain
from bot.leases import PAGE, SweptLease
from bot.onboarding import Trainer
from bot.review import ItemView
from bot.services import Services
from handlers.callback_data import Callback
from handlers.context import NilaiContext
from handlers.item_messages import show_panel
from handlers.panel_edits import PanelEdits, PanelState
from handlers.render import (
    next_keyboard,
    render_item_messages,
    render_panel_keyboard,
    render_status,
)
from handlers.sending import answer_tap

log = logging.getLogger(__name__)

EDITS_IN_FLIGHT = 8  # enough to keep up with BROADCAST_RATE at Telegram's round trip


async def sweep_leases(context: NilaiContext) -> None:
    """Every minute: leases that ran out are expired page by page, and their panels say so.

    APScheduler runs one instance at a time: a sweep still editing a long backlog when the
    next minute comes is left to finish (the skipped run is logged)."""
    application, services = context.application, context.services
    while True:
        swept = await services.review.leases.sweep_page()
        if swept:
            await _edit_panels(application, services, swept)
        if len(swept) < PAGE:
            return


async def _edit_panels(
    application: Application, services: Services, swept: list[SweptLease]
) -> None:
    """Each swept lease's panel edited, a few at once; one failing never stops the others."""
    trainers = await services.review.leases.trainers_of(swept)
    gate = asyncio.Semaphore(EDITS_IN_FLIGHT)

    async def edit(lease: SweptLease) -> None:
        trainer = trainers.get(lease.assignment.trainer_id)
        if trainer is None or not trainer.reachable or lease.panel_message_id is None:
            return
        async with gate:
            try:
                await _show_expired(application, services, trainer, lease)
            except Forbidden:
                log.info("panel of assignment %s: chat blocked", lease.assignment.id)
                await services.onboarding.set_reachable(trainer.user_id, False)
            except TelegramError as error:
                log.warning("panel of assignment %s not edited: %s", lease.assignment.id, error)
            except Exception:  # one broken item must not keep the others' panels unsaid
                log.exception("panel of assignment %s not edited", lease.assignment.id)

    await asyncio.gather(*(edit(lease) for lease in swept))


async def _show_expired(
    application: Application, services: Services, trainer: Trainer, lease: SweptLease
) -> None:
    """The panel as it was (scores so far, the buttons), with the line saying time ran out.

    It takes the panel's own turn (handlers/panel_edits.py): rendered right before the
    request, and only while the lease is still swept; a tap meanwhile is shown after it."""
    assert lease.chat_id is not None and lease.panel_message_id is not None
    leases, language = services.review.leases, trainer.language

    async def expired_panel() -> PanelState | None:
        if not await leases.still_swept(lease.assignment.id):
            return None  # taken up again, or submitted: its own edit shows it
        view = await services.review.view(trainer, lease.assignment)
        spent = duration(leases.minutes * 60, language)
        text = _panel_text(view, language, t(language, "leases.expired", lease=spent))
        return PanelState(text, render_panel_keyboard(view, language), bulk=True)

    edits = PanelEdits.of(application)
    await edits.unprompted(lease.chat_id, lease.panel_message_id, expired_panel)


async def explain_expired(
    query: CallbackQuery, cb: Callback, trainer: Trainer, context: NilaiContext
) -> None:
    """A tap on a swept item that cannot be taken up again: a toast saying why (the trainer
    is on another item now, or the item no longer needs them), and the panel, its scores
    kept, with only a button to the next item (or back to the open one)."""
    assert cb.assignment_id is not None
    review = context.services.review
    view = await review.owned_view(trainer, cb.assignment_id, finished_ok=True)
    elsewhere = await review.leases.holds_another(trainer)
    language = trainer.language
    toast, line = (
        ("toast.lease_elsewhere", "leases.elsewhere")
        if elsewhere
        else ("toast.lease_taken", "leases.taken")
    )
    await answer_tap(query, t_plain(language, toast))
    message = query.message
    if message is None:
        return
    show_panel(
        context.application,
        message.chat.id,
        message.message_id,
        view,
        language,
        status=f"{t(language, line)}\n{_scores_so_far(view, language)}",
        markup=next_keyboard(language),
    )


def _panel_text(view: ItemView, language: str, line: str) -> str:
    """The panel's last message with `line` above its status (which stays as it was)."""
    status = f"{line}\n{render_status(view, language)}"
    return render_item_messages(view, language, status=status)[-1]


def _scores_so_far(view: ItemView, language: str) -> str:
    """The panel's line of scores, for a panel that takes no more of them."""
    rubric, missing = view.rubric, t(language, "panel.missing")
    scores = " · ".join(
        f"{rubric.label(key, language)} {view.draft.scores.get(key, missing)}"
        for key in rubric.criteria
    )
    return t(language, "panel.scores", scores=scores)
