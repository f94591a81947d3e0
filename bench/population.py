"""A network at full size in the database: participants, events and a large closed vote.

Written in bulk (one statement per table), not through the services: the benchmarks measure the
bot with this much data in it, not the time to type it in. The content is fixed by a seed, so
every copy of it shows the same cards.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from bot.db import now_text, to_db_time, utcnow
from bot.services import Services

GROUPS = ("resident", "newcomer", "unsaid")
CHOICES = ("support", "oppose", "abstain")
LANGUAGES = ("sq", "en", "it", "uk", "ar")
PROPOSALS = 10
FIRST_ID = 1_000_000  # far above the ids the benchmarks' own people use


@dataclass(frozen=True)
class Size:
    people: int
    events: int
    votes: int

    @property
    def label(self) -> str:
        return f"{self.people:,} participants, {self.events:,} events, {self.votes:,} votes"


async def populate(services: Services, size: Size, author: int) -> int:
    """Fill a migrated database; ``author`` (a network coordinator) proposes and opens the vote.

    Returns the id of the vote's round: closed, so its results can be read and nobody is
    reminded or told of it while a benchmark runs.
    """
    rng = random.Random(7)
    now = now_text()
    towns = [t.id for t in await services.towns.list_towns()]
    start = utcnow().replace(minute=0, second=0) + timedelta(days=10)
    async with services.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO people (telegram_id, language, town_id, self_description, consented_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (FIRST_ID + i, LANGUAGES[i % 5], rng.choice(towns), GROUPS[i % 3], now)
                for i in range(size.people)
            ],
        )
        await tx.executemany(
            "INSERT INTO events (scope, town_id, title, place, timezone, starts_at, ends_at,"
            " capacity, checkin_code, created_by, created_at)"
            " VALUES ('local', ?, ?, 'Hall', 'Europe/Tirane', ?, ?, 100, 'code', 1, ?)",
            [
                (
                    rng.choice(towns),
                    f"Event {i}",
                    to_db_time(start + timedelta(hours=i)),
                    to_db_time(start + timedelta(hours=i, minutes=90)),
                    now,
                )
                for i in range(size.events)
            ],
        )
    chapter = int(await services.db.fetchval("SELECT id FROM chapters ORDER BY position LIMIT 1"))
    proposals = [
        await services.votes.add_proposal(author, chapter, f"Proposal {i}", "Text")
        for i in range(PROPOSALS)
    ]
    voting_round = await services.votes.open_round(
        author, "Big vote", proposals, utcnow() + timedelta(days=1)
    )
    per_proposal = max(1, size.votes // PROPOSALS)
    async with services.db.transaction() as tx:
        for proposal in proposals:
            await tx.executemany(
                "INSERT INTO ballots (round_id, proposal_id, voter_key, voter_group, choice)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (voting_round.id, proposal, f"k{v}", GROUPS[v % 3], rng.choice(CHOICES))
                    for v in range(per_proposal)
                ],
            )
        await tx.execute(
            "UPDATE rounds SET status = 'closed', closed_at = ? WHERE id = ?",
            (now, voting_round.id),
        )
    return voting_round.id
