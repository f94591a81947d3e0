"""Events: creation by coordinators, registration with capacity and waitlist, reminders, check-in.

"What happens when someone joins a full event" is ``EventService.join``; every rule about
seats, the waitlist, deadlines and reminders lives in this module and runs in one transaction.
A change reads what it checks inside its own transaction: a join, a cancel or a revoked role
that lands meanwhile is seen by the check, never slipped in between the check and the change.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot import audit, people
from bot.clock import Clock
from bot.db import Database, Transaction, from_db_time, to_db_time
from bot.errors import InvalidInput, NotAllowed, NotFound, NotRegistered
from bot.i18n import N_
from bot.outbox import Outbox, Queued
from bot.roles import Authorizer, Permission, Roles
from bot.text import whole_number

MAX_TITLE = 120
MAX_DESCRIPTION = 2000
MAX_PLACE = 200
MAX_CAPACITY = 100_000
DEFAULT_REMINDERS = (1440, 120)
FILL_THRESHOLDS = (50, 80, 100)
# Check-in opens a while before the start, so people arriving early can scan.
CHECKIN_OPENS_BEFORE = timedelta(hours=3)

# Outbox kinds this module queues; their texts are rendered by the Telegram face.
REMINDER = "event_reminder"
MOVED = "event_moved"
CHANGED = "event_changed"
CANCELLED = "event_cancelled"
PROMOTED = "waitlist_promoted"
FILL_ALERT = "event_fill"
NOTICE_KINDS = (REMINDER, MOVED, CHANGED, CANCELLED, PROMOTED, FILL_ALERT)
EDITABLE = ("title", "description", "place", "capacity")
# An event is followed up once, this long after it ended, if it ended within the window.
FOLLOW_UP_AFTER = timedelta(hours=1)
FOLLOW_UP_WITHIN = timedelta(days=2)


class Scope(StrEnum):
    LOCAL = "local"
    INTERNATIONAL = "international"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"


class EventStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    ALREADY_REGISTERED = "already_registered"
    ALREADY_WAITLISTED = "already_waitlisted"
    FULL = "full"
    CLOSED = "closed"
    CHECKED_IN = "checked_in"
    ALREADY_CHECKED_IN = "already_checked_in"


@dataclass(frozen=True)
class Joined:
    """What a join did, and the event and the person's place on it right after."""

    outcome: Outcome
    event: Event
    status: str | None


@dataclass(frozen=True)
class EventDraft:
    scope: Scope
    town_id: int | None
    title: str
    description: str
    place: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = None
    registration_deadline: datetime | None = None
    reminder_minutes: tuple[int, ...] = DEFAULT_REMINDERS


@dataclass(frozen=True)
class Event:
    id: int
    scope: Scope
    town_id: int | None
    town_name: str | None
    title: str
    description: str
    place: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    registration_deadline: datetime | None
    reminder_minutes: tuple[int, ...]
    checkin_code: str
    cancelled: bool
    registered: int
    waitlisted: int
    fill_alerted: int = 0  # the highest fill threshold coordinators were told of

    @classmethod
    def preview(cls, draft: EventDraft, town_name: str | None) -> Event:
        """The event a draft will be, before anyone has joined: for the coordinator to check."""
        return cls(
            id=0,
            scope=draft.scope,
            town_id=draft.town_id,
            town_name=town_name,
            title=draft.title,
            description=draft.description,
            place=draft.place,
            timezone=draft.timezone,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            capacity=draft.capacity,
            registration_deadline=draft.registration_deadline,
            reminder_minutes=draft.reminder_minutes,
            checkin_code="",
            cancelled=False,
            registered=0,
            waitlisted=0,
        )

    @property
    def subject(self) -> str:
        return f"event:{self.id}"

    @property
    def registration_closes_at(self) -> datetime:
        if self.registration_deadline is None:
            return self.starts_at
        return min(self.registration_deadline, self.starts_at)

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.registered)

    def is_open(self, now: datetime) -> bool:
        return not self.cancelled and now < self.registration_closes_at


@dataclass(frozen=True)
class Attendance:
    registered: int
    present: int
    by_town: dict[str, int]
    by_description: dict[str, int]
    names: list[str]


EVENT_COLUMNS = (
    "SELECT e.*, t.name AS town_name,"
    " (SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id"
    "  AND r.status = 'registered') AS registered,"
    " (SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id"
    "  AND r.status = 'waitlisted') AS waitlisted"
)
EVENT_FROM = " FROM events e LEFT JOIN towns t ON t.id = e.town_id"
EVENT_SELECT = EVENT_COLUMNS + EVENT_FROM


def _event(row: Any) -> Event:
    deadline = row["registration_deadline"]
    return Event(
        id=row["id"],
        scope=Scope(row["scope"]),
        town_id=row["town_id"],
        town_name=row["town_name"],
        title=row["title"],
        description=row["description"],
        place=row["place"],
        timezone=row["timezone"],
        starts_at=from_db_time(row["starts_at"]),
        ends_at=from_db_time(row["ends_at"]),
        capacity=row["capacity"],
        registration_deadline=from_db_time(deadline) if deadline else None,
        reminder_minutes=tuple(int(m) for m in row["reminder_minutes"].split(",") if m),
        checkin_code=row["checkin_code"],
        cancelled=row["status"] == EventStatus.CANCELLED,
        registered=row["registered"],
        waitlisted=row["waitlisted"],
        fill_alerted=row["fill_alerted"],
    )


def check_text(value: str, limit: int, too_long: str, *, required: bool = True) -> str:
    """Trimmed text within its limit, or a refusal that says the limit and the length."""
    text = value.strip()
    if required and not text:
        raise InvalidInput(N_("This cannot be empty. Please write it again."))
    if len(text) > limit:
        raise InvalidInput(too_long, length=len(text), limit=limit)
    return text


def check_title(text: str) -> str:
    return check_text(
        text, MAX_TITLE, N_("The title can have at most {limit} characters; this has {length}.")
    )


def check_description(text: str) -> str:
    return check_text(
        text,
        MAX_DESCRIPTION,
        N_("The description can have at most {limit} characters; this has {length}."),
        required=False,
    )


def check_place(text: str) -> str:
    return check_text(
        text, MAX_PLACE, N_("The place can have at most {limit} characters; this has {length}.")
    )


def check_capacity(text: str) -> int:
    """Seats as typed: a whole number from 1 to MAX_CAPACITY."""
    seats = whole_number(text, 1, MAX_CAPACITY)
    if seats is None:
        raise InvalidInput(
            N_("The number of seats must be a whole number from 1 to {limit}."), limit=MAX_CAPACITY
        )
    return seats


def check_start(starts_at: datetime, now: datetime) -> datetime:
    if starts_at <= now:
        raise InvalidInput(N_("The start is in the past. Please give a future date and time."))
    return starts_at


def check_end(starts_at: datetime, ends_at: datetime) -> datetime:
    if ends_at <= starts_at:
        raise InvalidInput(N_("The end must be after the start."))
    return ends_at


def check_deadline(deadline: datetime, starts_at: datetime, now: datetime) -> datetime:
    if not now < deadline <= starts_at:
        raise InvalidInput(
            N_("The registration deadline must be in the future and not after the start.")
        )
    return deadline


def check_draft(draft: EventDraft, now: datetime) -> EventDraft:
    """Every rule of a new or moved event; the first broken one is refused with its reason."""
    title = check_title(draft.title)
    description = check_description(draft.description)
    place = check_place(draft.place)
    ZoneInfo(draft.timezone)
    check_start(draft.starts_at, now)
    check_end(draft.starts_at, draft.ends_at)
    if draft.capacity is not None and not 1 <= draft.capacity <= MAX_CAPACITY:
        raise InvalidInput(
            N_("The number of seats must be a whole number from 1 to {limit}."), limit=MAX_CAPACITY
        )
    if draft.registration_deadline is not None:
        check_deadline(draft.registration_deadline, draft.starts_at, now)
    if draft.scope is Scope.LOCAL and draft.town_id is None:
        raise InvalidInput(N_("A local event needs its partner town."))
    if any(not 1 <= m <= 60 * 24 * 30 for m in draft.reminder_minutes):
        raise InvalidInput(N_("Reminders can be from 1 minute to 30 days before the start."))
    return replace(
        draft,
        title=title,
        description=description,
        place=place,
        reminder_minutes=tuple(sorted(set(draft.reminder_minutes), reverse=True)),
    )


def _manages(roles: Roles, scope: Scope, town_id: int | None) -> bool:
    """Who manages an event: its town's coordinators, and the network's (for every event)."""
    return roles.allows(Permission.COORDINATE, town_id if scope is Scope.LOCAL else None)


# A feature that follows up on events: called once per event that ended, in the change that
# marks it followed up, with the people checked in there.
Follower = Callable[[Transaction, "Event", list[int]], Awaitable[None]]
_TO_FOLLOW_UP = (
    EVENT_FROM + " WHERE e.followed_up_at IS NULL AND e.status = 'scheduled'"
    " AND e.ends_at BETWEEN ? AND ?"
)


class EventService:
    def __init__(self, db: Database, authz: Authorizer, outbox: Outbox, clock: Clock) -> None:
        self._db = db
        self._authz = authz
        self._outbox = outbox
        outbox.declare(*NOTICE_KINDS)
        self.clock = clock
        self._followers: list[Follower] = []

    async def export(self, telegram_id: int) -> dict[str, Any]:
        rows = await self._db.fetchall(
            "SELECT e.title, e.starts_at, r.status, r.display_name, r.joined_at, r.checked_in_at"
            " FROM registrations r JOIN events e ON e.id = r.event_id WHERE r.telegram_id = ?"
            " ORDER BY e.starts_at",
            (telegram_id,),
        )
        return {"events": [dict(row) for row in rows]}

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: their registrations go; the events they created stay, unnamed."""
        tx.defer("UPDATE events SET created_by = 0 WHERE created_by = ?", (telegram_id,))
        return bool(
            await tx.execute("DELETE FROM registrations WHERE telegram_id = ?", (telegram_id,))
        )

    # Coordinators ---------------------------------------------------------------------------

    async def may_manage(self, roles: Roles, event: Event) -> bool:
        return _manages(roles, event.scope, event.town_id)

    async def _require_manager(
        self, actor_id: int, event: Event, tx: Transaction | None = None
    ) -> Roles:
        roles = await self._authz.roles_of(actor_id, tx)
        if not await self.may_manage(roles, event):
            raise NotAllowed()
        return roles

    async def managed_event(self, actor_id: int, event_id: int) -> Event:
        """The event, if the actor may manage it (before asking them for a change)."""
        event = await self.get(event_id)
        await self._require_manager(actor_id, event)
        return event

    async def _managed_in(self, tx: Transaction, actor_id: int, event_id: int) -> Event:
        """The event as the change's transaction sees it, if the actor may manage it."""
        event = await self._get_in(tx, event_id)
        await self._require_manager(actor_id, event, tx)
        return event

    async def create(self, actor_id: int, draft: EventDraft) -> Event:
        async with self._db.transaction() as tx:
            # A town coordinator creates for their town; international events need the network.
            await self._authz.require(
                actor_id,
                Permission.COORDINATE,
                draft.town_id if draft.scope is Scope.LOCAL else None,
                tx,
            )
            draft = check_draft(draft, self.clock())
            event_id = await tx.insert(
                "INSERT INTO events (scope, town_id, title, description, place, timezone,"
                " starts_at, ends_at, capacity, registration_deadline, reminder_minutes,"
                " checkin_code, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    draft.scope.value,
                    draft.town_id,
                    draft.title,
                    draft.description,
                    draft.place,
                    draft.timezone,
                    to_db_time(draft.starts_at),
                    to_db_time(draft.ends_at),
                    draft.capacity,
                    to_db_time(draft.registration_deadline)
                    if draft.registration_deadline
                    else None,
                    ",".join(str(m) for m in draft.reminder_minutes),
                    secrets.token_urlsafe(12).replace("_", "x"),
                    actor_id,
                    to_db_time(self.clock()),
                ),
            )
            audit.record(tx, actor_id, "create_event", f"event:{event_id}")
        return await self.get(event_id)

    async def move(
        self, actor_id: int, event_id: int, starts_at: datetime, ends_at: datetime
    ) -> Event:
        """New times; reminders follow the event and everyone on it is told."""
        async with self._db.transaction() as tx:
            event = await self._managed_in(tx, actor_id, event_id)
            if event.cancelled:
                raise InvalidInput(N_("This event was cancelled."))
            deadline = event.registration_deadline
            if deadline is not None and deadline > starts_at:
                deadline = None
            check_draft(
                self._as_draft(
                    event, starts_at=starts_at, ends_at=ends_at, registration_deadline=deadline
                ),
                self.clock(),
            )
            tx.defer(
                "UPDATE events SET starts_at = ?, ends_at = ?, registration_deadline = ?"
                " WHERE id = ?",
                (
                    to_db_time(starts_at),
                    to_db_time(ends_at),
                    to_db_time(deadline) if deadline else None,
                    event_id,
                ),
            )
            await self._outbox.cancel(tx, event.subject, kind=REMINDER)
            moved = replace(event, starts_at=starts_at, ends_at=ends_at)
            notices: list[Queued] = []
            for person_id, status in await self._people_on(tx, event_id):
                if status == RegistrationStatus.REGISTERED:
                    notices += self._reminders(moved, person_id)
                notices.append(
                    Queued(
                        person_id,
                        MOVED,
                        {"event_id": event_id},
                        subject=event.subject,
                        dedupe_key=f"moved:{event_id}:{person_id}:{to_db_time(starts_at)}",
                    )
                )
            self._outbox.enqueue_all(tx, notices)
            audit.record(tx, actor_id, "move_event", event.subject, to_db_time(starts_at))
        return await self.get(event_id)

    async def edit(self, actor_id: int, event_id: int, field: str, value: str) -> Event:
        """Change the title, description, place or seats; people on the event are told.

        Fewer seats than people registered at that moment is refused; more seats go to the
        waitlist.
        """
        async with self._db.transaction() as tx:
            event = await self._managed_in(tx, actor_id, event_id)
            if event.cancelled:
                raise InvalidInput(N_("This event was cancelled."))
            new: str | int | None
            if field == "title":
                new = check_title(value)
            elif field == "description":
                new = check_description("" if value.strip() == "-" else value)
            elif field == "place":
                new = check_place(value)
            elif field == "capacity":
                new = None if value.strip() == "-" else check_capacity(value)  # "-": no limit
                if new is not None and new < event.registered:
                    raise InvalidInput(
                        N_(
                            "Registered already: {count}. The event needs at least that many seats."
                        ),
                        count=event.registered,
                    )
            else:
                raise InvalidInput()
            await tx.execute(f"UPDATE events SET {field} = ? WHERE id = ?", (new, event_id))
            if field == "capacity":
                for _ in range(event.waitlisted):
                    await self._promote_from_waitlist(tx, event_id)
            else:
                stamp = to_db_time(self.clock())
                for person_id, _ in await self._people_on(tx, event_id):
                    self._outbox.enqueue(
                        tx,
                        person_id,
                        CHANGED,
                        {"event_id": event_id},
                        subject=event.subject,
                        dedupe_key=f"changed:{event_id}:{person_id}:{field}:{stamp}",
                    )
            audit.record(tx, actor_id, "edit_event", event.subject, field)
        return await self.get(event_id)

    async def cancel(self, actor_id: int, event_id: int) -> Event:
        async with self._db.transaction() as tx:
            event = await self._managed_in(tx, actor_id, event_id)
            if event.cancelled:
                # Whoever cancelled first told everyone: a second cancel must not withdraw
                # those notices (nor queue them again).
                return event
            tx.defer("UPDATE events SET status = 'cancelled' WHERE id = ?", (event_id,))
            await self._outbox.cancel(tx, event.subject)
            self._outbox.enqueue_all(
                tx,
                [
                    Queued(
                        person_id,
                        CANCELLED,
                        {"event_id": event_id},
                        subject=event.subject,
                        dedupe_key=f"cancelled:{event_id}:{person_id}",
                    )
                    for person_id, _ in await self._people_on(tx, event_id)
                ],
            )
            audit.record(tx, actor_id, "cancel_event", event.subject)
        return await self.get(event_id)

    async def attendance(self, actor_id: int, event_id: int) -> Attendance:
        event = await self.get(event_id)
        await self._require_manager(actor_id, event)
        rows = await self._db.fetchall(
            "SELECT r.display_name, r.checked_in_at, p.self_description, t.name AS town"
            " FROM registrations r JOIN people p ON p.telegram_id = r.telegram_id"
            " LEFT JOIN towns t ON t.id = p.town_id"
            " WHERE r.event_id = ? AND r.status = 'registered' ORDER BY r.checked_in_at, r.seq",
            (event_id,),
        )
        present = [row for row in rows if row["checked_in_at"]]
        return Attendance(
            registered=len(rows),
            present=len(present),
            by_town=dict(Counter(row["town"] or "" for row in present)),
            by_description=dict(Counter(row["self_description"] or "" for row in present)),
            names=[row["display_name"] for row in present],
        )

    async def managed(self, roles: Roles, limit: int = 20) -> list[Event]:
        """Events these roles may manage: upcoming ones and those of the last 30 days."""
        since = to_db_time(self.clock() - timedelta(days=30))
        rows = await self._db.fetchall(
            EVENT_SELECT + " WHERE e.ends_at > ? ORDER BY e.starts_at DESC", (since,)
        )
        events = [_event(row) for row in rows]
        return [event for event in events if await self.may_manage(roles, event)][:limit]

    async def event_in(self, tx: Transaction | None, event_id: int) -> Event:
        """One event, read in the caller's change if there is one."""
        if tx is None:
            return await self.get(event_id)
        return await self._get_in(tx, event_id)

    async def registered_ids(self, event_id: int, tx: Transaction | None = None) -> list[int]:
        """The people registered for an event (not those waiting)."""
        rows = await (tx or self._db).fetchall(
            "SELECT telegram_id FROM registrations WHERE event_id = ? AND status = 'registered'",
            (event_id,),
        )
        return [row[0] for row in rows]

    async def titles(self, event_ids: set[int]) -> dict[int, str]:
        if not event_ids:
            return {}
        rows = await self._db.fetchall(
            f"SELECT id, title FROM events WHERE id IN ({','.join('?' * len(event_ids))})",
            sorted(event_ids),
        )
        return {row[0]: row[1] for row in rows}

    async def notice_about(self, kind: str, event_id: int, telegram_id: int) -> Event | None:
        """The event a queued notice is about, while the notice still applies; None drops it:
        the event is gone; it was cancelled (but for the notice that says so); or, for a
        reminder, it has started or the person is no longer registered."""
        try:
            event = await self.get(event_id)
        except NotFound:
            return None
        if kind == CANCELLED:
            return event
        if event.cancelled:
            return None
        if kind == REMINDER and (
            self.clock() >= event.starts_at
            or await self.status_of(event.id, telegram_id) != RegistrationStatus.REGISTERED
        ):
            return None
        return event

    async def managed_ids(self, actor_id: int) -> list[int]:
        """Every event the actor's towns held or hold (every event, for the network)."""
        roles = await self._authz.require_coordinator(actor_id)
        rows = await self._db.fetchall("SELECT id, scope, town_id FROM events")
        return [row[0] for row in rows if _manages(roles, Scope(row[1]), row[2])]

    # After an event ----------------------------------------------------------------------------

    def after_event(self, follower: Follower) -> None:
        """Call ``follower`` once for each event, an hour after it ended."""
        self._followers.append(follower)

    async def follow_up_due(self, now: datetime) -> int:
        """Hand the events that ended an hour ago to their followers, once each: marked
        followed up in the same change, so no restart or second pass repeats it."""
        window = (to_db_time(now - FOLLOW_UP_WITHIN), to_db_time(now - FOLLOW_UP_AFTER))
        # Most seconds no event is due: a plain read says so; the change reads again.
        if not self._followers or not await self._db.fetchval(
            f"SELECT EXISTS (SELECT 1{_TO_FOLLOW_UP})", window
        ):
            return 0
        async with self._db.transaction() as tx:
            events = [
                _event(row)
                for row in await tx.fetchall(
                    EVENT_COLUMNS + _TO_FOLLOW_UP + " ORDER BY e.ends_at LIMIT 20", window
                )
            ]
            for event in events:
                attendees = await tx.fetchall(
                    "SELECT telegram_id FROM registrations WHERE event_id = ?"
                    " AND checked_in_at IS NOT NULL ORDER BY seq",
                    (event.id,),
                )
                for follower in self._followers:
                    await follower(tx, event, [row[0] for row in attendees])
            tx.defer_many(
                "UPDATE events SET followed_up_at = ? WHERE id = ?",
                [(to_db_time(now), event.id) for event in events],
            )
        return len(events)

    # Participants ---------------------------------------------------------------------------

    async def get(self, event_id: int) -> Event:
        row = await self._db.fetchone(EVENT_SELECT + " WHERE e.id = ?", (event_id,))
        if row is None:
            raise NotFound(N_("That event does not exist (any more)."))
        return _event(row)

    async def upcoming(self, telegram_id: int, offset: int, limit: int) -> tuple[list[Event], int]:
        """Events not yet over: mine first, then my town's, then the rest, each by start.

        One statement. Each of the three groups walks the index in order of start and stops as
        soon as the page is full, so a page costs the same with ten events or a thousand.
        """
        mine = "id IN (SELECT event_id FROM registrations WHERE telegram_id = :person)"
        town = "town_id IS (SELECT town_id FROM people WHERE telegram_id = :person)"
        groups = (mine, f"{town} AND NOT {mine}", f"NOT ({town}) AND NOT {mine}")
        page = " UNION ALL ".join(
            f"SELECT * FROM (SELECT {rank} AS rank, id, starts_at FROM events"
            f" INDEXED BY events_upcoming WHERE status = 'scheduled' AND ends_at > :now"
            f" AND {condition} ORDER BY starts_at, id LIMIT :upto)"
            for rank, condition in enumerate(groups)
        )
        total = (
            "SELECT COUNT(*) FROM events INDEXED BY events_open"
            " WHERE status = 'scheduled' AND ends_at > :now"
        )
        params = {"now": to_db_time(self.clock()), "person": telegram_id}
        rows = await self._db.fetchall(
            EVENT_COLUMNS + f", ({total}) AS total FROM ({page}) page"
            " JOIN events e ON e.id = page.id LEFT JOIN towns t ON t.id = e.town_id"
            " ORDER BY page.rank, page.starts_at, page.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset, "upto": offset + limit},
        )
        if rows:
            return [_event(row) for row in rows], int(rows[0]["total"])
        return [], int(await self._db.fetchval(total, params))

    async def mine(self, telegram_id: int) -> list[tuple[Event, str]]:
        rows = await self._db.fetchall(
            EVENT_SELECT + ", registrations me WHERE me.event_id = e.id AND me.telegram_id = ?"
            " AND e.ends_at > ? ORDER BY e.starts_at",
            (telegram_id, to_db_time(self.clock())),
        )
        statuses = dict(
            (row[0], row[1])
            for row in await self._db.fetchall(
                "SELECT event_id, status FROM registrations WHERE telegram_id = ?", (telegram_id,)
            )
        )
        return [(_event(row), statuses[row["id"]]) for row in rows]

    async def attended(self, telegram_id: int) -> list[Event]:
        """The events the person was checked in at (for their certificate), oldest first."""
        rows = await self._db.fetchall(
            EVENT_SELECT + ", registrations me WHERE me.event_id = e.id AND me.telegram_id = ?"
            " AND me.checked_in_at IS NOT NULL ORDER BY e.starts_at",
            (telegram_id,),
        )
        return [_event(row) for row in rows]

    async def status_of(self, event_id: int, telegram_id: int) -> str | None:
        value = await self._db.fetchval(
            "SELECT status FROM registrations WHERE event_id = ? AND telegram_id = ?",
            (event_id, telegram_id),
        )
        return None if value is None else str(value)

    async def join(
        self, telegram_id: int, event_id: int, display_name: str, waitlist: bool = False
    ) -> Joined:
        """Take a seat; when none is left, join the waitlist only if asked to."""
        async with self._db.transaction() as tx:
            # The event, whether the person exists, and their place on it: one read.
            row = await tx.fetchone(
                EVENT_COLUMNS + ", (SELECT 1 FROM people WHERE telegram_id = :person) AS known,"
                " (SELECT status FROM registrations WHERE event_id = e.id"
                "  AND telegram_id = :person) AS current" + EVENT_FROM + " WHERE e.id = :event",
                {"person": telegram_id, "event": event_id},
            )
            if row is None:
                raise NotFound(N_("That event does not exist (any more)."))
            if not row["known"]:
                raise NotRegistered()
            event, current = _event(row), row["current"]
            if current == RegistrationStatus.REGISTERED:
                return Joined(Outcome.ALREADY_REGISTERED, event, current)
            if not event.is_open(self.clock()):
                return Joined(Outcome.CLOSED, event, current)
            has_seat = event.seats_left is None or event.seats_left > 0
            if current == RegistrationStatus.WAITLISTED and not has_seat:
                return Joined(Outcome.ALREADY_WAITLISTED, event, current)
            if not has_seat and not waitlist:
                return Joined(Outcome.FULL, event, current)
            status = RegistrationStatus.REGISTERED if has_seat else RegistrationStatus.WAITLISTED
            event = await self._register(
                tx,
                event,
                telegram_id,
                display_name[:64],
                status,
                replace_existing=current is not None,
                was_waitlisted=current == RegistrationStatus.WAITLISTED,
            )
            return Joined(Outcome.REGISTERED if has_seat else Outcome.WAITLISTED, event, status)

    async def leave(self, telegram_id: int, event_id: int) -> bool:
        """Give the seat (or the waitlist place) back; the first in line gets a freed seat."""
        async with self._db.transaction() as tx:
            event = await self._get_in(tx, event_id)
            status = await tx.fetchval(
                "SELECT status FROM registrations WHERE event_id = ? AND telegram_id = ?",
                (event_id, telegram_id),
            )
            if status is None:
                return False
            await tx.execute(
                "DELETE FROM registrations WHERE event_id = ? AND telegram_id = ?",
                (event_id, telegram_id),
            )
            await self._outbox.cancel(tx, event.subject, kind=REMINDER, chat_id=telegram_id)
            if status == RegistrationStatus.REGISTERED and not event.cancelled:
                await self._promote_from_waitlist(tx, event_id)
            return True

    async def check_in(
        self, telegram_id: int, event_id: int, code: str, display_name: str
    ) -> Outcome:
        """Scanned at the venue: mark present; someone not registered gets a free seat if any."""
        async with self._db.transaction() as tx:
            event = await self._get_in(tx, event_id)
            await self._require_person(tx, telegram_id)
            if not secrets.compare_digest(code, event.checkin_code):
                raise InvalidInput(N_("This check-in code is not valid for this event."))
            now = self.clock()
            if event.cancelled or not event.starts_at - CHECKIN_OPENS_BEFORE <= now < event.ends_at:
                raise InvalidInput(N_("Check-in for this event is not open now."))
            row = await tx.fetchone(
                "SELECT status, checked_in_at FROM registrations"
                " WHERE event_id = ? AND telegram_id = ?",
                (event_id, telegram_id),
            )
            if row is not None and row["checked_in_at"]:
                return Outcome.ALREADY_CHECKED_IN
            if row is None or row["status"] == RegistrationStatus.WAITLISTED:
                if event.seats_left is not None and event.seats_left <= 0:
                    return Outcome.FULL
                await self._register(
                    tx,
                    event,
                    telegram_id,
                    display_name[:64],
                    RegistrationStatus.REGISTERED,
                    replace_existing=row is not None,
                    was_waitlisted=row is not None,
                    reminders=False,
                )
            await tx.execute(
                "UPDATE registrations SET checked_in_at = ? WHERE event_id = ? AND telegram_id = ?",
                (to_db_time(now), event_id, telegram_id),
            )
            return Outcome.CHECKED_IN

    # The rules in one place -----------------------------------------------------------------

    async def _register(
        self,
        tx: Transaction,
        event: Event,
        telegram_id: int,
        display_name: str,
        status: RegistrationStatus,
        *,
        replace_existing: bool,
        was_waitlisted: bool,
        reminders: bool = True,
    ) -> Event:
        """Put the person on the event; returns the event with its counts as they now are."""
        seq = "(SELECT IFNULL(MAX(seq), 0) + 1 FROM registrations)"
        if replace_existing:
            tx.defer(
                f"UPDATE registrations SET status = ?, seq = {seq}"
                " WHERE event_id = ? AND telegram_id = ?",
                (status, event.id, telegram_id),
            )
        else:
            tx.defer(
                "INSERT INTO registrations (event_id, telegram_id, status, display_name, seq,"
                f" joined_at) VALUES (?, ?, ?, ?, {seq}, ?)",
                (event.id, telegram_id, status, display_name, to_db_time(self.clock())),
            )
        waitlisted = event.waitlisted - int(was_waitlisted)
        if status == RegistrationStatus.WAITLISTED:
            return replace(event, waitlisted=waitlisted + 1)
        event = replace(event, registered=event.registered + 1, waitlisted=waitlisted)
        if reminders:
            self._outbox.enqueue_all(tx, self._reminders(event, telegram_id))
        return await self._alert_fill(tx, event)

    async def _promote_from_waitlist(self, tx: Transaction, event_id: int) -> None:
        event = await self._get_in(tx, event_id)
        if event.seats_left is not None and event.seats_left <= 0:
            return
        first = await tx.fetchval(
            "SELECT telegram_id FROM registrations WHERE event_id = ? AND status = 'waitlisted'"
            " ORDER BY seq LIMIT 1",
            (event_id,),
        )
        if first is None:
            return
        await tx.execute(
            "UPDATE registrations SET status = 'registered' WHERE event_id = ? AND telegram_id = ?",
            (event_id, first),
        )
        event = replace(event, registered=event.registered + 1, waitlisted=event.waitlisted - 1)
        self._outbox.enqueue_all(
            tx,
            [
                *self._reminders(event, first),
                Queued(
                    first,
                    PROMOTED,
                    {"event_id": event_id},
                    subject=event.subject,
                    dedupe_key=f"promoted:{event_id}:{first}:{self.clock().timestamp()}",
                ),
            ],
        )
        await self._alert_fill(tx, event)

    def _reminders(self, event: Event, telegram_id: int) -> list[Queued]:
        """The person's reminders of the event; none for a moment already past."""
        now = self.clock()
        return [
            Queued(
                telegram_id,
                REMINDER,
                {"event_id": event.id, "minutes": minutes},
                not_before=at,
                expires_at=event.starts_at,
                subject=event.subject,
                dedupe_key=f"reminder:{event.id}:{telegram_id}:{minutes}:{to_db_time(at)}",
            )
            for minutes in event.reminder_minutes
            if (at := event.starts_at - timedelta(minutes=minutes)) > now
        ]

    async def _alert_fill(self, tx: Transaction, event: Event) -> Event:
        """Tell the coordinators when the event (with its current counts) crosses 50, 80, 100 %."""
        if event.capacity is None:
            return event
        percent = event.registered * 100 // event.capacity
        reached = max((t for t in FILL_THRESHOLDS if percent >= t), default=0)
        if reached <= event.fill_alerted:
            return event
        tx.defer("UPDATE events SET fill_alerted = ? WHERE id = ?", (reached, event.id))
        town = event.town_id if event.scope == Scope.LOCAL else None
        coordinators = await self._authz.coordinators_of(town, tx)
        self._outbox.enqueue_all(
            tx,
            [
                Queued(
                    coordinator,
                    FILL_ALERT,
                    {"event_id": event.id, "percent": reached},
                    subject=event.subject,
                    dedupe_key=f"fill:{event.id}:{reached}:{coordinator}",
                )
                for coordinator in coordinators
            ],
        )
        return replace(event, fill_alerted=reached)

    async def _people_on(self, tx: Transaction, event_id: int) -> list[tuple[int, str]]:
        rows = await tx.fetchall(
            "SELECT telegram_id, status FROM registrations WHERE event_id = ? ORDER BY seq",
            (event_id,),
        )
        return [(row[0], row[1]) for row in rows]

    async def _get_in(self, tx: Transaction, event_id: int) -> Event:
        row = await tx.fetchone(EVENT_SELECT + " WHERE e.id = ?", (event_id,))
        if row is None:
            raise NotFound(N_("That event does not exist (any more)."))
        return _event(row)

    async def _require_person(self, tx: Transaction, telegram_id: int) -> None:
        await people.require_known(tx, telegram_id)

    @staticmethod
    def _as_draft(event: Event, **changes: Any) -> EventDraft:
        draft = EventDraft(
            scope=event.scope,
            town_id=event.town_id,
            title=event.title,
            description=event.description,
            place=event.place,
            timezone=event.timezone,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            capacity=event.capacity,
            registration_deadline=event.registration_deadline,
            reminder_minutes=event.reminder_minutes,
        )
        return replace(draft, **changes)


DATE_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M")
DATE_TIME_EXAMPLE = "2026-12-05 18:30"


def parse_local_time(text: str, timezone: str, day_of: datetime | None = None) -> datetime:
    """A date and time as a coordinator types it, on the event's clock, as a UTC moment.

    With ``day_of``, a bare "HH:MM" means that day (an end time on the start's day). A time the
    spring clock change skips does not exist and is refused rather than silently shifted.
    """
    zone = ZoneInfo(timezone)
    cleaned = " ".join(text.split())
    naive: datetime | None = None
    for fmt in DATE_TIME_FORMATS:
        try:
            naive = datetime.strptime(cleaned, fmt)
            break
        except ValueError:
            continue
    if naive is None and day_of is not None:
        try:
            clock = datetime.strptime(cleaned, "%H:%M")
        except ValueError:
            clock = None
        if clock is not None:
            naive = datetime.combine(day_of.astimezone(zone).date(), clock.time())
    if naive is None:
        raise InvalidInput(
            N_("Please write the date and time like this: {example}"), example=DATE_TIME_EXAMPLE
        )
    local = naive.replace(tzinfo=zone)
    try:
        moment = local.astimezone(UTC)
    except OverflowError:  # year 1 on a clock east of UTC falls before the calendar begins
        raise InvalidInput(
            N_("Please write the date and time like this: {example}"), example=DATE_TIME_EXAMPLE
        ) from None
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        raise InvalidInput(
            N_(
                "{moment} does not exist in {timezone}: the clocks move forward that night. "
                "Please choose another time."
            ),
            moment=cleaned,
            timezone=timezone,
        )
    return moment
