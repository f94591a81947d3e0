"""The attitude pulse: whether living together changed, asked before and after taking part.

Network coordinators write a short survey (3 to 6 statements, each in every language). People
answer it when they join (skippable) and again after each event they were checked in at: one
offer through the outbox, once per event. Each statement is answered 1 (strongly disagree) to
5 (strongly agree), or "prefer not to say".

Results compare, per statement, the answers given when joining ("before") with each person's
latest answer after an event ("after"), overall, by self-description and by town. They follow
the network's one disclosure rule (bot.disclosure): no group of fewer than 5 people is shown,
nor one that subtraction would reveal. Answers are never shown one by one.

All SQL on the pulse_* tables lives here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.db import Database, Transaction, to_db_time
from bot.disclosure import SMALL_GROUP, shown_groups
from bot.errors import InvalidInput, NotFound
from bot.events import EventService
from bot.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, Translator
from bot.outbox import Outbox, Queued
from bot.people import DESCRIPTION_OF_GROUP, SelfDescription, require_known
from bot.reports import Chart, Period, Scope, Section
from bot.roles import Authorizer, Permission
from bot.text import utf16_units

MIN_STATEMENTS, MAX_STATEMENTS = 3, 6
MAX_STATEMENT = 200
SCALE = range(1, 6)
AGREE = 4  # 4 and 5 count as agreeing
OFFER = "pulse_offer"
# Asked an hour after an event ends, about events that ended in the last week.
ASK_AFTER = timedelta(hours=1)
ASK_WITHIN = timedelta(days=7)
EXPLANATION = N_(
    "Average from 1 (strongly disagree) to 5 (strongly agree). Before: each person's first "
    "answer, usually given when joining; after: their latest answer after an event. Groups of "
    "fewer than {count} people, or that subtraction would reveal, are not shown."
)


class PulseGone(NotFound):
    default_message = N_("This question is no longer open. Thank you all the same!")


@dataclass(frozen=True)
class Survey:
    id: int
    status: str
    statements: dict[int, dict[str, str]]  # position -> language -> text

    def text(self, position: int, language: str) -> str:
        versions = self.statements[position]
        return versions.get(language) or versions[SOURCE_LANGUAGE]


@dataclass(frozen=True)
class Question:
    """The next statement for someone to answer."""

    ask_id: int
    position: int
    number: int  # 1-based, for "2 of 4"
    total: int
    text: str


@dataclass(frozen=True)
class Figure:
    people: int
    mean: float
    agree: float  # share answering 4 or 5


@dataclass(frozen=True)
class GroupRow:
    kind: str  # "overall", "description" or "town"
    group: str  # "", a self-description, or a town's name
    before: Figure | None  # None: withheld (too few people, or revealing by subtraction)
    after: Figure | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after.mean - self.before.mean


@dataclass(frozen=True)
class StatementResult:
    position: int
    texts: dict[str, str]  # language -> the statement
    rows: list[GroupRow] = field(default_factory=list)

    def text(self, language: str) -> str:
        return self.texts.get(language) or self.texts[SOURCE_LANGUAGE]


@dataclass(frozen=True)
class PulseResults:
    survey_id: int | None
    statements: list[StatementResult]


def parse_statement(text: str) -> dict[str, str]:
    """``sq: …`` ``en: …`` ``it: …`` ``ar: …`` ``uk: …``, one line each, every language once."""
    versions: dict[str, str] = {}
    for line in text.splitlines():
        code, colon, statement = line.partition(":")
        code = code.strip().lower()
        if not line.strip():
            continue
        if not colon or code not in LANGUAGES or code in versions:
            raise InvalidInput(STATEMENT_USAGE)
        statement = " ".join(statement.split())
        if not 1 <= utf16_units(statement) <= MAX_STATEMENT:  # as Telegram counts
            raise InvalidInput(
                N_("Each statement must be 1 to {limit} characters ({language})."),
                limit=MAX_STATEMENT,
                language=code,
            )
        versions[code] = statement
    missing = [code for code in LANGUAGES if code not in versions]
    if not versions:
        raise InvalidInput(STATEMENT_USAGE)
    if missing:
        raise InvalidInput(MISSING_LANGUAGES, languages=", ".join(missing))
    return versions


MISSING_LANGUAGES = N_(
    "Nothing was added: the statement has no line for {languages}. A statement needs one line "
    "per language:\nsq: …\nen: …\nit: …\nar: …\nuk: …"
)
STATEMENT_USAGE = N_(
    "Send /pulse add with the statement in every language, one line each:\n"
    "sq: …\nen: …\nit: …\nar: …\nuk: …"
)


# Who is to be offered the live survey after an event: checked in at an event that ended in
# the window, not blocking the bot, and not offered it about this event yet.
_DUE = (
    "SELECT s.id AS survey_id, e.id AS event_id, r.telegram_id FROM pulse_surveys s"
    " JOIN events e ON e.status = 'scheduled' AND e.ends_at BETWEEN ? AND ?"
    " JOIN registrations r ON r.event_id = e.id AND r.checked_in_at IS NOT NULL"
    " JOIN people p ON p.telegram_id = r.telegram_id AND p.blocked_at IS NULL"
    " WHERE s.status = 'live' AND NOT EXISTS (SELECT 1 FROM pulse_asks a"
    "  WHERE a.telegram_id = r.telegram_id AND a.survey_id = s.id AND a.event_id = e.id)"
)


class PulseService:
    def __init__(
        self, db: Database, authz: Authorizer, outbox: Outbox, events: EventService
    ) -> None:
        self._db = db
        self._authz = authz
        self._outbox = outbox
        self._events = events
        outbox.declare(OFFER)

    async def export(self, telegram_id: int) -> dict[str, Any]:
        rows = await self._db.fetchall(
            "SELECT a.survey_id AS survey_version, a.event_id AS after_event,"
            " x.position AS statement, x.answer, x.answered_at FROM pulse_answers x"
            " JOIN pulse_asks a ON a.id = x.ask_id WHERE a.telegram_id = ? ORDER BY x.answered_at",
            (telegram_id,),
        )
        titles = await self._events.titles({row["after_event"] for row in rows} - {None})
        # The answer is 1-5, null for "prefer not to say".
        return {
            "pulse": [{**dict(row), "after_event": titles.get(row["after_event"])} for row in rows]
        }

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: every time they were asked, and their answers (cascading); the surveys
        they wrote stay, unnamed."""
        tx.defer("UPDATE pulse_surveys SET created_by = 0 WHERE created_by = ?", (telegram_id,))
        return bool(
            await tx.execute("DELETE FROM pulse_asks WHERE telegram_id = ?", (telegram_id,))
        )

    # The survey, written by network coordinators --------------------------------------------

    async def add_statement(self, actor_id: int, text: str, now: datetime) -> Survey:
        versions = parse_statement(text)
        async with self._db.transaction() as tx:
            await self._authz.require(actor_id, Permission.COORDINATE, None, tx=tx)
            draft = await tx.fetchval("SELECT id FROM pulse_surveys WHERE status = 'draft'")
            if draft is None:
                draft = await tx.insert(
                    "INSERT INTO pulse_surveys (created_by, created_at) VALUES (?, ?)",
                    (actor_id, to_db_time(now)),
                )
            count = await tx.fetchval(
                "SELECT COUNT(DISTINCT position) FROM pulse_statements WHERE survey_id = ?",
                (draft,),
            )
            if count >= MAX_STATEMENTS:
                raise InvalidInput(
                    N_("A survey has at most {limit} statements. Send /pulse done to publish it."),
                    limit=MAX_STATEMENTS,
                )
            tx.defer_many(
                "INSERT INTO pulse_statements (survey_id, position, language, text)"
                " VALUES (?, ?, ?, ?)",
                [(draft, count + 1, code, statement) for code, statement in versions.items()],
            )
            return await self._survey(tx, draft)

    async def publish(self, actor_id: int, now: datetime) -> Survey:
        """The draft becomes the live survey; the one before is retired (its answers stay)."""
        async with self._db.transaction() as tx:
            await self._authz.require(actor_id, Permission.COORDINATE, None, tx=tx)
            draft = await tx.fetchval("SELECT id FROM pulse_surveys WHERE status = 'draft'")
            count = 0
            if draft is not None:
                count = await tx.fetchval(
                    "SELECT COUNT(DISTINCT position) FROM pulse_statements WHERE survey_id = ?",
                    (draft,),
                )
            if draft is None or count < MIN_STATEMENTS:
                raise InvalidInput(
                    N_("A survey needs at least {limit} statements. Add them with /pulse add."),
                    limit=MIN_STATEMENTS,
                )
            tx.defer("UPDATE pulse_surveys SET status = 'retired' WHERE status = 'live'")
            tx.defer(
                "UPDATE pulse_surveys SET status = 'live', published_at = ? WHERE id = ?",
                (to_db_time(now), draft),
            )
            return await self._survey(tx, draft)

    async def discard(self, actor_id: int) -> bool:
        async with self._db.transaction() as tx:
            await self._authz.require(actor_id, Permission.COORDINATE, None, tx=tx)
            return bool(await tx.execute("DELETE FROM pulse_surveys WHERE status = 'draft'"))

    async def live(self) -> Survey | None:
        survey = await self._db.fetchval("SELECT id FROM pulse_surveys WHERE status = 'live'")
        return None if survey is None else await self._survey(self._db, survey)

    async def _survey(self, db: Database | Transaction, survey_id: int) -> Survey:
        rows = await db.fetchall(
            "SELECT s.status, p.position, p.language, p.text FROM pulse_surveys s"
            " LEFT JOIN pulse_statements p ON p.survey_id = s.id WHERE s.id = ?"
            " ORDER BY p.position",
            (survey_id,),
        )
        if not rows:
            raise PulseGone()
        statements: dict[int, dict[str, str]] = defaultdict(dict)
        for row in rows:
            if row["position"] is not None:
                statements[row["position"]][row["language"]] = row["text"]
        return Survey(survey_id, rows[0]["status"], dict(statements))

    # Asking ----------------------------------------------------------------------------------

    async def begin(
        self, telegram_id: int, survey_id: int, event_id: int | None, now: datetime, language: str
    ) -> Question | None:
        """Start (or go on with) the questions of one occasion; None once all are answered."""
        async with self._db.transaction() as tx:
            await require_known(tx, telegram_id)
            if not await tx.fetchval(
                "SELECT 1 FROM pulse_surveys WHERE id = ? AND status = 'live'", (survey_id,)
            ):
                raise PulseGone()
            if event_id is not None and not await tx.fetchval(
                "SELECT 1 FROM registrations WHERE event_id = ? AND telegram_id = ?"
                " AND checked_in_at IS NOT NULL",
                (event_id, telegram_id),
            ):
                raise PulseGone()
            await tx.execute(
                "INSERT OR IGNORE INTO pulse_asks (telegram_id, survey_id, event_id, asked_at)"
                " VALUES (?, ?, ?, ?)",
                (telegram_id, survey_id, event_id, to_db_time(now)),
            )
            ask = await tx.fetchval(
                "SELECT id FROM pulse_asks WHERE telegram_id = ? AND survey_id = ?"
                " AND IFNULL(event_id, 0) = ?",
                (telegram_id, survey_id, event_id or 0),
            )
            return await self._next(tx, int(ask), now, language)

    async def answer(
        self,
        telegram_id: int,
        ask_id: int,
        position: int,
        value: int,
        now: datetime,
        language: str,
    ) -> Question | None:
        """Record one answer (0: prefer not to say) and return the next question, if any."""
        if value != 0 and value not in SCALE:
            raise InvalidInput()
        async with self._db.transaction() as tx:
            ask = await tx.fetchone(
                "SELECT a.survey_id, s.status FROM pulse_asks a"
                " JOIN pulse_surveys s ON s.id = a.survey_id WHERE a.id = ? AND a.telegram_id = ?",
                (ask_id, telegram_id),
            )
            if ask is None or ask["status"] != "live":
                raise PulseGone()
            if not await tx.fetchval(
                "SELECT 1 FROM pulse_statements WHERE survey_id = ? AND position = ?",
                (ask["survey_id"], position),
            ):
                raise PulseGone()
            tx.defer(
                "INSERT INTO pulse_answers (ask_id, position, answer, answered_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (ask_id, position) DO UPDATE"
                " SET answer = excluded.answer, answered_at = excluded.answered_at",
                (ask_id, position, value or None, to_db_time(now)),
            )
            return await self._next(tx, ask_id, now, language)

    async def stop(self, telegram_id: int, ask_id: int, now: datetime) -> None:
        """The person has had enough: what they answered stays, nothing more is asked."""
        changed = await self._db.execute(
            "UPDATE pulse_asks SET finished_at = IFNULL(finished_at, ?)"
            " WHERE id = ? AND telegram_id = ?",
            (to_db_time(now), ask_id, telegram_id),
        )
        if not changed:
            raise PulseGone()

    async def _next(
        self, tx: Transaction, ask_id: int, now: datetime, language: str
    ) -> Question | None:
        rows = await tx.fetchall(
            "SELECT p.position, p.language, p.text, a.finished_at,"
            " EXISTS (SELECT 1 FROM pulse_answers x WHERE x.ask_id = a.id"
            "  AND x.position = p.position) AS answered"
            " FROM pulse_asks a JOIN pulse_statements p ON p.survey_id = a.survey_id"
            " WHERE a.id = ? AND p.language IN (?, ?) ORDER BY p.position",
            (ask_id, language, SOURCE_LANGUAGE),
        )
        positions = sorted({row["position"] for row in rows})
        if not rows or rows[0]["finished_at"] is not None:
            return None
        for number, position in enumerate(positions, 1):
            versions = {r["language"]: r for r in rows if r["position"] == position}
            row = versions.get(language) or versions[SOURCE_LANGUAGE]
            if not row["answered"]:
                return Question(ask_id, position, number, len(positions), row["text"])
        await tx.execute(
            "UPDATE pulse_asks SET finished_at = ? WHERE id = ?", (to_db_time(now), ask_id)
        )
        return None

    async def offered_on_joining(self, telegram_id: int) -> int | None:
        """The live survey to offer someone who just joined, unless they were asked already."""
        survey = await self._db.fetchval(
            "SELECT s.id FROM pulse_surveys s WHERE s.status = 'live' AND NOT EXISTS"
            " (SELECT 1 FROM pulse_asks a WHERE a.survey_id = s.id AND a.telegram_id = ?"
            "  AND a.event_id IS NULL)",
            (telegram_id,),
        )
        return None if survey is None else int(survey)

    async def due(self, now: datetime) -> int:
        """Offer the survey, once, to everyone checked in at an event that ended a while ago.

        The offer is written down as an ask (not yet answered) in the change that queues it,
        so a restart, or a second pass, never offers it again.
        """
        window = (to_db_time(now - ASK_WITHIN), to_db_time(now - ASK_AFTER))
        # Most seconds nobody is due: a plain read says so; the change reads again.
        if not await self._db.fetchval(f"SELECT EXISTS ({_DUE})", window):
            return 0
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(_DUE, window)
            tx.defer_many(
                "INSERT INTO pulse_asks (telegram_id, survey_id, event_id, asked_at)"
                " VALUES (?, ?, ?, ?)",
                [(r["telegram_id"], r["survey_id"], r["event_id"], to_db_time(now)) for r in rows],
            )
            self._outbox.enqueue_all(
                tx,
                [
                    Queued(
                        row["telegram_id"],
                        OFFER,
                        {"survey_id": row["survey_id"], "event_id": row["event_id"]},
                        not_before=now,
                        subject=f"event:{row['event_id']}",
                        dedupe_key=f"pulse:{row['survey_id']}:{row['event_id']}:{row['telegram_id']}",
                    )
                    for row in rows
                ],
            )
        return len(rows)

    async def still_offered(self, telegram_id: int, survey_id: int, event_id: int) -> bool:
        """Whether an offer about to be sent still applies (live survey, not yet answered)."""
        return bool(
            await self._db.fetchval(
                "SELECT 1 FROM pulse_surveys s WHERE s.id = ? AND s.status = 'live'"
                " AND NOT EXISTS (SELECT 1 FROM pulse_asks a WHERE a.survey_id = s.id"
                "  AND a.telegram_id = ? AND a.event_id = ? AND a.finished_at IS NOT NULL)",
                (survey_id, telegram_id, event_id),
            )
        )

    # Results ---------------------------------------------------------------------------------

    async def results(
        self, actor_id: int, start: datetime | None = None, end: datetime | None = None
    ) -> PulseResults:
        """The live survey's results among the actor's towns' people (everyone's, for the
        network), from the answers given in [start, end); statements in every language."""
        roles = await self._authz.require_coordinator(actor_id)
        towns = None if roles.sees_network else sorted(roles.coordinator_towns)
        return await self.results_in(towns, start, end)

    async def results_in(
        self,
        town_ids: Iterable[int] | None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> PulseResults:
        """Results for the people of ``town_ids`` (None: everyone), answers in [start, end).

        Before: each person's first answer to a statement (usually given when joining). After:
        their latest answer given after an event, later than that first one. A person may be
        in both; only the answers given in the period count, so a person whose first answer
        came before ``start`` is in "after" only.
        """
        survey = await self.live()
        if survey is None:
            return PulseResults(None, [])
        where, params = "1", []
        if town_ids is not None:
            towns = list(town_ids)
            where = f"p.town_id IN ({', '.join('?' for _ in towns)})" if towns else "0"
            params = towns
        until = None if end is None else to_db_time(end)
        rows = await self._db.fetchall(
            "SELECT a.telegram_id AS person, a.event_id IS NOT NULL AS after_event,"
            " x.position, x.answer, x.answered_at,"
            " IFNULL(p.self_description, 'unsaid') AS description,"
            " IFNULL(t.name, '') AS town FROM pulse_answers x"
            " JOIN pulse_asks a ON a.id = x.ask_id"
            " JOIN people p ON p.telegram_id = a.telegram_id"
            " LEFT JOIN towns t ON t.id = p.town_id"
            f" WHERE a.survey_id = ? AND {where}"
            " AND (? IS NULL OR x.answered_at < ?)"
            " ORDER BY x.answered_at, a.id",
            (survey.id, *params, until, until),
        )
        since = None if start is None else to_db_time(start)
        return PulseResults(
            survey.id,
            [
                StatementResult(position, texts, _rows(rows, position, since))
                for position, texts in sorted(survey.statements.items())
            ],
        )


@dataclass(frozen=True)
class _Answer:
    value: int
    description: str
    town: str


def _rows(rows: list[Any], position: int, since: str | None) -> list[GroupRow]:
    """Each person's first answer (before) and latest later one after an event (after)."""
    first: dict[int, Any] = {}
    latest: dict[int, Any] = {}
    for row in rows:  # in the order they were given
        if row["position"] != position:
            continue
        if row["person"] not in first:
            first[row["person"]] = row
        elif row["after_event"]:
            latest[row["person"]] = row

    def answers(chosen: dict[int, Any]) -> dict[int, _Answer]:
        return {
            person: _Answer(row["answer"], row["description"], row["town"])
            for person, row in chosen.items()
            # "Prefer not to say" holds its place (a first or a latest answer) and counts as none.
            if row["answer"] is not None and (since is None or row["answered_at"] >= since)
        }

    before, after = answers(first), answers(latest)
    result = [GroupRow("overall", "", _overall(before), _overall(after))]
    for kind in ("description", "town"):
        present = {getattr(a, kind) for a in (*before.values(), *after.values())} - {""}
        order = tuple(SelfDescription) if kind == "description" else tuple(sorted(present))
        shown_before, shown_after = _shown(before, kind, order), _shown(after, kind, order)
        for group in (g for g in order if g in present):
            result.append(
                GroupRow(
                    kind,
                    group,
                    _figure(before, kind, group) if group in shown_before else None,
                    _figure(after, kind, group) if group in shown_after else None,
                )
            )
    return result


def _overall(answers: dict[int, _Answer]) -> Figure | None:
    # Unlike a vote's total, a handful of people's average says too much about each of them.
    if len(answers) < SMALL_GROUP:
        return None
    return _summary([a.value for a in answers.values()])


def _shown(answers: dict[int, _Answer], kind: str, order: tuple[str, ...]) -> set[str]:
    sizes: dict[str, int] = defaultdict(int)
    for answer in answers.values():
        sizes[getattr(answer, kind)] += 1
    # People with no partner town are a group of their own: counted, never shown by name.
    return shown_groups(len(answers), dict(sizes), order) - {""}


def _figure(answers: dict[int, _Answer], kind: str, group: str) -> Figure | None:
    return _summary([a.value for a in answers.values() if getattr(a, kind) == group])


def _summary(values: list[int]) -> Figure | None:
    if not values:
        return None
    return Figure(
        people=len(values),
        mean=sum(values) / len(values),
        agree=sum(1 for v in values if v >= AGREE) / len(values),
    )


class PulseReportSection:
    """The pulse's part of the funder's report (``ReportService.extra_sections``): the change
    per statement, overall and by group, for the answers given in the report's period."""

    def __init__(self, pulse: PulseService) -> None:
        self._pulse = pulse

    async def section(
        self, db: Database, scope: Scope, period: Period, tr: Translator
    ) -> Section | None:
        towns = None if scope.network else scope.town_ids
        results = await self._pulse.results_in(towns, period.start, period.end)
        if results.survey_id is None:
            return None
        header = [
            tr.gettext("Statement"),
            tr.gettext("Group"),
            tr.gettext("Before"),
            tr.gettext("After"),
            tr.gettext("Change"),
        ]
        rows: list[list[str]] = []
        csv_rows: list[list[str | int]] = []
        for statement in results.statements:
            for row in statement.rows:
                group = (
                    tr.gettext("Everyone")
                    if row.kind == "overall"
                    else (tr.gettext(DESCRIPTION_OF_GROUP.get(row.group, row.group)))
                )
                before, after = _mean(row.before), _mean(row.after)
                change = "" if row.change is None else f"{row.change:+.1f}"
                rows.append([str(statement.position), group, before or "—", after or "—", change])
                csv_rows.append([statement.position, group, before, after, change])
        overall = [s.rows[0] for s in results.statements]
        chart = None
        if all(r.before and r.after for r in overall):
            chart = Chart(
                tr.gettext("Agreeing (4 or 5), everyone"),
                [str(s.position) for s in results.statements],
                [
                    (
                        tr.gettext("Before"),
                        [round(r.before.agree * 100) for r in overall if r.before],
                    ),
                    (tr.gettext("After"), [round(r.after.agree * 100) for r in overall if r.after]),
                ],
            )
        summary = [f"{s.position}. {s.text(tr.language)}" for s in results.statements] + [
            tr.gettext(EXPLANATION).format(count=SMALL_GROUP)
        ]
        return Section(
            name="attitude-pulse",
            title=tr.gettext("The attitude pulse"),
            summary=summary,
            header=header,
            rows=rows,
            csv_rows=csv_rows,
            chart=chart,
        )


def _mean(figure: Figure | None) -> str:
    return "" if figure is None else f"{figure.mean:.1f}"
