"""The per-update context: shared services plus the sender's registration, loaded once."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import language_for
from bot.onboarding import Trainer
from bot.services import Services
from bot.update_log import RequestMark

SERVICES_KEY = "services"


def command_of(update: Update) -> str | None:
    """The command a new message starts with, without any @botname ("/next")."""
    message = update.message
    if message is None or not message.text:
        return None
    return (message.text.split() or [""])[0].split("@")[0]


class NilaiContext(CallbackContext[ExtBot, dict, dict, dict]):
    """PTB builds one context per update, shared by all handler groups, so the trainer record
    loaded by the guard in group -1 is reused by the handler instead of queried again."""

    def __init__(
        self, application: Application, chat_id: int | None = None, user_id: int | None = None
    ):
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.trainer: Trainer | None = None
        self.update_mark: RequestMark | None = None

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES_KEY]

    def language(self, update: Update) -> str:
        """The trainer's language, or a stranger's from their Telegram settings."""
        if self.trainer is not None:
            return self.trainer.language
        user = update.effective_user
        default = self.services.settings.default_language
        return language_for(user.language_code if user else None, default)
