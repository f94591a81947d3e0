"""The services of one running bot, built once over one database and handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass

from bot.broadcasts import BroadcastService
from bot.certificates import CertificateService
from bot.clock import Clock
from bot.config import Config
from bot.db import Database
from bot.drafts import Drafts
from bot.events import EventService
from bot.i18n import Catalogs
from bot.manual import ManualService
from bot.outbox import Outbox
from bot.people import PeopleService
from bot.pulse import PulseReportSection, PulseService
from bot.reports import ReportService
from bot.roles import Authorizer
from bot.staff import StaffService
from bot.stats import StatsService
from bot.stories import StoryService
from bot.towns import TownService
from bot.votes import VoteService, load_ballot_key


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
    drafts: Drafts
    clock: Clock

    @classmethod
    def build(cls, config: Config, db: Database, catalogs: Catalogs | None = None) -> Services:
        authz = Authorizer(db, config.admins)
        towns = TownService(db, authz)
        catalogs = catalogs or Catalogs()
        clock = Clock()
        outbox = Outbox(db, catalogs, config.default_language, clock)
        votes = VoteService(db, authz, outbox, clock, load_ballot_key(config.ballot_key_file))
        people = PeopleService(db, towns)
        events = EventService(db, authz, outbox, clock)
        pulse = PulseService(db, authz, outbox)
        reports = ReportService(db, authz, clock, config.timezone)
        reports.extra_sections.append(PulseReportSection(pulse))
        return cls(
            config=config,
            db=db,
            catalogs=catalogs,
            outbox=outbox,
            events=events,
            stories=StoryService(db, authz, outbox, clock, config.public_channel),
            broadcasts=BroadcastService(db, authz, outbox, clock),
            stats=StatsService(db, authz, clock),
            reports=reports,
            votes=votes,
            manual=ManualService(db, votes, config.default_language),
            certificates=CertificateService(people, events),
            pulse=pulse,
            drafts=Drafts(db, clock),
            clock=clock,
            authz=authz,
            towns=towns,
            people=people,
            staff=StaffService(db, authz, towns),
        )

    async def erase_person(self, telegram_id: int) -> bool:
        """/deleteme, in one transaction: ballots become unlinkable counts, then the profile and
        every row that names the person go. Return whether anything was stored."""
        async with self.db.transaction() as tx:
            await self.votes.forget_voter(tx, telegram_id)
            await self.drafts.forget(tx, telegram_id)
            erased = await self.people.erase(telegram_id, tx)
        # secure_delete zeroed the freed bytes; the WAL still holds the old pages until now.
        await self.db.checkpoint()
        return erased

    async def start(self) -> None:
        """Bring the database to this code's schema and add the configured towns and chapters."""
        await self.db.open()
        await self.db.migrate()
        await self.towns.seed(self.config.towns, self.config.chapters)
