"""Announcements: a coordinator's message, in each person's language, to the right audience.

Delivery is the outbox's: one row per recipient with subject "broadcast:<id>", so the pace,
``retry_after``, blocked people and restarts are handled there, and the rows' statuses are the
broadcast's progress. The audience is read inside the transaction that queues it: someone who
erased themselves a moment before is not on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot import audit, people
from bot.clock import Clock
from bot.db import Database, Transaction, from_db_time, to_db_time
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.events import EventService
from bot.i18n import LANGUAGES, N_
from bot.outbox import Outbox
from bot.roles import Authorizer, Role, Roles
from bot.text import visible_units, whole_number

KIND = "broadcast"
# Telegram's limits: 4096 characters for a message, 1024 for a photo's caption.
MAX_TEXT = 4096
MAX_CAPTION = 1024


class AudienceKind(StrEnum):
    EVERYONE = "everyone"
    TOWN = "town"
    LANGUAGE = "language"
    EVENT = "event"
    ROLE = "role"


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    value: str | None = None


@dataclass(frozen=True)
class BroadcastDraft:
    text: str
    audience: Audience
    versions: dict[str, str] = field(default_factory=dict)
    photo_file_id: str | None = None
    send_at: datetime | None = None


@dataclass(frozen=True)
class Broadcast:
    id: int
    created_by: int
    text: str
    versions: dict[str, str]
    photo_file_id: str | None
    audience: Audience
    recipients: int
    send_at: datetime
    cancelled: bool

    @property
    def subject(self) -> str:
        return f"broadcast:{self.id}"

    def text_for(self, language: str | None) -> str:
        return self.versions.get(language or "", self.text)


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=row["id"],
        created_by=row["created_by"],
        text=row["text"],
        versions=json.loads(row["versions"]),
        photo_file_id=row["photo_file_id"],
        audience=Audience(AudienceKind(row["audience_kind"]), row["audience_value"]),
        recipients=row["recipients"],
        send_at=from_db_time(row["send_at"]),
        cancelled=row["cancelled_at"] is not None,
    )


def check_text(text: str, photo: bool) -> str:
    limit = MAX_CAPTION if photo else MAX_TEXT
    body = text.strip()
    if not body:
        raise InvalidInput(N_("This cannot be empty. Please write it again."))
    if visible_units(body) > limit:
        raise InvalidInput(
            N_("That is too long for Telegram: at most {limit} characters. Please shorten it."),
            limit=limit,
        )
    return body


class BroadcastService:
    def __init__(
        self, db: Database, authz: Authorizer, outbox: Outbox, events: EventService, clock: Clock
    ) -> None:
        self._db = db
        self._authz = authz
        self._outbox = outbox
        self._events = events
        outbox.declare(KIND)
        self._clock = clock

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: their announcements stay (the outbox forgets their own rows), unnamed."""
        tx.defer("UPDATE broadcasts SET created_by = 0 WHERE created_by = ?", (telegram_id,))
        return False

    async def _coordinator(self, actor_id: int, tx: Transaction | None = None) -> Roles:
        roles = await self._authz.require_coordinator(actor_id, tx)
        return roles

    async def recipients(
        self, actor_id: int, audience: Audience, tx: Transaction | None = None
    ) -> list[int]:
        """Who an audience reaches, within what the actor may reach; blocked people left out.

        A town coordinator reaches the people of their towns only (and the people registered
        for an event they manage); the whole network and the staff roles need the network.
        """
        roles = await self._coordinator(actor_id, tx)
        network = roles.sees_network
        kind, value = audience.kind, audience.value
        towns: list[int] | None = None if network else sorted(roles.coordinator_towns)
        if kind is AudienceKind.EVERYONE and not network:
            raise NotAllowed()
        if kind is AudienceKind.TOWN:
            town_id = _int(value)
            if not network and town_id not in roles.coordinator_towns:
                raise NotAllowed()
            return await people.reachable(tx or self._db, town_ids=[town_id])
        if kind is AudienceKind.LANGUAGE:
            if value not in LANGUAGES:
                raise InvalidInput(N_("I do not know that language."))
            return await people.reachable(tx or self._db, town_ids=towns, language=value)
        if kind is AudienceKind.EVENT:
            event = await self._events.event_in(tx, _int(value))
            if not network and (
                event.scope != "local" or event.town_id not in roles.coordinator_towns
            ):
                raise NotAllowed()
            # Everyone on an event they manage, wherever they live.
            registered = await self._events.registered_ids(event.id, tx)
            return await people.reachable(tx or self._db, among=registered)
        if kind is AudienceKind.ROLE:
            if not network:
                raise NotAllowed()
            if value not in (Role.MODERATOR, Role.COORDINATOR):
                raise InvalidInput()
            holders = await self._authz.holders_of(Role(value), tx)
            return await people.reachable(tx or self._db, among=holders)
        return await people.reachable(tx or self._db, town_ids=towns)

    async def create(self, actor_id: int, draft: BroadcastDraft) -> Broadcast:
        photo = draft.photo_file_id is not None
        text = check_text(draft.text, photo)
        versions = {}
        for language, version in draft.versions.items():
            if language not in LANGUAGES:
                raise InvalidInput(N_("I do not know that language."))
            versions[language] = check_text(version, photo)
        now = self._clock()
        send_at = draft.send_at or now
        if send_at < now:
            raise InvalidInput(N_("The start is in the past. Please give a future date and time."))
        async with self._db.transaction() as tx:
            people = await self.recipients(actor_id, draft.audience, tx)
            if not people:
                raise InvalidInput(N_("No one is in that audience yet. Nothing was sent."))
            broadcast_id = await tx.insert(
                "INSERT INTO broadcasts (created_by, text, versions, photo_file_id,"
                " audience_kind, audience_value, recipients, send_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    actor_id,
                    text,
                    json.dumps(versions, ensure_ascii=False),
                    draft.photo_file_id,
                    draft.audience.kind.value,
                    draft.audience.value,
                    len(people),
                    to_db_time(send_at),
                    to_db_time(now),
                ),
            )
            self._outbox.enqueue_many(
                tx,
                people,
                KIND,
                {"broadcast_id": broadcast_id},
                not_before=send_at,
                subject=f"broadcast:{broadcast_id}",
            )
            audit.record(
                tx,
                actor_id,
                "broadcast",
                f"broadcast:{broadcast_id}",
                f"{draft.audience.kind.value}:{draft.audience.value or ''}",
            )
        return await self.get(broadcast_id)

    async def get(self, broadcast_id: int, tx: Transaction | None = None) -> Broadcast:
        row = await (tx or self._db).fetchone(
            "SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        if row is None:
            raise NotFound(N_("That announcement does not exist."))
        return _broadcast(row)

    async def progress(
        self, actor_id: int, limit: int = 5
    ) -> list[tuple[Broadcast, dict[str, int]]]:
        """The latest announcements the actor may see, with their delivery counts."""
        roles = await self._coordinator(actor_id)
        network = roles.sees_network
        rows = await self._db.fetchall(
            "SELECT * FROM broadcasts WHERE ? OR created_by = ? ORDER BY id DESC LIMIT ?",
            (int(network), actor_id, limit),
        )
        result = []
        for row in rows:
            broadcast = _broadcast(row)
            result.append((broadcast, await self._outbox.counts(broadcast.subject)))
        return result

    async def cancel(self, actor_id: int, broadcast_id: int) -> int:
        """Stop what has not gone out yet; return how many messages were withdrawn."""
        async with self._db.transaction() as tx:
            roles = await self._coordinator(actor_id, tx)
            broadcast = await self.get(broadcast_id, tx)
            if broadcast.created_by != actor_id and not roles.sees_network:
                raise NotAllowed()
            tx.defer(
                "UPDATE broadcasts SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL",
                (to_db_time(self._clock()), broadcast_id),
            )
            withdrawn = await self._outbox.cancel(tx, broadcast.subject)
            audit.record(tx, actor_id, "cancel_broadcast", broadcast.subject)
        return withdrawn


def _int(value: str | None) -> int:
    number = whole_number(value, 0, 2**63 - 1)
    if number is None:
        raise InvalidInput()
    return number
