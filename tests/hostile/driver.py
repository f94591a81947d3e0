"""Lanes of people, each in one role and parked in one state, fed the corpus in lockstep rounds.

A round pushes one update for every lane that has work (the next corpus input, or a step back
to its state after a valid input took it on), waits until the bot has handled them all, then
checks each lane's answer and the database: every row that changed must be claimed by a lane
whose input legitimately changes it, and nothing may be left unclaimed. People in different
lanes are independent, so their updates run concurrently, as they would in Telegram.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.i18n import Translator
from tests.botapi import Call, HtmlError, visible_text
from tests.flows.harness import Bot, Person
from tests.hostile.corpus import Case
from tests.hostile.expect import CATALOGS, GENERIC_ERROR, KNOWN_WRONG, Expect, Matcher

if TYPE_CHECKING:
    from tests.hostile.states import State

ROLES = ("unknown", "participant", "moderator", "town", "network", "admin")
# Three languages across the roles, two of them not English, one written right to left.
LANGUAGE = {
    "unknown": "ar",
    "participant": "uk",
    "moderator": "en",
    "town": "ar",
    "network": "uk",
    "admin": "en",
}
FIRST_ID = {
    "unknown": 20_000,
    "participant": 30_000,
    "moderator": 40_000,
    "town": 50_000,
    "network": 60_000,
    "admin": 90_000,
}
# Admins come from the configuration: a range of ids, one per admin lane.
ADMIN_IDS = tuple(range(FIRST_ID["admin"], FIRST_ID["admin"] + 500))
MAX_FAILURES_PER_LANE = 4
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
OWNER_COLUMN = {
    "people": "telegram_id",
    "staff_roles": "telegram_id",
    "stories": "author_id",
    "proposals": "author_id",
    "outbox": "chat_id",
    "registrations": "telegram_id",
    "audit_log": "actor_id",
    "broadcasts": "created_by",
    "events": "created_by",
    "rounds": "created_by",
    "moderation_log": "moderator_id",
    "towns": "added_by",
    "drafts": "telegram_id",
    "ratings": "telegram_id",
}


# Steps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    value: str
    expect: tuple[Matcher, ...] = ()  # every one must be in the answer


@dataclass(frozen=True)
class Tap:
    """A button press; ``strict`` presses a button the bot really shows (the newest with this
    data), otherwise the data is sent from the person's newest message, as a forged one is."""

    data: str
    expect: tuple[Matcher, ...] = ()
    strict: bool = True


Step = Text | Tap


@dataclass(frozen=True)
class Input:
    """One corpus case, made into what the person sends."""

    case: Case
    step: Step


# Replies ---------------------------------------------------------------------------------------

_SHOWN = (
    "sendMessage",
    "editMessageText",
    "sendPhoto",
    "sendDocument",
    "sendMediaGroup",
    "editMessageCaption",
    "editMessageReplyMarkup",
)


def _unchanged(call: Call) -> bool:
    """An edit to what the message already shows: the person goes on seeing just that."""
    return call.method == "editMessageText" and "not modified" in (call.description or "")


def _seen(html: str) -> str:
    try:
        return visible_text(html, "HTML")
    except HtmlError:
        return html


@dataclass
class Reply:
    """Everything the bot did in front of one person for one update."""

    calls: list[Call]
    query_id: str | None

    @property
    def texts(self) -> list[str]:
        out = []
        for call in self.calls:
            if not call.ok and not _unchanged(call):
                continue
            params = call.params
            if call.method == "answerCallbackQuery":
                if params.get("text"):
                    out.append(str(params["text"]))
            elif call.method in ("sendMessage", "editMessageText"):
                out.append(_seen(str(params.get("text", ""))))
            elif call.method == "sendMediaGroup":
                out += [_seen(str(m.get("caption") or "")) for m in params.get("media", [])]
            elif params.get("caption"):
                out.append(_seen(str(params["caption"])))
        return [text for text in out if text]

    @property
    def shown(self) -> bool:
        """Whether the person saw anything: a message, an edit, a file or an alert."""
        return any(
            (call.ok or _unchanged(call))
            and (
                call.method in _SHOWN
                or (call.method == "answerCallbackQuery" and call.params.get("text"))
            )
            for call in self.calls
        )

    @property
    def answered(self) -> bool:
        """Whether the button press was answered (else the person sees a spinner)."""
        return any(c.ok and c.method == "answerCallbackQuery" for c in self.calls)

    @property
    def refused(self) -> list[str]:
        """Calls Telegram refused: the person saw nothing of them."""
        return [
            f"{c.method}: {c.description}" for c in self.calls if not c.ok and not _unchanged(c)
        ]

    def describe(self) -> str:
        return " | ".join(repr(t[:120]) for t in self.texts) or "(nothing shown)"


# The database ----------------------------------------------------------------------------------

Row = dict[str, Any]


class Table:
    """One table's rows as tuples by rowid (or primary key); dicts only where asked for."""

    def __init__(self, columns: tuple[str, ...], found: dict[Any, tuple[Any, ...]]) -> None:
        self.columns = columns
        self.found = found
        self._index: dict[str, dict[Any, list[Row]]] = {}

    def row(self, values: tuple[Any, ...] | None) -> Row | None:
        return None if values is None else dict(zip(self.columns, values, strict=True))

    def where(self, column: str, value: Any) -> list[Row]:
        """The rows whose ``column`` holds ``value`` (indexed on first use)."""
        if column not in self._index:
            position = self.columns.index(column)
            index: dict[Any, list[Row]] = {}
            for values in self.found.values():
                index.setdefault(values[position], []).append(
                    dict(zip(self.columns, values, strict=True))
                )
            self._index[column] = index
        return self._index[column].get(value, [])


Snapshot = dict[str, Table]


@dataclass
class Change:
    table: str
    rowid: Any
    before: Row | None
    after: Row | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "insert"
        return "delete" if self.after is None else "update"

    @property
    def row(self) -> Row:
        row = self.after if self.after is not None else self.before
        assert row is not None
        return row

    @property
    def columns(self) -> set[str]:
        """The columns an update changed."""
        if self.before is None or self.after is None:
            return set(self.row)
        return {k for k in self.after if self.after[k] != self.before.get(k)}

    @property
    def owner(self) -> Any:
        column = OWNER_COLUMN.get(self.table)
        if column is None:
            return None
        values = [r.get(column) for r in (self.after, self.before) if r is not None]
        return next((v for v in values if v is not None), None)

    def __str__(self) -> str:
        if self.kind == "update":
            assert self.before is not None and self.after is not None
            diff = {k: (self.before.get(k), self.after[k]) for k in sorted(self.columns)}
            return f"{self.table}#{self.rowid} updated {_short(diff)}"
        return f"{self.table}#{self.rowid} {self.kind}ed {_short(self.row)}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:297] + "..."


class Diff:
    """What changed in one round; lanes claim their part, nothing may be left."""

    def __init__(self, before: Snapshot, after: Snapshot) -> None:
        self.changes: list[Change] = []
        if before is after:
            return
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            table = new or old
            assert table is not None
            was = old.found if old is not None else {}
            now = new.found if new is not None else {}
            if was == now:
                continue
            for key in sorted(set(was) | set(now), key=repr):
                if was.get(key) != now.get(key):
                    self.changes.append(
                        Change(name, key, table.row(was.get(key)), table.row(now.get(key)))
                    )

    def claim(self, where: Callable[[Change], bool]) -> list[Change]:
        taken = [c for c in self.changes if where(c)]
        self.changes = [c for c in self.changes if not where(c)]
        return taken

    def claim_owned(self, owner: int) -> list[Change]:
        return self.claim(lambda c: c.owner == owner)


class Database:
    """A read-only look at the bot's SQLite file (WAL: it sees what the bot committed)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._version = -1
        self._last: Snapshot = {}

    def snapshot(self) -> Snapshot:
        """Every table; the same object as last time when nothing was committed since."""
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True)
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._version:
            return self._last
        tables = self._conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
        ).fetchall()
        snapshot: Snapshot = {}
        for name, sql in tables:
            columns = tuple(info[1] for info in self._conn.execute(f"PRAGMA table_info({name})"))
            if "WITHOUT ROWID" in sql.upper():
                keys = [
                    i
                    for i, info in enumerate(self._conn.execute(f"PRAGMA table_info({name})"))
                    if info[5]
                ]
                found = {
                    tuple(r[i] for i in keys): tuple(r)
                    for r in self._conn.execute(f"SELECT * FROM {name}")
                }
            else:
                found = {
                    r[0]: tuple(r[1:]) for r in self._conn.execute(f"SELECT rowid, * FROM {name}")
                }
            snapshot[name] = Table(columns, found)
        self._version, self._last = version, snapshot
        return snapshot

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn, self._version = None, -1


def rows(snapshot: Snapshot, table: str, column: str, value: Any) -> list[Row]:
    found = snapshot.get(table)
    return [] if found is None else found.where(column, value)


# Lanes -----------------------------------------------------------------------------------------


@dataclass
class Lane:
    role: str
    state: State
    person: Person
    tr: Translator
    ids: dict[str, int | str]  # the world's ids, and this lane's own ("mine")
    inputs: deque[Input] = field(default_factory=deque)
    pending: deque[Step] = field(default_factory=deque)
    where: str = ""  # the step the lane is at now; its state's own step when at home
    failures: int = 0
    entered: bool = False  # reached its state once, answered as expected
    fed: list[Input] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.person.telegram_id

    def __str__(self) -> str:
        return f"{self.role}/{self.state.name}"

    def fill(self, template: str) -> str:
        """The template with the ids it names; other braces (a hostile text's) stay."""
        return _PLACEHOLDER.sub(lambda m: str(self.ids.get(m.group(1), m.group(0))), template)

    def next_step(self) -> tuple[Step, Input | None] | None:
        if self.failures >= MAX_FAILURES_PER_LANE:
            return None
        if self.pending:
            return self.pending.popleft(), None
        if self.inputs:
            inp = self.inputs.popleft()
            self.fed.append(inp)
            return inp.step, inp
        return None


@dataclass
class Sent:
    lane: Lane
    step: Step
    input: Input | None
    update_id: int
    query_id: str | None


class LogRecords(Protocol):
    """Where the log records of the run go: pytest's caplog, or a list in a second process."""

    @property
    def records(self) -> list[logging.LogRecord]: ...


class RecordList(logging.Handler):
    """caplog for a process of its own: every record at WARNING and above, kept."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Known:
    """A bug in a file this suite may not change: the generic error, expected and counted."""

    why: str
    roles: frozenset[str] | None = None  # whom it happens to; None: everyone
    seen: int = 0


class Session:
    """One running bot and its lanes; collects every failure instead of stopping at the first."""

    def __init__(
        self,
        bot: Bot,
        caplog: LogRecords,
        known_bugs: dict[tuple[str, str], Known] | None = None,
    ) -> None:
        self.bot = bot
        self.double = bot.double
        self.caplog = caplog
        self.db = Database(bot.services.config.database)
        self.failures: list[str] = []
        self.known = known_bugs or {}
        self.rounds = 0
        self.updates = 0
        self.wrong_seen: set[str] = set()
        self.lanes: list[Lane] = []

    # Pushing ------------------------------------------------------------------------------

    def _newest_message(self, lane: Lane) -> int:
        messages = self.double.messages(lane.id)
        return int(messages[-1]["message_id"]) if messages else 1

    def _push(self, lane: Lane, step: Step, inp: Input | None) -> Sent | None:
        """Send a step; the way back to a state is a template, corpus inputs are sent as are."""
        user = lane.person.user
        if isinstance(step, Text):
            text = step.value if inp is not None else lane.fill(step.value)
            update_id = self.double.send_text(user, text)
            query_id = None
        else:
            data = step.data if inp is not None else lane.fill(step.data)
            if step.strict:
                try:
                    message_id = self._button(lane, data)
                except LookupError as exc:
                    self.fail(lane, step, inp, f"the bot shows no button {data!r}: {exc}")
                    return None
            else:
                message_id = self._newest_message(lane)
            update_id = self.double.tap(user, message_id, data, strict=step.strict)
            query_id = str(self.double.pending_updates[-1]["callback_query"]["id"])
        self.bot.pushed += 1
        self.updates += 1
        return Sent(lane, step, inp, update_id, query_id)

    def _button(self, lane: Lane, data: str) -> int:
        """The newest message showing a button with this data."""
        for message in reversed(self.double.messages(lane.id)):
            for row in self.double.buttons(message):
                if any(button_data == data for _, button_data in row):
                    return int(message["message_id"])
        shown = [self.double.buttons(m) for m in self.double.messages(lane.id)[-2:]]
        raise LookupError(f"the newest buttons are {shown}")

    # Rounds -------------------------------------------------------------------------------

    async def run(self, lanes: Sequence[Lane]) -> None:
        """Feed the lanes until none has work left; what goes wrong lands in ``failures``."""
        self.lanes += lanes
        before = self.db.snapshot()
        while True:
            sent: list[Sent] = []
            for lane in lanes:
                work = lane.next_step()
                if work is None:
                    continue
                step, inp = work
                pushed = self._push(lane, step, inp)
                if pushed is not None:
                    sent.append(pushed)
            if not sent:
                break
            first_call = len(self.double.calls)
            first_record = len(self.caplog.records)
            await self.bot.settle()
            self.rounds += 1
            after = self.db.snapshot()
            diff = Diff(before, after)
            replies = self._replies(sent, first_call)
            crashed = self._errors_logged(sent, first_record)
            for item in sent:
                reply = replies[id(item)]
                self._judge(item, reply, diff, before, after, crashed)
            if diff.changes:
                who = ", ".join(sorted({str(s.lane) for s in sent}))
                for change in diff.changes:
                    self.failures.append(f"unexplained change ({who}): {change}")
            before = after
        self.db.close()

    def _replies(self, sent: list[Sent], first_call: int) -> dict[int, Reply]:
        """Each update's calls, in the order the bot made them."""
        by_chat: dict[Any, Sent] = {item.lane.id: item for item in sent}
        by_query: dict[Any, Sent] = {item.query_id: item for item in sent if item.query_id}
        found: dict[int, list[Call]] = {id(item): [] for item in sent}
        for call in self.double.calls[first_call:]:
            if call.method == "answerCallbackQuery":
                item = by_query.get(call.params.get("callback_query_id"))
            elif call.method in _SHOWN:
                item = by_chat.get(call.params.get("chat_id"))
            else:
                item = None
            if item is not None:
                found[id(item)].append(call)
        return {id(item): Reply(found[id(item)], item.query_id) for item in sent}

    def _errors_logged(self, sent: list[Sent], first_record: int) -> set[int]:
        """Update ids whose handling logged an error; other error records fail the round."""
        crashed: set[int] = set()
        by_update = {str(s.update_id): s for s in sent}
        for record in self.caplog.records[first_record:]:
            if record.levelno < logging.WARNING:
                continue
            if record.name == "handlers.errors" and record.args and record.levelno >= logging.ERROR:
                update = by_update.get(
                    str(record.args[0]) if isinstance(record.args, tuple) else ""
                )
                if update is not None:
                    crashed.add(update.update_id)
                    continue
            if record.levelno >= logging.ERROR or record.name.startswith(("handlers", "bot")):
                who = ", ".join(sorted({str(s.lane) for s in sent}))
                self.failures.append(f"{record.levelname} logged ({who}): {record.getMessage()}")
        return crashed

    # Judging ------------------------------------------------------------------------------

    def _judge(
        self,
        item: Sent,
        reply: Reply,
        diff: Diff,
        before: Snapshot,
        after: Snapshot,
        crashed: set[int],
    ) -> None:
        lane, step = item.lane, item.step
        if item.query_id is not None and not reply.answered:
            self.fail(lane, step, item.input, "the button press was never answered")
        if reply.refused:
            self.fail(lane, step, item.input, f"Telegram refused: {reply.refused}")
        generic = CATALOGS.translator(lane.tr.language).gettext(GENERIC_ERROR)
        known = None
        if item.input is not None:
            known = self.known.get((lane.where, item.input.case.id)) or self.known.get(
                ("*", item.input.case.id)
            )
        if known is not None and known.roles is not None and lane.role not in known.roles:
            known = None
        if known is not None and item.input is not None:
            if item.update_id in crashed and any(generic in t for t in reply.texts):
                known.seen += 1
                return
            self.fail(lane, step, item.input, f"known bug no longer happens: {known.why}")
            return
        if item.update_id in crashed or any(generic in t for t in reply.texts):
            self.fail(lane, step, item.input, f"internal error; answer: {reply.describe()}")
            diff.claim_owned(lane.id)
            return
        if not reply.shown:
            self.fail(lane, step, item.input, "no answer at all")
            return
        if item.input is None:
            self._judge_restore(item, reply, diff)
        else:
            lane.state.judge(self, lane, item.input, reply, diff, before, after)

    def _judge_restore(self, item: Sent, reply: Reply, diff: Diff) -> None:
        lane, step = item.lane, item.step
        for matcher in step.expect:
            if not any(matcher.matches(lane.tr, t) for t in reply.texts):
                self.fail(
                    lane,
                    step,
                    None,
                    f"on the way to {lane.state.name}: expected {matcher.describe(lane.tr)!r}, "
                    f"got {reply.describe()}",
                )
        # The way back is ordinary use (/cancel, the state's own path): its changes are the
        # person's own, checked by the flow tests.
        diff.claim_owned(lane.id)
        if not lane.pending:
            lane.where = lane.state.name
            lane.entered = True

    def check(self, lane: Lane, inp: Input, reply: Reply, expect: Expect) -> bool | None:
        """The answer against what may be said; True if the input took the person on."""
        texts = reply.texts
        for moved, matchers in ((False, expect.stays), (True, expect.moves)):
            for matcher in matchers:
                if any(matcher.matches(lane.tr, t) for t in texts):
                    if expect.must == "stay" and moved:
                        self.fail(lane, inp.step, inp, "a wrong input was taken")
                    if expect.must == "move" and not moved:
                        self.fail(
                            lane, inp.step, inp, f"a valid input was refused: {reply.describe()}"
                        )
                    return moved
        wrong = KNOWN_WRONG.get(inp.case.id)
        if wrong is not None and any(wrong[0].matches(lane.tr, t) for t in texts):
            self.wrong_seen.add(inp.case.id)
            return None
        wanted = [m.describe(lane.tr) for m in expect.stays + expect.moves]
        self.fail(lane, inp.step, inp, f"answer {reply.describe()}; expected one of {wanted}")
        return None

    def final_failures(self) -> list[str]:
        """What only the whole run shows: presses never answered, known bugs not met (fixed:
        their entries must go)."""
        unanswered = self.double.unanswered_callback_queries
        unmet = [f"{len(unanswered)} button presses never answered"] if unanswered else []
        unmet += [
            f"known bug not met at {step} <- {case}: {bug.why}"
            for (step, case), bug in self.known.items()
            if not bug.seen
        ]
        fed = {inp.case.id for lane in self.lanes for inp in lane.fed}
        unmet += [
            f"known wrong answer not met <- {case}: {why}"
            for case, (_, why) in KNOWN_WRONG.items()
            if case in fed and case not in self.wrong_seen
        ]
        return unmet

    def fail(self, lane: Lane, step: Step, inp: Input | None, message: str) -> None:
        lane.failures += 1
        what = inp.case.id if inp is not None else f"step {_step_text(step)!r}"
        self.failures.append(f"{lane} at {lane.where or '-'} <- {what}: {message}")


def _step_text(step: Step) -> str:
    return (step.value if isinstance(step, Text) else step.data)[:60]


def report(failures: list[str]) -> str:
    lines = failures[:60]
    if len(failures) > 60:
        lines.append(f"... and {len(failures) - 60} more")
    return "\n".join(lines)
