"""The services of one running bot, built once over one database and handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.audit import AuditLog
from bot.broadcasts import BroadcastService
from bot.certificates import CertificateService
from bot.clock import Clock
from bot.config import Config
from bot.db import Database, Transaction
from bot.drafts import Drafts
from bot.events import EventService
from bot.i18n import Catalogs
from bot.manual import ManualService
from bot.outbox import Outbox
from bot.people import PeopleService
from bot.pulse import PulseReportSection, PulseService
from bot.ratings import RatingService
from bot.reports import ReportService
from bot.roles import Authorizer
from bot.staff import StaffService
from bot.stats import StatsService
from bot.stories import StoryService
from bot.towns import TownService
from bot.votes import VoteService, load_ballot_key


class PersonalData(Protocol):
    """An owner of rows about a person: its part of /deleteme, in the erasure's transaction
    (returns whether it held anything of theirs)."""

    async def forget(self, tx: Transaction, telegram_id: int) -> bool: ...


class Exported(Protocol):
    """An owner of rows a person may see in /mydata: its part, as named sections."""

    async def export(self, telegram_id: int) -> dict[str, Any]: ...


@dataclass
class Services:
    config: Config
    db: Database
    catalogs: Catalogs
    authz: Authorizer
    towns: TownService
    people: PeopleService
    staff: StaffService
    outbox: Outbox
    events: EventService
    stories: StoryService
    broadcasts: BroadcastService
    stats: StatsService
    reports: ReportService
    votes: VoteService
    manual: ManualService
    certificates: CertificateService
    pulse: PulseService
    ratings: RatingService
    audit: AuditLog
    drafts: Drafts
    clock: Clock

    @classmethod
    def build(cls, config: Config, db: Database, catalogs: Catalogs | None = None) -> Services:
        authz = Authorizer(db, config.admins)
        towns = TownService(db, authz)
        catalogs = catalogs or Catalogs()
        clock = Clock()
        outbox = Outbox(db, catalogs, config.default_language, clock)
        people = PeopleService(db, towns)
        events = EventService(db, authz, outbox, clock)
        pulse = PulseService(db, authz, outbox, events)
        reports = ReportService(db, authz, clock, config.timezone)
        drafts = Drafts(db, clock)
        stories = StoryService(db, authz, outbox, drafts, clock, config.public_channel)
        votes = VoteService(
            db, authz, outbox, stories, clock, load_ballot_key(config.ballot_key_file)
        )
        reports.extra_sections.append(PulseReportSection(pulse))
        return cls(
            config=config,
            db=db,
            catalogs=catalogs,
            outbox=outbox,
            events=events,
            stories=stories,
            broadcasts=BroadcastService(db, authz, outbox, events, clock),
            stats=StatsService(db, authz, clock),
            reports=reports,
            votes=votes,
            manual=ManualService(db, votes, config.default_language),
            certificates=CertificateService(people, events),
            pulse=pulse,
            ratings=RatingService(db, authz, outbox, events, clock),
            audit=AuditLog(db),
            drafts=drafts,
            clock=clock,
            authz=authz,
            towns=towns,
            people=people,
            staff=StaffService(db, authz, towns),
        )

    @property
    def personal_data(self) -> tuple[PersonalData, ...]:
        """Every owner of rows about a person. The ballots first (their markers are made from
        the person's id), the profile last."""
        return (
            self.votes,
            self.drafts,
            self.ratings,
            self.pulse,
            self.stories,
            self.events,
            self.broadcasts,
            self.towns,
            self.staff,
            self.audit,
            self.outbox,
            self.people,
        )

    @property
    def exported(self) -> tuple[Exported, ...]:
        """What /mydata shows, in this order: the profile first."""
        return (
            self.people,
            self.events,
            self.stories,
            self.staff,
            self.audit,
            self.pulse,
            self.ratings,
            self.drafts,
        )

    async def erase_person(self, telegram_id: int) -> bool:
        """/deleteme, in one transaction handed to each owner in turn: ballots become
        unlinkable counts, then every row that names the person goes. Return whether anything
        was stored."""
        async with self.db.transaction() as tx:
            held = [await owner.forget(tx, telegram_id) for owner in self.personal_data]
        # secure_delete zeroed the freed bytes; the WAL still holds the old pages until now.
        await self.db.checkpoint()
        return any(held)

    async def export_person(self, telegram_id: int) -> dict[str, Any]:
        """Everything stored about one person, as they are entitled to see it (/mydata)."""
        data: dict[str, Any] = {}
        for owner in self.exported:
            data.update(await owner.export(telegram_id))
        return data

    async def start(self) -> None:
        """Bring the database to this code's schema and add the configured towns and chapters."""
        await self.db.open()
        await self.db.migrate()
        await self.towns.seed(self.config.towns, self.config.chapters)
