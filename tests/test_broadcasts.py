"""Announcements and figures without Telegram: audiences, scope, queueing, progress, exports."""

from __future__ import annotations

import pytest

from bot.broadcasts import Audience, AudienceKind, BroadcastDraft
from bot.errors import InvalidInput, NotAllowed
from bot.services import Services
from tests.conftest import ADMIN_ID

TOWN_COORD = 700
NETWORK_COORD = 701


async def populate(services: Services) -> tuple[int, int]:
    bari = (await services.towns.by_slug("bari")).id
    shkoder = (await services.towns.by_slug("shkoder")).id
    await services.staff.grant(ADMIN_ID, TOWN_COORD, "coordinator", "bari")
    await services.staff.grant(ADMIN_ID, NETWORK_COORD, "coordinator")
    people = [
        (3001, "it", bari, "resident"),
        (3002, "sq", bari, "newcomer"),
        (3003, "sq", shkoder, "newcomer"),
        (3004, "en", None, "unsaid"),
        (3005, "it", bari, None),
    ]
    for telegram_id, language, town, description in people:
        await services.people.give_consent(telegram_id, language)
        await services.people.set_town(telegram_id, town)
        if description:
            await services.people.set_self_description(telegram_id, description)
    await services.people.mark_blocked(3005, True)
    return bari, shkoder


async def test_audiences_and_who_may_reach_them(services: Services) -> None:
    bari, shkoder = await populate(services)
    reach = services.broadcasts.recipients
    assert await reach(NETWORK_COORD, Audience(AudienceKind.EVERYONE)) == [3001, 3002, 3003, 3004]
    assert await reach(NETWORK_COORD, Audience(AudienceKind.LANGUAGE, "sq")) == [3002, 3003]
    assert await reach(NETWORK_COORD, Audience(AudienceKind.TOWN, str(shkoder))) == [3003]
    # A town coordinator reaches their town only, whatever they ask for.
    assert await reach(TOWN_COORD, Audience(AudienceKind.TOWN, str(bari))) == [3001, 3002]
    assert await reach(TOWN_COORD, Audience(AudienceKind.LANGUAGE, "sq")) == [3002]
    for audience in (
        Audience(AudienceKind.EVERYONE),
        Audience(AudienceKind.TOWN, str(shkoder)),
        Audience(AudienceKind.ROLE, "moderator"),
    ):
        with pytest.raises(NotAllowed):
            await reach(TOWN_COORD, audience)
    with pytest.raises(NotAllowed):
        await reach(3001, Audience(AudienceKind.TOWN, str(bari)))
    with pytest.raises(InvalidInput):
        await reach(NETWORK_COORD, Audience(AudienceKind.TOWN, "'; DROP TABLE people"))


async def test_a_broadcast_queues_one_row_per_person_and_reports_progress(
    services: Services,
) -> None:
    await populate(services)
    draft = BroadcastDraft(
        text="Welcome to the <b>spring</b> gathering",
        versions={"sq": "Mirë se vini në takimin e <b>pranverës</b>"},
        audience=Audience(AudienceKind.EVERYONE),
    )
    broadcast = await services.broadcasts.create(NETWORK_COORD, draft)
    assert broadcast.recipients == 4
    assert broadcast.text_for("sq").startswith("Mirë se vini")
    assert broadcast.text_for("uk") == draft.text
    rows = await services.db.fetchall(
        "SELECT chat_id FROM outbox WHERE subject = ? ORDER BY chat_id", (broadcast.subject,)
    )
    assert [r[0] for r in rows] == [3001, 3002, 3003, 3004]
    [(listed, counts)] = await services.broadcasts.progress(NETWORK_COORD)
    assert listed.id == broadcast.id and counts == {"pending": 4}
    assert await services.broadcasts.progress(TOWN_COORD) == []  # not theirs
    with pytest.raises(NotAllowed):
        await services.broadcasts.cancel(TOWN_COORD, broadcast.id)
    assert await services.broadcasts.cancel(NETWORK_COORD, broadcast.id) == 4
    assert await services.outbox.counts(broadcast.subject) == {"cancelled": 4}


@pytest.mark.parametrize(
    ("text", "photo"),
    [
        ("", None),
        ("   ", None),
        ("x" * 4097, None),
        ("x" * 1025, "photo-file-id"),
        ("😀" * 2049, None),
    ],
)
async def test_texts_over_telegrams_limits_are_refused(
    services: Services, text: str, photo: str | None
) -> None:
    await populate(services)
    with pytest.raises(InvalidInput):
        await services.broadcasts.create(
            NETWORK_COORD,
            BroadcastDraft(
                text=text, audience=Audience(AudienceKind.EVERYONE), photo_file_id=photo
            ),
        )
    assert await services.db.fetchval("SELECT COUNT(*) FROM broadcasts") == 0


async def test_figures_and_exports_are_scoped_and_anonymous(services: Services) -> None:
    await populate(services)
    network = await services.stats.figures(NETWORK_COORD)
    assert network.network and sum(t.total for t in network.towns) == 5
    bari = {t.town: t for t in network.towns}["Bari"]
    assert (bari.by_description["resident"], bari.by_description["newcomer"]) == (1, 1)
    town = await services.stats.figures(TOWN_COORD)
    assert [t.town for t in town.towns] == ["Bari"] and not town.network
    with pytest.raises(NotAllowed):
        await services.stats.figures(3001)
    files = await services.stats.export(NETWORK_COORD)
    assert set(files) == {"participants-by-town.csv", "attendance-by-event.csv", "events-held.csv"}
    participants = files["participants-by-town.csv"].decode()
    assert participants.splitlines()[0] == (
        "town,residents,newcomers_or_migrants,not_said,not_answered,total"
    )
    assert "Bari,1,1,0,1,3" in participants
    for content in files.values():
        for telegram_id in ("3001", "3002", "3003"):
            assert telegram_id not in content.decode()
