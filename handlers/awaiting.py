"""Features that wait for a typed answer outside a ConversationHandler (state kept in the DB).

The fallback for unexpected messages asks each of them first, so a restart in the middle of a
conversation does not turn the person's answer into "I did not understand".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from handlers.context import BashkeContext

# Returns True when it took the message.
Awaiter = Callable[[Update, BashkeContext], Awaitable[bool]]
AWAITERS: list[Awaiter] = []


def awaits_text(awaiter: Awaiter) -> Awaiter:
    AWAITERS.append(awaiter)
    return awaiter


async def offer(update: Update, context: BashkeContext) -> bool:
    for awaiter in AWAITERS:
        if await awaiter(update, context):
            return True
    return False
