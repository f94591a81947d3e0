"""Attendance certificates: a PDF of the events a person was checked in at, in their language.

The name is the one the person types for it; it is printed and not stored anywhere.
"""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.errors import InvalidInput, NotFound, NotRegistered
from bot.events import Event, EventService, Scope
from bot.i18n import N_, Translator
from bot.pdf import Pdf
from bot.people import PeopleService

MAX_NAME = 80
NETWORK = N_("Bashkë, the network of partner towns for citizenship and intercultural dialogue")


class NothingAttended(NotFound):
    default_message = N_(
        "You have no attended events yet. A certificate lists the events where you were "
        "checked in with the QR code at the venue."
    )


def clean_name(typed: str) -> str:
    """The name as it will be printed: no control or direction-changing characters, one space
    between words, 1 to ``MAX_NAME`` characters."""
    kept = "".join(c for c in typed if unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs"))
    name = " ".join(kept.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(
            N_("Your name must be 1 to {limit} characters. Send /certificate and your name."),
            limit=MAX_NAME,
        )
    return name


class CertificateService:
    def __init__(self, people: PeopleService, events: EventService) -> None:
        self._people = people
        self._events = events

    async def attended(self, telegram_id: int) -> list[Event]:
        """The person's attended events; refused for someone unknown or with none."""
        if await self._people.get(telegram_id) is None:
            raise NotRegistered()
        events = await self._events.attended(telegram_id)
        if not events:
            raise NothingAttended()
        return events

    async def certificate(
        self, telegram_id: int, typed_name: str, tr: Translator, today: datetime, timezone: str
    ) -> bytes:
        """The certificate of ``telegram_id`` with the name they typed, dated ``today``."""
        events = await self.attended(telegram_id)
        name = clean_name(typed_name)
        # Laid out off the event loop: others are answered meanwhile.
        return await asyncio.to_thread(render, tr, name, events, today, timezone)


def render(tr: Translator, name: str, events: list[Event], today: datetime, timezone: str) -> bytes:
    title = tr.gettext("Certificate of attendance")
    document = Pdf(tr.language, title)
    document.heading(title)
    document.paragraph(tr.gettext(NETWORK))
    document.paragraph(
        tr.gettext("This certifies that {name} took part in these events:").format(name=name)
    )
    document.table(
        [tr.gettext("Event"), tr.gettext("Date"), tr.gettext("Where")],
        [
            [event.title, _day(tr, event.starts_at, event.timezone), _where(tr, event)]
            for event in events
        ],
    )
    document.paragraph(tr.gettext("Issued on {date}.").format(date=_day(tr, today, timezone)))
    return document.output()


def _day(tr: Translator, moment: datetime, timezone: str) -> str:
    """The day as the reader writes it, on the clock of the event (or of the network)."""
    return str(format_date(moment.astimezone(ZoneInfo(timezone)), "long", locale=tr.locale))


def _where(tr: Translator, event: Event) -> str:
    if event.scope is Scope.LOCAL:
        return event.town_name or ""
    international = tr.gettext("international event")
    return f"{event.town_name} ({international})" if event.town_name else international
