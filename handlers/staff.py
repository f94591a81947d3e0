"""Admin commands: grant and revoke staff roles, list the staff, add partner towns."""

from __future__ import annotations

import re
from html import escape

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.errors import InvalidInput
from bot.i18n import N_, Translator
from bot.roles import Permission, Role
from handlers import menus
from handlers.context import BashkeApp, BashkeContext
from handlers.render import show

ROLE_USAGE = N_(
    "Usage: /{command} TELEGRAM_ID coordinator [TOWN] or /{command} TELEGRAM_ID moderator. "
    "TOWN is the town's short name; leave it out for the whole network."
)
ADDTOWN_USAGE = N_(
    "Usage: /addtown SHORT_NAME TIME_ZONE NAME, for example: /addtown berat Europe/Tirane Berat"
)


def _role_arguments(args: list[str], command: str) -> tuple[int, str, str | None]:
    if len(args) not in (2, 3) or not re.fullmatch(r"[0-9]{1,18}", args[0]):
        raise InvalidInput(ROLE_USAGE, command=command)
    return int(args[0]), args[1], args[2] if len(args) == 3 else None


async def _require_admin(update: Update, context: BashkeContext) -> int:
    # Checked before the arguments, so a participant learns nothing from a usage message.
    await context.services.authz.require(context.asker, Permission.MANAGE_ROLES)
    return context.asker


async def grant_command(update: Update, context: BashkeContext) -> None:
    actor = await _require_admin(update, context)
    target, role, town = _role_arguments(context.args or [], "grant")
    added = await context.services.staff.grant(actor, target, role, town)
    await menus.refresh_menu(context.bot, context.services, target)
    tr = context.tr
    text = (
        tr.gettext("Done: {person} is now {role}.")
        if added
        else tr.gettext("{person} already has that role.")
    )
    await show(update, text.format(person=target, role=_role_label(tr, role, town)))


async def revoke_command(update: Update, context: BashkeContext) -> None:
    actor = await _require_admin(update, context)
    target, role, town = _role_arguments(context.args or [], "revoke")
    removed = await context.services.staff.revoke(actor, target, role, town)
    await menus.refresh_menu(context.bot, context.services, target)
    tr = context.tr
    text = (
        tr.gettext("Done: {person} is no longer {role}.")
        if removed
        else tr.gettext("{person} did not have that role.")
    )
    await show(update, text.format(person=target, role=_role_label(tr, role, town)))


def _role_label(tr: Translator, role: str, town: str | None) -> str:
    if role.lower() == Role.MODERATOR:
        return tr.gettext("a moderator")
    if town:
        return tr.gettext("coordinator of {town}").format(town=escape(town))
    return tr.gettext("coordinator of the whole network")


async def staff_command(update: Update, context: BashkeContext) -> None:
    actor = await _require_admin(update, context)
    staff = await context.services.staff.list_staff(actor)
    tr = context.tr
    if not staff:
        await show(
            update, tr.gettext("No one has a staff role yet. Admins come from the configuration.")
        )
        return
    people = len({member.telegram_id for member in staff})
    lines = [
        tr.ngettext(
            "{count} person has a staff role:", "{count} people have a staff role:", people
        ).format(count=people)
    ]
    for member in staff:
        lines.append(
            f"• <code>{member.telegram_id}</code> — "
            + _role_label(tr, member.role, member.town_name)
        )
    await show(update, "\n".join(lines))


async def addtown_command(update: Update, context: BashkeContext) -> None:
    await context.services.authz.require(context.asker, Permission.MANAGE_TOWNS)
    args = context.args or []
    if len(args) < 3:
        raise InvalidInput(ADDTOWN_USAGE)
    town = await context.services.towns.add_town(
        context.asker, args[0], args[1], " ".join(args[2:])
    )
    await show(
        update,
        context.tr.gettext("Added the partner town {town} ({timezone}).").format(
            town=escape(town.name), timezone=escape(town.timezone)
        ),
    )


def register(app: BashkeApp) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("grant", grant_command, filters=private))
    app.add_handler(CommandHandler("revoke", revoke_command, filters=private))
    app.add_handler(CommandHandler("staff", staff_command, filters=private))
    app.add_handler(CommandHandler("addtown", addtown_command, filters=private))
