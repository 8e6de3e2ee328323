"""Webhook mode: Telegram posts each update to WEBHOOK_URL instead of the bot polling for it.

Every process serves PTB's webhook server (tornado) on WEBHOOK_LISTEN:WEBHOOK_PORT at the
path of WEBHOOK_URL; PTB answers 403 to a request without the right
`X-Telegram-Bot-Api-Secret-Token` header (WEBHOOK_SECRET) and hands the others to the
Application as if they came from getUpdates. Telegram is told the URL once, by the one process
whose claim in the database wins (`storage/webhook.py`, which says what that trades off).

PTB's own `start_webhook` would call setWebhook in every process: with a `webhook_url` it sets
that, and without one it derives `http://<listen>:<port>/<path>` and sets *that*, which would
replace the public address with a private one. So the Application's Updater is
`ServingUpdater`, whose webhook start only serves, and Nilai calls setWebhook itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application, Updater

from bot.config import Settings
from storage.database import Database
from storage.webhook import claim_webhook, forget_webhook

log = logging.getLogger(__name__)


class ServingUpdater(Updater):
    """PTB's Updater, except that `start_webhook` never calls setWebhook (see the module
    docstring); polling still deletes any webhook first, as PTB does."""

    __slots__ = ()

    # PTB 22's bootstrap is the one step of start_webhook and start_polling that talks to
    # Telegram (delete or set the webhook). tests/test_webhook.py fails if PTB renames it.
    async def _bootstrap(
        self,
        max_retries: int,
        webhook_url: str | None,
        allowed_updates: Sequence[str] | None,
        **options: Any,
    ) -> None:
        if webhook_url:  # start_webhook's: set once, by settle_webhook
            return
        await super()._bootstrap(max_retries, webhook_url, allowed_updates, **options)


class NilaiApplication(Application):
    """PTB's Application with a `ServingUpdater` (ApplicationBuilder.application_class)."""

    def __init__(self, *, updater: Updater | None, **options: Any) -> None:
        if updater is not None:
            updater = ServingUpdater(bot=updater.bot, update_queue=updater.update_queue)
        super().__init__(updater=updater, **options)


def webhook_arguments(settings: Settings) -> dict[str, Any]:
    """What `Application.run_webhook` and `Updater.start_webhook` are given in webhook mode."""
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": settings.webhook_path,
        "secret_token": settings.webhook_secret,
        "webhook_url": settings.webhook_url,  # only for the record: ServingUpdater sets none
        "allowed_updates": Update.ALL_TYPES,
        "drop_pending_updates": False,
    }


async def settle_webhook(bot: Bot, db: Database, settings: Settings) -> bool:
    """At start: in webhook mode, set the webhook if this process's claim wins (True); in
    polling mode, forget the claim, since polling deletes the webhook."""
    url, secret = settings.webhook_url, settings.webhook_secret
    if url is None or secret is None:
        await db.write(forget_webhook)
        return False
    if not await db.write(claim_webhook, url, secret):
        log.info("webhook mode: serving %s (the webhook was set already)", url)
        return False
    try:
        await bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
    except BaseException:
        await db.write(forget_webhook)  # so that the next start tries again
        raise
    log.info("webhook mode: set the webhook to %s", url)
    return True
