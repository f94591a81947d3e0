"""Changes racing each other: every check that guards a change is made inside its transaction.

Two ways of putting a rival change between a service's checks and its change. ``asyncio.gather``
alone: every statement waits its turn at the database's lock, and the lock serves in order of
arrival, so coroutines started together take turns statement by statement. And
``between_checks_and_change``: the rivals run to their end at the moment the service asks for
its transaction — after anything it read before, before it changes anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from bot.broadcasts import Audience, AudienceKind, BroadcastDraft
from bot.db import Database, Transaction, to_db_time
from bot.errors import UserFacingError
from bot.events import (
    CANCELLED,
    MOVED,
    PROMOTED,
    REMINDER,
    Event,
    Joined,
    Outcome,
)
from bot.services import Services
from tests.conftest import ADMIN_ID
from tests.test_events import draft

TOWN_COORD = 700
NETWORK_COORD = 701
MODERATOR = 702
PEOPLE = list(range(2001, 2011))


async def setup(services: Services) -> int:
    bari = (await services.towns.by_slug("bari")).id
    await services.staff.grant(ADMIN_ID, TOWN_COORD, "coordinator", "bari")
    await services.staff.grant(ADMIN_ID, NETWORK_COORD, "coordinator")
    for person in PEOPLE:
        await services.people.give_consent(person, "en")
    return bari


async def new_event(services: Services, town_id: int, **changes: object) -> Event:
    """The events tests' dinner, with 10 seats unless told otherwise."""
    return await services.events.create(
        TOWN_COORD, draft(services, town_id, **{"capacity": 10, **changes})
    )


def told(services: Services, error: BaseException, language: str = "en") -> str:
    """A refusal as the person reads it, in their language."""
    assert isinstance(error, UserFacingError), error
    tr = services.catalogs.translator(language)
    return tr.gettext(error.message).format(**error.params)


async def statuses(services: Services, event_id: int) -> dict[int, str]:
    rows = await services.db.fetchall(
        "SELECT telegram_id, status FROM registrations WHERE event_id = ?", (event_id,)
    )
    return {row[0]: row[1] for row in rows}


async def pending(services: Services, kind: str, chat_id: int) -> list[str]:
    """The moments the person's pending messages of this kind are due."""
    rows = await services.db.fetchall(
        "SELECT not_before FROM outbox WHERE kind = ? AND chat_id = ? AND status = 'pending'"
        " ORDER BY not_before",
        (kind, chat_id),
    )
    return [row[0] for row in rows]


@asynccontextmanager
async def between_checks_and_change(
    db: Database, *rivals: Callable[[], Awaitable[object]]
) -> AsyncIterator[list[object]]:
    """Run ``rivals`` to their end when the next transaction is asked for, before it opens.

    Yields their results (an exception is a result), filled once they have run; the block fails
    if nothing asked for a transaction.
    """
    real = db.transaction
    results: list[object] = []

    @asynccontextmanager
    async def rivals_first() -> AsyncIterator[Transaction]:
        del db.transaction  # the rivals and everything after use the real one
        results.extend(await asyncio.gather(*(rival() for rival in rivals), return_exceptions=True))
        async with real() as tx:
            yield tx

    db.transaction = rivals_first  # type: ignore[method-assign]
    try:
        yield results
    finally:
        vars(db).pop("transaction", None)
    assert len(results) == len(rivals), "the service never asked for a transaction"


# Seats ----------------------------------------------------------------------------------------


async def test_setting_seats_while_people_join_never_overfills(services: Services) -> None:
    """The issue's scenario: 5 registered, seats set to 5 while 3 more tap Join."""
    bari = await setup(services)
    event = await new_event(services, bari, capacity=10)
    for person in PEOPLE[:5]:
        await services.events.join(person, event.id, "Early")
    joiners = PEOPLE[5:8]
    edit, *joins = await asyncio.gather(
        services.events.edit(TOWN_COORD, event.id, "capacity", "5"),
        *(services.events.join(person, event.id, "Late") for person in joiners),
        return_exceptions=True,
    )
    after = await services.events.get(event.id)
    rows = await statuses(services, event.id)
    registered = sorted(p for p, status in rows.items() if status == "registered")
    assert after.registered == len(registered)
    assert after.capacity is not None and after.registered <= after.capacity
    if isinstance(edit, BaseException):
        # Refused, with the count of its own moment: the joiners all had their seats by then.
        assert told(services, edit) == (
            f"Registered already: {after.registered}. The event needs at least that many seats."
        )
        assert after.capacity == 10 and registered == PEOPLE[:8]
    else:
        # Made first: the event was full for the joiners, who were offered the waitlist.
        assert after.capacity == 5 and registered == PEOPLE[:5]
    for person, joined in zip(joiners, joins, strict=True):
        assert isinstance(joined, Joined)
        expected = Outcome.REGISTERED if person in registered else Outcome.FULL
        assert joined.outcome is expected
        assert rows.get(person) == joined.status


async def test_two_coordinators_setting_seats_at_once_never_go_below_the_registered(
    services: Services,
) -> None:
    bari = await setup(services)
    event = await new_event(services, bari, capacity=10)
    for person in PEOPLE[:4]:
        await services.events.join(person, event.id, "Early")

    async def join_two() -> None:
        for person in PEOPLE[4:6]:
            await services.events.join(person, event.id, "Late")

    async with between_checks_and_change(services.db, join_two):
        with pytest.raises(UserFacingError) as refused:
            await services.events.edit(NETWORK_COORD, event.id, "capacity", "5")
    assert told(services, refused.value) == (
        "Registered already: 6. The event needs at least that many seats."
    )
    after = await services.events.get(event.id)
    assert (after.capacity, after.registered) == (10, 6)


# Moving -------------------------------------------------------------------------------------


async def test_moving_while_people_join_queues_their_reminders_for_the_new_times(
    services: Services,
) -> None:
    bari = await setup(services)
    start = services.clock() + timedelta(days=3)
    event = await new_event(services, bari, registration_deadline=start - timedelta(hours=12))
    await services.events.join(PEOPLE[0], event.id, "Early")
    new_start = start - timedelta(days=1)  # before the old deadline, which therefore goes
    joiners = PEOPLE[1:4]
    moved, *joins = await asyncio.gather(
        services.events.move(TOWN_COORD, event.id, new_start, new_start + timedelta(hours=1)),
        *(services.events.join(person, event.id, "Late") for person in joiners),
    )
    assert isinstance(moved, Event)
    after = await services.events.get(event.id)
    assert (after.starts_at, after.registration_deadline) == (new_start, None)
    wanted = [to_db_time(new_start - timedelta(minutes=m)) for m in (1440, 120)]
    for person in PEOPLE[:4]:
        assert await pending(services, REMINDER, person) == wanted
    for person, joined in zip(joiners, joins, strict=True):
        assert isinstance(joined, Joined) and joined.outcome is Outcome.REGISTERED
        if joined.event.starts_at == new_start:
            # Joined the moved event: it showed the new times, and there is no change to tell.
            assert joined.event.registration_deadline is None
            assert await pending(services, MOVED, person) == []
        else:
            # Joined before the move: told of it, once.
            assert joined.event.starts_at == start
            assert len(await pending(services, MOVED, person)) == 1
    assert len(await pending(services, MOVED, PEOPLE[0])) == 1


async def test_moving_a_cancelled_event_is_refused_even_when_the_cancel_comes_first_by_a_hair(
    services: Services,
) -> None:
    bari = await setup(services)
    event = await new_event(services, bari)
    await services.events.join(PEOPLE[0], event.id, "Ana")
    new_start = event.starts_at + timedelta(days=1)
    cancelled, moved = await asyncio.gather(
        services.events.cancel(NETWORK_COORD, event.id),
        services.events.move(TOWN_COORD, event.id, new_start, new_start + timedelta(hours=1)),
        return_exceptions=True,
    )
    assert isinstance(cancelled, Event) and cancelled.cancelled
    assert isinstance(moved, BaseException)
    assert told(services, moved) == "This event was cancelled."
    after = await services.events.get(event.id)
    assert after.cancelled and after.starts_at == event.starts_at
    assert await pending(services, REMINDER, PEOPLE[0]) == []
    assert await pending(services, MOVED, PEOPLE[0]) == []
    assert len(await pending(services, CANCELLED, PEOPLE[0])) == 1


# Cancelling ---------------------------------------------------------------------------------


async def test_cancelling_while_people_join_tells_everyone_on_it_once(services: Services) -> None:
    bari = await setup(services)
    event = await new_event(services, bari)
    for person in PEOPLE[:2]:
        await services.events.join(person, event.id, "Early")
    joiners = PEOPLE[2:5]
    cancelled, *joins = await asyncio.gather(
        services.events.cancel(TOWN_COORD, event.id),
        *(services.events.join(person, event.id, "Late") for person in joiners),
    )
    assert isinstance(cancelled, Event) and cancelled.cancelled
    rows = await statuses(services, event.id)
    for person, joined in zip(joiners, joins, strict=True):
        assert isinstance(joined, Joined)
        if joined.outcome is Outcome.CLOSED:
            # Too late: the card they see says the event was cancelled; they are not on it.
            assert joined.event.cancelled and joined.status is None and person not in rows
        else:
            assert joined.outcome is Outcome.REGISTERED and rows[person] == "registered"
    for person in PEOPLE[:5]:
        assert await pending(services, REMINDER, person) == []
        assert len(await pending(services, CANCELLED, person)) == (1 if person in rows else 0)


async def test_two_coordinators_cancelling_at_once_tell_everyone_once(services: Services) -> None:
    bari = await setup(services)
    event = await new_event(services, bari)
    for person in PEOPLE[:3]:
        await services.events.join(person, event.id, "P")
    await asyncio.gather(
        services.events.cancel(TOWN_COORD, event.id),
        services.events.cancel(NETWORK_COORD, event.id),
    )
    for person in PEOPLE[:3]:
        assert len(await pending(services, CANCELLED, person)) == 1
    assert (
        await services.db.fetchval(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'cancel_event' AND subject = ?",
            (event.subject,),
        )
        == 1
    )


async def test_more_seats_on_an_event_cancelled_meanwhile_promote_nobody(
    services: Services,
) -> None:
    bari = await setup(services)
    event = await new_event(services, bari, capacity=1)
    first, second = PEOPLE[:2]
    await services.events.join(first, event.id, "Ana")
    await services.events.join(second, event.id, "Ben", waitlist=True)
    cancelled, edited = await asyncio.gather(
        services.events.cancel(NETWORK_COORD, event.id),
        services.events.edit(TOWN_COORD, event.id, "capacity", "2"),
        return_exceptions=True,
    )
    assert isinstance(cancelled, Event) and cancelled.cancelled
    assert isinstance(edited, BaseException)
    assert told(services, edited) == "This event was cancelled."
    assert await statuses(services, event.id) == {first: "registered", second: "waitlisted"}
    assert await pending(services, PROMOTED, second) == []
    assert await pending(services, REMINDER, second) == []
    assert (await services.events.get(event.id)).capacity == 1


# Announcements --------------------------------------------------------------------------------


async def test_someone_erased_while_an_announcement_is_queued_gets_nothing(
    services: Services,
) -> None:
    await setup(services)
    leaving = PEOPLE[3]
    draft = BroadcastDraft(text="The spring gathering", audience=Audience(AudienceKind.EVERYONE))
    async with between_checks_and_change(
        services.db, lambda: services.erase_person(leaving)
    ) as erased:
        broadcast = await services.broadcasts.create(NETWORK_COORD, draft)
    assert erased == [True]
    rows = await services.db.fetchall(
        "SELECT chat_id FROM outbox WHERE subject = ?", (broadcast.subject,)
    )
    reached = sorted(row[0] for row in rows)
    assert leaving not in reached
    assert broadcast.recipients == len(reached) == len(PEOPLE) - 1


async def submitted_story(services: Services, author: int) -> int:
    chapter_id = int(await services.db.fetchval("SELECT id FROM chapters LIMIT 1"))
    await services.stories.start(author)
    await services.stories.set_chapter(author, chapter_id)
    await services.stories.set_text(author, "At the market people started greeting me by name.")
    await services.stories.set_anonymous(author, True, "Ana")
    return (await services.stories.submit(author)).id


# A role taken away while it is used -----------------------------------------------------------

Action = Callable[[Services, dict[str, int]], Awaitable[object]]
START = timedelta(days=4)
STAFF_ACTIONS: dict[str, tuple[str, Action]] = {
    # what the staff member does: (the role taken away meanwhile, the action)
    "create an event": (
        "coordinator",
        lambda s, ids: new_event(s, ids["town"], title="Another dinner"),
    ),
    "edit an event": (
        "coordinator",
        lambda s, ids: s.events.edit(TOWN_COORD, ids["event"], "place", "The library"),
    ),
    "set an event's seats": (
        "coordinator",
        lambda s, ids: s.events.edit(TOWN_COORD, ids["event"], "capacity", "20"),
    ),
    "move an event": (
        "coordinator",
        lambda s, ids: s.events.move(
            TOWN_COORD, ids["event"], s.clock() + START, s.clock() + START + timedelta(hours=1)
        ),
    ),
    "cancel an event": ("coordinator", lambda s, ids: s.events.cancel(TOWN_COORD, ids["event"])),
    "send an announcement": (
        "coordinator",
        lambda s, ids: s.broadcasts.create(
            TOWN_COORD,
            BroadcastDraft("Dinner tonight", Audience(AudienceKind.TOWN, str(ids["town"]))),
        ),
    ),
    "cancel an announcement": (
        "coordinator",
        lambda s, ids: s.broadcasts.cancel(TOWN_COORD, ids["broadcast"]),
    ),
    "approve a story": ("moderator", lambda s, ids: s.stories.approve(MODERATOR, ids["story"])),
    "reject a story": (
        "moderator",
        lambda s, ids: s.stories.reject(MODERATOR, ids["story"], "off_topic"),
    ),
    "open the proposals phase": (
        "network",
        lambda s, ids: s.stories.set_proposals_phase(NETWORK_COORD, True),
    ),
    "add a chapter": (
        "network",
        lambda s, ids: s.towns.add_chapter(NETWORK_COORD, "racism", "en", "Preventing racism"),
    ),
    "title a chapter": (
        "network",
        lambda s, ids: s.towns.set_chapter_title(NETWORK_COORD, ids["chapter"], "it", "Stigma"),
    ),
}
REVOKE = {
    "coordinator": (TOWN_COORD, "coordinator", "bari"),
    "moderator": (MODERATOR, "moderator", None),
    "network": (NETWORK_COORD, "coordinator", None),
}


async def everything_but_roles_and_the_log(
    services: Services,
) -> dict[str, list[tuple[object, ...]]]:
    tables = await services.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT IN ('staff_roles', 'audit_log')"
    )
    return {
        table: [tuple(row) for row in await services.db.fetchall(f"SELECT * FROM {table}")]
        for (table,) in tables
    }


@pytest.mark.parametrize("action", STAFF_ACTIONS)
async def test_a_staff_action_racing_the_revoke_of_its_role_is_refused(
    services: Services, action: str
) -> None:
    """The admin revokes the role between the action's checks and its change: refused, and
    nothing changed but the role; the log shows no action after the revoke."""
    town = await setup(services)
    await services.staff.grant(ADMIN_ID, MODERATOR, "moderator")
    event = await new_event(services, town)
    await services.people.set_town(PEOPLE[0], town)
    await services.events.join(PEOPLE[0], event.id, "Ana")
    broadcast = await services.broadcasts.create(
        TOWN_COORD, BroadcastDraft("Tomorrow", Audience(AudienceKind.TOWN, str(town)))
    )
    ids = {
        "town": town,
        "event": event.id,
        "broadcast": broadcast.id,
        "story": await submitted_story(services, PEOPLE[1]),
        "chapter": int(await services.db.fetchval("SELECT id FROM chapters LIMIT 1")),
    }
    before = await everything_but_roles_and_the_log(services)
    logged = int(await services.db.fetchval("SELECT MAX(id) FROM audit_log"))
    role, act = STAFF_ACTIONS[action]
    staff_id, role_name, town_slug = REVOKE[role]
    async with between_checks_and_change(
        services.db, lambda: services.staff.revoke(ADMIN_ID, staff_id, role_name, town_slug)
    ) as revoked:
        with pytest.raises(UserFacingError) as refused:
            await act(services, ids)
    assert revoked == [True]
    assert told(services, refused.value) == (
        "Sorry, that is only for staff with the right role. Nothing was changed."
    )
    assert await everything_but_roles_and_the_log(services) == before
    actions = await services.db.fetchall(
        "SELECT action FROM audit_log WHERE id > ? ORDER BY id", (logged,)
    )
    assert [row[0] for row in actions] == ["revoke"]
