"""The whole benchmark: ``python -m bench`` prints one table of every figure against its goal.

Each part can also run alone, with its details (see bench/README.md): ``bench.onboarding``
(CPU per onboarding update, throughput under Bot API latency), ``bench.taps`` (CPU of the hot
interactions with a full-size database), ``bench.fairness`` (another person's /help during one
person's flood), ``bench.report`` (others' taps while the funder's report is made),
``bench.outbox_rate`` and ``bench.scale``. Every comparison is made within this
run: Bashkë against a bare python-telegram-bot bot making the same Bot API calls, 100 ms against
0 ms, /help during a flood against /help without one, the achieved rate against the configured
limit, the full size against a tenth of it. Nothing here fails on a timing; a figure off its
goal says NOT met.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import fairness, onboarding, outbox_rate, report, scale, taps
from bench.table import Figure, print_table
from bot.config import DEFAULT_MAX_CONCURRENT_UPDATES, DEFAULT_OUTBOX_RATE

LATENCY = 0.05  # the outbox's calls: a real network's 50-300 ms


async def run(args: argparse.Namespace) -> list[Figure]:
    onboarding.print_header("whole")
    rows: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bashke-bench-") as tmp:
        lab = onboarding.Lab(Path(tmp), DEFAULT_MAX_CONCURRENT_UPDATES)
        cpu = await onboarding.cpu_per_update(lab, args.people, 5, args.repeats)
        onboarding.print_cpu(cpu, args.repeats)
        rows.append(onboarding.cpu_figure(cpu))

        small_size = taps.background_size(args.participants // 10)
        full_size = taps.background_size(args.participants)
        small = await taps.measure_with(lab, args.people, 5, args.repeats, small_size)
        full = await taps.measure_with(lab, args.people, 5, args.repeats, full_size)
        assert small_size is not None and full_size is not None
        rows += taps.figures(full, full_size, (small, small_size))

        rounds = min(args.repeats, len(onboarding.BURST_TAPS))
        burst = await onboarding.throughput(lab, args.burst, rounds, with_bare=False)
        onboarding.print_throughput(burst)
        rows.append(onboarding.throughput_figure(burst))

        fair = await fairness.measure(lab, args.flood, args.repeats)
        fairness.print_result(fair)
        rows += fairness.figures(fair)

        # Reuses the full-size database built above for the taps, with two years of history.
        funder = await report.measure(lab, args.participants, args.repeats, args.report_taps)
        report.print_result(funder)
        rows += report.figures(funder)

    for rate, messages in (
        (DEFAULT_OUTBOX_RATE, args.messages),
        (4 * DEFAULT_OUTBOX_RATE, 4 * args.messages),
    ):
        found = await outbox_rate.measure(messages, rate, LATENCY)
        rows += outbox_rate.figures(found, rate)

    rows += await scale.run(args.participants, 10 * args.participants)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--people", type=int, default=100, help="measured people per CPU figure")
    parser.add_argument("--repeats", type=int, default=3, help="runs per CPU figure (median)")
    parser.add_argument("--burst", type=int, default=500, help="people tapping at once")
    parser.add_argument("--flood", type=int, default=500, help="messages of one person's flood")
    parser.add_argument(
        "--report-taps", type=int, default=200, help="others' taps per quiet window of /report"
    )
    parser.add_argument("--messages", type=int, default=1500, help="outbox messages at 25/s")
    parser.add_argument(
        "--participants", type=int, default=100_000, help="in the database (10× as many votes)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = asyncio.run(run(args))
    print_table(
        f"Bashkë against its goals (python -m bench, {time.perf_counter() - started:.0f} s)", rows
    )


if __name__ == "__main__":
    main()
