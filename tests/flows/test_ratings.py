"""Rating an event through the Bot API double: after the event, each person who came is asked
once in their language; an Italian participant taps 4 and writes a sentence, an Arabic one
taps 5 and skips, someone who did not come cannot rate; the coordinator sees the count (and,
from five ratings, the average and the sentences) in the attendance view and in /stats; the
rating is in /mydata and goes with /deleteme."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from html import escape
from pathlib import Path

from bot.events import EventDraft, Scope
from bot.i18n import Catalogs
from bot.roles import Role
from tests.botapi import Call
from tests.conftest import ADMIN_ID
from tests.flows.harness import running_bot, sent_to

CATALOGS = Catalogs()
AR, IT, EN = (CATALOGS.translator(lang) for lang in ("ar", "it", "en"))
TITLE = "Cena <dei> vicini & amici"
REQUEST = "How was “{title}”? Tap from 1 (poor) to 5 (very good)."
ASK_SENTENCE = (
    "Thank you! If you like, add one sentence about it: what was good, or what could be better."
)
NOTED = "Thank you, it is noted."
SENTENCE = "Bellissima <serata>,\n grazie a tutti!"
OTHERS = (7101, 7102, 7103)


def asked_to_rate(chat_id: int) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return call.params.get("chat_id") == chat_id and "rate:" in str(
            call.params.get("reply_markup")
        )

    return matches


async def test_rating_an_event_from_the_request_to_the_coordinators_figures(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        nora = bot.person("Nora", "en")
        await nora.onboard("en")
        await services.staff.grant(ADMIN_ID, nora.telegram_id, Role.COORDINATOR, "bari")
        marco, layla, olena = (
            bot.person("Marco", "it"),
            bot.person("Layla", "ar"),
            bot.person("Olena", "uk"),
        )
        for person, language in ((marco, "it"), (layla, "ar"), (olena, "uk")):
            await person.onboard(language)
        bari = (await services.towns.by_slug("bari")).id
        start = services.clock() + timedelta(hours=1)
        event = await services.events.create(
            nora.telegram_id,
            EventDraft(
                Scope.LOCAL,
                bari,
                TITLE,
                "",
                "Piazza",
                "Europe/Rome",
                start,
                start + timedelta(hours=2),
            ),
        )
        for person in (marco, layla):
            await services.events.check_in(
                person.telegram_id, event.id, event.checkin_code, person.first_name
            )
        for n, other in enumerate(OTHERS):  # three more, who answer later
            await services.people.give_consent(other, "sq")
            await services.events.check_in(other, event.id, event.checkin_code, f"P{n}")

        # An hour after the end: one request each, in their language, with five buttons.
        services.clock.advance(hours=4, minutes=5)
        request_it = IT.gettext(REQUEST).format(title=escape(TITLE))
        request_ar = AR.gettext(REQUEST).format(title=escape(TITLE))
        await bot.double.wait_for(sent_to(marco.telegram_id, request_it), timeout=10)
        await bot.double.wait_for(sent_to(layla.telegram_id, request_ar), timeout=10)
        assert marco.buttons() == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]

        await marco.tap("4 ⭐")
        assert marco.last_text == IT.gettext(ASK_SENTENCE)
        await marco.send(SENTENCE)
        assert marco.last_text == IT.gettext(NOTED)
        await layla.tap("5 ⭐")
        await layla.tap(AR.gettext("Skip"))
        assert layla.last_text == AR.gettext(NOTED)
        # Olena did not come: a forged press is refused in her language, and nothing is kept.
        last = bot.double.last_message(olena.telegram_id)
        assert last is not None
        await olena.tap_data(last["message_id"], f"rate:{event.id}:1")
        refused = CATALOGS.translator("uk").gettext(
            "Only the people who came to this event can rate it."
        )
        assert refused in olena.alerts() or olena.last_text == refused
        rows = await services.db.fetchall(
            "SELECT telegram_id, stars, comment FROM ratings ORDER BY telegram_id"
        )
        assert sorted(tuple(row) for row in rows) == sorted(
            [
                (marco.telegram_id, 4, "Bellissima <serata>, grazie a tutti!"),
                (layla.telegram_id, 5, None),
                *((other, None, None) for other in OTHERS),
            ]
        )
        # Everyone who came is asked once; Olena, who did not, is not.
        for other in OTHERS:
            await bot.double.wait_for(asked_to_rate(other), timeout=10)
        await bot.settle()
        asked = [
            c.params["chat_id"]
            for c in bot.double.calls_to("sendMessage")
            if "rate:" in str(c.params.get("reply_markup"))
        ]
        assert sorted(asked) == sorted([marco.telegram_id, layla.telegram_id, *OTHERS])

        # Two ratings: the coordinator sees how many, not an average two people could be
        # read from.
        await nora.send("/attendance")
        await nora.tap(TITLE[:20])
        few = EN.ngettext(
            "{count} rating so far; the average shows from {least} ratings on.",
            "{count} ratings so far; the average shows from {least} ratings on.",
            2,
        ).format(count=2, least=5)
        assert few in nora.last_text
        assert "Bellissima" not in nora.last_text
        # Three more ratings make five: the average and the sentence (escaped), without names.
        for other, stars in zip(OTHERS, (3, 4, 5), strict=True):
            await services.ratings.rate(other, event.id, stars)
        await nora.send("/attendance")
        await nora.tap(TITLE[:20])
        rated = EN.ngettext(
            "Rated {average} of 5 by {count} person.", "Rated {average} of 5 by {count} people.", 5
        ).format(average="4.2", count=5)
        assert rated in nora.last_text
        # As written (the double refuses HTML Telegram would: "<serata>" went out escaped).
        assert "• “Bellissima <serata>, grazie a tutti!”" in nora.last_text
        await nora.send("/stats")
        stats = next(
            str(c.params["text"])
            for c in reversed(bot.double.calls_to("sendMessage"))
            if c.params.get("chat_id") == nora.telegram_id
            and "Events, as rated" in str(c.params.get("text"))
        )
        assert EN.gettext("Events, as rated by those who came:") + " " + rated in stats

        # /mydata has it; /deleteme takes it away.
        await marco.send("/mydata")
        sent = [
            c
            for c in bot.double.calls_to("sendDocument")
            if c.params.get("chat_id") == marco.telegram_id
        ]
        data = json.loads(sent[-1].files["document"].data)
        assert [(r["stars"], r["comment"]) for r in data["event_ratings"]] == [
            (4, "Bellissima <serata>, grazie a tutti!")
        ]
        await marco.send("/deleteme")
        await marco.tap(IT.gettext("Yes, erase my data"))
        assert not await services.db.fetchval(
            "SELECT COUNT(*) FROM ratings WHERE telegram_id = ?", (marco.telegram_id,)
        )
