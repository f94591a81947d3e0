"""The context of one update: the services, who is asking, their language and their roles."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Translator, language_from_telegram
from bot.people import Person
from bot.roles import Roles
from bot.services import Services

BashkeApp = Application[Any, "BashkeContext", Any, Any, Any, Any]


class BashkeContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Filled in by ``load_reader`` before any feature handler runs."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.person: Person | None = None
        self.tr: Translator = self.services.catalogs.translator(
            self.services.config.default_language
        )
        self._roles: Roles | None = None
        self._asker: int | None = None

    @property
    def asker(self) -> int:
        """The Telegram id of the person the update is from: every feature handler has one."""
        if self._asker is None:
            raise RuntimeError("an update from nobody reached a feature handler")
        return self._asker

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services

    async def roles(self, telegram_id: int) -> Roles:
        """The asker's roles, loaded once per update and only when something needs them."""
        if self._roles is None or self._roles.telegram_id != telegram_id:
            self._roles = await self.services.authz.roles_of(telegram_id)
        return self._roles


async def load_reader(update: object, context: BashkeContext) -> None:
    """Runs first for every update: who is this, and which translator speaks to them."""
    if not isinstance(update, Update) or update.effective_user is None:
        return
    user = update.effective_user
    context._asker = user.id
    services = context.services
    context.person = await services.people.get(user.id)
    language = (
        context.person.language
        if context.person is not None
        else language_from_telegram(user.language_code) or services.config.default_language
    )
    context.tr = services.catalogs.translator(language)
