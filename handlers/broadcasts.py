"""/broadcast for coordinators: compose (optionally per language), audience, preview, send or
schedule; /broadcasts shows progress and cancels what is still going out."""

from __future__ import annotations

import time
import warnings
from datetime import datetime
from html import escape
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import broadcasts as bc
from bot.broadcasts import Audience, AudienceKind, Broadcast, BroadcastDraft
from bot.errors import InvalidInput
from bot.events import DATE_TIME_EXAMPLE, parse_local_time
from bot.i18n import LANGUAGE_NAMES, N_, Translator
from bot.outbox import OutboxRow, OutgoingMessage, RowStatus
from bot.roles import Role
from bot.services import Services
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.render import Button, keyboard, show
from handlers.steps import AN_ANSWER, expected_button, expected_text

COMPOSE, VERSIONS, VERSION_TEXT, AUDIENCE, AUDIENCE_VALUE, CONFIRM, WHEN = range(7)
DRAFT = "broadcast_draft"
TEXT = filters.TEXT & ~filters.COMMAND


def _draft(context: BashkeContext) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(DRAFT, {})
    return draft


async def start(update: Update, context: BashkeContext) -> int:
    assert context.user_data is not None
    await context.services.authz.require_coordinator(context.asker)
    context.user_data[DRAFT] = {"versions": {}}
    language = LANGUAGE_NAMES[context.services.config.default_language]
    await show(
        update,
        context.tr.gettext(
            "Write the announcement in {language} (the network's language), as one message. "
            "You may send a photo with a caption instead. Formatting like <b>bold</b> and "
            "<i>italics</i> works. (/cancel to stop)"
        ).format(language=language),
    )
    return COMPOSE


async def got_message(update: Update, context: BashkeContext) -> int:
    message = update.message
    assert message is not None
    draft = _draft(context)
    if message.photo:
        draft["photo"] = message.photo[-1].file_id
        draft["text"] = bc.check_text(message.caption_html or "", photo=True)
    else:
        draft["photo"] = None
        draft["text"] = bc.check_text(message.text_html or "", photo=False)
    await _preview(update, context, draft["text"])
    return await _ask_versions(update, context)


async def _preview(update: Update, context: BashkeContext, text: str) -> None:
    """Send exactly what people will get; Telegram itself checks the formatting."""
    chat = update.effective_chat
    assert chat is not None
    photo = _draft(context).get("photo")
    try:
        if photo:
            await chat.send_photo(photo, caption=text)
        else:
            await chat.send_message(text)
    except BadRequest as exc:
        raise InvalidInput(
            N_(
                "Telegram could not read the formatting of that message ({problem}). "
                "Please send it again."
            ),
            problem=escape(exc.message),
        ) from exc


async def _ask_versions(update: Update, context: BashkeContext) -> int:
    tr = context.tr
    draft = _draft(context)
    default = context.services.config.default_language
    rows: list[list[Button]] = [
        [
            (
                tr.gettext("Add a version in {language}").format(language=name),
                callbacks.encode("bcver", code),
            )
        ]
        for code, name in LANGUAGE_NAMES.items()
        if code != default and code not in draft["versions"]
    ]
    rows.append([(tr.gettext("Continue"), callbacks.encode("bcver", "done"))])
    done = ", ".join(LANGUAGE_NAMES[c] for c in draft["versions"]) or "—"
    await show(
        update,
        tr.gettext(
            "Above is how it looks. People get the version in their language, if you add one; "
            "the others get this one. Versions so far: {languages}"
        ).format(languages=done),
        keyboard(rows),
    )
    return VERSIONS


async def chose_version(update: Update, context: BashkeContext) -> int:
    (code,) = callbacks.args(update, 1)
    if code == "done":
        return await _ask_audience(update, context)
    if code not in LANGUAGE_NAMES:
        raise InvalidInput(N_("I do not know that language."))
    _draft(context)["pending_language"] = code
    await show(
        update,
        context.tr.gettext("Send the {language} version.").format(language=LANGUAGE_NAMES[code]),
    )
    return VERSION_TEXT


async def got_version(update: Update, context: BashkeContext) -> int:
    message = update.message
    assert message is not None
    draft = _draft(context)
    text = bc.check_text(message.text_html or "", photo=bool(draft.get("photo")))
    await _preview(update, context, text)
    draft["versions"][draft.pop("pending_language")] = text
    return await _ask_versions(update, context)


async def _ask_audience(update: Update, context: BashkeContext) -> int:
    tr = context.tr
    roles = await context.roles(context.asker)
    network = roles.sees_network
    rows: list[list[Button]] = []
    if network:
        rows.append([(tr.gettext("Everyone"), callbacks.encode("bcaud", "everyone"))])
    rows.append([(tr.gettext("A town"), callbacks.encode("bcaud", "town"))])
    rows.append([(tr.gettext("A language"), callbacks.encode("bcaud", "language"))])
    rows.append(
        [(tr.gettext("The people registered for an event"), callbacks.encode("bcaud", "event"))]
    )
    if network:
        rows.append([(tr.gettext("A staff role"), callbacks.encode("bcaud", "role"))])
    await show(update, tr.gettext("Who should get it?"), keyboard(rows))
    return AUDIENCE


async def chose_audience(update: Update, context: BashkeContext) -> int:
    (kind_text,) = callbacks.args(update, 1)
    try:
        kind = AudienceKind(kind_text)
    except ValueError:
        raise InvalidInput() from None
    tr = context.tr
    services = context.services
    roles = await context.roles(context.asker)
    network = roles.sees_network
    options: list[tuple[str, str]] = []
    if kind is AudienceKind.EVERYONE:
        return await _confirm(update, context, Audience(kind))
    if kind is AudienceKind.TOWN:
        options = [
            (t.name, str(t.id))
            for t in await services.towns.list_towns()
            if network or t.id in roles.coordinator_towns
        ]
    elif kind is AudienceKind.LANGUAGE:
        options = [(name, code) for code, name in LANGUAGE_NAMES.items()]
    elif kind is AudienceKind.EVENT:
        options = [(e.title[:50], str(e.id)) for e in await services.events.managed(roles)]
    elif kind is AudienceKind.ROLE:
        options = [
            (tr.gettext("Moderators"), Role.MODERATOR.value),
            (tr.gettext("Coordinators"), Role.COORDINATOR.value),
        ]
    if not options:
        raise InvalidInput(N_("No one is in that audience yet. Nothing was sent."))
    _draft(context)["audience_kind"] = kind.value
    await show(
        update,
        tr.gettext("Which one?"),
        keyboard([[(label, callbacks.encode("bcval", value))] for label, value in options]),
    )
    return AUDIENCE_VALUE


async def chose_audience_value(update: Update, context: BashkeContext) -> int:
    (value,) = callbacks.args(update, 1)
    kind = AudienceKind(_draft(context)["audience_kind"])
    return await _confirm(update, context, Audience(kind, value))


async def _confirm(update: Update, context: BashkeContext, audience: Audience) -> int:
    people = await context.services.broadcasts.recipients(context.asker, audience)
    draft = _draft(context)
    draft["audience"] = audience
    tr = context.tr
    if not people:
        raise InvalidInput(N_("No one is in that audience yet. Nothing was sent."))
    await show(
        update,
        tr.ngettext(
            "It will reach {count} person. Send it?",
            "It will reach {count} people. Send it?",
            len(people),
        ).format(count=len(people)),
        keyboard(
            [
                [(tr.gettext("Send now"), callbacks.encode("bcsend", "now"))],
                [(tr.gettext("Send later"), callbacks.encode("bcsend", "later"))],
                [(tr.gettext("Cancel"), callbacks.encode("bcsend", "no"))],
            ]
        ),
    )
    return CONFIRM


async def confirm(update: Update, context: BashkeContext) -> int:
    (answer,) = callbacks.args(update, 1)
    if answer == "now":
        return await _create(update, context, None)
    if answer == "later":
        await show(
            update,
            context.tr.gettext(
                "When should it go out? Write the date and time in {timezone}, like this: {example}"
            ).format(timezone=context.services.config.timezone, example=DATE_TIME_EXAMPLE),
        )
        return WHEN
    return await cancel(update, context)


async def got_when(update: Update, context: BashkeContext) -> int:
    assert update.message is not None
    send_at = parse_local_time(update.message.text or "", context.services.config.timezone)
    return await _create(update, context, send_at)


async def _create(update: Update, context: BashkeContext, send_at: datetime | None) -> int:
    assert context.user_data is not None
    draft = _draft(context)
    if "created" in draft:
        # Queued by an earlier tap whose answer Telegram lost: say so again, queue nothing.
        broadcast = await context.services.broadcasts.get(draft["created"])
    else:
        broadcast = await context.services.broadcasts.create(
            context.asker,
            BroadcastDraft(
                text=draft["text"],
                audience=draft["audience"],
                versions=dict(draft["versions"]),
                photo_file_id=draft.get("photo"),
                send_at=send_at,
            ),
        )
        draft["created"] = broadcast.id
    tr = context.tr
    when = tr.moment(broadcast.send_at, context.services.config.timezone, "short")
    await show(
        update,
        tr.ngettext(
            "Queued for {count} person, from {moment}. Follow it with /broadcasts.",
            "Queued for {count} people, from {moment}. Follow it with /broadcasts.",
            broadcast.recipients,
        ).format(count=broadcast.recipients, moment=when),
    )
    context.user_data.pop(DRAFT, None)
    return ConversationHandler.END


async def cancel(update: Update, context: BashkeContext) -> int:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    await show(update, context.tr.gettext("Stopped. Nothing was saved."))
    return ConversationHandler.END


# Progress -----------------------------------------------------------------------------------


def progress_line(tr: Translator, broadcast: Broadcast, counts: dict[str, int]) -> str:
    preview = broadcast.text if len(broadcast.text) <= 40 else broadcast.text[:39] + "…"
    return tr.gettext(
        "#{id} “{preview}”: {queued} queued, {sent} sent, {failed} failed, {blocked} blocked"
    ).format(
        id=broadcast.id,
        preview=escape(preview),
        queued=counts.get(RowStatus.PENDING, 0),
        sent=counts.get(RowStatus.SENT, 0),
        failed=counts.get(RowStatus.FAILED, 0),
        blocked=counts.get(RowStatus.BLOCKED, 0),
    ) + (" — " + tr.gettext("cancelled") if broadcast.cancelled else "")


async def broadcasts_command(update: Update, context: BashkeContext) -> None:
    rows = await context.services.broadcasts.progress(context.asker)
    tr = context.tr
    if not rows:
        await show(update, tr.gettext("No announcements yet. Write one with /broadcast."))
        return
    buttons: list[list[Button]] = [
        [(tr.gettext("Cancel #{id}").format(id=b.id), callbacks.encode("bccancel", b.id))]
        for b, counts in rows
        if counts.get(RowStatus.PENDING) and not b.cancelled
    ]
    await show(
        update,
        "\n".join(progress_line(tr, b, c) for b, c in rows),
        keyboard(buttons) if buttons else None,
    )


async def cancel_broadcast(update: Update, context: BashkeContext) -> None:
    broadcast_id = callbacks.int_args(update, 1)[0]
    withdrawn = await context.services.broadcasts.cancel(context.asker, broadcast_id)
    await show(
        update,
        context.tr.ngettext(
            "Cancelled: {count} message will not be sent.",
            "Cancelled: {count} messages will not be sent.",
            withdrawn,
        ).format(count=withdrawn),
    )


def register_notices(services: Services) -> None:
    broadcasts = services.broadcasts
    # Thousands of rows render the same broadcast: read it once a second, not once a message.
    # A cancel withdraws the pending rows themselves; only rows already taken for sending in
    # that second can still go out.
    recent: dict[int, tuple[float, Broadcast]] = {}

    async def announcement(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        broadcast_id = int(row.params["broadcast_id"])
        cached = recent.get(broadcast_id)
        if cached is None or time.monotonic() - cached[0] > 1.0:
            recent.clear()
            cached = (time.monotonic(), await broadcasts.get(broadcast_id))
            recent[broadcast_id] = cached
        broadcast = cached[1]
        if broadcast.cancelled:
            return None
        text = broadcast.text_for(tr.language)
        return OutgoingMessage(text, photo_id=broadcast.photo_file_id)

    services.outbox.register(bc.KIND, announcement)


def register(app: BashkeApp) -> None:
    def on_text(handler: Any) -> list[Any]:
        return [MessageHandler(TEXT, handler)]

    def on_button(handler: Any, action: str) -> list[Any]:
        return [
            CallbackQueryHandler(handler, pattern=callbacks.pattern(action)),
            MessageHandler(AN_ANSWER, expected_button),
        ]

    with warnings.catch_warnings():
        # Tracked per chat and person, as a coordinator expects (see handlers/newevent.py).
        warnings.filterwarnings("ignore", category=PTBUserWarning)
        conversation: ConversationHandler[Any] = ConversationHandler(
            entry_points=[CommandHandler("broadcast", start, filters=filters.ChatType.PRIVATE)],
            states={
                COMPOSE: [MessageHandler((TEXT | filters.PHOTO), got_message)],
                VERSIONS: on_button(chose_version, "bcver"),
                VERSION_TEXT: on_text(got_version),
                AUDIENCE: on_button(chose_audience, "bcaud"),
                AUDIENCE_VALUE: on_button(chose_audience_value, "bcval"),
                CONFIRM: on_button(confirm, "bcsend"),
                WHEN: on_text(got_when),
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                MessageHandler(AN_ANSWER, expected_text),
            ],
            conversation_timeout=30 * 60,
            # /broadcast in the middle starts a new announcement (see handlers/newevent.py).
            allow_reentry=True,
        )
    app.add_handler(conversation)
    app.add_handler(
        CommandHandler("broadcasts", broadcasts_command, filters=filters.ChatType.PRIVATE)
    )
    app.add_handler(CallbackQueryHandler(cancel_broadcast, pattern=callbacks.pattern("bccancel")))
