"""Outbox delivery: achieved rate against the configured limit, and the busiest one-second window.

Run: ``python -m bench.outbox_rate [--messages 2000] [--rate 25]``. The messages go through the
real sender and the real Telegram transport, over HTTP, to the Bot API double on loopback; the
rate is read off the double's clock of arrivals, as Telegram would see it.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.broadcasts import Audience, AudienceKind, BroadcastDraft
from bot.db import Database, now_text
from bot.services import Services
from handlers.application import build_application
from handlers.delivery import Delivery
from tests.botapi import BotApiDouble
from tests.conftest import ADMIN_ID, TOKEN, make_config

RATE_GOAL = 0.95


async def measure(messages: int, rate: float, latency: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        async with BotApiDouble(token=TOKEN) as double:
            double.latency = latency
            config = make_config(
                Path(folder),
                api_base_url=double.base_url,
                api_base_file_url=double.base_file_url,
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
                await double.wait_for(
                    lambda call: (
                        call.method == "sendMessage"
                        and len(double.calls_to("sendMessage")) >= messages
                    ),
                    timeout=messages / rate * 3 + 60,
                )
            finally:
                await delivery.stop()
                await app.shutdown()
                await services.db.close()
            sends = sorted(call.at for call in double.calls_to("sendMessage"))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument(
        "--latency",
        type=float,
        default=0.05,
        help="seconds each Bot API call takes (the real network: 50-300 ms)",
    )
    args = parser.parse_args()
    figures = asyncio.run(measure(args.messages, args.rate, args.latency))
    ratio = figures["achieved"] / args.rate
    print(
        f"outbox: {figures['messages']:.0f} messages in {figures['seconds']:.1f} s, "
        f"call latency {args.latency * 1000:.0f} ms"
    )
    print(f"  achieved rate        {figures['achieved']:8.2f} msg/s")
    print(f"  configured limit     {args.rate:8.2f} msg/s")
    print(
        f"  ratio                {ratio:8.3f}   (goal >= {RATE_GOAL})  "
        f"{'met' if ratio >= RATE_GOAL else 'NOT met'}"
    )
    print(
        f"  busiest 1 s window   {figures['busiest']:8.0f} msgs (goal <= {args.rate:.0f})  "
        f"{'met' if figures['busiest'] <= args.rate else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
