"""Bashkë with a big database: memory, start-up time, and the results of a large vote.

Run: ``python -m bench.scale [--people 100000] [--votes 1000000]``. It builds a database with
that many participants, 1,000 events and one round holding the votes (``bench.population``),
then measures
- the time to compute the round's results (median of 5),
- the bot started by its CLI as a separate process: time to its first getUpdates, and its RSS,
  next to the smallest python-telegram-bot bot started the same way in the same run,
and how each figure grows from a tenth of the size to the full size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.population import Size, populate
from bench.table import Figure, growth_label, print_table, ratio
from bot import PROJECT_ROOT
from bot.db import Database
from bot.services import Services
from tests.botapi import BotApiDouble
from tests.conftest import ADMIN_ID, TOKEN, make_config

RESULTS_GOAL_MS = 50.0
RSS_GOAL_MB = 80.0
START_GOAL_S = 1.5
EVENTS = 1000


async def build(folder: Path, size: Size) -> Services:
    config = make_config(folder)
    services = Services.build(config, Database(config.database))
    await services.start()
    await services.staff.grant(ADMIN_ID, 1, "coordinator")
    await populate(services, size, author=1)
    return services


async def results_ms(services: Services) -> float:
    round_id = int(await services.db.fetchval("SELECT id FROM rounds"))
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        await services.votes.results(round_id)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


@dataclass(frozen=True)
class Process:
    first_poll_s: float  # from starting the process to its first getUpdates
    rss_mb: float  # settled, two seconds later


async def process_figures(command: Sequence[str], env: dict[str, str]) -> Process:
    """Start a bot process against a fresh double; time its first getUpdates, read its RSS."""
    async with BotApiDouble(token=TOKEN) as double:
        env = {
            **os.environ,
            **env,
            "BOT_TOKEN": TOKEN,
            "BASHKE_API_BASE_URL": double.base_url,
            "BASHKE_API_BASE_FILE_URL": double.base_file_url,
            "BASHKE_LOG_LEVEL": "WARNING",
        }
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *command,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await double.wait_until_polling(timeout=120)
            first_poll = time.monotonic() - started
            await asyncio.sleep(2.0)  # settle: the sender's first pass, the menus
            status = await asyncio.to_thread(Path(f"/proc/{process.pid}/status").read_text)
            rss_kb = int(
                next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]
            )
        finally:
            process.terminate()
            await process.wait()
    return Process(first_poll, rss_kb / 1024)


async def bashke_process(database: Path) -> Process:
    env = {
        "BASHKE_DATABASE": str(database),
        "BASHKE_CONFIG": str(PROJECT_ROOT / "config.example.toml"),
    }
    return await process_figures(["-m", "bot", "run"], env)


async def bare_process() -> Process:
    return await process_figures(["-m", "bench._bare_bot"], {})


@dataclass(frozen=True)
class Measured:
    size: Size
    results_ms: float
    bashke: Process
    bare: Process


async def measure(size: Size) -> Measured:
    with tempfile.TemporaryDirectory() as folder:
        services = await build(Path(folder), size)
        try:
            results = await results_ms(services)
        finally:
            await services.db.close()
        ours = await bashke_process(services.config.database)
        bare = await bare_process()
    return Measured(size, results, ours, bare)


def figures(small: Measured, full: Measured) -> list[Figure]:
    """The full size against its goals and the bare bot, and its growth from the small size."""

    label = growth_label(small.size.people, full.size.people)

    def growth(name: str, before: float, after: float) -> Figure:
        return Figure(
            f"{name}: {label}", f"{after:.3g}", f"{before:.3g}", ratio(after / before), ""
        )

    return [
        Figure(
            "RSS of the bot process (MB)",
            f"{full.bashke.rss_mb:.0f}",
            f"bare {full.bare.rss_mb:.0f}",
            ratio(full.bashke.rss_mb / full.bare.rss_mb),
            f"≤ {RSS_GOAL_MB:.0f} MB",
            full.bashke.rss_mb <= RSS_GOAL_MB,
        ),
        Figure(
            "start to first getUpdates (s)",
            f"{full.bashke.first_poll_s:.2f}",
            f"bare {full.bare.first_poll_s:.2f}",
            ratio(full.bashke.first_poll_s / full.bare.first_poll_s),
            f"≤ {START_GOAL_S} s",
            full.bashke.first_poll_s <= START_GOAL_S,
        ),
        Figure(
            "results of the largest round (ms)",
            f"{full.results_ms:.1f}",
            "",
            "",
            f"≤ {RESULTS_GOAL_MS:.0f} ms",
            full.results_ms <= RESULTS_GOAL_MS,
        ),
        growth("RSS", small.bashke.rss_mb, full.bashke.rss_mb),
        growth("start", small.bashke.first_poll_s, full.bashke.first_poll_s),
        growth("results", small.results_ms, full.results_ms),
    ]


def sizes(people: int, votes: int) -> tuple[Size, Size]:
    """The size measured and a tenth of it (people and votes; the events stay)."""
    return Size(people // 10, EVENTS, votes // 10), Size(people, EVENTS, votes)


async def run(people: int, votes: int) -> list[Figure]:
    small_size, full_size = sizes(people, votes)
    small = await measure(small_size)
    full = await measure(full_size)
    print()
    print(f"Scale: {full_size.label}; growth from {small_size.label}")
    for m in (small, full):
        print(
            f"   {m.size.people:>7,} people: results {m.results_ms:.1f} ms; Bashkë RSS"
            f" {m.bashke.rss_mb:.0f} MB, first getUpdates {m.bashke.first_poll_s:.2f} s; bare PTB"
            f" RSS {m.bare.rss_mb:.0f} MB, first getUpdates {m.bare.first_poll_s:.2f} s"
        )
    return figures(small, full)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--votes", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = asyncio.run(run(args.people, args.votes))
    print_table("Scale", rows)


if __name__ == "__main__":
    main()
