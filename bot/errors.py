"""Refusals the services raise, each with a catalog message told in the person's language."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_


class UserFacingError(Exception):
    """A refusal with a message id (translated where the reader is known) and its placeholders.

    The message is sent as HTML: a placeholder holding text someone typed must be escaped.
    """

    default_message = N_("That did not work. Nothing was changed.")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        self.message = message or self.default_message
        self.params = params
        super().__init__(self.message)


class NotAllowed(UserFacingError):
    default_message = N_("Sorry, that is only for staff with the right role. Nothing was changed.")


class NotRegistered(UserFacingError):
    default_message = N_("Please send /start first: I do not know you yet.")


class NotFound(UserFacingError):
    default_message = N_("I could not find that. It may have been removed.")


class InvalidInput(UserFacingError):
    default_message = N_("I did not understand that. Nothing was changed.")
