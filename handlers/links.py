"""Deep links (t.me/<bot>?start=<payload>): which feature opens which kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.deeplinks import DeepLink
from handlers.context import BashkeContext

Opener = Callable[[Update, BashkeContext, DeepLink], Awaitable[None]]
OPENERS: dict[str, Opener] = {}


def opens(kind: str) -> Callable[[Opener], Opener]:
    def register(opener: Opener) -> Opener:
        OPENERS[kind] = opener
        return opener

    return register


async def open_link(update: Update, context: BashkeContext, link: DeepLink) -> None:
    await OPENERS[link.kind](update, context, link)
