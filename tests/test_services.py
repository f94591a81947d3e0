"""Services without Telegram: consent, profile, rights, roles and who may do what."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import InvalidInput, NotAllowed, NotFound, NotRegistered
from bot.people import SelfDescription
from bot.services import Services
from tests.conftest import ADMIN_ID

ANA = 1001
BEN = 1002


async def test_nothing_is_stored_before_consent(services: Services) -> None:
    assert await services.people.get(ANA) is None
    with pytest.raises(NotRegistered):
        await services.people.set_town(ANA, None)
    with pytest.raises(NotRegistered):
        await services.people.set_language(ANA, "sq")
    assert await services.db.fetchval("SELECT COUNT(*) FROM people") == 0


async def test_onboarding_answers_are_stored(services: Services) -> None:
    person = await services.people.give_consent(ANA, "sq")
    assert person.language == "sq" and not person.has_answered_town
    bari = await services.towns.by_slug("bari")
    person = await services.people.set_town(ANA, bari.id)
    assert person.town_id == bari.id and person.has_answered_town
    person = await services.people.set_town(ANA, None)
    assert person.town_id is None and person.other_town
    person = await services.people.set_self_description(ANA, "newcomer")
    assert person.self_description is SelfDescription.NEWCOMER


async def test_bad_profile_values_are_refused_and_change_nothing(services: Services) -> None:
    await services.people.give_consent(ANA, "it")
    with pytest.raises(InvalidInput):
        await services.people.give_consent(BEN, "xx")
    with pytest.raises(InvalidInput):
        await services.people.set_language(ANA, "klingon")
    with pytest.raises(NotFound):
        await services.people.set_town(ANA, 4242)
    with pytest.raises(InvalidInput):
        await services.people.set_self_description(ANA, "<b>admin</b>")
    person = await services.people.get(ANA)
    assert person is not None and person.language == "it" and person.town_id is None
    assert person.self_description is None
    assert await services.people.get(BEN) is None


async def test_mydata_holds_everything_and_erase_removes_it(services: Services) -> None:
    await services.people.give_consent(ANA, "uk")
    shkoder = await services.towns.by_slug("shkoder")
    await services.people.set_town(ANA, shkoder.id)
    await services.staff.grant(ADMIN_ID, ANA, "coordinator", "shkoder")
    data = await services.export_person(ANA)
    assert data["profile"]["language"] == "uk"
    assert data["profile"]["town"] == "Shkodër"
    assert [r["role"] for r in data["staff_roles"]] == ["coordinator"]

    assert await services.erase_person(ANA) is True
    assert await services.people.get(ANA) is None
    assert (
        await services.db.fetchval("SELECT COUNT(*) FROM staff_roles WHERE telegram_id = ?", (ANA,))
        == 0
    )
    assert (await services.export_person(ANA))["profile"] is None
    assert await services.erase_person(ANA) is False


async def test_only_admins_manage_roles_and_towns(services: Services) -> None:
    await services.people.give_consent(ANA, "en")
    with pytest.raises(NotAllowed):
        await services.staff.grant(ANA, ANA, "coordinator")
    with pytest.raises(NotAllowed):
        await services.staff.list_staff(ANA)
    with pytest.raises(NotAllowed):
        await services.towns.add_town(ANA, "berat", "Europe/Tirane", "Berat")
    # A moderator or coordinator is not an admin either.
    await services.staff.grant(ADMIN_ID, BEN, "coordinator")
    with pytest.raises(NotAllowed):
        await services.staff.grant(BEN, ANA, "moderator")
    assert await services.db.fetchval("SELECT COUNT(*) FROM staff_roles") == 1
    assert await services.db.fetchval("SELECT COUNT(*) FROM towns WHERE slug='berat'") == 0


async def test_grant_revoke_and_the_audit_log(services: Services) -> None:
    assert await services.staff.grant(ADMIN_ID, ANA, "moderator") is True
    assert await services.staff.grant(ADMIN_ID, ANA, "moderator") is False
    assert await services.staff.grant(ADMIN_ID, ANA, "coordinator", "bari") is True
    roles = await services.authz.roles_of(ANA)
    bari = await services.towns.by_slug("bari")
    shkoder = await services.towns.by_slug("shkoder")
    assert roles.moderator and roles.coordinator_towns == {bari.id}
    from bot.roles import Permission

    assert roles.allows(Permission.COORDINATE, bari.id)
    assert not roles.allows(Permission.COORDINATE, shkoder.id)
    assert not roles.allows(Permission.COORDINATE, None)
    assert await services.staff.revoke(ADMIN_ID, ANA, "moderator") is True
    assert await services.staff.revoke(ADMIN_ID, ANA, "moderator") is False
    log = await services.db.fetchall("SELECT actor_id, action, subject, detail FROM audit_log")
    assert [tuple(r) for r in log] == [
        (ADMIN_ID, "grant", str(ANA), "moderator"),
        (ADMIN_ID, "grant", str(ANA), "coordinator:bari"),
        (ADMIN_ID, "revoke", str(ANA), "moderator"),
    ]


@pytest.mark.parametrize(
    ("role", "town", "error"),
    [
        ("admin", None, InvalidInput),
        ("participant", None, InvalidInput),
        ("moderator", "bari", InvalidInput),
        ("coordinator", "atlantis", NotFound),
        ("'; DROP TABLE people; --", None, InvalidInput),
    ],
)
async def test_bad_grants_are_refused(
    services: Services, role: str, town: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await services.staff.grant(ADMIN_ID, ANA, role, town)
    assert await services.db.fetchval("SELECT COUNT(*) FROM staff_roles") == 0


async def test_add_town_checks_its_input(services: Services) -> None:
    town = await services.towns.add_town(ADMIN_ID, "Berat", "Europe/Tirane", "  Berat  ")
    assert (town.slug, town.name) == ("berat", "Berat")
    with pytest.raises(InvalidInput):
        await services.towns.add_town(ADMIN_ID, "berat", "Europe/Tirane", "Berat again")
    with pytest.raises(InvalidInput):
        await services.towns.add_town(ADMIN_ID, "durres", "Europe/Durres", "Durrës")
    with pytest.raises(InvalidInput):
        await services.towns.add_town(ADMIN_ID, "<b>", "Europe/Tirane", "X")
    with pytest.raises(InvalidInput):
        await services.towns.add_town(ADMIN_ID, "long", "Europe/Tirane", "x" * 65)
    assert [t.slug for t in await services.towns.list_towns()] == ["bari", "berat", "shkoder"]


async def test_seeding_twice_keeps_run_time_changes(services: Services) -> None:
    await services.db.execute("UPDATE towns SET name = 'Scutari' WHERE slug = 'shkoder'")
    await services.towns.seed(services.config.towns, services.config.chapters)
    assert (await services.towns.by_slug("shkoder")).name == "Scutari"
    assert await services.db.fetchval("SELECT COUNT(*) FROM chapters") == 1


async def test_concurrent_consent_creates_one_row(services: Services) -> None:
    await asyncio.gather(*(services.people.give_consent(ANA, "sq") for _ in range(20)))
    assert await services.db.fetchval("SELECT COUNT(*) FROM people") == 1
