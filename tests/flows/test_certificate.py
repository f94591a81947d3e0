"""/certificate through the Bot API double: a PDF of the events a person attended, in their
language, Arabic right to left; clear answers to everyone else and to a bad name."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from pypdf import PdfReader

from bot.events import EventDraft, Scope
from bot.i18n import Catalogs
from tests.conftest import ADMIN_ID
from tests.flows.harness import Bot, Person, running_bot

CATALOGS = Catalogs()
AR, IT, EN = (CATALOGS.translator(lang) for lang in ("ar", "it", "en"))
COORD = 7700
NOTHING = (
    "You have no attended events yet. A certificate lists the events where you were "
    "checked in with the QR code at the venue."
)


def flat(data: bytes) -> str:
    """The PDF's text with its line breaks as spaces (a long line wraps where it must)."""
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


async def attended_two(bot: Bot, people: list[Person]) -> list[EventDraft]:
    """A local dinner in Bari and an international meeting; everyone checks in at both."""
    services = bot.services
    bari = (await services.towns.by_slug("bari")).id
    await services.staff.grant(ADMIN_ID, COORD, "coordinator")
    start = services.clock() + timedelta(hours=2)
    drafts = [
        EventDraft(
            Scope.LOCAL,
            bari,
            "Cena dei vicini",
            "",
            "Piazza",
            "Europe/Rome",
            start,
            start + timedelta(hours=2),
        ),
        EventDraft(
            Scope.INTERNATIONAL,
            None,
            "Network meeting",
            "",
            "Tirana",
            "Asia/Tokyo",
            start + timedelta(hours=1),
            start + timedelta(hours=3),
        ),
    ]
    for draft in drafts:
        event = await services.events.create(COORD, draft)
        for person in people:
            await services.events.check_in(
                person.telegram_id, event.id, event.checkin_code, person.first_name
            )
    return drafts


async def test_a_certificate_in_arabic_and_in_italian(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        layla, marco = bot.person("Layla", "ar"), bot.person("Marco", "it")
        for person in (layla, marco):
            await person.onboard(person.language_code or "en")
        drafts = await attended_two(bot, [layla, marco])

        for person, tr, name in ((layla, AR, "ليلى حداد"), (marco, IT, "Marco <b>Rossi</b>")):
            await person.send(f"/certificate {name}")
            (call,) = bot.double.calls_to("sendDocument")[-1:]
            upload = next(iter(call.files.values()))
            assert upload.filename == "bashke-certificate.pdf"
            assert call.params["caption"] == tr.gettext("Your certificate of attendance.")
            text = flat(upload.data)
            assert name in text  # as typed, HTML and all: a PDF is no web page
            for draft in drafts:
                assert draft.title in text
                # The day on the event's own clock (Tokyo's can be the next one).
                local = draft.starts_at.astimezone(ZoneInfo(draft.timezone))
                day = format_date(local, "long", locale=tr.locale)
                for part in day.split():
                    assert part in text
            assert tr.gettext("Certificate of attendance") in text
            assert tr.gettext("international event") in text and "Bari" in text


async def test_no_certificate_without_attendance_and_a_bad_name_is_answered(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        sara, ana = bot.person("Sara", "it"), bot.person("Ana", "en")
        await sara.onboard("it")
        await sara.send("/certificate Sara")
        assert sara.last_text == IT.gettext(NOTHING)
        stranger = bot.person("Nobody", "en")
        await stranger.send("/certificate Nobody")
        assert "/start" in stranger.last_text
        await ana.onboard("en")
        await attended_two(bot, [ana])
        await ana.send("/certificate")
        assert ana.last_text.startswith("Send /certificate followed by your name")
        await ana.send("/certificate " + "A" * 81)
        assert ana.last_text == EN.gettext(
            "Your name must be 1 to {limit} characters. Send /certificate and your name."
        ).format(limit=80)
        await ana.send("/certificate \u202e\u200b\u0007")  # only invisible characters
        assert ana.last_text.startswith("Your name must be 1 to 80")
        assert bot.double.calls_to("sendDocument") == []
        # Direction overrides are taken out of a real name.
        await ana.send("/certificate Ana\u202e Lopes")
        (call,) = bot.double.calls_to("sendDocument")
        assert "Ana Lopes" in flat(next(iter(call.files.values())).data)
