"""The funder's report while other people tap: does /report slow the bot down for everyone else?

One Bashkë process (``bench/_bot_process.py``) over a full-size database: the background of
``bench.population`` (N participants, 1,000 events, 10·N votes in a closed round) plus two years
of history written here in bulk (past local and international events with registrations and
check-ins, stories, closed votes; the participants' joining spread over the two years). A
network coordinator asks for the last two years (``/report FROM TO``) while other people send
/help and /events one after another, each waiting for its answer, as people do.

Two kinds of window take turns (the order alternates), in the same bot process:

- **quiet**: the same taps, no report;
- **report**: the taps while one report is being made, from /report until "The report is ready".

The figure is the bot process's CPU per tap (all its threads, ``time.process_time``) in the
report windows over the quiet ones: the report's own share of the process (its queries, sending
the files) is spread over the taps of its window, and the worker process that draws the charts
and writes the PDF is not part of the bot process. Also printed: each window's median tap
latency, and the report's wall time (from /report to "ready") with the part spent reading the
figures. Every report must deliver a PDF and a zip, every tap its answer.

    python -m bench.report                      # about 2 minutes on 2 cores
    python -m bench.report --participants 10000 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench._bot_process import ADMIN_ID
from bench.onboarding import REPLY_TIMEOUT, Lab, Person, Session, crowd, print_header
from bench.population import FIRST_ID, Size
from bench.table import Figure, ratio
from bench.taps import background_database, background_size
from bot.config import DEFAULT_MAX_CONCURRENT_UPDATES, Config
from bot.db import Database, to_db_time, utcnow
from bot.i18n import Catalogs
from bot.services import Services
from handlers.reports import PROGRESS, STEPS
from tests.botapi import BotApiDouble, Call

GOAL = 1.2
REPORTER = 902  # a network coordinator, writing in Italian
TAPS = ("/help", "/events")
CATALOGS = Catalogs()
DAYS = 730
HISTORY_EVENTS = 400  # local, over the two years; and 8 international events
PER_EVENT = 25  # registrations per past event


@dataclass(frozen=True)
class Window:
    kind: str  # "quiet" or "report"
    cpu_per_tap: float  # seconds
    latency: float  # median seconds per tap, from sending it until its answer arrived
    taps: int
    wall: float = 0.0  # the report's, from /report to "ready"
    reading: float = 0.0  # of it, from /report until the figures were read (step 2)


@dataclass(frozen=True)
class ReportResult:
    windows: list[Window]
    size: Size

    def median(self, kind: str, value: Callable[[Window], float]) -> float:
        return statistics.median(value(w) for w in self.windows if w.kind == kind)

    @property
    def ratio(self) -> float:
        cpu: Callable[[Window], float] = lambda w: w.cpu_per_tap  # noqa: E731
        return self.median("report", cpu) / self.median("quiet", cpu)


async def add_history(database: Path, people: int) -> None:
    """Two years of a network's life, in bulk (the benchmark measures the report, not this)."""
    rng = random.Random(11)
    now = utcnow().replace(minute=0, second=0)
    db = Database(database)
    await db.open()
    try:
        towns = [row[0] for row in await db.fetchall("SELECT id FROM towns")]
        chapter = await db.fetchval("SELECT id FROM chapters LIMIT 1")
        async with db.transaction() as tx:
            await tx.execute(
                "UPDATE people SET consented_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now',"
                f" '-' || (abs(random()) % {DAYS}) || ' days') WHERE telegram_id >= ?",
                (FIRST_ID,),
            )
            first_event = int(await tx.fetchval("SELECT IFNULL(MAX(id), 0) + 1 FROM events"))
            events = []
            for i in range(HISTORY_EVENTS + 8):
                international = i >= HISTORY_EVENTS
                start = now - timedelta(days=rng.randrange(1, DAYS - 1), hours=rng.randrange(24))
                events.append(
                    (
                        first_event + i,
                        "international" if international else "local",
                        rng.choice(towns),
                        f"{'Meeting' if international else 'Activity'} {i}",
                        to_db_time(start),
                        to_db_time(start + timedelta(hours=2)),
                    )
                )
            await tx.executemany(
                "INSERT INTO events (id, scope, town_id, title, place, timezone, starts_at,"
                " ends_at, checkin_code, created_by, created_at)"
                " VALUES (?, ?, ?, ?, 'Hall', 'Europe/Tirane', ?, ?, 'code', 1, ?)",
                [(*e, to_db_time(now)) for e in events],
            )
            registrations = []
            for event in events:
                for seq, person in enumerate(rng.sample(range(people), PER_EVENT)):
                    present = event[4] if rng.random() < 0.6 else None
                    registrations.append((event[0], FIRST_ID + person, seq, event[4], present))
            await tx.executemany(
                "INSERT INTO registrations (event_id, telegram_id, status, seq, joined_at,"
                " checked_in_at) VALUES (?, ?, 'registered', ?, ?, ?)",
                registrations,
            )
            stories = []
            for _ in range(people // 50):
                submitted = now - timedelta(days=rng.randrange(DAYS), hours=rng.randrange(24))
                approved = rng.random() < 0.6
                stories.append(
                    (
                        FIRST_ID + rng.randrange(people),
                        chapter,
                        "approved" if approved else "pending",
                        to_db_time(submitted),
                        to_db_time(submitted + timedelta(days=1)) if approved else None,
                    )
                )
            await tx.executemany(
                "INSERT INTO stories (author_id, chapter_id, text, anonymous, status,"
                " created_at, updated_at, submitted_at, decided_at)"
                " VALUES (?, ?, 'Text', 1, ?, ?, ?, ?, ?)",
                [(a, c, s, sub, sub, sub, d) for a, c, s, sub, d in stories],
            )
    finally:
        await db.close()


async def prepare_database(folder: Path, size: Size) -> Path:
    """The population's background, copied, with the history added (built once per size)."""
    path = folder / f"report-{size.people}.sqlite3"
    if not path.exists():
        shutil.copyfile(await background_database(folder, size), path)
        await add_history(path, size.people)
    return path


class Prepare:
    def __init__(self, database: Path, people: Sequence[Person]) -> None:
        self.database = database
        self.people = people

    async def __call__(self, config: Config) -> None:
        shutil.copyfile(self.database, config.database)
        services = Services.build(config, Database(config.database))
        await services.start()
        try:
            towns = [t.id for t in await services.towns.list_towns()]
            for i, p in enumerate(self.people):
                await services.people.give_consent(p.telegram_id, p.language)
                await services.people.set_town(p.telegram_id, towns[i % len(towns)])
            await services.people.give_consent(REPORTER, "it")
            await services.staff.grant(ADMIN_ID, REPORTER, "coordinator")
        finally:
            await services.db.close()


def _answer_to(chat_id: int) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return call.method == "sendMessage" and call.params.get("chat_id") == chat_id

    return matches


def _ended(call: Call) -> bool:
    """The progress message's last edit: "ready", or the apology if the report failed."""
    tr = CATALOGS.translator("it")
    steps = {tr.gettext(PROGRESS).format(step=n, steps=STEPS) for n in range(1, STEPS + 1)}
    return (
        call.method == "editMessageText"
        and call.params.get("chat_id") == REPORTER
        and call.params.get("text") not in steps
    )


async def tap(double: BotApiDouble, person: Person, text: str) -> float:
    """Send one message and wait for its answer; return the seconds it took."""
    start = len(double.calls)
    sent = time.perf_counter()
    double.send_text(person.user, text)
    await double.wait_for(_answer_to(person.telegram_id), timeout=REPLY_TIMEOUT, start=start)
    return time.perf_counter() - sent


async def quiet_window(s: Session, people: Sequence[Person], taps: int) -> Window:
    cpu = await s.bot.cpu()
    latencies = [await tap(s.double, people[i % len(people)], TAPS[i % 2]) for i in range(taps)]
    spent = await s.bot.cpu() - cpu
    return Window("quiet", spent / taps, statistics.median(latencies), taps)


async def report_window(s: Session, people: Sequence[Person], period: tuple[str, str]) -> Window:
    reporter = {"id": REPORTER, "is_bot": False, "first_name": "Giulia", "language_code": "it"}
    start = len(s.double.calls)
    cpu = await s.bot.cpu()
    sent = time.monotonic()  # the clock of the double's Call.at
    s.double.send_text(reporter, f"/report {period[0]} {period[1]}")
    latencies: list[float] = []
    while not any(_ended(c) for c in s.double.calls[start:]):
        n = len(latencies)
        latencies.append(await tap(s.double, people[n % len(people)], TAPS[n % 2]))
    ready = await s.double.wait_for(_ended, timeout=REPLY_TIMEOUT, start=start)
    if ready.params["text"] != CATALOGS.translator("it").gettext("The report is ready."):
        raise SystemExit(f"the report failed: {ready.params['text']!r} (see the bot's log)")
    spent = await s.bot.cpu() - cpu
    calls = s.double.calls[start:]
    documents = [c for c in calls if c.method == "sendDocument"]
    names = [f.filename for c in documents for f in c.files.values()]
    pdfs = [f.data for c in documents for f in c.files.values() if f.filename.endswith(".pdf")]
    if not pdfs or not pdfs[0].startswith(b"%PDF") or not any(n.endswith(".zip") for n in names):
        raise SystemExit(f"the report did not deliver a PDF and a zip: {names}")
    step2 = CATALOGS.translator("it").gettext(PROGRESS).format(step=2, steps=STEPS)
    read = next(c for c in calls if c.method == "editMessageText" and c.params["text"] == step2)
    return Window(
        "report",
        spent / max(1, len(latencies)),
        statistics.median(latencies) if latencies else 0.0,
        len(latencies),
        wall=ready.at - sent,
        reading=read.at - sent,
    )


async def measure(lab: Lab, participants: int, rounds: int, taps: int) -> ReportResult:
    size = background_size(participants)
    assert size is not None
    database = await prepare_database(lab.workdir, size)
    people = crowd(600_000, 20)
    today = utcnow().date()
    period = ((today - timedelta(days=DAYS - 1)).isoformat(), today.isoformat())
    windows: list[Window] = []
    async with lab.session("bashke", prepare=Prepare(database, people)) as s:
        await quiet_window(s, people, 20)  # warm-up: every code path of the taps once
        for r in range(rounds):
            for kind in ("quiet", "report") if r % 2 == 0 else ("report", "quiet"):
                if kind == "quiet":
                    windows.append(await quiet_window(s, people, taps))
                else:
                    windows.append(await report_window(s, people, period))
        s.check()
    return ReportResult(windows, size)


def print_result(result: ReportResult) -> None:
    print()
    print(
        f"The funder's report: two years, {result.size.people:,} participants in the database"
        f" (plus {HISTORY_EVENTS + 8} past events), while others send /help and /events"
    )
    for w in result.windows:
        extra = (
            f"   report {w.wall:.1f} s (figures read in {w.reading * 1000:.0f} ms)"
            if w.kind == "report"
            else ""
        )
        print(
            f"   {w.kind:<7}{w.taps:>5} taps   {w.cpu_per_tap * 1e6:>7.0f} µs CPU per tap"
            f"   latency {w.latency * 1000:.1f} ms{extra}"
        )
    verdict = "met" if result.ratio <= GOAL else "NOT met"
    print(
        f"   CPU per tap during the report ÷ without: {result.ratio:.2f}×"
        f" (goal ≤ {GOAL}×: {verdict});"
        f" latency {result.median('report', lambda w: w.latency) * 1000:.1f} ms"
        f" ÷ {result.median('quiet', lambda w: w.latency) * 1000:.1f} ms;"
        f" report's wall time {result.median('report', lambda w: w.wall):.1f} s (median)"
    )


def figures(result: ReportResult) -> list[Figure]:
    cpu = result.median("report", lambda w: w.cpu_per_tap) * 1e6
    quiet = result.median("quiet", lambda w: w.cpu_per_tap) * 1e6
    return [
        Figure(
            f"others' taps during a 2-year /report, {result.size.people // 1000}k people (µs)",
            f"{cpu:.0f}",
            f"quiet: {quiet:.0f}",
            ratio(result.ratio),
            f"≤ {GOAL}×",
            result.ratio <= GOAL,
        ),
        Figure(
            "/report wall time, 2 years (s)",
            f"{result.median('report', lambda w: w.wall):.1f}",
            "",
            "",
            "",
        ),
    ]


async def run(args: argparse.Namespace) -> None:
    print_header("report")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bashke-bench-") as tmp:
        lab = Lab(Path(tmp), DEFAULT_MAX_CONCURRENT_UPDATES)
        result = await measure(lab, args.participants, args.rounds, args.taps)
    print_result(result)
    print(f"   ({time.perf_counter() - started:.0f} s)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--participants", type=int, default=100_000, help="in the database")
    parser.add_argument("--rounds", type=int, default=3, help="windows of each kind")
    parser.add_argument("--taps", type=int, default=200, help="taps per quiet window")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
