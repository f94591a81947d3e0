"""Onboarding benchmark: Bashkë's CPU per update against bare python-telegram-bot, and latency."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench._bot_process import bashke_config
from bench.table import Figure, ratio
from bot.config import DEFAULT_MAX_CONCURRENT_UPDATES, Config
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, Catalogs
from bot.people import DESCRIPTION_OF_ONE, SelfDescription
from tests.botapi import BotApiDouble

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:AAbench-token-for-the-bot-api-double"
REPLY_TIMEOUT = 180.0
DATABASE = "bashke.db"  # in each session's scratch folder
TOWNS = ("Bari", "Shkodër")
STEPS = ("start", "language", "consent", "town", "description")
STEP_NAMES = {
    "start": "/start",
    "language": "tap a language",
    "consent": 'tap "I agree"',
    "town": "tap a town",
    "description": "tap a self-description",
}
CPU_GOAL = 1.5
LATENCY_GOAL = 0.5
LATENCY = 0.1
# The bursts of figure 2: the taps after the privacy notice, each a database write.
BURST_TAPS = ("consent", "town", "description")
CATALOGS = Catalogs()
# A recorded call is replayed by the bare bot; these say where, and come from the update.
ROUTING = ("chat_id", "message_id", "callback_query_id")


@dataclass(frozen=True)
class Person:
    telegram_id: int
    language: str
    town: str
    description: str  # the English label; translated when tapped

    @property
    def user(self) -> dict[str, Any]:
        return {
            "id": self.telegram_id,
            "is_bot": False,
            "first_name": f"P{self.telegram_id}",
            "language_code": self.language,
        }


def crowd(first_id: int, count: int) -> list[Person]:
    """People in every language, town and self-description, in turn."""
    return [
        Person(
            first_id + i,
            LANGUAGES[i % len(LANGUAGES)],
            TOWNS[i % len(TOWNS)],
            DESCRIPTION_OF_ONE[list(SelfDescription)[i % len(SelfDescription)]],
        )
        for i in range(count)
    ]


class BotProcess:
    """A bot in a child process, driven over its stdin/stdout (see bench/_bot_process.py)."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log
        self.info: dict[str, Any] = {}

    @classmethod
    async def start(
        cls, kind: str, double: BotApiDouble, workdir: Path, concurrency: int, script: Path | None
    ) -> BotProcess:
        log = workdir / f"{kind}.stderr.log"
        database = str(workdir / DATABASE)
        args = [kind, double.base_url, double.base_file_url, TOKEN, database, str(concurrency)]
        if script is not None:
            args.append(str(script))
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench._bot_process",
                *args,
                cwd=REPO_ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        child = cls(process, log)
        child.info = await child.answer()
        return child

    async def answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        async with asyncio.timeout(REPLY_TIMEOUT):
            line = await self.process.stdout.readline()
        if not line:
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"the bot process ended early; its stderr ends with:\n{tail}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def ask(self, op: str, **params: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps({"op": op, **params}) + "\n").encode())
        await self.process.stdin.drain()
        return await self.answer()

    async def cpu(self) -> float:
        return float((await self.ask("cpu"))["cpu"])

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ask("quit")
        try:
            async with asyncio.timeout(20):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        text = self.log.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            # Not part of the table: a bot that logged something may have failed an update.
            print(f"[{self.log.name}]\n{text[-2000:]}", file=sys.stderr)


@dataclass
class Phase:
    cpu: float  # seconds of the bot process's CPU
    wall: float  # seconds from the first push until the bot had handled the last update
    updates: int
    calls: list[Any]  # the double's Call objects made while handling the phase


def push_onboarding(double: BotApiDouble, person: Person, step: str) -> str:
    """Send this person's update of the onboarding step; return its replay key."""
    tr = CATALOGS.translator(person.language)
    if step == "start":
        double.send_text(person.user, "/start")
        return f"{person.telegram_id} /start"
    label = {
        "language": LANGUAGE_NAMES[person.language],
        "consent": tr.gettext("I agree"),
        "town": person.town,
        "description": tr.gettext(person.description),
    }[step]
    message_id, data = double.find_button(person.telegram_id, label)
    double.tap(person.user, message_id, data)
    return f"{person.telegram_id} {data}"


# Sends a person's update for a step to the double; returns its replay key ("user_id text").
Pusher = Callable[[BotApiDouble, Person, str], str]
# Fills a session's database through the services, with the bot's own config, before it starts.
Prepare = Callable[[Config], Awaitable[None]]


@dataclass
class Session:
    """A fresh Bot API double in this process and one bot process talking to it."""

    double: BotApiDouble
    bot: BotProcess
    pusher: Pusher = push_onboarding
    pushed: int = 0
    # "user_id update_key" -> the calls made for that update (routing parameters dropped).
    script: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    # The Bot API methods each onboarding step called.
    methods: dict[str, set[str]] = field(default_factory=dict)
    _cpu: float = 0.0
    _loop_cpu: float = 0.0

    def push(self, person: Person, step: str) -> str:
        """Send this person's update of the step; return its replay key."""
        return self.pusher(self.double, person, step)

    def _tap_key(self, person: Person, step: str, queries: dict[str, str]) -> str:
        key = self.push(person, step)
        # Just pushed and not yet fetched (nothing awaited since): the last queued update.
        update = self.double.pending_updates[-1]
        if "callback_query" in update:
            queries[update["callback_query"]["id"]] = key
        return key

    def _record(self, calls: Sequence[Any], keys: dict[int, str], queries: dict[str, str]) -> None:
        """Remember each call under the update it answered, for the bare bot to replay."""
        for call in calls:
            key = queries.get(call.params.get("callback_query_id", ""))
            if key is None:
                key = keys[call.params["chat_id"]]
            routed = {k: v for k, v in call.params.items() if k not in ROUTING}
            self.script.setdefault(key, []).append((call.method, routed))

    async def phase(self, people: Sequence[Person], step: str) -> Phase:
        """Everyone sends this step's update at once; wait until the bot has handled all."""
        first_call = len(self.double.calls)
        keys: dict[int, str] = {}
        queries: dict[str, str] = {}
        cpu_before = await self.bot.cpu()
        started = time.perf_counter()
        for person in people:
            keys[person.telegram_id] = self._tap_key(person, step, queries)
        self.pushed += len(people)
        answer = await self.bot.ask("wait", count=self.pushed)
        wall = time.perf_counter() - started
        calls = self.double.calls[first_call:]
        self._record(calls, keys, queries)
        return Phase(float(answer["cpu"]) - cpu_before, wall, len(people), calls)

    async def mark(self) -> None:
        """Start counting the bot's CPU from now."""
        answer = await self.bot.ask("cpu")
        self._cpu, self._loop_cpu = float(answer["cpu"]), float(answer["loop_cpu"])

    async def one(self, person: Person, step: str) -> tuple[float, float]:
        """One update as tests/flows/harness.py sends it: push it, wait until it is handled.

        Returns the bot's CPU seconds since the previous update was handled (so nothing goes
        uncounted), and the part of them spent outside the event loop's thread.
        """
        first_call = len(self.double.calls)
        queries: dict[str, str] = {}
        keys = {person.telegram_id: self._tap_key(person, step, queries)}
        self.pushed += 1
        answer = await self.bot.ask("wait", count=self.pushed)
        cpu, loop_cpu = float(answer["cpu"]), float(answer["loop_cpu"])
        spent = cpu - self._cpu
        elsewhere = spent - (loop_cpu - self._loop_cpu)
        self._cpu, self._loop_cpu = cpu, loop_cpu
        calls = self.double.calls[first_call:]
        self._record(calls, keys, queries)
        self.methods.setdefault(step, set()).update(c.method for c in calls)
        return spent, elsewhere

    def check(self) -> None:
        """Both bots must do the flow right, or their figures compare nothing."""
        if self.double.violations:
            raise SystemExit(f"calls Telegram would refuse: {self.double.violations[:3]}")
        if self.double.unanswered_callback_queries:
            raise SystemExit("some taps were never answered")


@dataclass(frozen=True)
class Lab:
    """Where the bots run: a scratch folder, and their bot.max_concurrent_updates."""

    workdir: Path
    concurrency: int

    @asynccontextmanager
    async def session(
        self,
        kind: str,
        script: Path | None = None,
        *,
        pusher: Pusher = push_onboarding,
        prepare: Prepare | None = None,
    ) -> AsyncIterator[Session]:
        """A new double and a new bot process, closed afterwards.

        The database is empty unless ``prepare`` fills it first, given the config the bot
        process will build (same database file, same admins, towns and chapters).
        """
        with tempfile.TemporaryDirectory(dir=self.workdir, prefix=f"{kind}-") as tmp:
            async with BotApiDouble(token=TOKEN) as double:
                if prepare is not None:
                    database = str(Path(tmp) / DATABASE)
                    await prepare(
                        bashke_config(
                            TOKEN, double.base_url, double.base_file_url, database, self.concurrency
                        )
                    )
                bot = await BotProcess.start(kind, double, Path(tmp), self.concurrency, script)
                try:
                    yield Session(double, bot, pusher)
                finally:
                    await bot.close()


def save_script(sessions: Sequence[Session], path: Path) -> Path:
    merged: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for s in sessions:
        merged.update(s.script)
    path.write_text(json.dumps(merged, ensure_ascii=False), encoding="utf-8")
    return path


def same_calls(reference: Session, other: Session, *, every_update: bool = True) -> int:
    """How many calls were compared; exits if a bot answered an update unlike Bashkë did.

    Compared per update, routing ids aside (the double numbers taps in arrival order).
    """
    keys = other.script.keys()
    if every_update and keys != reference.script.keys():
        raise SystemExit("the two bots were sent different updates")
    for key in keys:
        if other.script[key] != reference.script.get(key):
            raise SystemExit(
                f"the two bots answered update {key!r} differently:"
                f" {reference.script.get(key)} vs {other.script[key]}"
            )
    return sum(len(other.script[key]) for key in keys)


# ---- 1. CPU per update -------------------------------------------------------------------------


@dataclass
class CpuResult:
    # per bot kind: per repeat, CPU seconds per step summed over the people
    steps: dict[str, list[dict[str, float]]]
    # per bot kind: per repeat, CPU seconds outside the event loop's thread
    threads: dict[str, list[float]]
    people: int
    calls_compared: int
    calls_per_step: dict[str, str]
    control_us: float  # CPU of one control round trip in the bot process


async def control_overhead(bot: BotProcess, rounds: int = 200) -> float:
    """CPU seconds one command/answer costs the bot process (included in every update)."""
    first = await bot.cpu()
    last = first
    for _ in range(rounds):
        last = await bot.cpu()
    return (last - first) / rounds


@dataclass
class Tally:
    """One bot's CPU seconds over a crowd: per step, and outside the event loop's thread."""

    steps: dict[str, float] = field(default_factory=dict)
    elsewhere: float = 0.0


async def interleaved(
    sessions: dict[str, Session], people: Sequence[Person], steps: Sequence[str] = STEPS
) -> dict[str, Tally]:
    """Every bot gets each update in turn before the next update; who goes first alternates.

    On a shared machine the load changes from second to second: taking turns update by update
    lets a busier or quieter moment touch both bots alike.
    """
    tallies = {kind: Tally(dict.fromkeys(steps, 0.0)) for kind in sessions}
    for s in sessions.values():
        await s.mark()
    order = list(sessions)
    for i, person in enumerate(people):
        for step in steps:
            for kind in order if i % 2 == 0 else reversed(order):
                spent, elsewhere = await sessions[kind].one(person, step)
                tallies[kind].steps[step] += spent
                tallies[kind].elsewhere += elsewhere
    return tallies


async def cpu_per_update(lab: Lab, people: int, warmup: int, repeats: int) -> CpuResult:
    measured = crowd(20_000, people)
    warm = crowd(10_000, warmup)
    # First Bashkë alone, unmeasured: it records the calls the bare bot will replay.
    async with lab.session("bashke") as reference:
        await interleaved({"bashke": reference}, [*warm, *measured])
        reference.check()
    script = save_script([reference], lab.workdir / "onboarding-script.json")
    steps: dict[str, list[dict[str, float]]] = {"bashke": [], "bare": []}
    threads: dict[str, list[float]] = {"bashke": [], "bare": []}
    compared = 0
    control: list[float] = []
    for _ in range(repeats):
        async with (
            lab.session("bashke") as ours,
            lab.session("bare", script) as bare,
        ):
            sessions = {"bashke": ours, "bare": bare}
            await interleaved(sessions, warm)  # imports, caches, connections, SQLite pages
            tallies = await interleaved(sessions, measured)
            control.append(await control_overhead(bare.bot))
            for s in sessions.values():
                s.check()
                compared = same_calls(reference, s)
        for kind, tally in tallies.items():
            steps[kind].append(tally.steps)
            threads[kind].append(tally.elsewhere)
    calls_per_step = {
        step: " + ".join(short_method(m) for m in sorted(methods))
        for step, methods in reference.methods.items()
    }
    control_us = statistics.median(control) * 1e6
    return CpuResult(steps, threads, people, compared, calls_per_step, control_us)


def short_method(method: str) -> str:
    return {"answerCallbackQuery": "answer", "editMessageText": "edit", "sendMessage": "send"}.get(
        method, method
    )


# ---- 2. Throughput under latency ---------------------------------------------------------------


@dataclass
class Burst:
    tap: str
    latency: float
    rate: float  # updates per second, from the first push until the bot handled the last
    cpu_us: float  # the bot's CPU per update
    busy: float  # the bot's CPU over the burst's wall time: 1.0 is one core all along
    peak: int  # Bot API calls in flight at once (0 without latency)


@dataclass
class ThroughputResult:
    bursts: dict[str, list[Burst]]  # per bot kind
    burst: int
    info: dict[str, Any]
    calls_compared: int


def peak_in_flight(calls: Sequence[Any], latency: float) -> int:
    """The most calls that arrived within one latency of each other: all were in flight."""
    arrivals = sorted(c.at for c in calls)
    peak = 0
    low = 0
    for high, at in enumerate(arrivals):
        while arrivals[low] <= at - latency:
            low += 1
        peak = max(peak, high - low + 1)
    return peak


async def bursts(
    s: Session, crowds: Sequence[Sequence[Person]], taps: Sequence[str]
) -> list[Burst]:
    """Bring the crowds to the privacy notice (untimed), then time one burst per (crowd, tap).

    With two crowds, both take each tap, one with each latency, and which latency goes first
    alternates, so the ratio compares the same tap. With one crowd, its taps take turns.
    """
    for step in ("start", "language"):
        await s.phase([p for c in crowds for p in c], step)
    results: list[Burst] = []
    latencies = (0.0, LATENCY)
    for r, tap in enumerate(taps):
        order: tuple[float, ...] = latencies if r % 2 == 0 else latencies[::-1]
        if len(crowds) == 1:
            order = (latencies[r % 2],)
        for people, latency in zip(crowds, order, strict=True):
            s.double.latency = latency
            phase = await s.phase(people, tap)
            s.double.latency = 0.0
            peak = peak_in_flight(phase.calls, latency) if latency else 0
            rate, cpu = phase.updates / phase.wall, phase.cpu / phase.updates * 1e6
            results.append(Burst(tap, latency, rate, cpu, phase.cpu / phase.wall, peak))
    s.check()
    return results


async def throughput(lab: Lab, burst: int, rounds: int, with_bare: bool) -> ThroughputResult:
    crowds = (crowd(100_000, burst), crowd(200_000, burst))
    taps = BURST_TAPS[:rounds]
    async with lab.session("bashke") as ours:
        info = ours.bot.info
        results = {"bashke": await bursts(ours, crowds, taps)}
    compared = 0
    if with_bare:
        # Only to see whether PTB alone slows down the same way: one crowd, two taps, the
        # first without latency and the second with; it is slow, so it is asked for.
        script = save_script([ours], lab.workdir / "throughput-script.json")
        async with lab.session("bare", script) as bare:
            results["bare"] = await bursts(bare, crowds[:1], taps[:2])
        compared = same_calls(ours, bare, every_update=False)
    return ThroughputResult(results, burst, info, compared)


# ---- report ------------------------------------------------------------------------------------


def _goal(met: bool) -> str:
    return "met" if met else "NOT met"


def code_version() -> str:
    """The commit measured, and whether the working tree differs from it."""

    def git(*args: str) -> str:
        # --no-optional-locks: never take the index lock from someone working in the tree.
        command = ["git", "--no-optional-locks", *args]
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} with uncommitted changes" if dirty else head


def print_header(name: str = "onboarding") -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    # httpcore retries a failed `import sniffio` on every lock it makes when sniffio is absent.
    sniffio = "installed" if importlib.util.find_spec("sniffio") else "absent"
    print(f"Bashkë {name} benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, code {code_version()}")
    print(
        f"Python {platform.python_version()} · python-telegram-bot {version('python-telegram-bot')}"
        f" · httpx {version('httpx')} · httpcore {version('httpcore')} (sniffio {sniffio})"
        f" · aiosqlite {version('aiosqlite')} · Babel {version('babel')}"
    )
    print(f"{os.cpu_count()} CPUs · load average {load}")
    print(
        "The Bot API double runs in this process; each bot runs in a child process whose CPU"
        " (time.process_time, all its threads) is the figure."
    )


def print_cpu(result: CpuResult, repeats: int) -> None:
    total = result.people * len(STEPS)
    print()
    print(
        f"1. CPU per update: {result.people} people onboard one update at a time, as the flow"
        f" tests do, each update to both bots in turn; median of {repeats} runs after a warm-up"
    )
    print(f"   {'update':<24}{'Bot API calls':<16}{'Bashkë µs':>11}{'bare PTB µs':>13}{'ratio':>8}")

    def median_us(kind: str, step: str | None) -> float:
        runs = result.steps[kind]
        if step is None:
            return statistics.median(sum(run.values()) / total for run in runs) * 1e6
        return statistics.median(run[step] / result.people for run in runs) * 1e6

    for step in STEPS:
        ours, bare = median_us("bashke", step), median_us("bare", step)
        calls = result.calls_per_step.get(step, "")
        print(f"   {STEP_NAMES[step]:<24}{calls:<16}{ours:>11.0f}{bare:>13.0f}{ours / bare:>7.2f}×")
    ours, bare = median_us("bashke", None), median_us("bare", None)
    ratio = ours / bare
    print(f"   {'all ' + str(total) + ' updates':<40}{ours:>11.0f}{bare:>13.0f}{ratio:>7.2f}×")
    ratios = [
        sum(a.values()) / sum(b.values())
        for a, b in zip(result.steps["bashke"], result.steps["bare"], strict=True)
    ]
    print(f"   ratio in each run: {', '.join(f'{r:.2f}×' for r in ratios)}")
    # Clamped at 0: for a bot without other threads the difference is rounding noise.
    threads = {
        kind: max(0.0, statistics.median(runs) / total * 1e6)
        for kind, runs in result.threads.items()
    }
    print(
        f"   of the CPU per update, outside the event loop's thread (aiosqlite's worker):"
        f" Bashkë {threads['bashke']:.0f} µs, bare {threads['bare']:.0f} µs"
    )
    print(
        f"   included in both: the benchmark's control round trip, {result.control_us:.0f} µs"
        " per update"
    )
    print(f"   Bot API calls of both bots identical: yes ({result.calls_compared} calls per run)")
    print(f"   goal: Bashkë ≤ {CPU_GOAL}× the bare handler: {_goal(ratio <= CPU_GOAL)}")


def print_throughput(result: ThroughputResult) -> None:
    late = f"{LATENCY * 1000:.0f} ms"
    print()
    print(
        f"2. Throughput: {result.burst} different people send the same tap at once (answer + edit"
        f" and a database write); every Bot API call delayed 0 or {late}"
    )
    print(
        f"   {'Bashkë':<24}{'0 ms':>8}{late:>9}{'ratio':>8}"
        f"   bot CPU µs/update and busy, at 0 / {late}"
    )
    ours = result.bursts["bashke"]
    ratios: list[float] = []
    for tap in dict.fromkeys(b.tap for b in ours):
        fast = next(b for b in ours if b.tap == tap and not b.latency)
        slow = next(b for b in ours if b.tap == tap and b.latency)
        ratios.append(slow.rate / fast.rate)
        print(
            f"   {STEP_NAMES[tap]:<24}{fast.rate:>8.0f}{slow.rate:>9.0f}{ratios[-1]:>7.2f}×"
            f"   {fast.cpu_us:>6.0f} / {slow.cpu_us:<6.0f}  {fast.busy:>4.0%} / {slow.busy:.0%}"
        )
    median = statistics.median(ratios)
    print(f"   {'median, updates/s':<41}{median:>7.2f}×")
    # A bot that waits on Telegram instead of working would show a low busy share at 100 ms.
    print("   busy = the bot's CPU time over the burst's wall time (100% = one core throughout)")
    peak = f"   peak Bot API calls in flight at {late}: Bashkë {max(b.peak for b in ours)}"
    if "bare" in result.bursts:
        fast, slow = result.bursts["bare"][0], result.bursts["bare"][-1]
        print(
            f"   bare PTB, same calls: {fast.rate:.0f} updates/s at 0 ms ({STEP_NAMES[fast.tap]}),"
            f" {slow.rate:.0f} at {late} ({STEP_NAMES[slow.tap]}): {slow.rate / fast.rate:.2f}×;"
            f" CPU µs/update {fast.cpu_us:.0f} / {slow.cpu_us:.0f}"
        )
        peak += f", bare {slow.peak}; bare calls identical: yes ({result.calls_compared} calls)"
    else:
        print("   bare PTB under the same bursts: add --bare-burst (about a minute more)")
    print(peak)
    info = result.info
    print(
        f"   limits: max_concurrent_updates {info['max_concurrent_updates']},"
        f" HTTP connection pool {info['pool_size']} (PTB default),"
        f" pool_timeout {info['pool_timeout']} s, getUpdates limit 100 per poll"
    )
    goal = median >= LATENCY_GOAL
    print(f"   goal: {late} latency keeps ≥ {LATENCY_GOAL}× of the throughput: {_goal(goal)}")


def cpu_figure(result: CpuResult) -> Figure:
    total = result.people * len(STEPS)

    def median_us(kind: str) -> float:
        return statistics.median(sum(run.values()) / total for run in result.steps[kind]) * 1e6

    ours, bare = median_us("bashke"), median_us("bare")
    return Figure(
        "CPU per update: onboarding, 5 steps (µs)",
        f"{ours:.0f}",
        f"bare {bare:.0f}",
        ratio(ours / bare),
        f"≤ {CPU_GOAL}×",
        ours / bare <= CPU_GOAL,
    )


def throughput_figure(result: ThroughputResult) -> Figure:
    ours = result.bursts["bashke"]
    fast = statistics.median(b.rate for b in ours if not b.latency)
    slow = statistics.median(b.rate for b in ours if b.latency)
    ratios = [
        slow_burst.rate / fast_burst.rate
        for tap in dict.fromkeys(b.tap for b in ours)
        for fast_burst in ours
        for slow_burst in ours
        if fast_burst.tap == slow_burst.tap == tap and not fast_burst.latency and slow_burst.latency
    ]
    median = statistics.median(ratios)
    return Figure(
        f"{result.burst} taps at once, {LATENCY * 1000:.0f} ms calls (upd/s)",
        f"{slow:.0f}",
        f"0 ms: {fast:.0f}",
        ratio(median),
        f"≥ {LATENCY_GOAL}×",
        median >= LATENCY_GOAL,
    )


async def profile(lab: Lab, people: int, top: int) -> None:
    """cProfile of the Bashkë process's main thread over one onboarding (not in the table)."""
    stats_path = lab.workdir / "bashke.prof"
    async with lab.session("bashke") as s:
        await interleaved({"bashke": s}, crowd(10_000, 10))
        await s.bot.ask("profile_on")
        await interleaved({"bashke": s}, crowd(20_000, people))
        await s.bot.ask("profile_off", path=str(stats_path))
    print()
    print(
        f"3. cProfile of the Bashkë process, {people} people onboarding one update at a time"
        " (main thread only: aiosqlite's thread is not in it)"
    )
    stats = pstats.Stats(str(stats_path), stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)


async def run(args: argparse.Namespace) -> None:
    print_header()
    with tempfile.TemporaryDirectory(prefix="bashke-bench-") as tmp:
        lab = Lab(Path(tmp), args.concurrency)
        started = time.perf_counter()
        cpu = await cpu_per_update(lab, args.people, args.warmup, args.repeats)
        print_cpu(cpu, args.repeats)
        print(f"   ({time.perf_counter() - started:.0f} s)")
        section = time.perf_counter()
        rounds = min(args.repeats, len(BURST_TAPS))
        tput = await throughput(lab, args.burst, rounds, args.bare_burst)
        print_throughput(tput)
        print(f"   ({time.perf_counter() - section:.0f} s)")
        if args.profile:
            await profile(lab, args.people, args.top)
        print()
        print(f"Finished in {time.perf_counter() - started:.0f} s.")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.onboarding", description=__doc__)
    parser.add_argument("--people", type=int, default=100, help="people onboarding (figure 1)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up people per bot process")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--burst", type=int, default=500, help="people tapping at once (figure 2)")
    parser.add_argument(
        "--bare-burst", action="store_true", help="also time bare PTB in figure 2 (slow)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_MAX_CONCURRENT_UPDATES,
        help="bot.max_concurrent_updates of both bots (default: the configuration's)",
    )
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of Bashkë")
    parser.add_argument("--top", type=int, default=20, help="functions in the cProfile listing")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
