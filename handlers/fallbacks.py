"""What happens when nothing else matched: stale or forged buttons, unknown input, blocked bots."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import conversation
from handlers.context import BashkeApp, BashkeContext
from handlers.conversation import stale_button
from handlers.onboarding import help_text


async def not_understood(update: Update, context: BashkeContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    tr = context.tr
    # A coordinator's answer to /newevent is theirs even before they have /start-ed.
    if await conversation.offer(update, context):
        return
    if context.person is None:
        await chat.send_message(tr.gettext("Hello! Send /start to begin."))
        return
    roles = await context.roles(user.id)
    await chat.send_message(
        tr.gettext("Sorry, I did not understand that.") + "\n\n" + help_text(tr, roles.names)
    )


async def membership_changed(update: Update, context: BashkeContext) -> None:
    """Remember who blocked the bot, so later deliveries skip them; unblocking clears it."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    await context.services.people.mark_blocked(
        change.chat.id, blocked=status in (ChatMember.BANNED, ChatMember.LEFT)
    )


def register(app: BashkeApp) -> None:
    """Register after every feature: within a group the first matching handler wins."""
    app.add_handler(
        CommandHandler("cancel", conversation.cancel_command, filters=filters.ChatType.PRIVATE)
    )
    app.add_handler(CallbackQueryHandler(stale_button))
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED, not_understood),
    )
    app.add_handler(
        ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
    )
