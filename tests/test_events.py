"""Events without Telegram: who may create, the rules of a draft, seats, waitlist, reminders."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InvalidInput, NotAllowed, NotRegistered
from bot.events import REMINDER, EventDraft, Outcome, Scope, check_draft, parse_local_time
from bot.services import Services
from tests.conftest import ADMIN_ID, Statements

COORD = 700
PEOPLE = [2001, 2002, 2003, 2004, 2005]


def draft(services: Services, town_id: int | None, **changes: object) -> EventDraft:
    start = services.clock() + timedelta(days=3)
    values: dict[str, object] = {
        "scope": Scope.LOCAL if town_id else Scope.INTERNATIONAL,
        "town_id": town_id,
        "title": "Shared dinner",
        "description": "Bring a dish from home",
        "place": "Community hall",
        "timezone": "Europe/Tirane",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "capacity": 2,
    }
    values.update(changes)
    return EventDraft(**values)  # type: ignore[arg-type]


async def setup(services: Services) -> int:
    bari = (await services.towns.by_slug("bari")).id
    await services.staff.grant(ADMIN_ID, COORD, "coordinator", "bari")
    for person in PEOPLE:
        await services.people.give_consent(person, "en")
    return bari


async def pending(services: Services, kind: str, chat_id: int | None = None) -> list[str]:
    rows = await services.db.fetchall(
        "SELECT not_before FROM outbox WHERE kind = ? AND status = 'pending'"
        " AND (? IS NULL OR chat_id = ?) ORDER BY not_before",
        (kind, chat_id, chat_id),
    )
    return [row[0] for row in rows]


async def test_who_may_create_which_event(services: Services) -> None:
    bari = await setup(services)
    shkoder = (await services.towns.by_slug("shkoder")).id
    event = await services.events.create(COORD, draft(services, bari))
    assert event.town_name == "Bari" and event.seats_left == 2
    with pytest.raises(NotAllowed):
        await services.events.create(COORD, draft(services, shkoder))
    with pytest.raises(NotAllowed):
        await services.events.create(COORD, draft(services, None))  # international
    with pytest.raises(NotAllowed):
        await services.events.create(PEOPLE[0], draft(services, bari))
    with pytest.raises(NotAllowed):
        await services.events.cancel(PEOPLE[0], event.id)
    with pytest.raises(NotAllowed):
        await services.events.attendance(PEOPLE[0], event.id)
    assert (
        await services.events.create(ADMIN_ID, draft(services, None))
    ).scope is Scope.INTERNATIONAL
    assert await services.db.fetchval("SELECT COUNT(*) FROM events") == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_at": datetime(2020, 1, 1, tzinfo=UTC)}, "The start is in the past"),
        ({"ends_at": datetime(2020, 1, 1, tzinfo=UTC)}, "The end must be after the start."),
        ({"capacity": -3}, "The number of seats"),
        ({"capacity": 0}, "The number of seats"),
        ({"title": "x" * 3000}, "The title can have at most"),
        ({"title": "   "}, "This cannot be empty."),
        ({"place": ""}, "This cannot be empty."),
        ({"description": "d" * 2001}, "The description can have at most"),
        ({"reminder_minutes": (0,)}, "Reminders can be"),
    ],
)
async def test_a_bad_draft_is_refused_with_its_reason(
    services: Services, changes: dict[str, object], message: str
) -> None:
    bari = await setup(services)
    with pytest.raises(InvalidInput) as caught:
        check_draft(draft(services, bari, **changes), services.clock())
    assert caught.value.message.startswith(message)


async def join(
    services: Services, person: int, event_id: int, name: str, waitlist: bool = False
) -> Outcome:
    """Join, and check the event and place it answers with are what the database now holds."""
    joined = await services.events.join(person, event_id, name, waitlist)
    assert joined.event == await services.events.get(event_id)
    assert joined.status == await services.events.status_of(event_id, person)
    return joined.outcome


async def test_full_event_waitlist_leave_and_promotion(services: Services) -> None:
    bari = await setup(services)
    event = await services.events.create(COORD, draft(services, bari))
    a, b, c, d, _ = PEOPLE
    assert await join(services, a, event.id, "A") is Outcome.REGISTERED
    assert await join(services, a, event.id, "A") is Outcome.ALREADY_REGISTERED
    assert await join(services, b, event.id, "B") is Outcome.REGISTERED
    assert await join(services, c, event.id, "C") is Outcome.FULL
    assert await services.events.status_of(event.id, c) is None  # offered, not put on it
    assert await join(services, c, event.id, "C", waitlist=True) is Outcome.WAITLISTED
    assert await join(services, d, event.id, "D", waitlist=True) is Outcome.WAITLISTED
    assert await join(services, c, event.id, "C", waitlist=True) is (Outcome.ALREADY_WAITLISTED)
    assert len(await pending(services, REMINDER, a)) == 2  # 24 h and 2 h

    assert await services.events.leave(a, event.id) is True
    assert await pending(services, REMINDER, a) == []
    # The first in line gets the seat, their reminders, and a notice.
    assert await services.events.status_of(event.id, c) == "registered"
    assert await services.events.status_of(event.id, d) == "waitlisted"
    assert len(await pending(services, REMINDER, c)) == 2
    assert await pending(services, "waitlist_promoted", c) != []
    assert await services.events.leave(a, event.id) is False


async def test_a_join_is_one_read_and_its_writes(
    services: Services, statements: Statements
) -> None:
    """Read the event and the person in one statement, then write the seat and the reminders
    (one statement for both reminders) before the COMMIT: each statement is a trip to
    aiosqlite's thread, which costs about as much CPU as a small query."""
    bari = await setup(services)
    event = await services.events.create(COORD, draft(services, bari, capacity=10))
    await statements.watch(services.db)
    joined = await services.events.join(PEOPLE[0], event.id, "Ana")
    run = statements.stop()
    assert [sql.split()[0] for sql in run] == [
        "BEGIN",
        "SELECT",
        "INSERT",
        "INSERT",
        "INSERT",
        "COMMIT",
    ], run
    assert joined.outcome is Outcome.REGISTERED and joined.event.registered == 1
    assert len(await pending(services, REMINDER, PEOPLE[0])) == 2


async def test_two_people_taking_the_last_seat_at_once(services: Services) -> None:
    bari = await setup(services)
    event = await services.events.create(COORD, draft(services, bari, capacity=1))
    outcomes = await asyncio.gather(
        *(services.events.join(person, event.id, "X") for person in PEOPLE)
    )
    assert sorted(j.outcome for j in outcomes) == sorted([Outcome.REGISTERED] + [Outcome.FULL] * 4)
    assert (await services.events.get(event.id)).registered == 1


async def test_registration_closes_at_the_deadline(services: Services) -> None:
    bari = await setup(services)
    deadline = services.clock() + timedelta(days=1)
    event = await services.events.create(
        COORD, draft(services, bari, registration_deadline=deadline)
    )
    services.clock.advance(days=1, seconds=1)
    assert await join(services, PEOPLE[0], event.id, "A") is Outcome.CLOSED
    with pytest.raises(NotRegistered):
        await services.events.join(9999, event.id, "stranger")


async def test_fill_alerts_go_out_once_each(services: Services) -> None:
    bari = await setup(services)
    event = await services.events.create(COORD, draft(services, bari, capacity=4))
    alerts = "SELECT params FROM outbox WHERE kind = 'event_fill' ORDER BY id"
    for person in PEOPLE[:2]:
        await join(services, person, event.id, "P")
    assert [r[0] for r in await services.db.fetchall(alerts)] == [
        f'{{"event_id": {event.id}, "percent": 50}}'
    ]
    await services.events.leave(PEOPLE[1], event.id)
    await join(services, PEOPLE[1], event.id, "P")  # back to 50 %: no second alert
    for person in PEOPLE[2:4]:
        await join(services, person, event.id, "P")
    percents = [r[0][-4:-1] for r in await services.db.fetchall(alerts)]
    assert percents == [" 50", " 80", "100"] or percents == [" 50", "100"]
    assert len(set(percents)) == len(percents)


async def test_moving_moves_reminders_and_cancelling_withdraws_them(services: Services) -> None:
    bari = await setup(services)
    event = await services.events.create(COORD, draft(services, bari))
    await services.events.join(PEOPLE[0], event.id, "A")
    before = await pending(services, REMINDER, PEOPLE[0])
    new_start = event.starts_at + timedelta(days=1)
    await services.events.move(COORD, event.id, new_start, new_start + timedelta(hours=1))
    after = await pending(services, REMINDER, PEOPLE[0])
    assert len(after) == 2 and after != before
    assert after[-1] == (new_start - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await pending(services, "event_moved", PEOPLE[0]) != []
    await services.events.cancel(COORD, event.id)
    assert await pending(services, REMINDER) == []
    assert await pending(services, "event_cancelled", PEOPLE[0]) != []
    assert await join(services, PEOPLE[1], event.id, "B") is Outcome.CLOSED


async def test_check_in_and_attendance(services: Services) -> None:
    bari = await setup(services)
    event = await services.events.create(COORD, draft(services, bari, capacity=2))
    a, b, c, *_ = PEOPLE
    await services.people.set_town(a, bari)
    await services.people.set_self_description(a, "newcomer")
    await services.events.join(a, event.id, "Ana")
    with pytest.raises(InvalidInput):  # too early: check-in opens shortly before the start
        await services.events.check_in(a, event.id, event.checkin_code, "Ana")
    services.clock.advance(days=3, minutes=-30)
    with pytest.raises(InvalidInput):
        await services.events.check_in(a, event.id, "forged-code", "Ana")
    assert await services.events.check_in(a, event.id, event.checkin_code, "Ana") is (
        Outcome.CHECKED_IN
    )
    assert await services.events.check_in(a, event.id, event.checkin_code, "Ana") is (
        Outcome.ALREADY_CHECKED_IN
    )
    # Not registered, but a seat is free: welcome.
    assert await services.events.check_in(b, event.id, event.checkin_code, "Ben") is (
        Outcome.CHECKED_IN
    )
    assert await services.events.check_in(c, event.id, event.checkin_code, "Cem") is Outcome.FULL
    report = await services.events.attendance(COORD, event.id)
    assert (report.registered, report.present) == (2, 2)
    assert report.by_town == {"Bari": 1, "": 1}
    assert report.by_description == {"newcomer": 1, "": 1}
    assert sorted(report.names) == ["Ana", "Ben"]


def test_typed_times_on_the_events_clock_across_the_spring_change() -> None:
    # Europe/Tirane moves from 02:00 to 03:00 on 29 March 2026.
    before = parse_local_time("2026-03-28 10:00", "Europe/Tirane")
    after = parse_local_time("29.03.2026 10:00", "Europe/Tirane")
    assert before == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # UTC+1
    assert after == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # UTC+2
    assert after - before == timedelta(hours=23)
    with pytest.raises(InvalidInput) as caught:
        parse_local_time("2026-03-29 02:30", "Europe/Tirane")
    assert caught.value.message.startswith("{moment} does not exist")
    assert parse_local_time("20:00", "Europe/Tirane", day_of=after) == datetime(
        2026, 3, 29, 18, 0, tzinfo=UTC
    )
    for garbage in ("tomorrow-ish", "2026-13-01 10:00", "", "10:00"):
        with pytest.raises(InvalidInput):
            parse_local_time(garbage, "Europe/Tirane")


async def test_reminders_across_the_spring_change_are_at_the_right_instants(
    services: Services,
) -> None:
    bari = await setup(services)
    await services.staff.grant(ADMIN_ID, COORD, "coordinator")
    start = parse_local_time("2026-03-29 10:00", "Europe/Tirane")
    services.clock.offset = datetime(2026, 3, 20, tzinfo=UTC) - datetime.now(UTC)
    event = await services.events.create(
        COORD, draft(services, bari, starts_at=start, ends_at=start + timedelta(hours=2))
    )
    await services.events.join(PEOPLE[0], event.id, "A")
    # 24 real hours before is 09:00 local on the 28th (UTC+1), not 10:00.
    assert await pending(services, REMINDER, PEOPLE[0]) == [
        "2026-03-28T08:00:00Z",
        "2026-03-29T06:00:00Z",
    ]


async def test_editing_an_event(services: Services) -> None:
    bari = await setup(services)
    event = await services.events.create(COORD, draft(services, bari, capacity=1))
    a, b, c, *_ = PEOPLE
    await services.events.join(a, event.id, "A")
    await services.events.join(b, event.id, "B", waitlist=True)
    await services.events.join(c, event.id, "C", waitlist=True)
    with pytest.raises(NotAllowed):
        await services.events.edit(a, event.id, "title", "Mine now")
    with pytest.raises(InvalidInput):
        await services.events.edit(COORD, event.id, "title", "x" * 500)
    with pytest.raises(InvalidInput):
        await services.events.edit(COORD, event.id, "starts_at", "2020-01-01")
    with pytest.raises(InvalidInput):
        await services.events.edit(COORD, event.id, "capacity", "-3")
    edited = await services.events.edit(COORD, event.id, "place", "The library")
    assert edited.place == "The library"
    assert len(await pending(services, "event_changed")) == 3  # everyone on it, waitlist too
    # More seats: the first in line gets one; fewer than registered is refused.
    edited = await services.events.edit(COORD, event.id, "capacity", "2")
    assert (edited.registered, edited.waitlisted) == (2, 1)
    assert await services.events.status_of(event.id, b) == "registered"
    with pytest.raises(InvalidInput):
        await services.events.edit(COORD, event.id, "capacity", "1")
    unlimited = await services.events.edit(COORD, event.id, "capacity", "-")
    assert unlimited.capacity is None and unlimited.waitlisted == 0


async def test_upcoming_lists_mine_then_my_towns_then_the_rest_by_start(
    services: Services,
) -> None:
    bari = await setup(services)
    shkoder = (await services.towns.by_slug("shkoder")).id
    await services.staff.grant(ADMIN_ID, COORD + 1, "coordinator")
    reader = PEOPLE[0]
    await services.people.set_town(reader, bari)

    async def event(title: str, town: int | None, days: float) -> int:
        start = services.clock() + timedelta(days=days)
        changes = {"title": title, "starts_at": start, "ends_at": start + timedelta(hours=2)}
        if town is None:
            changes["scope"] = Scope.INTERNATIONAL
        created = await services.events.create(COORD + 1, draft(services, town, **changes))
        return created.id

    elsewhere_soon = await event("Shkodër, soon", shkoder, 1)
    international = await event("International", None, 2)
    bari_late = await event("Bari, late", bari, 9)
    bari_soon = await event("Bari, soon", bari, 3)
    mine_late = await event("Mine, late", shkoder, 8)
    cancelled = await event("Cancelled", bari, 1.5)
    await services.events.cancel(COORD + 1, cancelled)
    over = await event("Over by then", bari, 0.5)
    await services.events.join(reader, mine_late, "Ana")
    await services.events.join(PEOPLE[1], bari_late, "Ben")  # someone else's: no difference
    services.clock.advance(days=0.6)

    order = [mine_late, bari_soon, bari_late, elsewhere_soon, international]
    assert over not in order
    pages = [await services.events.upcoming(reader, offset, 2) for offset in (0, 2, 4, 6)]
    assert [[e.id for e in events] for events, _ in pages] == [order[:2], order[2:4], order[4:], []]
    assert {total for _, total in pages} == {5}
    first = pages[0][0][0]
    assert first.title == "Mine, late" and first.registered == 1 and first.town_name == "Shkodër"
    # Someone without a town: their events, the international ones, then the rest by start.
    events, _ = await services.events.upcoming(PEOPLE[1], 0, 5)
    assert [e.id for e in events] == [
        bari_late,
        international,
        elsewhere_soon,
        bari_soon,
        mine_late,
    ]
