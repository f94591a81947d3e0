"""What a conversation's step says to the wrong kind of answer, shared by every conversation."""

from __future__ import annotations

from telegram import Update
from telegram.ext import filters

from bot.errors import InvalidInput
from bot.i18n import N_
from handlers.context import BashkeContext

# Any message but a command (a conversation's own /cancel, or another feature) or an edit.
AN_ANSWER = ~filters.COMMAND & ~filters.UpdateType.EDITED


async def expected_text(update: Update, context: BashkeContext) -> None:
    """Something other than the text this step asks for: say so, and stay on the step."""
    raise InvalidInput(N_("Please answer with text, or send /cancel to stop."))


async def expected_button(update: Update, context: BashkeContext) -> None:
    """A message where the step asks for a tap: "answer with text" would be wrong here."""
    raise InvalidInput(N_("Please choose one of the buttons above, or send /cancel to stop."))
