"""Onboarding and profile: language, consent, town, self-description, and the person's rights.

Every step is a button whose data carries what the next step needs, so nothing about a person is
kept, in memory or on disk, before they agree to the privacy notice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import deeplinks
from bot.commands import commands_for
from bot.errors import InvalidInput, NotRegistered
from bot.i18n import LANGUAGE_NAMES, N_, Translator
from bot.people import DESCRIPTION_OF_ONE, SelfDescription
from bot.roles import Role
from handlers import callbacks, links, menus, pulse
from handlers.context import BashkeApp, BashkeContext
from handlers.conversation import Flow
from handlers.render import Button, keyboard, show

TOWNS_PER_PAGE = 8


@dataclass
class Joining:
    """What onboarding keeps between its taps: the link that brought the person, if any."""

    link: deeplinks.DeepLink | None = None


# Its steps are stateless buttons (each carries what it needs); only the link waits here, so
# that it opens once the last question is answered, even after a restart.
flow = Flow("onboarding", Joining)


def privacy_notice(tr: Translator) -> str:
    return tr.gettext(
        "<b>Your privacy</b>\n"
        "Bashkë is run by the partner towns of the network. To let you take part we store:\n"
        "• your Telegram id and your language;\n"
        "• your partner town, if you choose one;\n"
        "• how you describe yourself (resident, newcomer or migrant), if you say. "
        "It is used only in overall figures and never shown to anyone;\n"
        "• the events you join, and the stories and votes you send. "
        "No one can see how you voted.\n"
        "• your answers to the attitude pulse, if you give them. They are used only in overall "
        "figures and never shown on their own.\n"
        "We never sell or share your data. /mydata sends you a copy of all of it; /deleteme "
        "erases it: your approved stories stay only if they are anonymous, your votes only as "
        "anonymous counts, and if you were staff, the record of your staff actions stays."
    )


def help_text(tr: Translator, roles: frozenset[Role]) -> str:
    lines = [tr.gettext("Here is what you can do:")]
    for command in commands_for(roles):
        lines.append(f"/{command.name} — {escape(tr.gettext(command.description))}")
    return "\n".join(lines)


def language_keyboard(payload: str = "") -> InlineKeyboardMarkup:
    """The language buttons; a deep link being opened rides along until consent is given."""
    return keyboard(
        [[(name, callbacks.encode("lang", code, payload))] for code, name in LANGUAGE_NAMES.items()]
    )


async def start(update: Update, context: BashkeContext) -> None:
    tr = context.tr
    payload = context.args[0] if context.args else None
    link = deeplinks.parse(payload) if payload else None
    note = ""
    if payload is not None and link is None:
        note = tr.gettext("I did not recognise that link, so let us start from the beginning.")
        note += "\n\n"
    if context.person is None:
        await show(
            update,
            note + tr.gettext("Welcome to Bashkë! Choose your language:"),
            language_keyboard(link.payload() if link else ""),
        )
        return
    if link is not None:
        await links.open_link(update, context, link)
        return
    roles = await context.roles(context.asker)
    if roles.is_staff:
        await menus.refresh_menu(context.bot, context.services, context.asker)
    await show(update, note + tr.gettext("Welcome back!") + "\n\n" + help_text(tr, roles.names))


async def choose_language(update: Update, context: BashkeContext) -> None:
    """A language button: the first onboarding step, or /language for someone registered."""
    language, payload = callbacks.args(update, 2)
    if language not in LANGUAGE_NAMES:
        raise InvalidInput(N_("I do not know that language."))
    tr = context.services.catalogs.translator(language)
    context.tr = tr
    if context.person is None:
        await show(
            update,
            privacy_notice(tr) + "\n\n" + tr.gettext("Do you agree?"),
            keyboard(
                [
                    [(tr.gettext("I agree"), callbacks.encode("consent", language, payload))],
                    [(tr.gettext("No, thank you"), callbacks.encode("decline", language))],
                ]
            ),
        )
        return
    await context.services.people.set_language(context.asker, language)
    if (await context.roles(context.asker)).is_staff:
        await menus.refresh_menu(context.bot, context.services, context.asker)
    await show(
        update,
        tr.gettext("I will speak {language} with you from now on.").format(
            language=LANGUAGE_NAMES[language]
        ),
    )


async def consent(update: Update, context: BashkeContext) -> None:
    language, payload = callbacks.args(update, 2)
    person = await context.services.people.give_consent(context.asker, language)
    context.person = person
    context.tr = context.services.catalogs.translator(person.language)
    link = deeplinks.parse(payload) if payload else None
    if link is not None:
        # The link that brought them here opens once the last onboarding question is answered.
        await flow.save(context, "joining", Joining(link))
    await ask_town(update, context, intro=context.tr.gettext("Thank you, welcome!") + "\n\n")


async def decline(update: Update, context: BashkeContext) -> None:
    (language,) = callbacks.args(update, 1)
    if language not in LANGUAGE_NAMES:
        raise InvalidInput(N_("I do not know that language."))
    if context.person is not None:
        # A stale "No, thank you" of someone who agreed since: "nothing is stored" is untrue.
        raise InvalidInput(N_("This button is no longer valid. Send /help to see what you can do."))
    tr = context.services.catalogs.translator(language)
    await show(
        update,
        tr.gettext(
            "No problem: nothing about you has been stored. "
            "If you change your mind, just send /start."
        ),
    )


async def ask_town(update: Update, context: BashkeContext, page: int = 0, intro: str = "") -> None:
    tr = context.tr
    towns = await context.services.towns.list_towns()
    pages = max(1, -(-len(towns) // TOWNS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = towns[page * TOWNS_PER_PAGE : (page + 1) * TOWNS_PER_PAGE]
    rows: list[list[Button]] = [
        [(town.name, callbacks.encode("town", town.id)) for town in shown[i : i + 2]]
        for i in range(0, len(shown), 2)
    ]
    if pages > 1:
        nav: list[Button] = []
        if page > 0:
            nav.append(("◀", callbacks.encode("towns", page - 1)))
        nav.append((f"{page + 1}/{pages}", callbacks.encode("towns", page)))
        if page < pages - 1:
            nav.append(("▶", callbacks.encode("towns", page + 1)))
        rows.append(nav)
    rows.append([(tr.gettext("Another town / none of these"), callbacks.encode("town", 0))])
    await show(update, intro + tr.gettext("Which partner town are you part of?"), keyboard(rows))


async def town_command(update: Update, context: BashkeContext) -> None:
    if context.person is None:
        raise NotRegistered()
    await ask_town(update, context)


async def town_page(update: Update, context: BashkeContext) -> None:
    if context.person is None:
        raise NotRegistered()
    (page,) = callbacks.args(update, 1)
    await ask_town(update, context, page=callbacks.as_int(page))


async def choose_town(update: Update, context: BashkeContext) -> None:
    town_id = callbacks.int_args(update, 1)[0]
    person = await context.services.people.set_town(context.asker, town_id or None)
    tr = context.tr
    if person.town_id is not None:
        town = await context.services.towns.get(person.town_id)
        chosen = tr.gettext("Your partner town: {town}.").format(town=escape(town.name))
    else:
        chosen = tr.gettext("Noted: no partner town.")
    if person.self_description is None:
        await ask_self_description(update, context, intro=chosen + "\n\n")
    else:
        await show(update, chosen)


async def ask_self_description(update: Update, context: BashkeContext, intro: str = "") -> None:
    tr = context.tr
    await show(
        update,
        intro
        + tr.gettext(
            "One last, optional question: how do you describe yourself here? "
            "It is used only in overall figures and never shown to anyone."
        ),
        keyboard(
            [
                [(tr.gettext(DESCRIPTION_OF_ONE[value]), callbacks.encode("desc", value.value))]
                for value in SelfDescription
            ]
        ),
    )


async def choose_self_description(update: Update, context: BashkeContext) -> None:
    (description,) = callbacks.args(update, 1)
    await context.services.people.set_self_description(context.asker, description)
    roles = await context.roles(context.asker)
    await show(update, context.tr.gettext("All set!") + "\n\n" + help_text(context.tr, roles.names))
    joining = await flow.load(context)
    if joining is not None:
        await flow.end(context)
        if joining[1].link is not None:
            await links.open_link(update, context, joining[1].link)
    await pulse.offer_on_joining(update, context)


async def language_command(update: Update, context: BashkeContext) -> None:
    await show(update, context.tr.gettext("Choose your language:"), language_keyboard())


async def help_command(update: Update, context: BashkeContext) -> None:
    roles = await context.roles(context.asker)
    await show(update, help_text(context.tr, roles.names))


async def privacy_command(update: Update, context: BashkeContext) -> None:
    await show(update, privacy_notice(context.tr))


async def mydata_command(update: Update, context: BashkeContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    data = await context.services.export_person(user.id)
    if data["profile"] is None and not data["staff_roles"] and not data["staff_actions"]:
        await show(update, context.tr.gettext("I store nothing about you."))
        return
    document = json.dumps(data, ensure_ascii=False, indent=2).encode()
    await chat.send_document(
        InputFile(document, filename="bashke-my-data.json"),
        caption=context.tr.gettext("Everything Bashkë stores about you."),
    )


async def deleteme_command(update: Update, context: BashkeContext) -> None:
    roles = await context.roles(context.asker)
    if context.person is None and not (
        roles.moderator or roles.network_coordinator or roles.coordinator_towns
    ):
        await show(update, context.tr.gettext("I store nothing about you."))
        return
    tr = context.tr
    await show(
        update,
        tr.gettext("This erases everything stored about you, and cannot be undone. Erase it?"),
        keyboard(
            [
                [(tr.gettext("Yes, erase my data"), callbacks.encode("erase", "yes"))],
                [(tr.gettext("No, keep it"), callbacks.encode("erase", "no"))],
            ]
        ),
    )


async def confirm_erase(update: Update, context: BashkeContext) -> None:
    (answer,) = callbacks.args(update, 1)
    tr = context.tr
    if answer != "yes":
        await show(update, tr.gettext("Nothing was erased."))
        return
    await context.services.erase_person(context.asker)
    await menus.refresh_menu(context.bot, context.services, context.asker)
    await show(
        update,
        tr.gettext(
            "Done: everything stored about you has been erased. "
            "If you ever want to come back, send /start."
        ),
    )


def register(app: BashkeApp) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler("help", help_command, filters=private))
    app.add_handler(CommandHandler("language", language_command, filters=private))
    app.add_handler(CommandHandler("town", town_command, filters=private))
    app.add_handler(CommandHandler("privacy", privacy_command, filters=private))
    app.add_handler(CommandHandler("mydata", mydata_command, filters=private))
    app.add_handler(CommandHandler("deleteme", deleteme_command, filters=private))
    for action, callback in (
        ("lang", choose_language),
        ("consent", consent),
        ("decline", decline),
        ("towns", town_page),
        ("town", choose_town),
        ("desc", choose_self_description),
        ("erase", confirm_erase),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=callbacks.pattern(action)))
