"""Figures for the funder: participants, events and attendance, stories — network- or town-wide.

Only counts leave this module; the exports carry no personal data beyond what a report needs
(no Telegram ids, no names, no message text).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.db import Database, to_db_time
from bot.errors import NotAllowed
from bot.people import DESCRIPTIONS_IN_FIGURES
from bot.roles import Authorizer, Roles

DESCRIPTIONS = DESCRIPTIONS_IN_FIGURES


@dataclass(frozen=True)
class TownFigures:
    town: str  # "" for people who chose no partner town
    by_description: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_description.values())


@dataclass(frozen=True)
class EventFigures:
    title: str
    town: str
    starts_at: str
    registered: int
    present: int


@dataclass(frozen=True)
class Figures:
    network: bool
    towns: list[TownFigures]
    new_per_week: list[tuple[str, int]]
    events: list[EventFigures]
    stories: dict[str, int]
    # Ballots per round: counts only, network-wide (votes carry no town).
    votes: list[tuple[str, int]]


class StatsService:
    def __init__(self, db: Database, authz: Authorizer, clock: Clock) -> None:
        self._db = db
        self._authz = authz
        self._clock = clock

    async def _scope(self, actor_id: int) -> tuple[Roles, str, list[Any]]:
        """SQL limiting people to the actor's towns, unless they see the whole network."""
        roles = await self._authz.roles_of(actor_id)
        if roles.sees_network:
            return roles, "1", []
        if not roles.coordinator_towns:
            raise NotAllowed()
        towns = sorted(roles.coordinator_towns)
        return roles, f"p.town_id IN ({', '.join('?' for _ in towns)})", towns

    async def figures(self, actor_id: int) -> Figures:
        roles, where, params = await self._scope(actor_id)
        network = roles.sees_network
        rows = await self._db.fetchall(
            "SELECT IFNULL(t.name, '') AS town, IFNULL(p.self_description, '') AS d,"
            f" COUNT(*) AS n FROM people p LEFT JOIN towns t ON t.id = p.town_id WHERE {where}"
            " GROUP BY town, d ORDER BY town",
            params,
        )
        towns: dict[str, dict[str, int]] = {}
        for row in rows:
            towns.setdefault(row["town"], dict.fromkeys(DESCRIPTIONS, 0))[row["d"]] = row["n"]
        weeks = await self._db.fetchall(
            "SELECT strftime('%Y-W%W', p.consented_at) AS week, COUNT(*) AS n FROM people p"
            f" WHERE {where} GROUP BY week ORDER BY week",
            params,
        )
        event_where = (
            "1"
            if network
            else (f"e.town_id IN ({', '.join('?' for _ in roles.coordinator_towns)})")
        )
        event_params = [] if network else sorted(roles.coordinator_towns)
        events = await self._db.fetchall(
            "SELECT e.title, IFNULL(t.name, '') AS town, e.starts_at,"
            " (SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id"
            "  AND r.status = 'registered') AS registered,"
            " (SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id"
            "  AND r.checked_in_at IS NOT NULL) AS present"
            " FROM events e LEFT JOIN towns t ON t.id = e.town_id"
            f" WHERE e.status = 'scheduled' AND {event_where} ORDER BY e.starts_at",
            event_params,
        )
        stories = await self._db.fetchall(
            "SELECT s.status, COUNT(*) AS n FROM stories s"
            " LEFT JOIN people p ON p.telegram_id = s.author_id"
            f" WHERE ({where} OR s.author_id IS NULL AND {int(network)})"
            " GROUP BY s.status",
            params,
        )
        rounds = await self._db.fetchall(
            "SELECT r.title, IFNULL(SUM(c.n), 0) AS n FROM rounds r"
            " LEFT JOIN ballot_counts c ON c.round_id = r.id GROUP BY r.id ORDER BY r.id"
        )
        return Figures(
            network=network,
            towns=[TownFigures(town, counts) for town, counts in towns.items()],
            new_per_week=[(row["week"], row["n"]) for row in weeks],
            events=[
                EventFigures(
                    row["title"], row["town"], row["starts_at"], row["registered"], row["present"]
                )
                for row in events
            ],
            stories={row["status"]: row["n"] for row in stories},
            votes=[(row["title"], row["n"]) for row in rounds] if network else [],
        )

    async def export(self, actor_id: int) -> dict[str, bytes]:
        """The funder's CSV files, within the actor's scope."""
        figures = await self.figures(actor_id)
        now = to_db_time(self._clock())
        held = [e for e in figures.events if e.starts_at <= now]
        return {
            "participants-by-town.csv": _csv(
                ["town", "residents", "newcomers_or_migrants", "not_said", "not_answered", "total"],
                [
                    [t.town, *(t.by_description[d] for d in DESCRIPTIONS), t.total]
                    for t in figures.towns
                ],
            ),
            "attendance-by-event.csv": _csv(
                ["event", "town", "starts_at_utc", "registered", "present"],
                [[e.title, e.town, e.starts_at, e.registered, e.present] for e in figures.events],
            ),
            "events-held.csv": _csv(
                ["event", "town", "starts_at_utc", "present"],
                [[e.title, e.town, e.starts_at, e.present] for e in held],
            ),
        }


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()
