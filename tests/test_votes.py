"""Votes without Telegram: who may open a round, one vote each, secrecy, results across groups."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import parse_config
from bot.db import Database
from bot.disclosure import SMALL_GROUP
from bot.errors import InvalidInput, NotAllowed, NotFound, NotRegistered
from bot.services import Services
from bot.votes import (
    GROUPS,
    ProposalResult,
    ResultsHidden,
    RoundClosed,
    Tally,
    VotedBeforeErasure,
)
from tests.conftest import ADMIN_ID, RAW_CONFIG, TOKEN, make_config

NETWORK = 701
TOWN = 700


async def setup(services: Services, residents: int = 6, newcomers: int = 6) -> list[int]:
    await services.staff.grant(ADMIN_ID, NETWORK, "coordinator")
    await services.staff.grant(ADMIN_ID, TOWN, "coordinator", "bari")
    people = []
    for i in range(residents + newcomers):
        telegram_id = 5000 + i
        await services.people.give_consent(telegram_id, "en")
        await services.people.set_self_description(
            telegram_id, "resident" if i < residents else "newcomer"
        )
        people.append(telegram_id)
    return people


async def chapter(services: Services) -> int:
    return int(await services.db.fetchval("SELECT id FROM chapters ORDER BY position LIMIT 1"))


async def open_round(services: Services, proposals: int = 2) -> tuple[int, list[int]]:
    ids = [
        await services.votes.add_proposal(
            NETWORK, await chapter(services), f"Proposal {i}", f"Text of proposal {i}"
        )
        for i in range(proposals)
    ]
    voting_round = await services.votes.open_round(
        NETWORK, "Spring vote", ids, services.clock() + timedelta(days=3)
    )
    return voting_round.id, ids


async def test_who_may_propose_and_open_a_round(services: Services) -> None:
    people = await setup(services)
    chapter_id = await chapter(services)
    with pytest.raises(NotAllowed):
        await services.votes.add_proposal(people[0], chapter_id, "Mine", "Text")
    proposal = await services.votes.add_proposal(TOWN, chapter_id, "Town idea", "Text")
    closes = services.clock() + timedelta(days=1)
    for actor in (people[0], TOWN):
        with pytest.raises(NotAllowed):
            await services.votes.open_round(actor, "Vote", [proposal], closes)
    with pytest.raises(NotFound):
        await services.votes.open_round(NETWORK, "Vote", [proposal, 99999], closes)
    with pytest.raises(InvalidInput):
        await services.votes.open_round(NETWORK, "Vote", [proposal], services.clock())
    with pytest.raises(InvalidInput):
        await services.votes.add_proposal(TOWN, chapter_id, "x" * 200, "Text")
    assert (await services.votes.open_round(NETWORK, "Vote", [proposal], closes)).proposals


async def test_one_vote_per_person_changeable_until_the_close(services: Services) -> None:
    people = await setup(services)
    round_id, (first, second) = await open_round(services)
    voter = people[0]
    await services.votes.vote(voter, round_id, first, "support")
    voted = await services.votes.vote(voter, round_id, first, "oppose")
    # The vote answers with the round and the voter's own choices as they now are.
    assert voted.round == await services.votes.get_round(round_id)
    assert voted.choices == {first: "oppose"}
    # A burst of double taps still leaves one ballot.
    await asyncio.gather(
        *(services.votes.vote(voter, round_id, second, "abstain") for _ in range(10))
    )
    assert await services.votes.my_choices(voter, round_id) == {first: "oppose", second: "abstain"}
    assert await services.db.fetchval("SELECT COUNT(*) FROM ballots") == 2
    with pytest.raises(ResultsHidden):
        await services.votes.results(round_id)

    services.clock.advance(days=3, seconds=1)
    with pytest.raises(RoundClosed):
        await services.votes.vote(voter, round_id, first, "support")
    assert await services.votes.close_due() == [round_id]
    assert await services.votes.my_choices(voter, round_id) == {first: "oppose", second: "abstain"}


@pytest.mark.parametrize(
    ("who", "proposal", "choice", "error"),
    [
        (99999, 0, "support", NotRegistered),  # not a participant
        (5000, 424242, "support", InvalidInput),  # outside the round
        (5000, 0, "yes please", InvalidInput),
        (5000, 0, "", InvalidInput),
    ],
)
async def test_forged_votes_are_refused(
    services: Services, who: int, proposal: int, choice: str, error: type[Exception]
) -> None:
    await setup(services)
    round_id, ids = await open_round(services)
    with pytest.raises(error):
        await services.votes.vote(who, round_id, ids[0] if proposal == 0 else proposal, choice)
    with pytest.raises(NotFound):
        await services.votes.vote(5000, 777, ids[0], "support")
    assert await services.db.fetchval("SELECT COUNT(*) FROM ballots") == 0


async def test_results_across_groups_with_small_groups_withheld(services: Services) -> None:
    people = await setup(services, residents=6, newcomers=6)
    round_id, (liked, split) = await open_round(services)
    for voter in people:
        await services.votes.vote(voter, round_id, liked, "support")
    # Residents support, newcomers oppose; one "unsaid" voter is too few to show.
    for voter in people[:6]:
        await services.votes.vote(voter, round_id, split, "support")
    for voter in people[6:]:
        await services.votes.vote(voter, round_id, split, "oppose")
    await services.people.give_consent(6000, "it")
    await services.votes.vote(6000, round_id, split, "support")
    services.clock.advance(days=4)
    await services.votes.close_due()
    results = {r.proposal.id: r for r in await services.votes.results(round_id)}
    assert results[liked].supported_by_both and results[liked].overall.share == 1.0
    assert not results[split].supported_by_both
    assert results[split].groups["resident"].support == 6  # type: ignore[union-attr]
    assert results[split].groups["unsaid"] is None  # 1 < SMALL_GROUP: withheld
    # And so is one large group: overall minus both would be the one "unsaid" vote.
    assert results[split].groups["newcomer"] is None
    assert results[split].overall.votes == 13
    ordered = await services.votes.results(round_id)
    assert ordered[0].proposal.id == liked  # most supported first
    assert SMALL_GROUP == 5


async def test_nothing_links_a_person_to_a_vote(services: Services) -> None:
    people = await setup(services)
    round_id, (first, _) = await open_round(services)
    for voter in people:
        await services.votes.vote(voter, round_id, first, "support")
    # No table row anywhere holds a voter's Telegram id together with a choice.
    columns = await services.db.fetchall("PRAGMA table_info(ballots)")
    assert "telegram_id" not in {c["name"] for c in columns}
    rows = await services.db.fetchall("SELECT * FROM ballots")
    for row in rows:
        for value in tuple(row):
            assert str(value) not in {str(p) for p in people}
    # The database file alone is not enough to find a person's ballot: the key is elsewhere.
    database = sqlite3.connect(services.config.database)
    try:
        keys = {r[0] for r in database.execute("SELECT voter_key FROM ballots")}
    finally:
        database.close()

    assert hashlib.sha256(f"{round_id}:{people[0]}".encode()).hexdigest() not in keys
    # Erasing a person leaves their vote as an anonymous count, unreachable even by them.
    await services.erase_person(people[0])
    await services.people.give_consent(people[0], "en")
    assert await services.votes.my_choices(people[0], round_id) == {}
    assert await services.db.fetchval("SELECT COUNT(*) FROM ballots") == len(people)


async def test_reminders_go_to_non_voters_once_and_results_to_voters(services: Services) -> None:
    people = await setup(services, residents=3, newcomers=0)
    round_id, (first, _) = await open_round(services)
    await services.votes.vote(people[0], round_id, first, "support")
    assert await services.votes.remind_due() == []  # not yet: a day before the close
    services.clock.advance(days=2, hours=1)
    assert await services.votes.remind_due() == [round_id]
    assert await services.votes.remind_due() == []
    reminded = await services.db.fetchall(
        "SELECT chat_id FROM outbox WHERE kind = 'round_reminder' ORDER BY chat_id"
    )
    assert [r[0] for r in reminded] == sorted(
        {*people[1:], NETWORK, TOWN}
        & {r[0] for r in await services.db.fetchall("SELECT telegram_id FROM people")}
    )
    services.clock.advance(days=1)
    assert await services.votes.close_due() == [round_id]
    told = await services.db.fetchall("SELECT chat_id FROM outbox WHERE kind = 'round_results'")
    assert [r[0] for r in told] == [people[0]]


COUNTED = (
    "SELECT round_id, proposal_id, voter_group, choice, n FROM ballot_counts WHERE n > 0"
    " ORDER BY 1, 2, 3, 4"
)
RECOUNTED = (
    "SELECT round_id, proposal_id, voter_group, choice, COUNT(*) FROM ballots"
    " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
)


async def test_the_kept_counts_always_equal_the_ballots(services: Services) -> None:
    people = await setup(services, residents=6, newcomers=6)
    round_id, (first, second) = await open_round(services)
    for i, voter in enumerate(people):
        await services.votes.vote(voter, round_id, first, ("support", "oppose", "abstain")[i % 3])
        await services.votes.vote(voter, round_id, second, "support")
    # Changed minds, a vote given twice the same way, a new self-description, an erasure.
    await services.votes.vote(people[0], round_id, first, "oppose")
    await services.votes.vote(people[1], round_id, first, "oppose")
    await services.votes.vote(people[2], round_id, second, "support")
    await services.people.set_self_description(people[3], "newcomer")
    await services.votes.vote(people[3], round_id, second, "oppose")
    await services.erase_person(people[4])
    counted = [tuple(r) for r in await services.db.fetchall(COUNTED)]
    assert counted == [tuple(r) for r in await services.db.fetchall(RECOUNTED)]
    assert sum(r[4] for r in counted) == 2 * len(people)
    services.clock.advance(days=4)
    await services.votes.close_due()
    results = {r.proposal.id: r for r in await services.votes.results(round_id)}
    assert results[second].overall.support == 11 and results[second].overall.oppose == 1
    assert results[second].groups["newcomer"].oppose == 1  # type: ignore[union-attr]
    assert results[second].groups["newcomer"].support == 6  # type: ignore[union-attr]
    # A round with its ballots gone leaves no counts behind.
    await services.db.execute("DELETE FROM ballots WHERE round_id = ?", (round_id,))
    assert await services.db.fetchall(COUNTED) == []


async def test_two_rounds_opened_at_once_cannot_share_a_proposal(services: Services) -> None:
    await setup(services)
    proposal = await services.votes.add_proposal(
        NETWORK, await chapter(services), "Shared tables", "Text"
    )
    closes = services.clock() + timedelta(days=2)
    outcomes = await asyncio.gather(
        *(services.votes.open_round(NETWORK, f"Vote {i}", [proposal], closes) for i in range(2)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, InvalidInput)]
    assert len(refused) == 1
    assert refused[0].message == "These proposals are already in an open vote. Nothing was changed."
    assert await services.db.fetchval("SELECT COUNT(*) FROM rounds") == 1


# Promises under attack ------------------------------------------------------------------------


async def test_voting_again_after_erasure_is_refused_and_the_first_vote_counts_once(
    services: Services,
) -> None:
    people = await setup(services)
    round_id, (voted, untouched) = await open_round(services)
    voter = people[0]
    await services.votes.vote(voter, round_id, voted, "support")
    # Vote, /deleteme, /start, vote again: still one ballot of theirs in the round.
    await services.erase_person(voter)
    await services.people.give_consent(voter, "en")
    with pytest.raises(VotedBeforeErasure) as refused:
        await services.votes.vote(voter, round_id, voted, "oppose")
    assert refused.value.message == (
        "You voted on this proposal before you erased your data. That vote still counts,"
        " and nobody can change it any more, not even you."
    )
    counts = await services.db.fetchall(
        "SELECT choice, n FROM ballot_counts WHERE round_id = ? AND proposal_id = ? AND n > 0",
        (round_id, voted),
    )
    assert [tuple(r) for r in counts] == [("support", 1)]
    # A proposal they had not voted on is theirs to vote on as anyone's.
    assert (await services.votes.vote(voter, round_id, untouched, "oppose")).choices == {
        untouched: "oppose"
    }
    assert await services.votes.my_choices(voter, round_id) == {untouched: "oppose"}
    # And erasing again does not open the door either.
    await services.erase_person(voter)
    await services.people.give_consent(voter, "en")
    for proposal in (voted, untouched):
        with pytest.raises(VotedBeforeErasure):
            await services.votes.vote(voter, round_id, proposal, "abstain")
    total = await services.db.fetchval(
        "SELECT SUM(n) FROM ballot_counts WHERE round_id = ?", (round_id,)
    )
    assert total == 2


async def test_an_erased_ballot_cannot_be_linked_even_with_the_key(services: Services) -> None:
    """Holding the database and the key, one can find that someone erased took part in a
    proposal's vote, but not which ballot, nor the choice, is theirs."""
    people = await setup(services)
    round_id, (first, _) = await open_round(services)
    for voter in people:
        await services.votes.vote(voter, round_id, first, "support")
    await services.erase_person(people[0])
    key_of_round = services.votes._voter(round_id, people[0])
    rows = [tuple(r) for r in await services.db.fetchall("SELECT * FROM ballots")]
    assert all(key_of_round not in row for row in rows)
    markers = await services.db.fetchall("SELECT * FROM spent_ballots")
    assert {c["name"] for c in await services.db.fetchall("PRAGMA table_info(spent_ballots)")} == {
        "round_id",
        "proposal_id",
        "marker",
    }
    assert len(markers) == 1 and key_of_round not in tuple(markers[0])


def published(result: ProposalResult) -> dict[str, Tally]:
    """Every figure a reader sees about one proposal: the overall tally and the groups shown."""
    figures = {"overall": result.overall}
    figures.update({g: t for g, t in result.groups.items() if t is not None})
    return figures


@pytest.mark.parametrize(
    ("residents", "newcomers", "unsaid"),
    [(5, 1, 0), (6, 0, 2), (5, 5, 1), (7, 3, 4), (5, 6, 0), (9, 2, 2), (2, 2, 2), (12, 5, 4)],
)
async def test_no_published_figure_reveals_a_group_under_the_threshold(
    services: Services, residents: int, newcomers: int, unsaid: int
) -> None:
    """5 residents support and 1 newcomer opposes: overall minus residents would show the one
    newcomer's vote. Whatever is subtracted from whatever, no group under 5 comes out."""
    people = await setup(services, residents=residents, newcomers=newcomers)
    round_id, (first, _) = await open_round(services)
    for i, voter in enumerate(people):
        await services.votes.vote(voter, round_id, first, "support" if i < residents else "oppose")
    for i in range(unsaid):
        await services.people.give_consent(6100 + i, "en")
        await services.votes.vote(6100 + i, round_id, first, "abstain")
    services.clock.advance(days=4)
    await services.votes.close_due()
    (result,) = [r for r in await services.votes.results(round_id) if r.proposal.id == first]
    figures = published(result)
    sizes = {"resident": residents, "newcomer": newcomers, "unsaid": unsaid}
    hidden = [g for g in GROUPS if g not in figures]
    # What differencing yields: overall minus every shown group is all the hidden groups at once.
    rest = figures["overall"].votes - sum(figures[g].votes for g in GROUPS if g in figures)
    assert rest == sum(sizes[g] for g in hidden)
    assert rest == 0 or rest >= SMALL_GROUP, figures
    for group, tally in figures.items():
        assert group == "overall" or tally.votes == sizes[group] >= SMALL_GROUP
    if (residents, newcomers, unsaid) == (5, 1, 0):
        assert result.groups == {"resident": None, "newcomer": None, "unsaid": None}
        assert result.overall == Tally(support=5, oppose=1)
    if (residents, newcomers, unsaid) == (5, 6, 0):  # nothing small to protect: both shown
        assert figures["resident"] == Tally(support=5) and figures["newcomer"] == Tally(oppose=6)


async def test_the_ballot_key_can_live_away_from_the_database(tmp_path: Path) -> None:
    elsewhere = tmp_path / "secrets" / "ballot.key"
    config = make_config(tmp_path, ballot_key_file=str(elsewhere))
    assert config.ballot_key_file == elsewhere
    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        people = await setup(services, residents=1, newcomers=0)
        round_id, (first, _) = await open_round(services)
        await services.votes.vote(people[0], round_id, first, "support")
    finally:
        await services.db.close()
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
    key = elsewhere.read_bytes().strip()
    beside = [p.name for p in config.database.parent.iterdir() if "key" in p.name]
    assert beside == []
    # The environment names another place, and wins over the file.
    env_place = tmp_path / "env.key"
    raw = {**RAW_CONFIG, "bot": {**RAW_CONFIG["bot"], "ballot_key_file": str(elsewhere)}}
    env = {"BOT_TOKEN": TOKEN, "BASHKE_BALLOT_KEY_FILE": str(env_place)}
    assert parse_config(raw, env).ballot_key_file == env_place
    # By default the key sits beside the database, as before.
    assert make_config(tmp_path).ballot_key_file == config.database.with_name(
        config.database.name + ".ballot-key"
    )
    assert len(key) == 64


async def test_a_backup_never_holds_the_ballot_key(services: Services, tmp_path: Path) -> None:
    people = await setup(services, residents=1, newcomers=0)
    round_id, (first, _) = await open_round(services)
    await services.votes.vote(people[0], round_id, first, "support")
    key = services.config.ballot_key_file.read_bytes().strip()
    target = tmp_path / "backups" / "monday.sqlite3"
    await services.db.backup(target)
    assert [p.name for p in target.parent.iterdir()] == ["monday.sqlite3"]
    assert key not in target.read_bytes()
