"""Voting rounds on the manual's proposals, with secret ballots and results across groups.

Secrecy: a ballot holds no Telegram id, only an HMAC of (round, person) under a key kept outside
the database. The voter's own view recomputes their key; counts are the only thing any other
query returns. Erasure takes the key off the person's ballots and leaves a marker that they took
part (``spent_ballots``), so one person keeps one ballot per proposal whatever they erase.

Small groups: no published figure, alone or subtracted from another, shows fewer than
``SMALL_GROUP`` voters of a group. A group under the threshold is withheld, and so is the next
smallest shown group while the overall result minus the shown groups would leave 1 to 4 voters
(complementary suppression, as statistical offices do it).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot import audit, people
from bot.clock import Clock
from bot.db import Database, Transaction, from_db_time, to_db_time
from bot.disclosure import shown_groups
from bot.errors import InvalidInput, NotFound, NotRegistered, UserFacingError
from bot.i18n import N_
from bot.outbox import Outbox
from bot.roles import Authorizer, Permission
from bot.stories import StoryService

GROUPS = ("resident", "newcomer", "unsaid")
REMINDER = "round_reminder"
RESULTS = "round_results"
MAX_PROPOSALS = 20
MAX_TITLE = 120
MAX_TEXT = 1500
# Non-voters are reminded a day before the close, or halfway through a shorter round.
REMIND_BEFORE = timedelta(hours=24)


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Choice(StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    ABSTAIN = "abstain"


PROPOSALS_OF_ROUND = (
    "SELECT s.id, s.chapter_id, s.title, s.text FROM round_proposals rp"
    " JOIN proposals s ON s.id = rp.proposal_id WHERE rp.round_id = ? ORDER BY rp.position"
)
MY_CHOICES = "SELECT proposal_id, choice FROM ballots WHERE round_id = ? AND voter_key = ?"


class RoundClosed(UserFacingError):
    default_message = N_("This vote is closed; your choice was not recorded. See /results.")


class VotedBeforeErasure(UserFacingError):
    default_message = N_(
        "You voted on this proposal before you erased your data. That vote still counts,"
        " and nobody can change it any more, not even you."
    )


class ResultsHidden(UserFacingError):
    default_message = N_("The results stay hidden until the vote closes.")


@dataclass(frozen=True)
class Proposal:
    id: int
    chapter_id: int
    title: str
    text: str


@dataclass(frozen=True)
class Round:
    id: int
    title: str
    opens_at: datetime
    closes_at: datetime
    results_visible: bool
    closed: bool
    proposals: tuple[Proposal, ...]

    def is_open(self, now: datetime) -> bool:
        return not self.closed and self.opens_at <= now < self.closes_at


def _round(row: Any, proposals: Iterable[Any]) -> Round:
    return Round(
        id=row["id"],
        title=row["title"],
        opens_at=from_db_time(row["opens_at"]),
        closes_at=from_db_time(row["closes_at"]),
        results_visible=bool(row["results_visible"]),
        closed=row["status"] == RoundStatus.CLOSED,
        proposals=tuple(
            Proposal(p["id"], p["chapter_id"], p["title"] or "", p["text"] or "") for p in proposals
        ),
    )


@dataclass(frozen=True)
class Voted:
    """The round as the vote found it, and the voter's choices right after."""

    round: Round
    choices: dict[int, Choice]


@dataclass
class Tally:
    support: int = 0
    oppose: int = 0
    abstain: int = 0

    @property
    def votes(self) -> int:
        return self.support + self.oppose + self.abstain

    @property
    def share(self) -> float | None:
        """Support among those who took a side; abstentions count as votes, not as sides."""
        sides = self.support + self.oppose
        return None if sides == 0 else self.support / sides

    @property
    def supports(self) -> bool:
        return self.share is not None and self.share > 0.5


@dataclass
class ProposalResult:
    proposal: Proposal
    overall: Tally
    # None where the group is too small to be shown without revealing votes.
    groups: dict[str, Tally | None] = field(default_factory=dict)

    @property
    def supported_by_both(self) -> bool:
        """The headline: supported by residents and by newcomers, each large enough to count."""
        residents, newcomers = self.groups.get("resident"), self.groups.get("newcomer")
        return bool(residents and newcomers and residents.supports and newcomers.supports)


def load_ballot_key(path: Path, environ: dict[str, str] | None = None) -> bytes:
    """The HMAC key: ``BASHKE_BALLOT_KEY``, or the file at ``path`` (``bot.ballot_key_file``),
    made (0600) on first start. Whoever holds it and the database can link ballots to people,
    so keep it away from the database's backups (README, "Secret ballots")."""
    env = os.environ if environ is None else environ
    if env.get("BASHKE_BALLOT_KEY"):
        return env["BASHKE_BALLOT_KEY"].encode()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class VoteService:
    def __init__(
        self,
        db: Database,
        authz: Authorizer,
        outbox: Outbox,
        stories: StoryService,
        clock: Clock,
        key: bytes,
    ) -> None:
        self._db = db
        self._authz = authz
        self._outbox = outbox
        self._stories = stories
        outbox.declare(REMINDER, RESULTS)
        self._clock = clock
        self._key = key

    def _voter(self, round_id: int, telegram_id: int) -> str:
        return hmac.new(self._key, f"{round_id}:{telegram_id}".encode(), hashlib.sha256).hexdigest()

    def _spent(self, round_id: int, telegram_id: int) -> str:
        """The marker left by an erased voter: another label, so it never equals a ballot's key."""
        message = f"spent:{round_id}:{telegram_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    # Proposals ------------------------------------------------------------------------------

    async def add_proposal(self, actor_id: int, chapter_id: int, title: str, text: str) -> int:
        """A coordinator's proposal goes straight into the manual's list (no moderation)."""
        title, text = check_proposal(title, text)
        now = to_db_time(self._clock())
        async with self._db.transaction() as tx:
            await self._authz.require_coordinator(actor_id, tx)
            proposal_id = await self._stories.add_adopted_proposal(
                tx, actor_id, chapter_id, title, text, now
            )
            audit.record(tx, actor_id, "add_proposal", f"proposal:{proposal_id}")
        return proposal_id

    async def proposals(
        self, not_in_open_round: bool = False, tx: Transaction | None = None
    ) -> list[Proposal]:
        """The approved proposals, in the manual's order (those not in an open vote, if asked)."""
        approved = await self._stories.approved_proposals(tx)
        if not_in_open_round:
            voting = {
                row[0]
                for row in await (tx or self._db).fetchall(
                    "SELECT rp.proposal_id FROM round_proposals rp JOIN rounds r"
                    " ON r.id = rp.round_id WHERE r.status = 'open'"
                )
            }
            approved = [p for p in approved if p.id not in voting]
        return [Proposal(p.id, p.chapter_id or 0, p.title or "", p.text or "") for p in approved]

    # Rounds ---------------------------------------------------------------------------------

    async def open_round_on_waiting(self, actor_id: int, title: str, hours: int) -> Round:
        """/newround: a vote on every proposal not already in an open vote, for ``hours``."""
        await self._authz.require(actor_id, Permission.COORDINATE, None)
        waiting = await self.proposals(not_in_open_round=True)
        if not waiting:
            raise InvalidInput(N_("There are no proposals to vote on. Add one with /addproposal."))
        closes_at = self._clock() + timedelta(hours=hours)
        return await self.open_round(actor_id, title, [p.id for p in waiting], closes_at)

    async def open_round(
        self,
        actor_id: int,
        title: str,
        proposal_ids: list[int],
        closes_at: datetime,
        results_visible: bool = False,
    ) -> Round:
        title = " ".join(title.split())
        if not title or len(title) > MAX_TITLE:
            raise InvalidInput(N_("The title must be 1 to {limit} characters."), limit=MAX_TITLE)
        now = self._clock()
        if closes_at <= now:
            raise InvalidInput(N_("The closing time must be in the future."))
        unique = list(dict.fromkeys(proposal_ids))
        if not 1 <= len(unique) <= MAX_PROPOSALS:
            raise InvalidInput(N_("Choose from 1 to {limit} proposals."), limit=MAX_PROPOSALS)
        async with self._db.transaction() as tx:
            # The manual is the network's: rounds are opened by network coordinators (and admins).
            await self._authz.require(actor_id, Permission.COORDINATE, None, tx=tx)
            available = {p.id for p in await self.proposals(tx=tx)}
            if any(p not in available for p in unique):
                raise NotFound(N_("That proposal does not exist (any more)."))
            # Checked inside the change: two /newround at once cannot both take a proposal.
            taken = await tx.fetchval(
                "SELECT COUNT(*) FROM round_proposals rp JOIN rounds r ON r.id = rp.round_id"
                f" WHERE r.status = 'open' AND rp.proposal_id IN ({','.join('?' * len(unique))})",
                unique,
            )
            if taken:
                raise InvalidInput(
                    N_("These proposals are already in an open vote. Nothing was changed.")
                )
            round_id = await tx.insert(
                "INSERT INTO rounds (title, opens_at, closes_at, results_visible, created_by,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    title,
                    to_db_time(now),
                    to_db_time(closes_at),
                    int(results_visible),
                    actor_id,
                    to_db_time(now),
                ),
            )
            await tx.executemany(
                "INSERT INTO round_proposals (round_id, proposal_id, position) VALUES (?, ?, ?)",
                [(round_id, p, i) for i, p in enumerate(unique)],
            )
            audit.record(tx, actor_id, "open_round", f"round:{round_id}")
        return await self.get_round(round_id)

    async def get_round(self, round_id: int) -> Round:
        row = await self._db.fetchone("SELECT * FROM rounds WHERE id = ?", (round_id,))
        if row is None:
            raise NotFound(N_("That vote does not exist."))
        return _round(row, await self._db.fetchall(PROPOSALS_OF_ROUND, (round_id,)))

    async def rounds(self, closed: bool) -> list[Round]:
        rows = await self._db.fetchall(
            "SELECT id FROM rounds WHERE status = ? ORDER BY closes_at DESC LIMIT 10",
            (RoundStatus.CLOSED if closed else RoundStatus.OPEN,),
        )
        return [await self.get_round(row[0]) for row in rows]

    # Ballots --------------------------------------------------------------------------------

    async def vote(self, telegram_id: int, round_id: int, proposal_id: int, choice: str) -> Voted:
        """One vote per person and proposal; a new tap changes it until the round closes."""
        try:
            chosen = Choice(choice)
        except ValueError:
            raise InvalidInput() from None
        voter = self._voter(round_id, telegram_id)
        async with self._db.transaction() as tx:
            # The person, the round and whether they voted on it before an erasure, in one
            # read: a row even when any of them is missing.
            row = await tx.fetchone(
                "SELECT p.telegram_id AS person, p.self_description, sb.marker AS spent, r.*"
                " FROM (SELECT 1) LEFT JOIN people p ON p.telegram_id = ?"
                " LEFT JOIN rounds r ON r.id = ? LEFT JOIN spent_ballots sb"
                " ON sb.round_id = r.id AND sb.proposal_id = ? AND sb.marker = ?",
                (telegram_id, round_id, proposal_id, self._spent(round_id, telegram_id)),
            )
            assert row is not None
            if row["person"] is None:
                raise NotRegistered()
            if row["id"] is None:
                raise NotFound(N_("That vote does not exist."))
            voting_round = _round(row, await tx.fetchall(PROPOSALS_OF_ROUND, (round_id,)))
            if not voting_round.is_open(self._clock()):
                raise RoundClosed()
            if all(proposal.id != proposal_id for proposal in voting_round.proposals):
                raise InvalidInput(N_("That proposal is not part of this vote."))
            if row["spent"] is not None:
                raise VotedBeforeErasure()
            tx.defer(
                "INSERT INTO ballots (round_id, proposal_id, voter_key, voter_group, choice)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (round_id, proposal_id, voter_key)"
                " DO UPDATE SET choice = excluded.choice, voter_group = excluded.voter_group",
                (round_id, proposal_id, voter, row["self_description"] or "unsaid", chosen.value),
            )
            choices = await tx.fetchall(MY_CHOICES, (round_id, voter))
        return Voted(voting_round, {c[0]: Choice(c[1]) for c in choices})

    async def my_choices(self, telegram_id: int, round_id: int) -> dict[int, Choice]:
        """The voter's own choices: the only view that links a person to a ballot."""
        rows = await self._db.fetchall(MY_CHOICES, (round_id, self._voter(round_id, telegram_id)))
        return {row[0]: Choice(row[1]) for row in rows}

    async def reminder_applies(self, round_id: int, telegram_id: int) -> Round | None:
        """The round a "closes soon" reminder is about, while it is open and the person has
        not voted; None drops the reminder."""
        voting_round = await self.get_round(round_id)
        if not voting_round.is_open(self._clock()) or await self.has_voted(round_id, telegram_id):
            return None
        return voting_round

    async def has_voted(self, round_id: int, telegram_id: int) -> bool:
        return bool(
            await self._db.fetchval(
                "SELECT 1 FROM ballots WHERE round_id = ? AND voter_key = ? LIMIT 1",
                (round_id, self._voter(round_id, telegram_id)),
            )
        )

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """On erasure, in the erasure's transaction: the person's ballots stay as anonymous
        counts, unlinkable even to them, and a marker keeps them from voting on the same
        proposals again. The rounds they opened stay, unnamed."""
        tx.defer("UPDATE rounds SET created_by = 0 WHERE created_by = ?", (telegram_id,))
        rounds = [row[0] for row in await tx.fetchall("SELECT id FROM rounds")]
        tx.defer_many(
            "INSERT OR IGNORE INTO spent_ballots (round_id, proposal_id, marker)"
            " SELECT round_id, proposal_id, ? FROM ballots WHERE round_id = ? AND voter_key = ?",
            [(self._spent(r, telegram_id), r, self._voter(r, telegram_id)) for r in rounds],
        )
        tx.defer_many(
            "UPDATE ballots SET voter_key = NULL WHERE round_id = ? AND voter_key = ?",
            [(r, self._voter(r, telegram_id)) for r in rounds],
        )
        return False  # a ballot is no longer the person's: nothing of theirs was stored

    # Results --------------------------------------------------------------------------------

    async def results(self, round_id: int) -> list[ProposalResult]:
        voting_round = await self.get_round(round_id)
        if not voting_round.closed and not voting_round.results_visible:
            raise ResultsHidden()
        return await self._count(voting_round)

    async def _count(self, voting_round: Round) -> list[ProposalResult]:
        rows = await self._db.fetchall(
            "SELECT proposal_id, voter_group, choice, n FROM ballot_counts"
            " WHERE round_id = ? AND n > 0",
            (voting_round.id,),
        )
        groups: dict[int, dict[str, Tally]] = {}
        for row in rows:
            tally = groups.setdefault(row[0], {}).setdefault(row[1], Tally())
            setattr(tally, row[2], row[3])
        results = []
        for proposal in voting_round.proposals:
            by_group = groups.get(proposal.id, {})
            overall = Tally(
                *(
                    sum(getattr(t, c) for t in by_group.values())
                    for c in ("support", "oppose", "abstain")
                )
            )
            shown = publishable(overall, by_group)
            results.append(ProposalResult(proposal, overall, {g: shown.get(g) for g in GROUPS}))
        results.sort(key=lambda r: (-(r.overall.share or 0), -r.overall.votes))
        return results

    # What is due ----------------------------------------------------------------------------

    async def close_due(self) -> list[int]:
        """Close the rounds whose time is up, and tell everyone who took part."""
        now = self._clock()
        due = await self._db.fetchall(
            "SELECT id FROM rounds WHERE status = 'open' AND closes_at <= ?", (to_db_time(now),)
        )
        closed = []
        for (round_id,) in due:
            async with self._db.transaction() as tx:
                changed = await tx.execute(
                    "UPDATE rounds SET status = 'closed', closed_at = ? WHERE id = ?"
                    " AND status = 'open'",
                    (to_db_time(now), round_id),
                )
                if not changed:
                    continue
                # Read in the change: someone who erased meanwhile is not told.
                voters = await self._participants(tx, round_id, voted=True)
                await self._tell(tx, voters, RESULTS, round_id)
            closed.append(round_id)
        return closed

    async def remind_due(self) -> list[int]:
        """One reminder per round to those who have not voted, before it closes."""
        now = self._clock()
        rows = await self._db.fetchall(
            "SELECT id, opens_at, closes_at FROM rounds WHERE status = 'open' AND reminded = 0"
        )
        reminded = []
        for row in rows:
            opens, closes = from_db_time(row["opens_at"]), from_db_time(row["closes_at"])
            remind_at = closes - min(REMIND_BEFORE, (closes - opens) / 2)
            if now < remind_at or now >= closes:
                continue
            async with self._db.transaction() as tx:
                if not await tx.execute(
                    "UPDATE rounds SET reminded = 1 WHERE id = ? AND reminded = 0", (row["id"],)
                ):
                    continue
                missing = await self._participants(tx, row["id"], voted=False)
                await self._tell(tx, missing, REMINDER, row["id"])
            reminded.append(row["id"])
        return reminded

    async def _participants(self, tx: Transaction, round_id: int, voted: bool) -> list[int]:
        reachable = await people.reachable(tx)
        keys = {
            row[0]
            for row in await tx.fetchall(
                "SELECT DISTINCT voter_key FROM ballots WHERE round_id = ?"
                " UNION SELECT marker FROM spent_ballots WHERE round_id = ?",
                (round_id, round_id),
            )
        }
        return [
            p
            for p in reachable
            if (self._voter(round_id, p) in keys or self._spent(round_id, p) in keys) == voted
        ]

    async def _tell(self, tx: Transaction, chats: list[int], kind: str, round_id: int) -> None:
        self._outbox.enqueue_many(
            tx,
            chats,
            kind,
            {"round_id": round_id},
            not_before=self._clock(),
            subject=f"{kind}:{round_id}",
        )


def publishable(overall: Tally, by_group: dict[str, Tally]) -> dict[str, Tally]:
    """The groups that may be shown beside ``overall`` (bot.disclosure's one rule)."""
    sizes = {group: tally.votes for group, tally in by_group.items()}
    return {g: by_group[g] for g in shown_groups(overall.votes, sizes, GROUPS)}


def check_proposal(title: str, text: str) -> tuple[str, str]:
    title = " ".join(title.split())
    text = text.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(N_("The title must be 1 to {limit} characters."), limit=MAX_TITLE)
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput(
            N_("The proposal's text must be 1 to {limit} characters."), limit=MAX_TEXT
        )
    return title, text
