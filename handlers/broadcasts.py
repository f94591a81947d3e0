"""/broadcast for coordinators: compose (optionally per language), audience, preview, send or
schedule; /broadcasts shows progress and cancels what is still going out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

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
from handlers.conversation import END, STOPPED, Flow
from handlers.render import Button, keyboard, show


@dataclass
class Announcement:
    """The answers of /broadcast so far, kept in the drafts table (a restart loses none)."""

    text: str = ""
    photo: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    pending_language: str | None = None
    audience_kind: AudienceKind | None = None
    audience: Audience | None = None
    reach: int = 0  # how many people the audience has, when it was chosen
    created: int | None = None  # queued: a second tap says so again, queues nothing


flow = Flow("broadcast", Announcement)
# The staff roles an announcement can go to, as a group.
ROLE_AUDIENCES: dict[Role, str] = {
    Role.MODERATOR: N_("Moderators"),
    Role.COORDINATOR: N_("Coordinators"),
}


async def start(update: Update, context: BashkeContext) -> None:
    await context.services.authz.require_coordinator(context.asker)
    await flow.begin(update, context, "compose", Announcement())


@flow.asks("compose")
async def ask_message(update: Update, context: BashkeContext, draft: Announcement) -> None:
    language = LANGUAGE_NAMES[context.services.config.default_language]
    await show(
        update,
        context.tr.gettext(
            "Write the announcement in {language} (the network's language), as one message. "
            "You may send a photo with a caption instead. Formatting like <b>bold</b> and "
            "<i>italics</i> works. (/cancel to stop)"
        ).format(language=language),
    )


@flow.on_text("compose", photo=True)
async def got_message(update: Update, context: BashkeContext, draft: Announcement) -> str:
    message = update.message
    assert message is not None
    if message.photo:
        draft.photo = message.photo[-1].file_id
        draft.text = bc.check_text(message.caption_html or "", photo=True)
    else:
        draft.photo = None
        draft.text = bc.check_text(message.text_html or "", photo=False)
    await _preview(update, draft, draft.text)
    return "versions"


async def _preview(update: Update, draft: Announcement, text: str) -> None:
    """Send exactly what people will get; Telegram itself checks the formatting."""
    chat = update.effective_chat
    assert chat is not None
    try:
        if draft.photo:
            await chat.send_photo(draft.photo, caption=text)
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


@flow.asks("versions")
async def ask_versions(update: Update, context: BashkeContext, draft: Announcement) -> None:
    tr = context.tr
    default = context.services.config.default_language
    rows: list[list[Button]] = [
        [
            (
                tr.gettext("Add a version in {language}").format(language=name),
                callbacks.encode("bcver", code),
            )
        ]
        for code, name in LANGUAGE_NAMES.items()
        if code != default and code not in draft.versions
    ]
    rows.append([(tr.gettext("Continue"), callbacks.encode("bcver", "done"))])
    done = ", ".join(LANGUAGE_NAMES[c] for c in draft.versions) or "—"
    await show(
        update,
        tr.gettext(
            "Above is how it looks. People get the version in their language, if you add one; "
            "the others get this one. Versions so far: {languages}"
        ).format(languages=done),
        keyboard(rows),
    )


@flow.on_button("bcver", "versions")
async def chose_version(update: Update, context: BashkeContext, draft: Announcement) -> str:
    (code,) = callbacks.args(update, 1)
    if code == "done":
        return "audience"
    if code not in LANGUAGE_NAMES:
        raise InvalidInput(N_("I do not know that language."))
    draft.pending_language = code
    return "version_text"


@flow.asks("version_text")
async def ask_version(update: Update, context: BashkeContext, draft: Announcement) -> None:
    assert draft.pending_language is not None
    await show(
        update,
        context.tr.gettext("Send the {language} version.").format(
            language=LANGUAGE_NAMES[draft.pending_language]
        ),
    )


@flow.on_text("version_text")
async def got_version(update: Update, context: BashkeContext, draft: Announcement) -> str:
    message = update.message
    assert message is not None and draft.pending_language is not None
    text = bc.check_text(message.text_html or "", photo=bool(draft.photo))
    await _preview(update, draft, text)
    draft.versions[draft.pending_language] = text
    draft.pending_language = None
    return "versions"


@flow.asks("audience")
async def ask_audience(update: Update, context: BashkeContext, draft: Announcement) -> None:
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


async def _options(context: BashkeContext, kind: AudienceKind) -> list[tuple[str, str]]:
    """The choices of one kind of audience the coordinator may address: (label, value)."""
    tr = context.tr
    services = context.services
    roles = await context.roles(context.asker)
    network = roles.sees_network
    if kind is AudienceKind.TOWN:
        return [
            (t.name, str(t.id))
            for t in await services.towns.list_towns()
            if network or t.id in roles.coordinator_towns
        ]
    if kind is AudienceKind.LANGUAGE:
        return [(name, code) for code, name in LANGUAGE_NAMES.items()]
    if kind is AudienceKind.EVENT:
        return [(e.title[:50], str(e.id)) for e in await services.events.managed(roles)]
    if kind is AudienceKind.ROLE:
        return [(tr.gettext(label), role.value) for role, label in ROLE_AUDIENCES.items()]
    return []


@flow.on_button("bcaud", "audience")
async def chose_audience(update: Update, context: BashkeContext, draft: Announcement) -> str:
    (kind_text,) = callbacks.args(update, 1)
    try:
        kind = AudienceKind(kind_text)
    except ValueError:
        raise InvalidInput() from None
    if kind is AudienceKind.EVERYONE:
        return await _reach(context, draft, Audience(kind))
    if not await _options(context, kind):
        raise InvalidInput(N_("No one is in that audience yet. Nothing was sent."))
    draft.audience_kind = kind
    return "audience_value"


@flow.asks("audience_value")
async def ask_audience_value(update: Update, context: BashkeContext, draft: Announcement) -> None:
    assert draft.audience_kind is not None
    options = await _options(context, draft.audience_kind)
    await show(
        update,
        context.tr.gettext("Which one?"),
        keyboard([[(label, callbacks.encode("bcval", value))] for label, value in options]),
    )


@flow.on_button("bcval", "audience_value")
async def chose_audience_value(update: Update, context: BashkeContext, draft: Announcement) -> str:
    (value,) = callbacks.args(update, 1)
    assert draft.audience_kind is not None
    return await _reach(context, draft, Audience(draft.audience_kind, value))


async def _reach(context: BashkeContext, draft: Announcement, audience: Audience) -> str:
    """The audience chosen, if it reaches anyone (the service checks it is the coordinator's)."""
    people = await context.services.broadcasts.recipients(context.asker, audience)
    if not people:
        raise InvalidInput(N_("No one is in that audience yet. Nothing was sent."))
    draft.audience = audience
    draft.reach = len(people)
    return "confirm"


@flow.asks("confirm")
async def ask_confirm(update: Update, context: BashkeContext, draft: Announcement) -> None:
    tr = context.tr
    await show(
        update,
        tr.ngettext(
            "It will reach {count} person. Send it?",
            "It will reach {count} people. Send it?",
            draft.reach,
        ).format(count=draft.reach),
        keyboard(
            [
                [(tr.gettext("Send now"), callbacks.encode("bcsend", "now"))],
                [(tr.gettext("Send later"), callbacks.encode("bcsend", "later"))],
                [(tr.gettext("Cancel"), callbacks.encode("bcsend", "no"))],
            ]
        ),
    )


@flow.on_button("bcsend", "confirm")
async def confirm(update: Update, context: BashkeContext, draft: Announcement) -> str | None:
    (answer,) = callbacks.args(update, 1)
    if answer == "now":
        await _create(update, context, draft, None)
        return END
    if answer == "later":
        return "when"
    await show(update, context.tr.gettext(STOPPED))
    return END


@flow.asks("when")
async def ask_when(update: Update, context: BashkeContext, draft: Announcement) -> None:
    await show(
        update,
        context.tr.gettext(
            "When should it go out? Write the date and time in {timezone}, like this: {example}"
        ).format(timezone=context.services.config.timezone, example=DATE_TIME_EXAMPLE),
    )


@flow.on_text("when")
async def got_when(update: Update, context: BashkeContext, draft: Announcement) -> None:
    assert update.message is not None
    send_at = parse_local_time(update.message.text or "", context.services.config.timezone)
    await _create(update, context, draft, send_at)
    return END


async def _create(
    update: Update, context: BashkeContext, draft: Announcement, send_at: datetime | None
) -> None:
    if draft.created is not None:
        # Queued by an earlier tap whose answer Telegram lost: say so again, queue nothing.
        broadcast = await context.services.broadcasts.get(draft.created)
    else:
        assert draft.audience is not None
        broadcast = await context.services.broadcasts.create(
            context.asker,
            BroadcastDraft(
                text=draft.text,
                audience=draft.audience,
                versions=dict(draft.versions),
                photo_file_id=draft.photo,
                send_at=send_at,
            ),
        )
        draft.created = broadcast.id
        await flow.save(context, "confirm" if send_at is None else "when", draft)
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
    return END


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
    app.add_handler(CommandHandler("broadcast", start, filters=filters.ChatType.PRIVATE))
    flow.register(app)
    app.add_handler(
        CommandHandler("broadcasts", broadcasts_command, filters=filters.ChatType.PRIVATE)
    )
    app.add_handler(CallbackQueryHandler(cancel_broadcast, pattern=callbacks.pattern("bccancel")))
