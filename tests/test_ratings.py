"""Rating an event, without Telegram: asked once after it, only those who came, small counts
without an average, the coordinator's scope, /mydata and /deleteme."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput, NotAllowed
from bot.ratings import NotAsked, Summary
from bot.services import Services
from tests.conftest import ADMIN_ID
from tests.test_pulse import NETWORK, attended_event, people

TOWN_COORDINATOR = 803  # of Shkodër: not of the event's town


async def ended_event(services: Services, attendees: list[int]) -> int:
    """An event in Bari, everyone in ``attendees`` checked in, ended an hour and a half ago."""
    await services.staff.grant(ADMIN_ID, NETWORK, "coordinator")
    event = await attended_event(services, attendees)
    services.clock.advance(hours=4, minutes=30)
    return event


async def requests(services: Services) -> list[int]:
    rows = await services.db.fetchall(
        "SELECT chat_id FROM outbox WHERE kind = 'rating_request' ORDER BY chat_id"
    )
    return [row[0] for row in rows]


async def test_everyone_who_came_is_asked_once(services: Services) -> None:
    came = await people(services, 3, 0)
    await services.people.give_consent(9400, "en")  # registered nowhere
    await services.staff.grant(ADMIN_ID, NETWORK, "coordinator")
    event = await attended_event(services, came)
    assert await services.events.follow_up_due(services.clock()) == 0  # not over yet
    services.clock.advance(hours=3, minutes=30)  # ended half an hour ago
    assert await services.events.follow_up_due(services.clock()) == 0
    services.clock.advance(hours=1)
    assert await services.events.follow_up_due(services.clock()) == 1
    assert await requests(services) == came
    # A second pass, or a restart's, asks nobody again, even with the outbox emptied.
    await services.db.execute("DELETE FROM outbox")
    assert await services.events.follow_up_due(services.clock()) == 0
    assert await requests(services) == []
    assert await services.ratings.wanted(came[0], event) is not None
    assert await services.ratings.wanted(9400, event) is None
    with pytest.raises(NotAsked):
        await services.ratings.rate(9400, event, 5)


async def test_old_events_are_not_followed_up(services: Services) -> None:
    await ended_event(services, await people(services, 2, 0))
    services.clock.advance(days=3)
    assert await services.events.follow_up_due(services.clock()) == 0
    assert await requests(services) == []


async def test_stars_a_sentence_and_what_the_coordinator_sees(services: Services) -> None:
    came = await people(services, 6, 0)
    event = await ended_event(services, came)
    await services.events.follow_up_due(services.clock())
    for stars in (0, 6):
        with pytest.raises(InvalidInput):
            await services.ratings.rate(came[0], event, stars)
    for person, stars in zip(came[:4], (5, 4, 4, 2), strict=True):
        await services.ratings.rate(person, event, stars)
    # Four ratings: the count, but no average that a coordinator who saw who came could
    # take apart; no sentences either.
    await services.ratings.comment(came[0], event, "Great   food,\nwarm people")
    assert await services.ratings.of_event(NETWORK, event) == (Summary(4, None), [])
    await services.ratings.rate(came[4], event, 3)
    await services.ratings.rate(came[0], event, 4)  # a new tap changes the first rating
    summary, sentences = await services.ratings.of_event(NETWORK, event)
    assert summary == Summary(5, 3.4)
    assert sentences == ["Great food, warm people"]
    assert await services.ratings.overall(NETWORK) == Summary(5, 3.4)
    # A sentence comes after the stars, and is one sentence.
    with pytest.raises(NotAsked):
        await services.ratings.comment(came[5], event, "Not rated yet")
    with pytest.raises(InvalidInput):
        await services.ratings.comment(came[1], event, "x" * 301)
    with pytest.raises(InvalidInput):
        await services.ratings.comment(came[1], event, "  \n ")
    # Another town's coordinator sees neither the event's ratings nor counts them.
    await services.staff.grant(ADMIN_ID, TOWN_COORDINATOR, "coordinator", "shkoder")
    with pytest.raises(NotAllowed):
        await services.ratings.of_event(TOWN_COORDINATOR, event)
    assert await services.ratings.overall(TOWN_COORDINATOR) == Summary(0, None)


async def test_ratings_are_in_mydata_and_go_with_deleteme(services: Services) -> None:
    came = await people(services, 2, 0)
    event = await ended_event(services, came)
    await services.events.follow_up_due(services.clock())
    await services.ratings.rate(came[0], event, 5)
    await services.ratings.comment(came[0], event, "Thank you all")
    data = await services.export_person(came[0])
    assert [(r["event_id"], r["stars"], r["comment"]) for r in data["event_ratings"]] == [
        (event, 5, "Thank you all")
    ]
    assert (await services.export_person(came[1]))["event_ratings"][0]["stars"] is None
    assert await services.erase_person(came[0]) is True
    assert (await services.export_person(came[0]))["event_ratings"] == []
    rows = await services.db.fetchall("SELECT telegram_id FROM ratings")
    assert [row[0] for row in rows] == [came[1]]
