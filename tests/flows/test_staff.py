"""Admins grant roles and add towns; everyone else is refused, whatever they type or tap."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Catalogs
from tests.conftest import ADMIN_ID
from tests.flows.harness import running_bot

CATALOGS = Catalogs()


async def test_admin_grants_lists_and_revokes_roles(tmp_path: Path) -> None:
    en = CATALOGS.translator("en")
    sq = CATALOGS.translator("sq")
    async with running_bot(tmp_path) as bot:
        admin = bot.person("Admin", language_code="en", telegram_id=ADMIN_ID)
        ana = bot.person("Ana", language_code="sq")
        await ana.onboard("sq")
        await admin.onboard("en")
        assert "/grant" in admin.last_text  # the admin's help shows the admin commands

        await admin.send(f"/grant {ana.telegram_id} coordinator bari")
        assert admin.last_text == en.gettext("Done: {person} is now {role}.").format(
            person=ana.telegram_id, role=en.gettext("coordinator of {town}").format(town="bari")
        )
        # Ana's own menu now holds the coordinator commands, in her language.
        menu = [
            c
            for c in bot.double.calls
            if c.method == "setMyCommands"
            and c.params.get("scope") == {"type": "chat", "chat_id": ana.telegram_id}
        ]
        assert menu, "no menu for the new coordinator's chat"
        descriptions = [c["description"] for c in menu[-1].params["commands"]]
        assert sq.gettext("Change your language") in descriptions

        await admin.send(f"/grant {ana.telegram_id} coordinator bari")
        assert admin.last_text == en.gettext("{person} already has that role.").format(
            person=ana.telegram_id
        )
        await admin.send("/staff")
        assert str(ana.telegram_id) in admin.last_text and "Bari" in admin.last_text

        await admin.send(f"/revoke {ana.telegram_id} coordinator bari")
        assert admin.last_text == en.gettext("Done: {person} is no longer {role}.").format(
            person=ana.telegram_id, role=en.gettext("coordinator of {town}").format(town="bari")
        )
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM staff_roles") == 0
        deleted = [c for c in bot.double.calls if c.method == "deleteMyCommands"]
        assert deleted[-1].params["scope"] == {"type": "chat", "chat_id": ana.telegram_id}


async def test_admin_adds_a_town_and_people_can_choose_it(tmp_path: Path) -> None:
    en = CATALOGS.translator("en")
    async with running_bot(tmp_path) as bot:
        admin = bot.person("Admin", language_code="en", telegram_id=ADMIN_ID)
        await admin.send("/addtown berat Europe/Tirane Berat")
        assert admin.last_text == en.gettext("Added the partner town {town} ({timezone}).").format(
            town="Berat", timezone="Europe/Tirane"
        )
        await admin.send("/addtown durres Mars/Base Durrës")
        assert "Mars/Base" in admin.last_text
        await admin.send("/addtown")
        assert admin.last_text.startswith("Usage: /addtown")
        newcomer = bot.person("Ilir", language_code="en")
        await newcomer.onboard("en", town="Berat")
        person = await bot.services.people.get(newcomer.telegram_id)
        assert person is not None
        assert person.town_id == (await bot.services.towns.by_slug("berat")).id


async def test_participants_are_refused_staff_commands(tmp_path: Path) -> None:
    it = CATALOGS.translator("it")
    refusal = it.gettext("Sorry, that is only for staff with the right role. Nothing was changed.")
    async with running_bot(tmp_path) as bot:
        marco = bot.person("Marco", language_code="it")
        await marco.onboard("it")
        for command in (
            f"/grant {marco.telegram_id} coordinator",
            f"/grant {marco.telegram_id} moderator",
            "/grant",
            f"/revoke {ADMIN_ID} moderator",
            "/staff",
            "/addtown evil Europe/Rome Evil",
        ):
            await marco.send(command)
            assert marco.last_text == refusal, command
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM staff_roles") == 0
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM towns") == 2
        await marco.send("/help")
        assert "/grant" not in marco.last_text


async def test_bad_arguments_get_the_usage_in_the_admins_language(tmp_path: Path) -> None:
    uk = CATALOGS.translator("uk")
    async with running_bot(tmp_path) as bot:
        admin = bot.person("Admin", language_code="uk", telegram_id=ADMIN_ID)
        await admin.onboard("uk")
        usage = uk.gettext(
            "Usage: /{command} TELEGRAM_ID coordinator [TOWN] or /{command} TELEGRAM_ID "
            "moderator. TOWN is the town's short name; leave it out for the whole network."
        ).format(command="grant")
        for command in (
            "/grant",
            "/grant abc moderator",
            "/grant 12 34 56 78",
            "/grant -5 moderator",
        ):
            await admin.send(command)
            assert admin.last_text == usage, command
        await admin.send("/grant 77 overlord")
        assert admin.last_text == uk.gettext("The role must be “coordinator” or “moderator”.")
        await admin.send("/grant 77 coordinator atlantis")
        assert admin.last_text == uk.gettext("There is no partner town called “{slug}”.").format(
            slug="atlantis"
        )
        await admin.send("/grant 77 moderator bari")
        assert admin.last_text == uk.gettext(
            "Moderators work for the whole network; leave out the town."
        )
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM staff_roles") == 0
