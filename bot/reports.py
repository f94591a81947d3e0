"""The funder's report for a period: one PDF and its CSV files, within the coordinator's scope.

Three layers, so that the slow parts never run on the event loop:

- ``ReportService.figures`` reads the counts (a few short, grouped queries; only counts and the
  titles of events and rounds leave the database: no ids, no names, no texts people wrote);
- ``document`` turns them into the reader's words: sections with a summary, a table, a CSV and
  a chart, dates by Babel (cheap, on the event loop);
- ``draw_charts`` and ``write_files`` draw the charts (matplotlib) and write the PDF and the
  zip of CSVs; they take and return plain data and run in a worker process (``Worker``), so
  other people's taps are not slowed down by the report.

Other features add their own part of the report through ``ReportService.extra_sections`` (the
attitude pulse will be one): an ``ExtraSection`` reads its figures within the same scope and
period and returns a ``Section`` in the reader's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import multiprocessing
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton

from bot.clock import Clock
from bot.db import Database, from_db_time, to_db_time
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import N_, Catalogs, Translator
from bot.people import DESCRIPTION_OF_GROUP, DESCRIPTIONS_IN_FIGURES
from bot.roles import Authorizer

MAX_YEARS = 3
CHUNK = 10_000  # people per query: a few milliseconds each
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
DESCRIPTIONS = DESCRIPTIONS_IN_FIGURES
USAGE = N_(
    "Usage: /report FROM TO, with the dates as YYYY-MM-DD, for example "
    "/report 2026-01-01 2026-06-30. The report covers both days."
)
T = TypeVar("T")


# The period -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From ``first`` to ``last``, both days included, on the network's clock."""

    first: date
    last: date
    timezone: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(0), ZoneInfo(self.timezone))

    @property
    def bounds(self) -> tuple[str, str]:
        """The period as database times: start included, end excluded."""
        return to_db_time(self.start), to_db_time(self.end)

    def months(self) -> list[date]:
        """The first day of every month the period touches."""
        months, month = [], self.first.replace(day=1)
        while month <= self.last:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months


def parse_period(args: Sequence[str], timezone: str) -> Period:
    """``FROM TO`` as typed after /report; a clear refusal for anything else."""
    if len(args) != 2:
        raise InvalidInput(USAGE)
    first, last = (_parse_date(arg) for arg in args)
    if first > last:
        raise InvalidInput(
            N_("The period starts after it ends: {first} is later than {last}."),
            first=first.isoformat(),
            last=last.isoformat(),
        )
    if last >= _add_years(first, MAX_YEARS):
        raise InvalidInput(
            N_("A report covers at most {years} years. Please choose a shorter period."),
            years=MAX_YEARS,
        )
    return Period(first, last, timezone)


def _parse_date(text: str) -> date:
    try:
        if not DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        shown = text if len(text) <= 20 else text[:19] + "…"
        raise InvalidInput(
            N_("“{text}” is not a date. Write it as YYYY-MM-DD, for example 2026-03-31."),
            # Sent as HTML: what the person typed comes back as typed.
            text=shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
        ) from None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# The figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose figures: the whole network, or the towns a coordinator coordinates."""

    network: bool
    town_ids: tuple[int, ...] = ()
    town_names: tuple[str, ...] = ()

    def where(self, column: str) -> tuple[str, list[Any]]:
        """SQL keeping rows whose ``column`` (a town id) is in the scope."""
        if self.network:
            return "1", []
        return f"{column} IN ({', '.join('?' for _ in self.town_ids)})", list(self.town_ids)


@dataclass(frozen=True)
class EventFigures:
    title: str
    international: bool
    town: str  # "" for an international event without a host town
    starts_at: datetime
    timezone: str
    registered: int
    present: int


@dataclass(frozen=True)
class TownParticipants:
    town: str  # "" for people who chose no partner town
    by_description: dict[str, int]  # at the end of the period
    joined: int  # of them, joined during the period

    @property
    def total(self) -> int:
        return sum(self.by_description.values())


@dataclass(frozen=True)
class TownAttendance:
    """People of a town at the events held in the period, wherever they were."""

    town: str
    registered: int
    present: int


@dataclass(frozen=True)
class MonthCounts:
    month: date
    submitted: int
    published: int


@dataclass(frozen=True)
class RoundFigures:
    title: str
    closed_at: datetime
    proposals: int
    ballots: int
    adopted: int  # supported by most of those who took a side

    @property
    def counts(self) -> tuple[int, int, int]:
        return self.proposals, self.ballots, self.adopted


@dataclass(frozen=True)
class Figures:
    period: Period
    scope: Scope
    made_at: datetime
    events: list[EventFigures]
    participants: list[TownParticipants]
    attendance: list[TownAttendance]
    stories: list[MonthCounts]
    proposals_submitted: int
    proposals_accepted: int
    rounds: list[RoundFigures]  # network-wide: ballots carry no town


class ExtraSection(Protocol):
    """A part of the report another feature adds (the attitude pulse will be one).

    It reads its own counts within ``scope`` and ``period`` (short queries; no personal data)
    and returns its section in the reader's language, or None to add nothing.
    """

    async def section(
        self, db: Database, scope: Scope, period: Period, tr: Translator
    ) -> Section | None: ...


class ReportService:
    def __init__(self, db: Database, authz: Authorizer, clock: Clock, timezone: str) -> None:
        self._db = db
        self._authz = authz
        self._clock = clock
        self.timezone = timezone
        # Added by other features, in order, after the report's own sections.
        self.extra_sections: list[ExtraSection] = []

    async def scope(self, actor_id: int) -> Scope:
        """The actor's scope; anyone but a coordinator or an admin is refused."""
        roles = await self._authz.roles_of(actor_id)
        if roles.sees_network:
            return Scope(network=True)
        if not roles.coordinator_towns:
            raise NotAllowed()
        ids = tuple(sorted(roles.coordinator_towns))
        rows = await self._db.fetchall(
            f"SELECT name FROM towns WHERE id IN ({', '.join('?' for _ in ids)}) ORDER BY name",
            ids,
        )
        return Scope(network=False, town_ids=ids, town_names=tuple(r["name"] for r in rows))

    def period(self, args: Sequence[str]) -> Period:
        return parse_period(args, self.timezone)

    async def figures(self, actor_id: int, period: Period) -> Figures:
        scope = await self.scope(actor_id)
        start, end = period.bounds
        now = self._clock()
        held_until = min(end, to_db_time(now))
        return Figures(
            period=period,
            scope=scope,
            made_at=now,
            events=await self._events(scope, start, held_until),
            participants=await self._participants(scope, start, end),
            attendance=await self._attendance(scope, start, held_until),
            stories=await self._stories(scope, period),
            **await self._proposals(scope, start, end),
            rounds=await self._rounds(start, end),
        )

    async def _events(self, scope: Scope, start: str, until: str) -> list[EventFigures]:
        """Events held in the period (started by now, not cancelled) in the scope's towns; an
        international event counts for its host town."""
        where, params = scope.where("e.town_id")
        rows = await self._db.fetchall(
            "SELECT e.title, e.scope, IFNULL(t.name, '') AS town, e.starts_at, e.timezone,"
            " (SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id"
            "  AND r.status = 'registered') AS registered,"
            " (SELECT COUNT(*) FROM registrations r WHERE r.event_id = e.id"
            "  AND r.checked_in_at IS NOT NULL) AS present"
            " FROM events e LEFT JOIN towns t ON t.id = e.town_id"
            " WHERE e.status = 'scheduled' AND e.starts_at >= ? AND e.starts_at < ?"
            f" AND {where} ORDER BY e.starts_at, e.id",
            [start, until, *params],
        )
        return [
            EventFigures(
                title=row["title"],
                international=row["scope"] == "international",
                town=row["town"],
                starts_at=from_db_time(row["starts_at"]),
                timezone=row["timezone"],
                registered=row["registered"],
                present=row["present"],
            )
            for row in rows
        ]

    async def _participants(self, scope: Scope, start: str, end: str) -> list[TownParticipants]:
        """Read in slices of ``CHUNK`` people, each a short query: the database's one
        connection serves everyone's taps in between."""
        where, params = scope.where("p.town_id")
        names = {r["id"]: r["name"] for r in await self._db.fetchall("SELECT id, name FROM towns")}
        towns: dict[str, tuple[dict[str, int], list[int]]] = {}
        after = None
        while True:
            rows = await self._db.fetchall(
                "SELECT p.town_id, IFNULL(p.self_description, '') AS d,"
                f" SUM(p.consented_at < ? AND {where}) AS n,"
                f" SUM(p.consented_at >= ? AND p.consented_at < ? AND {where}) AS joined,"
                " MAX(p.telegram_id) AS last, COUNT(*) AS seen"
                " FROM (SELECT telegram_id, town_id, self_description, consented_at FROM people"
                "  WHERE telegram_id > IFNULL(?, -9223372036854775808)"
                "  ORDER BY telegram_id LIMIT ?) p GROUP BY p.town_id, d",
                [end, *params, start, end, *params, after, CHUNK],
            )
            for row in rows:
                if row["n"]:
                    town = names.get(row["town_id"], "") if row["town_id"] is not None else ""
                    counts, joined = towns.setdefault(town, (dict.fromkeys(DESCRIPTIONS, 0), [0]))
                    counts[row["d"]] += row["n"]
                    joined[0] += row["joined"]
            if sum(row["seen"] for row in rows) < CHUNK:
                break
            after = max(row["last"] for row in rows)
        return [TownParticipants(town, c, j[0]) for town, (c, j) in sorted(towns.items())]

    async def _attendance(self, scope: Scope, start: str, until: str) -> list[TownAttendance]:
        where, params = scope.where("p.town_id")
        rows = await self._db.fetchall(
            "SELECT IFNULL(t.name, '') AS town,"
            " SUM(r.status = 'registered') AS registered,"
            " SUM(r.checked_in_at IS NOT NULL) AS present"
            " FROM registrations r JOIN events e ON e.id = r.event_id"
            " JOIN people p ON p.telegram_id = r.telegram_id"
            " LEFT JOIN towns t ON t.id = p.town_id"
            " WHERE e.status = 'scheduled' AND e.starts_at >= ? AND e.starts_at < ?"
            f" AND {where} GROUP BY town ORDER BY town",
            [start, until, *params],
        )
        return [TownAttendance(r["town"], r["registered"] or 0, r["present"] or 0) for r in rows]

    def _authors(self, scope: Scope) -> tuple[str, list[Any]]:
        """Stories and proposals by the scope's people; those without an author (erased, or
        added by a coordinator) belong to the network only."""
        where, params = scope.where("p.town_id")
        return f"({where} OR s.author_id IS NULL AND {int(scope.network)})", params

    async def _stories(self, scope: Scope, period: Period) -> list[MonthCounts]:
        start, end = period.bounds
        authors, params = self._authors(scope)
        counts: dict[date, list[int]] = {month: [0, 0] for month in period.months()}
        zone = ZoneInfo(period.timezone)
        # Counted by the hour in SQL, then put in the network's months here (few rows).
        for column, index, status in (
            ("submitted_at", 0, "s.submitted_at IS NOT NULL"),
            ("decided_at", 1, "s.status = 'approved'"),
        ):
            rows = await self._db.fetchall(
                f"SELECT substr(s.{column}, 1, 13) AS hour, COUNT(*) AS n FROM stories s"
                " LEFT JOIN people p ON p.telegram_id = s.author_id"
                f" WHERE {status} AND s.{column} >= ? AND s.{column} < ?"
                f" AND {authors} GROUP BY hour",
                [start, end, *params],
            )
            for row in rows:
                moment = datetime.strptime(row["hour"], "%Y-%m-%dT%H").replace(tzinfo=UTC)
                month = moment.astimezone(zone).date().replace(day=1)
                counts.setdefault(month, [0, 0])[index] += row["n"]
        return [MonthCounts(month, *counts[month]) for month in sorted(counts)]

    async def _proposals(self, scope: Scope, start: str, end: str) -> dict[str, int]:
        authors, params = self._authors(scope)
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS submitted, IFNULL(SUM(s.status = 'approved'), 0) AS accepted"
            " FROM proposals s LEFT JOIN people p ON p.telegram_id = s.author_id"
            f" WHERE s.submitted_at >= ? AND s.submitted_at < ? AND {authors}",
            [start, end, *params],
        )
        assert row is not None
        return {"proposals_submitted": row["submitted"], "proposals_accepted": row["accepted"]}

    async def _rounds(self, start: str, end: str) -> list[RoundFigures]:
        """Rounds closed in the period: proposals, ballots, and the proposals adopted."""
        rows = await self._db.fetchall(
            "SELECT r.title, IFNULL(r.closed_at, r.closes_at) AS closed,"
            " (SELECT COUNT(*) FROM round_proposals rp WHERE rp.round_id = r.id) AS proposals,"
            " (SELECT IFNULL(SUM(c.n), 0) FROM ballot_counts c WHERE c.round_id = r.id)"
            "  AS ballots,"
            " (SELECT COUNT(*) FROM (SELECT c.proposal_id FROM ballot_counts c"
            "   WHERE c.round_id = r.id GROUP BY c.proposal_id"
            "   HAVING SUM(CASE c.choice WHEN 'support' THEN c.n ELSE 0 END)"
            "        > SUM(CASE c.choice WHEN 'oppose' THEN c.n ELSE 0 END))) AS adopted"
            " FROM rounds r WHERE r.status = 'closed'"
            " AND IFNULL(r.closed_at, r.closes_at) >= ? AND IFNULL(r.closed_at, r.closes_at) < ?"
            " ORDER BY closed, r.id",
            (start, end),
        )
        return [
            RoundFigures(
                r["title"], from_db_time(r["closed"]), r["proposals"], r["ballots"], r["adopted"]
            )
            for r in rows
        ]

    async def document(self, actor_id: int, period: Period, tr: Translator) -> Document:
        """The whole report in the reader's language, ready for ``draw_charts``/``write_files``."""
        figures = await self.figures(actor_id, period)
        extra = [await s.section(self._db, figures.scope, period, tr) for s in self.extra_sections]
        return document(tr, figures, [s for s in extra if s is not None])


# The document -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """Bars per category; several series side by side, or stacked."""

    title: str
    categories: list[str]
    series: list[tuple[str, list[int]]]
    stacked: bool = False


@dataclass(frozen=True)
class Section:
    """One part of the report: what the PDF shows and what its CSV file holds."""

    name: str  # the CSV file's name without ".csv", in English: "events-held"
    title: str
    summary: list[str]
    header: list[str]
    rows: list[list[str]]  # as the PDF shows them (dates by Babel)
    csv_rows: list[list[str | int]]  # as the CSV holds them (ISO dates, plain numbers)
    chart: Chart | None = None


@dataclass(frozen=True)
class Document:
    language: str
    title: str
    intro: list[str]
    key_figures: list[list[str]]  # (what, how many)
    sections: list[Section] = field(default_factory=list)
    file_stem: str = "bashke-report"


def document(tr: Translator, f: Figures, extra: Sequence[Section] = ()) -> Document:
    period = f.period
    day = _day_formatter(tr)
    scope = (
        tr.gettext("The whole network")
        if f.scope.network
        else tr.gettext("Towns: {towns}").format(towns=", ".join(f.scope.town_names))
    )
    sections = [
        _events_section(tr, f),
        _participants_section(tr, f),
        _attendance_section(tr, f),
        _stories_section(tr, f),
        _votes_section(tr, f),
        *extra,
    ]
    local = sum(not e.international for e in f.events)
    registered, present = sum(e.registered for e in f.events), sum(e.present for e in f.events)
    stories = (sum(m.submitted for m in f.stories), sum(m.published for m in f.stories))
    key = [
        [tr.gettext("Events held"), str(len(f.events))],
        [tr.gettext("Local events"), str(local)],
        [tr.gettext("International events"), str(len(f.events) - local)],
        [tr.gettext("Participants at the end of the period"), str(_total(f))],
        [tr.gettext("Joined during the period"), str(sum(t.joined for t in f.participants))],
        [tr.gettext("Registered for the events held"), str(registered)],
        [tr.gettext("Present at the events held"), str(present)],
        [tr.gettext("Stories collected"), str(stories[0])],
        [tr.gettext("Stories published"), str(stories[1])],
        [tr.gettext("Proposals submitted"), str(f.proposals_submitted)],
        [tr.gettext("Votes closed"), str(len(f.rounds))],
        [tr.gettext("Ballots cast"), str(sum(r.ballots for r in f.rounds))],
        [tr.gettext("Proposals adopted"), str(sum(r.adopted for r in f.rounds))],
    ]
    return Document(
        language=tr.language,
        title=tr.gettext("Bashkë: report for the funder"),
        intro=[
            scope,
            tr.gettext("Period: {first} to {last}").format(
                first=day(period.first), last=day(period.last)
            ),
            tr.gettext("Made on {date}. Only counts: no names, no messages.").format(
                date=day(f.made_at.astimezone(ZoneInfo(period.timezone)).date())
            ),
        ],
        key_figures=key,
        sections=sections,
        file_stem=f"bashke-report-{period.first.isoformat()}-{period.last.isoformat()}",
    )


def _day_formatter(tr: Translator) -> Callable[[date], str]:
    def day(value: date) -> str:
        return str(format_date(value, "long", locale=tr.locale))

    return day


def _month(tr: Translator, month: date) -> str:
    return str(format_skeleton("yMMM", datetime.combine(month, time(12)), locale=tr.locale))


def _total(f: Figures) -> int:
    return sum(t.total for t in f.participants)


def _town(tr: Translator, name: str) -> str:
    return name or tr.gettext("Another town / none of these")


def _events_section(tr: Translator, f: Figures) -> Section:
    local_word, international_word = tr.gettext("local"), tr.gettext("international")
    rows: list[list[str]] = []
    csv_rows: list[list[str | int]] = []
    for e in f.events:
        kind = international_word if e.international else local_word
        town = e.town or "—"
        shown = format_date(
            e.starts_at.astimezone(ZoneInfo(e.timezone)), "medium", locale=tr.locale
        )
        rows.append([e.title, kind, town, str(shown), str(e.registered), str(e.present)])
        local_day = e.starts_at.astimezone(ZoneInfo(e.timezone)).date().isoformat()
        csv_rows.append([e.title, kind, e.town, local_day, e.registered, e.present])
    months = f.period.months()
    per_month = {m: [0, 0] for m in months}
    zone = ZoneInfo(f.period.timezone)
    for e in f.events:
        month = e.starts_at.astimezone(zone).date().replace(day=1)
        per_month.setdefault(month, [0, 0])[int(e.international)] += 1
    local = sum(not e.international for e in f.events)
    return Section(
        name="events-held",
        title=tr.gettext("Events held"),
        summary=[
            tr.ngettext(
                "{count} event held: {local} local, {international} international.",
                "{count} events held: {local} local, {international} international.",
                len(f.events),
            ).format(count=len(f.events), local=local, international=len(f.events) - local)
        ],
        header=[
            tr.gettext("Event"),
            tr.gettext("Kind"),
            tr.gettext("Town"),
            tr.gettext("Date"),
            tr.gettext("Registered"),
            tr.gettext("Present"),
        ],
        rows=rows,
        csv_rows=csv_rows,
        chart=Chart(
            tr.gettext("Events held per month"),
            [_month(tr, m) for m in sorted(per_month)],
            [
                (tr.gettext("Local events"), [per_month[m][0] for m in sorted(per_month)]),
                (tr.gettext("International events"), [per_month[m][1] for m in sorted(per_month)]),
            ],
            stacked=True,
        )
        if f.events
        else None,
    )


def _participants_section(tr: Translator, f: Figures) -> Section:
    labels = [tr.gettext(DESCRIPTION_OF_GROUP[d]) for d in DESCRIPTIONS]
    rows: list[list[str | int]] = [
        [_town(tr, t.town), *(t.by_description[d] for d in DESCRIPTIONS), t.total, t.joined]
        for t in f.participants
    ]
    total, joined = _total(f), sum(t.joined for t in f.participants)
    return Section(
        name="participants",
        title=tr.gettext("Participants by town and self-description"),
        summary=[
            tr.ngettext(
                "{count} participant at the end of the period; {joined} joined during it.",
                "{count} participants at the end of the period; {joined} joined during it.",
                total,
            ).format(count=total, joined=joined)
        ],
        header=[tr.gettext("Town"), *labels, tr.gettext("Total"), tr.gettext("Joined")],
        rows=[[str(cell) for cell in row] for row in rows],
        csv_rows=rows,
        chart=Chart(
            tr.gettext("Participants by town"),
            [_town(tr, t.town) for t in f.participants],
            [
                (label, [t.by_description[d] for t in f.participants])
                for label, d in zip(labels, DESCRIPTIONS, strict=True)
            ],
            stacked=True,
        )
        if f.participants
        else None,
    )


def _share(present: int, registered: int) -> str:
    return f"{round(100 * present / registered)}%" if registered else "—"


def _attendance_section(tr: Translator, f: Figures) -> Section:
    registered, present = sum(e.registered for e in f.events), sum(e.present for e in f.events)
    rows: list[list[str | int]] = [
        [_town(tr, a.town), a.registered, a.present, _share(a.present, a.registered)]
        for a in f.attendance
    ]
    return Section(
        name="attendance-by-town",
        title=tr.gettext("Attendance: registered and present"),
        summary=[
            tr.gettext(
                "At the events held: {present} of {registered} registered people came ({share})."
            ).format(present=present, registered=registered, share=_share(present, registered)),
            tr.gettext(
                "By town of the participants, at every event held in the period"
                " (per event: see “Events held”)."
            ),
        ],
        header=[tr.gettext("Town"), tr.gettext("Registered"), tr.gettext("Present"), "%"],
        rows=[[str(cell) for cell in row] for row in rows],
        csv_rows=rows,
        chart=Chart(
            tr.gettext("Registered and present, by town"),
            [_town(tr, a.town) for a in f.attendance],
            [
                (tr.gettext("Registered"), [a.registered for a in f.attendance]),
                (tr.gettext("Present"), [a.present for a in f.attendance]),
            ],
        )
        if f.attendance
        else None,
    )


def _stories_section(tr: Translator, f: Figures) -> Section:
    submitted, published = sum(m.submitted for m in f.stories), sum(m.published for m in f.stories)
    rows: list[list[str]] = [
        [_month(tr, m.month), str(m.submitted), str(m.published)] for m in f.stories
    ]
    return Section(
        name="stories",
        title=tr.gettext("Stories collected and published"),
        summary=[
            tr.gettext("{submitted} stories collected, {published} published.").format(
                submitted=submitted, published=published
            )
        ],
        header=[tr.gettext("Month"), tr.gettext("Collected"), tr.gettext("Published")],
        rows=rows,
        csv_rows=[[m.month.strftime("%Y-%m"), m.submitted, m.published] for m in f.stories],
        chart=Chart(
            tr.gettext("Stories per month"),
            [row[0] for row in rows],
            [
                (tr.gettext("Collected"), [m.submitted for m in f.stories]),
                (tr.gettext("Published"), [m.published for m in f.stories]),
            ],
        )
        if submitted or published
        else None,
    )


def _votes_section(tr: Translator, f: Figures) -> Section:
    day = _day_formatter(tr)
    zone = ZoneInfo(f.period.timezone)
    summary = [
        tr.gettext(
            "{submitted} proposals submitted in the period, {accepted} of them accepted for a vote."
        ).format(submitted=f.proposals_submitted, accepted=f.proposals_accepted),
        tr.gettext(
            "{rounds} votes closed, {ballots} ballots cast, {adopted} proposals adopted."
        ).format(
            rounds=len(f.rounds),
            ballots=sum(r.ballots for r in f.rounds),
            adopted=sum(r.adopted for r in f.rounds),
        ),
    ]
    if not f.scope.network:
        summary.append(
            tr.gettext("Ballots are secret and carry no town: the votes are the whole network's.")
        )
    return Section(
        name="votes",
        title=tr.gettext("Proposals and votes"),
        summary=summary,
        header=[
            tr.gettext("Vote"),
            tr.gettext("Closed"),
            tr.gettext("Proposals"),
            tr.gettext("Ballots"),
            tr.gettext("Adopted"),
        ],
        rows=[
            [
                r.title,
                day(r.closed_at.astimezone(zone).date()),
                str(r.proposals),
                str(r.ballots),
                str(r.adopted),
            ]
            for r in f.rounds
        ],
        csv_rows=[
            [r.title, r.closed_at.astimezone(zone).date().isoformat(), *r.counts] for r in f.rounds
        ],
        chart=Chart(
            tr.gettext("Ballots per vote"),
            [r.title for r in f.rounds],
            [(tr.gettext("Ballots"), [r.ballots for r in f.rounds])],
        )
        if f.rounds
        else None,
    )


# The files: in a worker process -----------------------------------------------------------------


def draw_charts(charts: Sequence[Chart | None]) -> list[bytes | None]:
    """Each section's chart as a PNG (matplotlib: CPU-heavy, run it in the ``Worker``)."""
    from bot import charts as drawing

    return [
        None
        if chart is None
        else drawing.count_bars(chart.title, chart.categories, chart.series, chart.stacked)
        for chart in charts
    ]


def write_files(doc: Document, images: Sequence[bytes | None]) -> tuple[bytes, bytes]:
    """The PDF and the zip of CSV files (run it in the ``Worker``)."""
    return write_pdf(doc, images), write_csvs(doc)


def write_pdf(doc: Document, images: Sequence[bytes | None]) -> bytes:
    from bot.pdf import Pdf

    tr = Catalogs(languages=(doc.language,)).translator(doc.language)
    pdf = Pdf(doc.language, doc.title)
    pdf.heading(doc.title, level=1)
    for line in doc.intro:
        pdf.paragraph(line)
    pdf.table([tr.gettext("Figure"), tr.gettext("Count")], doc.key_figures)
    for section, image in zip(doc.sections, images, strict=True):
        pdf.heading(section.title, level=2)
        for line in section.summary:
            pdf.paragraph(line)
        if image is not None:
            pdf.image(image)
        if section.rows:
            pdf.table(section.header, section.rows)
        else:
            pdf.paragraph(tr.gettext("Nothing in this period."))
    output: bytes = pdf.output()
    return output


def write_csvs(doc: Document) -> bytes:
    """One CSV per section in a zip; UTF-8 with a byte order mark, so spreadsheets read every
    language's letters."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for section in doc.sections:
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(section.header)
            writer.writerows(section.csv_rows)
            archive.writestr(
                f"{doc.file_stem}-{section.name}.csv", text.getvalue().encode("utf-8-sig")
            )
    return buffer.getvalue()


def _background() -> None:
    """The worker yields the processor to the bot when both want it: people wait, a report can."""
    with contextlib.suppress(OSError):
        os.nice(10)


class Worker:
    """One process for a report's CPU-heavy steps, so they run beside the event loop, not on it
    (a thread would hold the interpreter's lock while matplotlib draws). Started fresh for each
    report ("spawn": no copy of the bot's threads or open database) and gone after it."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def __aenter__(self) -> Worker:
        self._pool = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_background
        )
        return self

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        assert self._pool is not None
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)

    async def __aexit__(self, *exc: object) -> None:
        if self._pool is not None:
            await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)
            self._pool = None
