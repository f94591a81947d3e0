"""Fairness under a flood: another person's /help while one person sends 500 messages.

Every Bot API call takes 100 ms. The figure is /help's latency (from the moment it is sent until
the double has answered the bot's reply) during the flood, divided by its latency without one,
measured in turns in the same bot process:

- **amid**: the 500 messages arrive within one second and /help is sent halfway through;
- **behind**: all 500 are queued before /help, so the bot must read them before it sees /help.
  python-telegram-bot parses each update it reads (0.15-0.3 ms for a message): that parsing is
  timed here, on the same updates, and printed next to the bot's CPU over the round.

The flooding person must get exactly one "slow down" notice, in their language, per flood, and
their other answers must be the answers to messages, in their language; /help must be answered
with the help text. The command stops if not.

    python -m bench.fairness                    # about 15 s on 2 cores
    python -m bench.fairness --flood 500 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Bot, Update

from bench.onboarding import (
    REPLY_TIMEOUT,
    STEPS,
    TOKEN,
    Lab,
    Person,
    Session,
    crowd,
    print_header,
)
from bench.table import Figure, ratio
from bot.config import DEFAULT_MAX_CONCURRENT_UPDATES
from bot.i18n import Catalogs
from handlers.processor import MAX_WAITING_PER_PERSON, SLOW_DOWN
from tests.botapi import Call

LATENCY = 0.1
GOAL = 2.0
FLOOD_SECONDS = 1.0  # an "amid" flood arrives within this time
KINDS = ("quiet", "amid", "behind")
CATALOGS = Catalogs()
# The answers people see: to /help (the asker writes in English), and to each flood message.
HELP = CATALOGS.translator("en").gettext("Here is what you can do:")
NOT_UNDERSTOOD = "Sorry, I did not understand that."


@dataclass(frozen=True)
class Round:
    kind: str  # one of KINDS
    latency: float  # seconds from sending /help until the double answered its reply
    kept: int  # the flood's messages the bot answered
    notices: int  # "slow down" notices the flooding person got
    parse: float  # seconds python-telegram-bot takes to parse the updates queued before /help
    cpu: float  # seconds of the bot process's CPU over the round


@dataclass(frozen=True)
class FairnessResult:
    rounds: list[Round]
    flood: int
    max_concurrent_updates: int

    def latency(self, kind: str) -> float:
        return statistics.median(r.latency for r in self.rounds if r.kind == kind)

    def ratio(self, kind: str) -> float:
        return self.latency(kind) / self.latency("quiet")

    @property
    def parse(self) -> float:
        return statistics.median(r.parse for r in self.rounds if r.kind == "behind")

    def cpu(self, kind: str) -> float:
        return statistics.median(r.cpu for r in self.rounds if r.kind == kind)


def _is_reply_to(person: Person) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return call.method == "sendMessage" and call.params.get("chat_id") == person.telegram_id

    return matches


def parse_seconds(updates: list[dict[str, Any]]) -> float:
    """What python-telegram-bot spends turning these updates, as served, into objects."""
    served = json.dumps({"ok": True, "result": updates})
    bot = Bot(TOKEN)
    best = float("inf")
    for _ in range(3):  # the best of three: the bot process parsing them is warm too
        started = time.perf_counter()
        Update.de_list(json.loads(served)["result"], bot)
        best = min(best, time.perf_counter() - started)
    return best


async def one_round(s: Session, kind: str, asker: Person, flooder: Person, flood: int) -> Round:
    """A round of ``kind``: /help from ``asker``, with or without ``flooder``'s flood."""
    cpu_before = await s.bot.cpu()
    first_call = len(s.double.calls)
    count = 0 if kind == "quiet" else flood
    queued: list[dict[str, Any]] = []
    answered: asyncio.Task[float] | None = None

    async def answer_time() -> float:
        reply = await s.double.wait_for(
            _is_reply_to(asker), timeout=REPLY_TIMEOUT, start=first_call
        )
        if HELP not in str(reply.params.get("text", "")):
            raise SystemExit(f"/help was answered with {reply.params.get('text')!r}")
        return time.perf_counter()

    def send_help() -> float:
        nonlocal answered
        s.double.send_text(asker.user, "/help")
        answered = asyncio.create_task(answer_time())
        return time.perf_counter()

    if kind == "behind":
        for i in range(count):
            s.double.send_text(flooder.user, f"message {i}")
        # Nothing awaited since the pushes: the bot has not fetched any of them yet.
        queued = s.double.pending_updates
    sent = send_help() if kind != "amid" else 0.0
    if kind == "amid":
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(count):
            if i == count // 2:
                sent = send_help()
            s.double.send_text(flooder.user, f"message {i}")
            ahead = start + (i + 1) * FLOOD_SECONDS / count - loop.time()
            if ahead > 0:
                await asyncio.sleep(ahead)
    assert answered is not None
    latency = await answered - sent
    s.pushed += count + 1
    cpu = float((await s.bot.ask("wait", count=s.pushed))["cpu"]) - cpu_before
    await s.double.wait_until_answered(REPLY_TIMEOUT)
    replies = [
        str(c.params.get("text", ""))
        for c in s.double.calls[first_call:]
        if _is_reply_to(flooder)(c)
    ]
    tr = CATALOGS.translator(flooder.language)
    notices = replies.count(tr.gettext(SLOW_DOWN))
    if len(replies) - notices != sum(r.startswith(tr.gettext(NOT_UNDERSTOOD)) for r in replies):
        raise SystemExit(f"the flood was answered otherwise than in {flooder.language}")
    # Timed after the round, so that it does not hold up the double.
    parse = parse_seconds(queued) if queued else 0.0
    return Round(kind, latency, len(replies) - notices, notices, parse, cpu)


async def measure(lab: Lab, flood: int, rounds: int) -> FairnessResult:
    """The three kinds of round take turns (the order rotates), after a warm-up."""
    flooder, asker = crowd(300_000, 2)  # Albanian and English (crowd's order of languages)
    async with lab.session("bashke") as s:
        for step in STEPS:
            await s.phase([flooder, asker], step)
        s.double.latency = LATENCY
        await one_round(s, "quiet", asker, flooder, flood)  # warm-up: /help's first run
        found: list[Round] = []
        for r in range(rounds):
            for i in range(len(KINDS)):
                kind = KINDS[(r + i) % len(KINDS)]
                found.append(await one_round(s, kind, asker, flooder, flood))
        s.double.latency = 0.0
        s.check()
        limit = int(s.bot.info["max_concurrent_updates"])
    for each in found:
        wanted = 0 if each.kind == "quiet" or flood <= MAX_WAITING_PER_PERSON + 1 else 1
        if each.notices != wanted:
            raise SystemExit(f"a flood ({each.kind}) got {each.notices} notices, not {wanted}")
    return FairnessResult(found, flood, limit)


def print_result(result: FairnessResult) -> None:
    print()
    print(
        f"Fairness: another person's /help while one person sends {result.flood} messages;"
        f" every Bot API call {LATENCY * 1000:.0f} ms"
    )
    what = {
        "quiet": "no flood",
        "amid": f"amid a flood ({FLOOD_SECONDS:.0f} s long)",
        "behind": "behind the queued flood",
    }
    for r in result.rounds:
        extra = f"   flood: {r.kept} answered, {r.notices} notice" if r.kind != "quiet" else ""
        print(f"   /help {what[r.kind]:<30}{r.latency * 1000:>6.0f} ms{extra}")
    quiet = result.latency("quiet") * 1000
    for kind in ("amid", "behind"):
        print(
            f"   median {what[kind]}: {result.latency(kind) * 1000:.0f} ms,"
            f" {result.ratio(kind):.2f}× of {quiet:.0f} ms"
        )
    print(
        f"   the bot's CPU per round: {result.cpu('quiet') * 1000:.0f} ms without a flood,"
        f" {result.cpu('behind') * 1000:.0f} ms with one, of which python-telegram-bot parsing"
        f" the {result.flood} updates takes about {result.parse * 1000:.0f} ms (timed here on the"
        " same updates); behind the queued flood, /help waits for that parsing"
    )
    verdict = "met" if result.ratio("amid") <= GOAL else "NOT met"
    print(f"   goal: amid the flood ≤ {GOAL:.0f}× the quiet latency: {verdict}")
    print(
        f"   limits: max_concurrent_updates {result.max_concurrent_updates},"
        f" {MAX_WAITING_PER_PERSON} updates of one person waiting, the rest skipped"
    )


def figures(result: FairnessResult) -> list[Figure]:
    quiet = f"quiet: {result.latency('quiet') * 1000:.0f}"
    amid = result.ratio("amid")
    return [
        Figure(
            f"/help amid a {result.flood}-message flood, {LATENCY * 1000:.0f} ms calls (ms)",
            f"{result.latency('amid') * 1000:.0f}",
            quiet,
            ratio(amid),
            f"≤ {GOAL:.0f}×",
            amid <= GOAL,
        ),
        # For reading: most of the extra wait is python-telegram-bot parsing the queue.
        Figure(
            f"/help behind {result.flood} queued messages (ms)",
            f"{result.latency('behind') * 1000:.0f}",
            quiet,
            ratio(result.ratio("behind")),
            "",
        ),
    ]


async def run(args: argparse.Namespace) -> None:
    print_header("fairness")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bashke-bench-") as tmp:
        result = await measure(Lab(Path(tmp), args.concurrency), args.flood, args.rounds)
    print_result(result)
    print(f"   ({time.perf_counter() - started:.0f} s)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fairness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--flood", type=int, default=500, help="messages of the flood")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_MAX_CONCURRENT_UPDATES,
        help="bot.max_concurrent_updates (default: the configuration's)",
    )
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
