"""Command menus: one per language for everyone, and one per staff member's chat for their roles."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.commands import commands_for
from bot.i18n import Translator
from bot.roles import Role
from bot.services import Services

log = logging.getLogger(__name__)
PARTICIPANT = frozenset({Role.PARTICIPANT})


def bot_commands(tr: Translator, roles: frozenset[Role]) -> list[BotCommand]:
    return [BotCommand(c.name, tr.gettext(c.description)) for c in commands_for(roles)]


async def set_default_menus(bot: Bot, services: Services) -> None:
    catalogs = services.catalogs
    default = catalogs.translator(services.config.default_language)
    await bot.set_my_commands(bot_commands(default, PARTICIPANT), scope=BotCommandScopeDefault())
    for tr in catalogs:
        await bot.set_my_commands(
            bot_commands(tr, PARTICIPANT), scope=BotCommandScopeDefault(), language_code=tr.language
        )
    for telegram_id in sorted(await services.authz.staff_ids()):
        await refresh_menu(bot, services, telegram_id)


async def refresh_menu(bot: Bot, services: Services, telegram_id: int) -> None:
    """Give a staff member the menu of their roles in their language; a participant the default."""
    roles = await services.authz.roles_of(telegram_id)
    person = await services.people.get(telegram_id)
    tr = services.catalogs.translator(
        person.language if person else services.config.default_language
    )
    scope = BotCommandScopeChat(telegram_id)
    try:
        if roles.is_staff:
            await bot.set_my_commands(bot_commands(tr, roles.names), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:
        # Someone who never opened the bot has no chat yet; /start sets their menu later.
        log.warning("could not set the command menu of a staff chat: %s", exc)
