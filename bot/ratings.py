"""Rating an event afterwards: 1 to 5 stars and, if the person wants, one sentence.

Everyone checked in at an event is asked once, an hour after it ends (the events service's
follow-up, ``EventService.after_event``); the request is a row here, written in the same change
that queues it, so no restart asks twice. Only the people asked can rate, once each (a second
tap changes their rating). Coordinators see the average and the count for their events, and
the figures for their towns; an average of fewer than ``SMALL_GROUP`` ratings is not shown, so
that a coordinator who knows who came cannot read one person's stars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.db import Database, Transaction, to_db_time
from bot.disclosure import SMALL_GROUP
from bot.errors import InvalidInput, NotFound
from bot.events import Event, EventService
from bot.i18n import N_
from bot.outbox import Outbox, Queued
from bot.roles import Authorizer
from bot.text import utf16_units

REQUEST = "rating_request"
MAX_COMMENT = 300


class NotAsked(NotFound):
    default_message = N_("Only the people who came to this event can rate it.")


@dataclass(frozen=True)
class Summary:
    """The ratings of an event (or of many): how many, and their average when it may be shown."""

    count: int
    average: float | None  # None below SMALL_GROUP ratings

    @classmethod
    def of(cls, count: int, total: int) -> Summary:
        return cls(count, round(total / count, 1) if count >= SMALL_GROUP else None)


class RatingService:
    def __init__(
        self, db: Database, authz: Authorizer, outbox: Outbox, events: EventService, clock: Clock
    ) -> None:
        self._db = db
        self._authz = authz
        self._outbox = outbox
        self._events = events
        self._clock = clock
        outbox.declare(REQUEST)
        events.after_event(self._ask)

    async def _ask(self, tx: Transaction, event: Event, attendees: list[int]) -> None:
        """An hour after the event: one request to each person checked in there."""
        now = to_db_time(self._clock())
        tx.defer_many(
            "INSERT OR IGNORE INTO ratings (event_id, telegram_id, asked_at) VALUES (?, ?, ?)",
            [(event.id, person, now) for person in attendees],
        )
        self._outbox.enqueue_all(
            tx,
            [
                Queued(
                    person,
                    REQUEST,
                    {"event_id": event.id},
                    subject=event.subject,
                    dedupe_key=f"rating:{event.id}:{person}",
                )
                for person in attendees
            ],
        )

    async def wanted(self, telegram_id: int, event_id: int) -> Event | None:
        """The event a request is about, while it still waits for a rating (else None: the
        request is dropped, not sent)."""
        unrated = await self._db.fetchval(
            "SELECT 1 FROM ratings WHERE event_id = ? AND telegram_id = ? AND stars IS NULL",
            (event_id, telegram_id),
        )
        if not unrated:
            return None
        try:
            return await self._events.get(event_id)
        except NotFound:
            return None

    async def rate(self, telegram_id: int, event_id: int, stars: int) -> Event:
        """The person's stars for an event they were asked about; a new tap changes them."""
        if not 1 <= stars <= 5:
            raise InvalidInput(N_("Please choose from 1 to 5 stars."))
        changed = await self._db.execute(
            "UPDATE ratings SET stars = ?, rated_at = ? WHERE event_id = ? AND telegram_id = ?",
            (stars, to_db_time(self._clock()), event_id, telegram_id),
        )
        if not changed:
            raise NotAsked()
        return await self._events.get(event_id)

    async def comment(self, telegram_id: int, event_id: int, text: str) -> None:
        """One sentence about the event, after the stars."""
        sentence = " ".join(text.split())  # one line, however it was typed
        if not sentence:
            raise InvalidInput(N_("Please write a sentence, or tap Skip."))
        if utf16_units(sentence) > MAX_COMMENT:
            raise InvalidInput(
                N_("Please keep it to one sentence of at most {limit} characters."),
                limit=MAX_COMMENT,
            )
        changed = await self._db.execute(
            "UPDATE ratings SET comment = ? WHERE event_id = ? AND telegram_id = ?"
            " AND stars IS NOT NULL",
            (sentence, event_id, telegram_id),
        )
        if not changed:
            raise NotAsked()

    # What coordinators see --------------------------------------------------------------------

    async def of_event(self, actor_id: int, event_id: int) -> tuple[Summary, list[str]]:
        """The event's ratings and its sentences (newest first, without names), for those who
        manage it."""
        await self._events.managed_event(actor_id, event_id)
        row = await self._db.fetchone(
            "SELECT COUNT(stars), IFNULL(SUM(stars), 0) FROM ratings WHERE event_id = ?",
            (event_id,),
        )
        assert row is not None
        summary = Summary.of(row[0], row[1])
        if summary.average is None:
            return summary, []
        comments = await self._db.fetchall(
            "SELECT comment FROM ratings WHERE event_id = ? AND comment IS NOT NULL"
            " ORDER BY rated_at DESC LIMIT 5",
            (event_id,),
        )
        return summary, [c[0] for c in comments]

    async def overall(self, actor_id: int) -> Summary:
        """Every rating of the events the actor's towns held (all of them, for the network)."""
        event_ids = await self._events.managed_ids(actor_id)
        if not event_ids:
            return Summary(0, None)
        row = await self._db.fetchone(
            "SELECT COUNT(stars), IFNULL(SUM(stars), 0) FROM ratings"
            f" WHERE event_id IN ({','.join('?' * len(event_ids))})",
            event_ids,
        )
        assert row is not None
        return Summary.of(row[0], row[1])

    # The person's own data ---------------------------------------------------------------------

    async def export(self, telegram_id: int) -> dict[str, Any]:
        rows = await self._db.fetchall(
            "SELECT event_id, stars, comment, asked_at, rated_at FROM ratings"
            " WHERE telegram_id = ? ORDER BY asked_at",
            (telegram_id,),
        )
        return {"event_ratings": [dict(row) for row in rows]}

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        return bool(await tx.execute("DELETE FROM ratings WHERE telegram_id = ?", (telegram_id,)))
