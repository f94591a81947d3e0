"""The funder's report: the figures of a period, a town coordinator's scope, refusals, files."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.db import from_db_time, to_db_time
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import Catalogs
from bot.reports import Period, document, draw_charts, parse_period, write_csvs
from bot.services import Services
from tests.conftest import ADMIN_ID

CATALOGS = Catalogs()
NETWORK = 50  # a network coordinator
SHKODER = 51  # the coordinator of Shkodër
MODERATOR = 52
PARTICIPANT = 101
PERIOD = ("2025-01-01", "2025-06-30")  # on the network's clock, Europe/Tirane


@dataclass(frozen=True)
class World:
    shkoder: int
    bari: int


async def seed(services: Services) -> World:
    """A small network over the first half of 2025, and things just outside it.

    Shkodër: 3 residents from 2024 (101-103), 2 newcomers who joined in February (104, 105),
    1 who joined in August (106, after the period). Bari: 2 residents (201, 202) and one who
    did not answer (203), all joined in the period. No town: 1 newcomer (301), in January.
    """
    db = services.db
    shkoder = (await services.towns.by_slug("shkoder")).id
    bari = (await services.towns.by_slug("bari")).id
    people = [
        (101, shkoder, "resident", "2024-12-01T10:00:00Z"),
        (102, shkoder, "resident", "2024-12-01T10:00:00Z"),
        (103, shkoder, "resident", "2024-12-01T10:00:00Z"),
        (104, shkoder, "newcomer", "2025-02-10T10:00:00Z"),
        (105, shkoder, "newcomer", "2025-02-10T10:00:00Z"),
        (106, shkoder, "unsaid", "2025-08-01T10:00:00Z"),
        (201, bari, "resident", "2025-03-01T10:00:00Z"),
        (202, bari, "resident", "2025-03-01T10:00:00Z"),
        (203, bari, None, "2025-01-05T10:00:00Z"),
        (301, None, "newcomer", "2025-01-20T10:00:00Z"),
    ]
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO people (telegram_id, language, town_id, self_description, consented_at)"
            " VALUES (?, 'en', ?, ?, ?)",
            people,
        )
        events = [
            # id, scope, town, title, start (UTC), status
            (1, "local", shkoder, "Dinner", "2025-02-15T10:00:00Z", "scheduled"),
            (2, "international", bari, "Summit", "2025-05-10T08:00:00Z", "scheduled"),
            (3, "local", bari, "Called off", "2025-03-01T10:00:00Z", "cancelled"),
            (4, "local", shkoder, "Summer", "2025-07-10T10:00:00Z", "scheduled"),
            # 23:30 on 30 June in Tirane: in the period; and 00:30 on 1 January.
            (5, "international", None, "Online", "2025-06-30T21:30:00Z", "scheduled"),
            (6, "local", bari, "New Year", "2024-12-31T23:30:00Z", "scheduled"),
        ]
        await tx.executemany(
            "INSERT INTO events (id, scope, town_id, title, place, timezone, starts_at, ends_at,"
            " checkin_code, status, created_by, created_at)"
            " VALUES (?, ?, ?, ?, 'Hall', 'Europe/Tirane', ?, ?, 'c', ?, 1, '2024-01-01')",
            [(i, s, t, ti, st, _later(st), su) for i, s, t, ti, st, su in events],
        )
        registrations = [
            # event, person, status, present
            (1, 101, "registered", True),
            (1, 102, "registered", True),
            (1, 103, "registered", False),
            (1, 201, "registered", True),
            (2, 104, "registered", True),
            (2, 202, "registered", False),
            (2, 203, "waitlisted", False),
            (3, 101, "registered", False),
            (4, 101, "registered", True),
            (5, 101, "registered", True),
        ]
        await tx.executemany(
            "INSERT INTO registrations (event_id, telegram_id, status, seq, joined_at,"
            " checked_in_at) VALUES (?, ?, ?, 1, '2025-01-01T00:00:00Z', ?)",
            [
                (e, p, s, "2025-01-02T00:00:00Z" if here else None)
                for e, p, s, here in registrations
            ],
        )
        chapter = await tx.fetchval("SELECT id FROM chapters LIMIT 1")
        stories = [
            # author, kind, status, submitted, decided
            (101, "story", "approved", "2025-02-01T10:00:00Z", "2025-02-03T10:00:00Z"),
            (201, "story", "pending", "2025-03-05T10:00:00Z", None),
            (102, "story", "rejected", "2025-06-20T10:00:00Z", "2025-06-21T10:00:00Z"),
            (None, "story", "approved", "2025-04-01T10:00:00Z", "2025-04-02T10:00:00Z"),
            (103, "story", "draft", None, None),
            (101, "story", "approved", "2025-07-15T10:00:00Z", "2025-07-16T10:00:00Z"),
            (201, "proposal", "approved", "2025-02-01T10:00:00Z", "2025-02-02T10:00:00Z"),
            (None, "proposal", "approved", "2025-03-01T10:00:00Z", "2025-03-01T10:00:00Z"),
            (101, "proposal", "rejected", "2025-04-01T10:00:00Z", "2025-04-02T10:00:00Z"),
        ]
        await tx.executemany(
            "INSERT INTO stories (author_id, chapter_id, text, status, created_at,"
            " updated_at, submitted_at, decided_at)"
            " VALUES (?, ?, 'Text', ?, '2025-01-01', '2025-01-01', ?, ?)",
            [(a, chapter, s, sub, dec) for a, k, s, sub, dec in stories if k == "story"],
        )
        await tx.executemany(
            "INSERT INTO proposals (id, author_id, chapter_id, title, text, status, created_at,"
            " updated_at, submitted_at, decided_at)"
            " VALUES (1000 + ?, ?, ?, 'T', 'Text', ?, '2025-01-01', '2025-01-01', ?, ?)",
            [
                (n, a, chapter, s, sub, dec)
                for n, (a, k, s, sub, dec) in enumerate(stories)
                if k == "proposal"
            ],
        )
        proposals = [row[0] for row in await tx.fetchall("SELECT id FROM proposals ORDER BY id")]
        rounds = [
            (1, "Spring vote", "closed", "2025-05-01T10:00:00Z"),
            (2, "Autumn vote", "closed", "2025-09-01T10:00:00Z"),
            (3, "Open vote", "open", None),
        ]
        await tx.executemany(
            "INSERT INTO rounds (id, title, opens_at, closes_at, status, created_by, created_at,"
            " closed_at) VALUES (?, ?, '2025-01-01T00:00:00Z', ?, ?, 1, '2025-01-01T00:00:00Z', ?)",
            [(i, t, c or "2026-01-01T00:00:00Z", s, c) for i, t, s, c in rounds],
        )
        await tx.executemany(
            "INSERT INTO round_proposals (round_id, proposal_id, position) VALUES (?, ?, ?)",
            [(1, proposals[0], 1), (1, proposals[1], 2), (2, proposals[0], 1)],
        )
        counts = [
            (1, proposals[0], "resident", "support", 6),
            (1, proposals[0], "newcomer", "oppose", 2),
            (1, proposals[1], "resident", "support", 1),
            (1, proposals[1], "newcomer", "oppose", 3),
            (1, proposals[1], "unsaid", "abstain", 1),
            (2, proposals[0], "resident", "support", 4),
        ]
        await tx.executemany(
            "INSERT INTO ballot_counts (round_id, proposal_id, voter_group, choice, n)"
            " VALUES (?, ?, ?, ?, ?)",
            counts,
        )
    await services.staff.grant(ADMIN_ID, NETWORK, "coordinator")
    await services.staff.grant(ADMIN_ID, SHKODER, "coordinator", "shkoder")
    await services.staff.grant(ADMIN_ID, MODERATOR, "moderator")
    return World(shkoder, bari)


def _later(moment: str) -> str:
    return to_db_time(from_db_time(moment) + timedelta(hours=2))


def period() -> Period:
    return parse_period(PERIOD, "Europe/Tirane")


async def test_the_network_figures_of_a_period(services: Services) -> None:
    await seed(services)
    for actor in (NETWORK, ADMIN_ID):
        f = await services.reports.figures(actor, period())
        assert f.scope.network
        # Held in the period, on the network's clock; the cancelled one and July's are not.
        assert [(e.title, e.international, e.registered, e.present) for e in f.events] == [
            ("New Year", False, 0, 0),
            ("Dinner", False, 4, 3),
            ("Summit", True, 2, 1),
            ("Online", True, 1, 1),
        ]
        towns = {t.town: (t.by_description, t.total, t.joined) for t in f.participants}
        assert towns == {
            "": ({"resident": 0, "newcomer": 1, "unsaid": 0, "": 0}, 1, 1),
            "Bari": ({"resident": 2, "newcomer": 0, "unsaid": 0, "": 1}, 3, 3),
            "Shkodër": ({"resident": 3, "newcomer": 2, "unsaid": 0, "": 0}, 5, 2),
        }
        assert [(a.town, a.registered, a.present) for a in f.attendance] == [
            ("Bari", 2, 1),
            ("Shkodër", 5, 4),
        ]
        assert [(m.month.month, m.submitted, m.published) for m in f.stories] == [
            (1, 0, 0),
            (2, 1, 1),
            (3, 1, 0),
            (4, 1, 1),
            (5, 0, 0),
            (6, 1, 0),
        ]
        assert (f.proposals_submitted, f.proposals_accepted) == (3, 2)
        assert [(r.title, r.proposals, r.ballots, r.adopted) for r in f.rounds] == [
            ("Spring vote", 2, 13, 1)
        ]


async def test_a_town_coordinator_sees_their_town_only(services: Services) -> None:
    await seed(services)
    f = await services.reports.figures(SHKODER, period())
    assert not f.scope.network and f.scope.town_names == ("Shkodër",)
    assert [(e.title, e.registered, e.present) for e in f.events] == [("Dinner", 4, 3)]
    assert [(t.town, t.total, t.joined) for t in f.participants] == [("Shkodër", 5, 2)]
    # Their people wherever they went: the Summit in Bari and the online event too.
    assert [(a.town, a.registered, a.present) for a in f.attendance] == [("Shkodër", 5, 4)]
    assert sum(m.submitted for m in f.stories) == 2
    assert sum(m.published for m in f.stories) == 1
    assert (f.proposals_submitted, f.proposals_accepted) == (1, 0)
    # Ballots carry no town: the votes are the network's, and said to be.
    assert [r.title for r in f.rounds] == ["Spring vote"]
    it = CATALOGS.translator("it")
    votes = document(it, f).sections[4]
    assert (
        it.gettext("Ballots are secret and carry no town: the votes are the whole network's.")
        in votes.summary
    )


async def test_only_coordinators_get_a_report(services: Services) -> None:
    await seed(services)
    for actor in (PARTICIPANT, MODERATOR, 999):
        with pytest.raises(NotAllowed):
            await services.reports.scope(actor)
        with pytest.raises(NotAllowed):
            await services.reports.figures(actor, period())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Usage: /report FROM TO"),
        (("2025-01-01",), "Usage: /report FROM TO"),
        (("2025-01-01", "2025-02-01", "x"), "Usage: /report FROM TO"),
        (("yesterday", "2025-02-01"), "is not a date"),
        (("2025-13-01", "2025-12-01"), "is not a date"),
        (("2025-02-30", "2025-03-01"), "is not a date"),
        (("٢٠٢٥-٠١-٠١", "2025-03-01"), "is not a date"),
        (("20250101", "2025-03-01"), "is not a date"),
        (("2025-06-01", "2025-05-31"), "The period starts after it ends"),
        (("2022-01-01", "2025-01-01"), "A report covers at most"),
    ],
)
def test_bad_periods_are_refused(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_period(args, "Europe/Tirane")
    assert caught.value.message.startswith(message) or message in caught.value.message


def test_good_periods() -> None:
    assert parse_period(("2022-01-01", "2024-12-31"), "Europe/Rome").last.year == 2024
    one_day = parse_period(("2025-03-30", "2025-03-30"), "Europe/Rome")
    # The day summer time starts has 23 hours.
    assert one_day.bounds == ("2025-03-29T23:00:00Z", "2025-03-30T22:00:00Z")


def test_a_typed_date_comes_back_escaped() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_period(("<b>x</b>", "2025-01-01"), "Europe/Tirane")
    assert caught.value.params["text"] == "&lt;b&gt;x&lt;/b&gt;"


async def test_the_document_and_its_files_in_italian(services: Services) -> None:
    await seed(services)
    it = CATALOGS.translator("it")
    doc = await services.reports.document(NETWORK, period(), it)
    assert doc.language == "it" and doc.file_stem == "bashke-report-2025-01-01-2025-06-30"
    # Dates by Babel, in Italian.
    assert any("1 gennaio 2025" in line and "30 giugno 2025" in line for line in doc.intro)
    assert [s.name for s in doc.sections] == [
        "events-held",
        "participants",
        "attendance-by-town",
        "stories",
        "votes",
    ]
    archive = zipfile.ZipFile(io.BytesIO(write_csvs(doc)))
    files = {
        name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
        for name in archive.namelist()
    }
    events = files["bashke-report-2025-01-01-2025-06-30-events-held.csv"]
    assert events[0] == [it.gettext(h) for h in ("Event", "Kind", "Town", "Date")] + [
        it.gettext("Registered"),
        it.gettext("Present"),
    ]
    assert events[2] == ["Dinner", it.gettext("local"), "Shkodër", "2025-02-15", "4", "3"]
    assert events[4] == ["Online", it.gettext("international"), "", "2025-06-30", "1", "1"]
    votes = files["bashke-report-2025-01-01-2025-06-30-votes.csv"]
    assert votes[1] == ["Spring vote", "2025-05-01", "2", "13", "1"]
    # Counts only: no Telegram id of anyone appears in any file.
    text = " ".join(" ".join(" ".join(r) for r in rows) for rows in files.values())
    for person in ("101", "104", "201", "301"):
        assert person not in text
    images = draw_charts([s.chart for s in doc.sections])
    assert all(image is not None and image.startswith(b"\x89PNG") for image in images)


async def test_extra_sections_join_the_report(services: Services) -> None:
    """The place the attitude pulse will take: a section added by another feature."""
    from bot.db import Database
    from bot.i18n import Translator
    from bot.reports import Scope, Section

    class Pulse:
        async def section(
            self, db: Database, scope: Scope, period: Period, tr: Translator
        ) -> Section | None:
            return Section("pulse", "Pulse", ["fine"], ["a"], [["1"]], [[1]])

    await seed(services)
    services.reports.extra_sections.append(Pulse())
    doc = await services.reports.document(SHKODER, period(), CATALOGS.translator("en"))
    assert doc.sections[-1].name == "pulse"
    assert (
        "bashke-report-2025-01-01-2025-06-30-pulse.csv"
        in zipfile.ZipFile(io.BytesIO(write_csvs(doc))).namelist()
    )


async def test_people_are_read_in_slices(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short queries: the participants come in slices; the figures are the same."""
    from bot import reports

    await seed(services)
    whole = await services.reports.figures(NETWORK, period())
    for chunk in (1, 3, 10):
        monkeypatch.setattr(reports, "CHUNK", chunk)
        sliced = await services.reports.figures(NETWORK, period())
        assert sliced.participants == whole.participants
