"""Rendering shared by every feature: keyboards, and replying in place or anew."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

Button = tuple[str, str]


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
    """Inline buttons from (label, data) pairs; the data comes from ``callbacks.encode``."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def show(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer a button press by editing its message; answer a typed message with a new one."""
    if markup is not None and not markup.inline_keyboard:
        markup = None  # Telegram refuses an empty keyboard; no buttons means no markup
    query = update.callback_query
    if query is not None:
        await query.answer()
        # A photo or a file has no text to replace (a forged press can come from one).
        if isinstance(query.message, Message) and query.message.text is not None:
            try:
                edited = await query.message.edit_text(text, reply_markup=markup)
            except BadRequest as exc:
                # A second tap on the same button asks for the same text: nothing to change.
                if "not modified" not in exc.message.lower():
                    raise
                return query.message
            return edited if isinstance(edited, Message) else None
    if update.effective_chat is None:
        return None
    return await update.effective_chat.send_message(text, reply_markup=markup)
