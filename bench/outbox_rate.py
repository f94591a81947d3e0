"""Outbox delivery: achieved rate against the configured limit, and the busiest one-second window.

Run: ``python -m bench.outbox_rate [--messages 2000] [--rate 25]``. The messages go through the
real sender and the real Telegram transport, over HTTP, to the Bot API double on loopback, in a
process of its own (``bench._double_process``) so that its work does not slow the sender; the
rate is read off the double's clock of arrivals, as Telegram would see it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bench.table import Figure, print_table, ratio
from bot import PROJECT_ROOT
from bot.broadcasts import Audience, AudienceKind, BroadcastDraft
from bot.db import Database, now_text
from bot.services import Services
from handlers.application import build_application
from handlers.delivery import Delivery
from tests.conftest import ADMIN_ID, make_config

RATE_GOAL = 0.95
Arrivals = Callable[[], Awaitable[list[float]]]


@asynccontextmanager
async def double_process(latency: float) -> AsyncIterator[tuple[dict[str, str], Arrivals]]:
    """The double in its own process: its URLs, and a call that stops it and returns the
    arrival times of its sendMessage calls."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench._double_process",
        str(latency),
        cwd=PROJECT_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**24,  # the arrival times come back as one line
    )
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    async def arrivals() -> list[float]:
        stdin.write(b"stop\n")
        await stdin.drain()
        found = json.loads(await stdout.readline())
        if found["violations"]:
            raise SystemExit(f"calls Telegram would refuse: {found['violations'][:3]}")
        return sorted(found["sends"])

    try:
        yield json.loads(await stdout.readline()), arrivals
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def measure(messages: int, rate: float, latency: float) -> dict[str, float]:
    """One announcement to ``messages`` people through the real sender; the double apart."""
    with tempfile.TemporaryDirectory() as folder:
        async with double_process(latency) as (urls, arrivals):
            config = make_config(
                Path(folder),
                api_base_url=urls["base_url"],
                api_base_file_url=urls["base_file_url"],
                outbox_rate=rate,
            )
            services = Services.build(config, Database(config.database))
            await services.start()
            async with services.db.transaction() as tx:
                await tx.executemany(
                    "INSERT INTO people (telegram_id, language, consented_at) VALUES (?, ?, ?)",
                    [
                        (10_000 + i, ("sq", "en", "it", "uk", "ar")[i % 5], now_text())
                        for i in range(messages)
                    ],
                )
            await services.staff.grant(ADMIN_ID, 1, "coordinator")
            await services.broadcasts.create(
                1,
                BroadcastDraft(
                    text="Benchmark announcement", audience=Audience(AudienceKind.EVERYONE)
                ),
            )
            app = build_application(services)
            await app.initialize()
            delivery = Delivery(services, app.bot)
            started = time.monotonic()
            delivery.start()
            try:
                async with asyncio.timeout(messages / rate * 3 + 60):
                    # The outbox table is the progress: the double is in another process.
                    while (await services.outbox.counts()).get("sent", 0) < messages:  # noqa: ASYNC110
                        await asyncio.sleep(0.2)
            finally:
                await delivery.stop()
                await app.shutdown()
                await services.db.close()
            sends = await arrivals()
    span = sends[-1] - sends[0]
    busiest = 0
    start = 0
    for end, moment in enumerate(sends):
        while moment - sends[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return {
        "messages": len(sends),
        "seconds": time.monotonic() - started,
        "achieved": (len(sends) - 1) / span if span else float("inf"),
        "busiest": busiest,
    }


def figures(found: dict[str, float], rate: float) -> list[Figure]:
    achieved = found["achieved"] / rate
    limit = f"{rate:.0f}/s"
    return [
        Figure(
            f"outbox delivery at a limit of {limit} (msg/s)",
            f"{found['achieved']:.2f}",
            f"limit {rate:.0f}",
            ratio(achieved),
            f"≥ {RATE_GOAL}×",
            achieved >= RATE_GOAL,
        ),
        Figure(
            f"busiest second at a limit of {limit} (msgs)",
            f"{found['busiest']:.0f}",
            f"limit {rate:.0f}",
            ratio(found["busiest"] / rate),
            "≤ 1.00×",
            found["busiest"] <= rate,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox_rate", description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument(
        "--latency",
        type=float,
        default=0.05,
        help="seconds each Bot API call takes (the real network: 50-300 ms)",
    )
    args = parser.parse_args()
    found = asyncio.run(measure(args.messages, args.rate, args.latency))
    print(
        f"outbox: {found['messages']:.0f} messages in {found['seconds']:.1f} s, "
        f"call latency {args.latency * 1000:.0f} ms"
    )
    print_table("Outbox", figures(found, args.rate))


if __name__ == "__main__":
    main()
