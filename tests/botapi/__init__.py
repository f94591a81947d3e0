"""A test double of the Telegram Bot API, checked against Telegram's own API description."""

from __future__ import annotations

from .double import DEFAULT_TOKEN, BotApiDouble, Call, UploadedFile
from .spec import API_JSON, ApiSpec, HtmlError, ParsedText, parse_html, utf16_len, visible_text

__all__ = [
    "API_JSON",
    "DEFAULT_TOKEN",
    "ApiSpec",
    "BotApiDouble",
    "Call",
    "HtmlError",
    "ParsedText",
    "UploadedFile",
    "parse_html",
    "utf16_len",
    "visible_text",
]
