"""Bashkë with a big database: memory, start-up time, and the results of a large vote.

Run: ``python -m bench.scale [--people 100000] [--votes 1000000]``. It builds a database with
that many participants, 1,000 events and one round holding the votes, then measures
- the time to compute the round's results (median of 5),
- the bot started by its CLI as a separate process: time to its first getUpdates, and its RSS,
and prints how each figure grows from a tenth of the size to the full size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bot import PROJECT_ROOT
from bot.db import Database, now_text, to_db_time, utcnow
from bot.services import Services
from tests.botapi import BotApiDouble
from tests.conftest import ADMIN_ID, TOKEN, make_config

GROUPS = ("resident", "newcomer", "unsaid")
CHOICES = ("support", "oppose", "abstain")
PROPOSALS = 10
RESULTS_GOAL_MS = 50.0
RSS_GOAL_MB = 80.0
START_GOAL_S = 1.5


async def build(folder: Path, people: int, votes: int) -> Services:
    config = make_config(folder)
    services = Services.build(config, Database(config.database))
    await services.start()
    rng = random.Random(7)
    now = now_text()
    towns = [t.id for t in await services.towns.list_towns()]
    async with services.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO people (telegram_id, language, town_id, self_description, consented_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    100_000 + i,
                    ("sq", "en", "it", "uk", "ar")[i % 5],
                    rng.choice(towns),
                    GROUPS[i % 3],
                    now,
                )
                for i in range(people)
            ],
        )
        start = utcnow() + timedelta(days=10)
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
                for i in range(1000)
            ],
        )
    await services.staff.grant(ADMIN_ID, 1, "coordinator")
    chapter = int(await services.db.fetchval("SELECT id FROM chapters LIMIT 1"))
    proposals = [
        await services.votes.add_proposal(1, chapter, f"Proposal {i}", "Text")
        for i in range(PROPOSALS)
    ]
    voting_round = await services.votes.open_round(
        1, "Big vote", proposals, utcnow() + timedelta(days=1)
    )
    per_proposal = max(1, votes // PROPOSALS)
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
    await services.db.execute("UPDATE rounds SET status = 'closed'")
    return services


async def results_ms(services: Services) -> float:
    round_id = int(await services.db.fetchval("SELECT id FROM rounds"))
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        await services.votes.results(round_id)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def process_figures(database: Path) -> tuple[float, float]:
    """Seconds from starting ``python -m bot run`` to its first getUpdates, and its RSS in MB."""
    async with BotApiDouble(token=TOKEN) as double:
        env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "BASHKE_DATABASE": str(database),
            "BASHKE_CONFIG": str(PROJECT_ROOT / "config.example.toml"),
            "BASHKE_API_BASE_URL": double.base_url,
            "BASHKE_API_BASE_FILE_URL": double.base_file_url,
            "BASHKE_LOG_LEVEL": "WARNING",
        }
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
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
    return first_poll, rss_kb / 1024


async def measure(people: int, votes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        services = await build(Path(folder), people, votes)
        try:
            results = await results_ms(services)
        finally:
            await services.db.close()
        first_poll, rss = await process_figures(services.config.database)
    return {"results_ms": results, "first_poll_s": first_poll, "rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--votes", type=int, default=1_000_000)
    args = parser.parse_args()
    small = asyncio.run(measure(args.people // 10, args.votes // 10))
    full = asyncio.run(measure(args.people, args.votes))
    print(
        f"scale: {args.people:,} participants, 1,000 events, {args.votes:,} votes "
        f"(and a tenth of it)"
    )
    rows = (
        ("results of the round (ms)", "results_ms", RESULTS_GOAL_MS),
        ("start to first getUpdates (s)", "first_poll_s", START_GOAL_S),
        ("RSS of the bot process (MB)", "rss_mb", RSS_GOAL_MB),
    )
    print(f"  {'figure':32} {'tenth':>9} {'full':>9} {'growth':>7}  goal")
    for label, key, goal in rows:
        growth = full[key] / small[key] if small[key] else float("inf")
        verdict = "met" if full[key] <= goal else "NOT met"
        print(
            f"  {label:32} {small[key]:9.2f} {full[key]:9.2f} {growth:6.2f}x  <= {goal} {verdict}"
        )


if __name__ == "__main__":
    main()
