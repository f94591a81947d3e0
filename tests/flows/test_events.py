"""Events through the Bot API double: create → join → full → waitlist → leave → promotion →
reminders → check-in → attendance, with a coordinator in Italian and participants in Albanian."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from pathlib import Path

from bot.i18n import Catalogs
from tests.conftest import ADMIN_ID
from tests.flows.harness import running_bot
from tests.flows.harness import sent_to as to

CATALOGS = Catalogs()
IT = CATALOGS.translator("it")
SQ = CATALOGS.translator("sq")
TITLE = "Cena <condivisa> & musica"


async def test_the_life_of_an_event(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        admin = bot.person("Admin", "en", telegram_id=ADMIN_ID)
        giulia = bot.person("Giulia", "it")
        await giulia.onboard("it")
        await admin.send(f"/grant {giulia.telegram_id} coordinator bari")
        start_day = (services.clock() + timedelta(days=5)).strftime("%Y-%m-%d")

        # The coordinator creates the event in Italian, with a few wrong answers on the way.
        await giulia.send("/newevent")
        await giulia.send("x" * 3000)
        assert giulia.last_text.startswith(
            IT.gettext("The title can have at most {limit} characters; this has {length}.").format(
                limit=120, length=3000
            )
        )
        await giulia.send(TITLE)
        await giulia.send("Porta un piatto di casa tua")
        await giulia.tap("Bari")
        await giulia.send("domani più o meno")
        assert giulia.last_text == IT.gettext(
            "Please write the date and time like this: {example}"
        ).format(example="2026-12-05 18:30")
        await giulia.send("2020-01-01 18:00")
        assert giulia.last_text == IT.gettext(
            "The start is in the past. Please give a future date and time."
        )
        await giulia.send(f"{start_day} 18:00")
        await giulia.send("17:00")
        assert giulia.last_text == IT.gettext("The end must be after the start.")
        await giulia.send("21:00")
        await giulia.send("Sala comunale, Via Roma 1")
        await giulia.send("-3")
        assert giulia.last_text == IT.gettext(
            "The number of seats must be a whole number from 1 to {limit}."
        ).format(limit=100000)
        await giulia.send("2")
        await giulia.tap(IT.gettext("Until the start"))
        await giulia.tap(IT.gettext("24 h and 2 h before"))
        assert IT.gettext("This is how people will see it:") in giulia.last_text
        assert "Cena <condivisa> & musica" in giulia.last_text  # escaped, shown faithfully
        await giulia.tap(IT.gettext("Create the event"))
        assert giulia.last_text.startswith(IT.gettext("The event is created."))
        event_id = int(await services.db.fetchval("SELECT id FROM events"))

        # Three participants in Albanian: two seats.
        drita, besa, arta = (bot.person(n, "sq") for n in ("Drita", "Besa", "Arta"))
        for person in (drita, besa, arta):
            await person.onboard("sq")
        await drita.send("/events")
        await drita.tap("Cena")
        seats = SQ.ngettext("{count} seat left", "{count} seats left", 2).format(count=2)
        assert seats in drita.last_text
        # Albanian says the time on a 12-hour clock, in the event's zone (Bari: Europe/Rome).
        assert "6:00" in drita.last_text and "9:00" in drita.last_text
        assert "(Europe/Rome)" in drita.last_text
        await drita.tap(SQ.gettext("Join"))
        assert drita.last_text.startswith(SQ.gettext("You are registered. See you there!"))
        await besa.send(f"/start ev_{event_id}")  # a deep link opens the card
        await besa.tap(SQ.gettext("Join"))
        await arta.send(f"/start ev_{event_id}")
        assert SQ.gettext("Join the waitlist") in arta.buttons()
        await arta.tap(SQ.gettext("Join the waitlist"))
        assert arta.last_text.startswith(
            SQ.gettext(
                "The event is full, so you are on the waitlist. "
                "If a seat frees up, it is yours and I will tell you."
            )
        )
        # The coordinator was told at 50 % and at 100 %, in Italian, through the outbox.
        fill = IT.gettext("📈 “{title}”: {registered} of {capacity} seats taken ({percent}%).")
        for registered, percent in ((1, 50), (2, 100)):
            expected = fill.format(
                title=escape(TITLE), registered=registered, capacity=2, percent=percent
            )
            await bot.double.wait_for(to(giulia, expected), timeout=10)

        # Drita leaves; Arta is promoted and told, in Albanian.
        await drita.send("/myevents")
        await drita.tap("Cena")
        await drita.tap(SQ.gettext("Leave"))
        await bot.double.wait_for(
            to(
                arta,
                SQ.gettext(
                    "🎉 A seat freed up and it is yours: you are now registered for this event."
                ),
            ),
            timeout=10,
        )

        # A day before: the 24 h reminder, once, to the two registered people only.
        starts_at = (await services.events.get(event_id)).starts_at
        services.clock.advance(
            seconds=(starts_at - timedelta(hours=23, minutes=59) - services.clock()).total_seconds()
        )
        services.outbox.wake.set()
        reminder = SQ.gettext("⏰ Reminder: you are registered for this event.")
        await bot.double.wait_for(to(besa, reminder), timeout=10)
        await bot.double.wait_for(to(arta, reminder), timeout=10)
        assert not [c for c in bot.double.calls if to(drita, reminder)(c)]

        # At the venue: the coordinator shows the QR code; Besa scans it.
        await giulia.send("/attendance")
        await giulia.tap("Cena")
        assert (
            IT.gettext("{present} of {registered} registered people came.").format(
                present=0, registered=2
            )
            in giulia.last_text
        )
        before_start = len(bot.double.calls)
        services.clock.advance(hours=23, minutes=30)  # half an hour before the start
        services.outbox.wake.set()
        await giulia.send(f"/start ev_{event_id}")
        await giulia.tap(IT.gettext("Check-in QR code"))
        photo = bot.double.calls_to("sendPhoto")[-1]
        assert photo.files["photo"].data.startswith(b"\x89PNG")
        code = await services.db.fetchval("SELECT checkin_code FROM events")
        await besa.send(f"/start ci_{event_id}_{code}")
        assert besa.last_text.startswith(SQ.gettext("Welcome! You are checked in."))
        await besa.send(f"/start ci_{event_id}_forged")
        assert besa.last_text == SQ.gettext("This check-in code is not valid for this event.")
        await giulia.send("/attendance")
        await giulia.tap("Cena")
        assert (
            IT.gettext("{present} of {registered} registered people came.").format(
                present=1, registered=2
            )
            in giulia.last_text
        )
        assert "Besa" in giulia.last_text

        # The calendar file is a real iCalendar event.
        await besa.send(f"/start ev_{event_id}")
        await besa.tap(SQ.gettext("Add to calendar"))
        ics = bot.double.calls_to("sendDocument")[-1].files["document"].data.decode()
        assert "BEGIN:VEVENT" in ics and "SUMMARY:Cena <condivisa> & musica" in ics

        # The 2 h reminders went out too: each registered person got exactly two, Drita none.
        for person in (besa, arta):
            await bot.double.wait_for(to(person, reminder), timeout=10, start=before_start)
        for person, count in ((besa, 2), (arta, 2), (drita, 0)):
            got = [c for c in bot.double.calls if to(person, reminder)(c)]
            assert len(got) == count, person.first_name


async def test_moving_an_event_tells_everyone_on_it(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        giulia = bot.person("Giulia", "it")
        await giulia.onboard("it")
        await services.staff.grant(ADMIN_ID, giulia.telegram_id, "coordinator", "bari")
        from tests.test_events import draft

        bari = (await services.towns.by_slug("bari")).id
        event = await services.events.create(giulia.telegram_id, draft(services, bari))
        drita = bot.person("Drita", "sq")
        await drita.onboard("sq")
        await drita.send(f"/start ev_{event.id}")
        await drita.tap(SQ.gettext("Join"))
        new_day = (event.starts_at + timedelta(days=2)).strftime("%Y-%m-%d")
        await giulia.send(f"/start ev_{event.id}")
        await giulia.tap(IT.gettext("Move"))
        await giulia.send("yesterday")
        await giulia.send(f"{new_day} 17:00")
        await giulia.send("19:30")
        assert giulia.last_text.startswith(
            IT.gettext("The event has new times; everyone on it is being told.")
        )
        await bot.double.wait_for(to(drita, SQ.gettext("📣 This event has new times:")), timeout=10)
        moved = await services.events.get(event.id)
        assert moved.starts_at - event.starts_at > timedelta(days=1)
        await giulia.tap(IT.gettext("Edit"))
        await giulia.tap(IT.gettext("Place"))
        await giulia.send("Biblioteca civica <piano 2>")
        assert giulia.last_text.startswith(
            IT.gettext("Saved; everyone on the event is being told.")
        )
        await bot.double.wait_for(to(drita, escape("Biblioteca civica <piano 2>")), timeout=10)
        # Drita's reminders moved with it.
        reminders = await services.db.fetchall(
            "SELECT not_before FROM outbox WHERE kind = 'event_reminder' AND status = 'pending'"
        )
        assert len(reminders) == 2


async def test_participants_cannot_manage_events(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        eve = bot.person("Eve", "it")
        await eve.onboard("it")
        refusal = IT.gettext(
            "Sorry, that is only for staff with the right role. Nothing was changed."
        )
        await eve.send("/newevent")
        assert eve.last_text == refusal
        await eve.send("/attendance")
        assert eve.last_text == refusal
        bari = (await bot.services.towns.by_slug("bari")).id
        await bot.services.staff.grant(ADMIN_ID, 700, "coordinator", "bari")
        from tests.test_events import draft

        event = await bot.services.events.create(700, draft(bot.services, bari))
        message_id = bot.double.last_message(eve.telegram_id)["message_id"]
        for data in (
            f"qr:{event.id}",
            f"att:{event.id}",
            f"evcancel:{event.id}:yes",
            f"evcancel:{event.id}:ask",
            f"evmove:{event.id}",
            f"evedit:{event.id}",
            f"evfield:{event.id}:title",
            "join:999999",
            "join:abc",
            "nesave:yes",
        ):
            await eve.tap_data(message_id, data)
        assert not (await bot.services.events.get(event.id)).cancelled
        assert bot.double.calls_to("sendPhoto") == []
        alerts = eve.alerts()
        assert alerts.count(refusal) == 7
        assert IT.gettext("That event does not exist (any more).") in alerts
