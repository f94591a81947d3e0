"""/certificate NAME: a PDF of the events the person attended, with the name they typed."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import CommandHandler, filters

from bot.errors import InvalidInput
from bot.i18n import N_
from handlers.context import BashkeApp, BashkeContext

USAGE = N_(
    "Send /certificate followed by your name as it should appear on the certificate, "
    "for example: /certificate Layla Haddad"
)


async def certificate_command(update: Update, context: BashkeContext) -> None:
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    assert user is not None and chat is not None and message is not None
    services = context.services
    tr = context.tr
    typed = (message.text or "").partition(" ")[2]
    if not typed.strip():
        # Someone with nothing attended is told so, not asked for a name.
        await services.certificates.attended(user.id)
        raise InvalidInput(USAGE)
    data = await services.certificates.certificate(
        user.id, typed, tr, services.clock(), services.config.timezone
    )
    await chat.send_document(
        InputFile(data, filename="bashke-certificate.pdf"),
        caption=tr.gettext("Your certificate of attendance."),
    )


def register(app: BashkeApp) -> None:
    app.add_handler(
        CommandHandler("certificate", certificate_command, filters=filters.ChatType.PRIVATE)
    )
