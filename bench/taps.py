"""Hot interactions benchmark: Bashkë's CPU per update against bare python-telegram-bot.

Run: ``python -m bench.taps [--people 100] [--repeats 3] [--background 100000] [--profile]`` from
the repository root. People already onboarded (written through the real services before the bot
starts) open an event card or a vote by deep link, or start a story; the measured update is the
one that follows: "Join" with seats left, "Join" on a card whose last seat went meanwhile (the
answer offers the waitlist), "Support" on a vote's first proposal, /events, and a story's text.
Each update goes to Bashkë and to a bare python-telegram-bot Application replaying Bashkë's calls,
each in its own process (the machinery of ``bench.onboarding``). With ``--background N`` the
database also holds N other participants, 1,000 events and 10·N votes (``bench.population``).
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench._bot_process import ADMIN_ID, bashke_config
from bench.onboarding import (
    CATALOGS,
    CPU_GOAL,
    REPO_ROOT,
    TOKEN,
    Lab,
    Person,
    Session,
    control_overhead,
    crowd,
    interleaved,
    print_header,
    save_script,
    short_method,
)
from bench.population import Size, populate
from bench.table import Figure, growth_label, ratio
from bot.config import DEFAULT_MAX_CONCURRENT_UPDATES, Config
from bot.db import Database, utcnow
from bot.events import MAX_CAPACITY, EventDraft, Outcome, Scope
from bot.people import DESCRIPTION_OF_ONE, SelfDescription
from bot.services import Services
from handlers.events import EVENTS_PER_PAGE, OUTCOME_TEXT
from tests.botapi import BotApiDouble

COORDINATOR_ID = 901
# Takes the full event's one seat after everyone has seen its card with "Join" on it.
FILLER = crowd(9_000, 1)[0]
VOTE_SAVED = "Your vote is saved. You can change it until the vote closes."
EVENTS_LISTED = "Upcoming events (page {page} of {pages}):"
STORY_TEXT = (
    "When we arrived, the neighbours on our stairs brought soup and showed my son the way to"
    " school. Small things, but they made this town ours."
)
ASK_ANONYMITY = "Should your story carry your first name, or be anonymous?"
PROPOSALS = (
    (
        "Mixed welcome desks",
        "Every town hall staffs its welcome desk with a resident and a newcomer.",
    ),
    ("Open kitchens", "A monthly dinner where neighbours cook each other's dishes."),
    ("Language tandems", "Pairs who teach each other their languages, met through the bot."),
)


@dataclass(frozen=True)
class Ids:
    roomy: int  # an event with a seat for everyone
    full: int  # an event with one seat, taken before the measured taps
    round: int
    proposal: int  # the round's first proposal: the one its card shows
    chapter: int  # the manual's first chapter, the stories' subject
    event_pages: int  # of /events


@dataclass(frozen=True)
class Scenario:
    name: str
    opens: tuple[str, ...]  # the updates that lead to the measured one, sent before any is
    tap: str  # the measured update: a button's data, or a command or text to send
    note: str  # the answer starts with this text, translated (and formatted with ``values``)
    answer: tuple[str, ...] = ("answerCallbackQuery", "editMessageText")  # its calls
    values: tuple[tuple[str, int], ...] = ()


def scenarios(ids: Ids) -> list[Scenario]:
    return [
        Scenario(
            "Join, seats left",
            (f"/start ev_{ids.roomy}",),
            f"join:{ids.roomy}",
            OUTCOME_TEXT[Outcome.REGISTERED],
        ),
        Scenario(
            "Join, full: waitlist offer",
            (f"/start ev_{ids.full}",),
            f"join:{ids.full}",
            OUTCOME_TEXT[Outcome.FULL],
        ),
        Scenario(
            "Vote: support",
            (f"/start vote_{ids.round}",),
            f"vt:{ids.round}:{ids.proposal}:support",
            VOTE_SAVED,
        ),
        Scenario(
            "/events",
            (),
            "/events",
            EVENTS_LISTED,
            ("sendMessage",),
            (("page", 1), ("pages", ids.event_pages)),
        ),
        Scenario(
            "Story: the text",
            ("/story", f"stch:{ids.chapter}"),
            STORY_TEXT,
            ASK_ANONYMITY,
            ("sendMessage",),
        ),
    ]


class Setup:
    """What each Bashkë database holds before its bot starts: the same in every session."""

    def __init__(self, people: Sequence[Person], background: Path | None = None) -> None:
        self.people = people
        self.background = background  # a database to start from (``background_database``)
        # Fixed once, so every session shows the same dates on its cards.
        hour = utcnow().replace(minute=0, second=0, microsecond=0)
        self.starts_at = hour + timedelta(days=30)
        self.closes_at = hour + timedelta(days=7)
        self.ids: Ids | None = None

    async def prepare(self, config: Config) -> None:
        if self.background is not None:
            shutil.copyfile(self.background, config.database)
        services = Services.build(config, Database(config.database))
        await services.start()
        try:
            ids = await self._fill(services)
        finally:
            await services.db.close()
        if self.ids is None:
            self.ids = ids
        elif ids != self.ids:
            raise SystemExit(f"the sessions' databases differ: {ids} vs {self.ids}")

    async def _fill(self, services: Services) -> Ids:
        towns = {town.name: town.id for town in await services.towns.list_towns()}
        descriptions = {DESCRIPTION_OF_ONE[value]: value for value in SelfDescription}
        for p in self.people:
            await services.people.give_consent(p.telegram_id, p.language)
            await services.people.set_town(p.telegram_id, towns[p.town])
            await services.people.set_self_description(p.telegram_id, descriptions[p.description])
        await services.staff.grant(ADMIN_ID, COORDINATOR_ID, "coordinator")
        shkoder = await services.towns.by_slug("shkoder")

        def draft(title: str, capacity: int) -> EventDraft:
            return EventDraft(
                scope=Scope.LOCAL,
                town_id=shkoder.id,
                title=title,
                description="Bring a friend, and a dish from home if you like.",
                place="Pedonalja, Shkodër",
                timezone="Europe/Tirane",
                starts_at=self.starts_at,
                ends_at=self.starts_at + timedelta(hours=2),
                capacity=capacity,
            )

        roomy = await services.events.create(COORDINATOR_ID, draft("Open day", MAX_CAPACITY))
        full = await services.events.create(COORDINATOR_ID, draft("Cooking together", 1))
        chapter = (await services.stories.chapters("en", "en"))[0][0]
        proposals = [
            await services.votes.add_proposal(COORDINATOR_ID, chapter, title, text)
            for title, text in PROPOSALS
        ]
        voting_round = await services.votes.open_round(
            COORDINATOR_ID, "Spring vote", proposals, self.closes_at
        )
        # The full event's last seat would alert its coordinator through the outbox: a message
        # to a chat no update came from, which the bare bot would not send. Their part is done.
        await services.staff.revoke(ADMIN_ID, COORDINATOR_ID, "coordinator")
        _, upcoming = await services.events.upcoming(self.people[0].telegram_id, 0, 1)
        pages = -(-upcoming // EVENTS_PER_PAGE)
        return Ids(roomy.id, full.id, voting_round.id, proposals[0], chapter, pages)


async def background_database(folder: Path, size: Size) -> Path:
    """A database holding ``size`` besides the benchmark's people, built once and copied."""
    path = folder / f"background-{size.people}.sqlite3"
    if path.exists():
        return path
    config = bashke_config(
        TOKEN,
        "http://127.0.0.1:9/bot",
        "http://127.0.0.1:9/file/bot",
        str(path),
        DEFAULT_MAX_CONCURRENT_UPDATES,
    )
    services = Services.build(config, Database(path))
    await services.start()
    try:
        # A network coordinator proposes and opens the large vote, then steps down, so nothing
        # during the benchmark is sent to them.
        await services.staff.grant(ADMIN_ID, COORDINATOR_ID, "coordinator")
        await populate(services, size, author=COORDINATOR_ID)
        await services.staff.revoke(ADMIN_ID, COORDINATOR_ID, "coordinator")
    finally:
        await services.db.close()
    return path


def showing(double: BotApiDouble, chat_id: int, data: str) -> int:
    """The newest message in the chat with a button carrying this data."""
    for message in reversed(double.messages(chat_id)):
        if any(shown == data for row in double.buttons(message) for _, shown in row):
            return int(message["message_id"])
    raise LookupError(f"no message in chat {chat_id} shows a button {data!r}")


def push_update(double: BotApiDouble, person: Person, step: str) -> str:
    """A step is the update itself: a command or a text (with a space) to send, or the data of a
    shown button to tap (button data never holds a space)."""
    if step.startswith("/") or " " in step:
        double.send_text(person.user, step)
    else:
        double.tap(person.user, showing(double, person.telegram_id, step), step)
    return f"{person.telegram_id} {step}"


# Per bot, per scenario: the measured taps' CPU seconds, and the part off the event loop's thread.
Spent = dict[str, dict[str, tuple[float, float]]]


async def drive(
    sessions: dict[str, Session],
    ids: Ids,
    warm: Sequence[Person],
    measured: Sequence[Person],
    profile_dir: Path | None = None,
) -> Spent:
    """Everyone opens every card; the filler takes the full event's seat; then per scenario the
    warm-up people tap, then the measured people, whose taps are counted.

    With ``profile_dir``, the Bashkë process is profiled over each scenario's measured taps.
    """
    cases = scenarios(ids)
    opening = [step for case in cases for step in case.opens]
    await interleaved(sessions, [FILLER, *warm, *measured], opening)
    await interleaved(sessions, [FILLER], [f"join:{ids.full}"])
    spent: Spent = {kind: {} for kind in sessions}
    for i, case in enumerate(cases):
        await interleaved(sessions, warm, [case.tap])
        if profile_dir is not None:
            await sessions["bashke"].bot.ask("profile_on")
        tallies = await interleaved(sessions, measured, [case.tap])
        if profile_dir is not None:
            await sessions["bashke"].bot.ask("profile_off", path=str(profile_dir / f"{i}.prof"))
        for kind, tally in tallies.items():
            spent[kind][case.name] = (tally.steps[case.tap], tally.elsewhere)
    for s in sessions.values():
        s.check()
    return spent


def check_answers(reference: Session, ids: Ids, people: Sequence[Person]) -> None:
    """Each measured update got the answer its scenario is about, not a refusal or an error."""
    for case in scenarios(ids):
        for person in people:
            calls = reference.script.get(f"{person.telegram_id} {case.tap}", [])
            methods = tuple(method for method, _ in calls)
            tr = CATALOGS.translator(person.language)
            note = tr.gettext(case.note).format(**dict(case.values))
            text = str(calls[-1][1].get("text", "")) if calls else ""
            if methods != case.answer or not text.startswith(note):
                raise SystemExit(f"{case.name}: {person.telegram_id} was answered {calls}")


def difference(reference: Session, other: Session, keys: Sequence[str]) -> str | None:
    """The first update this bot answered unlike Bashkë's first run did, if any."""
    for key in keys:
        if other.script.get(key) != reference.script.get(key):
            return f"{key!r}: {reference.script.get(key)} vs {other.script.get(key)}"
    return None


@dataclass
class Result:
    spent: dict[str, list[dict[str, tuple[float, float]]]]  # per bot: per run: see Spent
    people: int
    calls: dict[str, str]  # per scenario: the Bot API methods of its tap
    compared: dict[str, int]  # per scenario: calls compared per run (cards and taps)
    differences: dict[str, str]  # per scenario: the first difference, if the calls differed
    control_us: float

    def median_us(self, kind: str, name: str, part: int = 0) -> float:
        """The median over the runs of the bot's CPU per update (part 1: off the loop's thread)."""
        return statistics.median(run[name][part] for run in self.spent[kind]) / self.people * 1e6


def figures(
    result: Result, size: Size | None = None, smaller: tuple[Result, Size] | None = None
) -> list[Figure]:
    """Each scenario against the bare bot; with ``smaller``, how Bashkë's CPU grew from it."""
    where = f", {size.people // 1000}k people" if size is not None else ""
    rows = []
    for name in result.calls:
        ours, bare = result.median_us("bashke", name), result.median_us("bare", name)
        rows.append(
            Figure(
                f"CPU per update{where}: {name} (µs)",
                f"{ours:.0f}",
                f"bare {bare:.0f}",
                ratio(ours / bare),
                f"≤ {CPU_GOAL}×",
                ours / bare <= CPU_GOAL and name not in result.differences,
            )
        )
    if smaller is not None and size is not None:
        before_result, before_size = smaller
        label = growth_label(before_size.people, size.people)
        for name in result.calls:
            before, after = (
                before_result.median_us("bashke", name),
                result.median_us("bashke", name),
            )
            rows.append(
                Figure(
                    f"{name}: {label}", f"{after:.0f}", f"{before:.0f}", ratio(after / before), ""
                )
            )
    return rows


async def measure(
    lab: Lab, people: int, warmup: int, repeats: int, background: Path | None = None
) -> Result:
    measured, warm = crowd(20_000, people), crowd(10_000, warmup)
    setup = Setup([FILLER, *warm, *measured], background)
    # First Bashkë alone, unmeasured: it records the calls the bare bot will replay.
    async with lab.session("bashke", pusher=push_update, prepare=setup.prepare) as reference:
        assert setup.ids is not None
        ids = setup.ids
        await drive({"bashke": reference}, ids, warm, measured)
    check_answers(reference, ids, [*warm, *measured])
    script = save_script([reference], lab.workdir / "taps-script.json")
    cases = scenarios(ids)
    keys = {
        case.name: [f"{p.telegram_id} {step}" for p in measured for step in (*case.opens, case.tap)]
        for case in cases
    }
    runs: dict[str, list[dict[str, tuple[float, float]]]] = {"bashke": [], "bare": []}
    differences: dict[str, str] = {}
    control: list[float] = []
    for _ in range(repeats):
        async with (
            lab.session("bashke", pusher=push_update, prepare=setup.prepare) as ours,
            lab.session("bare", script, pusher=push_update) as bare,
        ):
            sessions = {"bashke": ours, "bare": bare}
            spent = await drive(sessions, ids, warm, measured)
            control.append(await control_overhead(bare.bot))
        for kind, s in sessions.items():
            runs[kind].append(spent[kind])
            for case in cases:
                found = difference(reference, s, keys[case.name])
                if found is not None:
                    differences.setdefault(case.name, f"{kind}: {found}")
    return Result(
        spent=runs,
        people=people,
        calls={
            case.name: " + ".join(short_method(m) for m in sorted(reference.methods[case.tap]))
            for case in cases
        },
        compared={
            name: sum(len(reference.script[key]) for key in scenario_keys)
            for name, scenario_keys in keys.items()
        },
        differences=differences,
        control_us=statistics.median(control) * 1e6,
    )


def print_result(result: Result, repeats: int, warmup: int) -> None:
    print()
    print(
        f"CPU per tap: {result.people} onboarded people tap once per scenario, one update at a"
        f" time, each update to both bots in turn; median of {repeats} runs,"
        f" after {warmup} warm-up people"
    )
    print(
        f"   {'scenario':<28}{'calls':<15}{'Bashkë µs':>10}{'(DB thread)':>12}{'bare µs':>9}"
        f"{'ratio':>8}  {'goal ≤ ' + str(CPU_GOAL) + '×':<12}identical calls"
    )

    def median_us(kind: str, name: str, part: int) -> float:
        return result.median_us(kind, name, part)

    for name in result.calls:
        ours, bare = median_us("bashke", name, 0), median_us("bare", name, 0)
        # Clamped at 0: for a bot without other threads the difference is rounding noise.
        thread = max(0.0, median_us("bashke", name, 1))
        ratio = ours / bare
        goal = "met" if ratio <= CPU_GOAL else "NOT met"
        same = "NO" if name in result.differences else f"yes ({result.compared[name]} calls)"
        print(
            f"   {name:<28}{result.calls[name]:<15}{ours:>10.0f}{thread:>12.0f}{bare:>9.0f}"
            f"{ratio:>7.2f}×  {goal:<12}{same}"
        )
        ratios = [
            a[name][0] / b[name][0]
            for a, b in zip(result.spent["bashke"], result.spent["bare"], strict=True)
        ]
        print(f"   {'':<28}ratio in each run: {', '.join(f'{r:.2f}×' for r in ratios)}")
    print(
        "   DB thread: the part of Bashkë's CPU outside the event loop's thread (aiosqlite's"
        " worker)"
    )
    print(
        f"   included in both: the benchmark's control round trip, {result.control_us:.0f} µs per"
        " update"
    )
    print(
        "   identical calls: per run, both bots' calls for every measured person's card and tap"
        " equal those of a first Bashkë run, routing ids aside"
    )


def _where(file: str, line: int, function: str) -> str:
    if file == "~":  # a built-in
        return function
    path = Path(file)
    parts = path.parts
    if "site-packages" in parts:
        path = Path(*parts[parts.index("site-packages") + 1 :])
    elif path.is_relative_to(REPO_ROOT):
        path = path.relative_to(REPO_ROOT)
    else:
        path = Path(path.name)
    return f"{path}:{line}({function})"


# The event loop waiting for something to do: wall time in the profile, but no work.
IDLE = ("<method 'poll' of 'select.epoll' objects>", "<method 'select' of 'select.select' objects>")


def top_functions(path: Path, count: int) -> str:
    """The functions with the most own time, and their share of the thread's time not idle."""
    stats: Any = pstats.Stats(str(path))
    rows = [(where, row[2]) for where, row in stats.stats.items() if where[2] not in IDLE]
    rows.sort(key=lambda item: item[1], reverse=True)
    busy = sum(own for _, own in rows) or 1.0
    return ", ".join(f"{_where(*where)} {own / busy:.0%}" for where, own in rows[:count])


async def profile(
    lab: Lab, people: int, warmup: int, top: int, background: Path | None = None
) -> None:
    """cProfile of the Bashkë process's main thread over each scenario's measured taps."""
    measured, warm = crowd(20_000, people), crowd(10_000, warmup)
    setup = Setup([FILLER, *warm, *measured], background)
    profile_dir = lab.workdir / "profiles"
    profile_dir.mkdir()
    async with lab.session("bashke", pusher=push_update, prepare=setup.prepare) as s:
        assert setup.ids is not None
        ids = setup.ids
        await drive({"bashke": s}, ids, warm, measured, profile_dir)
    print()
    print(
        f"cProfile of the Bashkë process over the measured taps: top {top} functions by own time,"
        " as a share of the main thread's time not spent waiting in select (aiosqlite's thread is"
        " not in it)"
    )
    for i, case in enumerate(scenarios(ids)):
        print(f"   {case.name}: {top_functions(profile_dir / f'{i}.prof', top)}")


async def measure_with(
    lab: Lab, people: int, warmup: int, repeats: int, background: Size | None
) -> Result:
    """Measure, print the details, and stop if the bots' calls differed."""
    database = None
    if background is not None:
        database = await background_database(lab.workdir, background)
    result = await measure(lab, people, warmup, repeats, database)
    if background is not None:
        print()
        print(f"With {background.label} in the database besides:", end="")
    print_result(result, repeats, warmup)
    if result.differences:
        for name, found in result.differences.items():
            print(f"{name}: the bots' calls differ, first at {found}", file=sys.stderr)
        raise SystemExit("the two bots did not make the same calls: the figures compare nothing")
    return result


def background_size(people: int) -> Size | None:
    return Size(people, 1000, 10 * people) if people else None


async def run(args: argparse.Namespace) -> None:
    print_header("hot interactions")
    with tempfile.TemporaryDirectory(prefix="bashke-bench-") as tmp:
        # Bashkë's default; the updates come one at a time here, so it changes nothing.
        lab = Lab(Path(tmp), DEFAULT_MAX_CONCURRENT_UPDATES)
        started = time.perf_counter()
        size = background_size(args.background)
        await measure_with(lab, args.people, args.warmup, args.repeats, size)
        if args.profile:
            database = None if size is None else await background_database(lab.workdir, size)
            await profile(lab, args.people, args.warmup, args.top, database)
        print()
        print(f"Finished in {time.perf_counter() - started:.0f} s.")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.taps", description=__doc__)
    parser.add_argument("--people", type=int, default=100, help="measured taps per scenario")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up people per bot process")
    parser.add_argument("--repeats", type=int, default=3, help="runs (median)")
    parser.add_argument(
        "--background", type=int, default=0, help="other participants in the database (10× votes)"
    )
    parser.add_argument("--profile", action="store_true", help="also profile Bashkë's taps")
    parser.add_argument("--top", type=int, default=5, help="functions per profiled scenario")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
