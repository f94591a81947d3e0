"""Every command with odd arguments, and every deep link, in every role: what each may answer
and what it may change."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.commands import COMMANDS
from tests.hostile import expect as x
from tests.hostile.corpus import ARGUMENT_SHAPES, COMMAND_LINES, DEEP_LINKS, Case
from tests.hostile.driver import (
    Change,
    Diff,
    Input,
    Known,
    Lane,
    Reply,
    Session,
    Snapshot,
    Text,
)
from tests.hostile.expect import Ctx, Expect, Msg, Shows, moves, stays
from tests.hostile.states import State

# Every command the bot answers: its menu, and /cancel.
COMMAND_NAMES: tuple[str, ...] = (*(c.name for c in COMMANDS), "cancel")
# What a command line starts: a conversation or a draft, left with /cancel.
ENTERS = frozenset({"story", "propose", "newevent", "broadcast"})

ROLE_USAGE = Msg(
    "Usage: /{command} TELEGRAM_ID coordinator [TOWN] or /{command} TELEGRAM_ID moderator. "
    "TOWN is the town's short name; leave it out for the whole network."
)
ADDTOWN_USAGE = Msg(
    "Usage: /addtown SHORT_NAME TIME_ZONE NAME, for example: /addtown berat Europe/Tirane Berat"
)
PROPOSALS_USAGE = Msg("Usage: /proposals open or /proposals close")
NEWROUND_USAGE = Msg(
    "Usage: /newround HOURS Title, e.g. /newround 72 Spring vote. "
    "Every proposal not already in a vote is included."
)
CHAPTER_USAGE = Msg(
    "Usage: /chapter add SHORT_NAME Title, or /chapter title NUMBER LANGUAGE Title "
    "(LANGUAGE is sq, en, it, uk or ar). Chapters: {chapters}"
)
ADDPROPOSAL_USAGE = Msg(
    "Usage: /addproposal CHAPTER_NUMBER Title | Text of the proposal. Chapters: {chapters}"
)
ROLE_NAME = Msg("The role must be “coordinator” or “moderator”.")
MODERATOR_TOWN = Msg("Moderators work for the whole network; leave out the town.")
NO_SUCH_TOWN = Msg("There is no partner town called “{slug}”.")
DID_NOT_HAVE = Msg("{person} did not have that role.")
SHORT_NAME = Msg("The short name must be lowercase letters, digits, - or _ (at most 32).")
NOT_A_ZONE = Msg("“{timezone}” is not a time zone I know. Use a name like Europe/Rome.")
TOWN_EXISTS = Msg("A partner town called “{slug}” exists already.")
TOWN_NAME = Msg("The town's name must be 1 to {limit} characters.")
TOWN_ADDED = Msg("Added the partner town {town} ({timezone}).")
NO_PROPOSALS = Msg("There are no proposals to vote on. Add one with /addproposal.")
ROUND_OPEN = Msg("The vote is open until {moment}. Share this link: {link}")
CHAPTERS_SAVED = Msg("Saved. The manual's chapters:")
CHAPTER_EXISTS = Msg("A chapter called “{slug}” exists already.")
PROPOSAL_TEXT_LIMIT = Msg("The proposal's text must be 1 to {limit} characters.")
PROPOSAL_ADDED = Msg("The proposal is added. Put it to a vote with /newround.")
STORE_NOTHING = Msg("I store nothing about you.")
REPORT_USAGE = Msg(
    "Usage: /report FROM TO, with the dates as YYYY-MM-DD, for example "
    "/report 2026-01-01 2026-06-30. The report covers both days."
)
REPORT_NOT_A_DATE = Msg("“{text}” is not a date. Write it as YYYY-MM-DD, for example 2026-03-31.")
REPORT_BACKWARDS = Msg("The period starts after it ends: {first} is later than {last}.")
PULSE_USAGE = Msg(
    "/pulse shows the survey and its results. To write a new one: /pulse add with a statement "
    "(one line per language: sq, en, it, ar, uk), once per statement, then /pulse done to "
    "publish it, or /pulse discard."
)
NO_SURVEY = Msg("There is no survey yet.")
REPORT_TOO_LONG = Msg("A report covers at most {years} years. Please choose a shorter period.")

# A known person's answer to each command that reads no arguments (someone unknown is asked
# to /start first for most of them).
PARTICIPANT_ANSWERS: dict[str, Msg] = {
    "help": x.HELP,
    "events": Msg("Upcoming events (page {page} of {pages}):"),
    "myevents": Msg("You have not joined any upcoming event. See /events."),
    "story": x.STORY_CHAPTER,
    "stories": Msg("Stories shared by participants. Which chapter?"),
    "propose": x.PROPOSAL_CHAPTER,
    "vote": Msg("Open votes:"),
    "results": Msg("No vote has closed yet."),
    "manual": Msg("The current draft of the manual, as Markdown, as a web page and as a PDF."),
    # Nobody in this world was checked in at an event, whatever name they type.
    "certificate": Msg(
        "You have no attended events yet. A certificate lists the events where you were "
        "checked in with the QR code at the venue."
    ),
    "language": Msg("Choose your language:"),
    "town": x.ASK_TOWN,
    "privacy": x.PRIVACY,
    "mydata": Msg("Everything Bashkë stores about you."),
    "deleteme": Msg("This erases everything stored about you, and cannot be undone. Erase it?"),
    "cancel": x.NOTHING_TO_CANCEL,
}
# Answered to someone unknown without asking them to /start first.
ANSWERED_TO_ANYONE = {"help", "language", "privacy", "cancel"}
STAFF_ANSWERS: dict[str, tuple[str, Msg]] = {
    "queue": ("moderates", x.QUEUE_WAITING),
    "newevent": ("coordinates", x.ASK_TITLE),
    "attendance": ("coordinates", Msg("Attendance of which event?")),
    "broadcast": ("coordinates", x.ASK_ANNOUNCEMENT),
    "broadcasts": ("coordinates", Msg("No announcements yet. Write one with /broadcast.")),
    "stats": ("coordinates", Msg("Figures for the report, and the moderation log.")),
    "export": ("coordinates", Msg("Figures for the report, and the moderation log.")),
    "staff": (
        "admin",
        Msg("{count} person has a staff role:", "{count} people have a staff role:"),
    ),
}
# /stats answers with the figures of the network or of the coordinator's towns.
STATS = (Msg("The whole network"), Msg("Your towns"))
PERMISSION: dict[str, str] = {
    "grant": "admin",
    "revoke": "admin",
    "addtown": "admin",
    "proposals": "network",
    "newround": "network",
    "chapter": "network",
    "addproposal": "coordinates",
    "report": "coordinates",
    "pulse": "coordinates",
}

# Lines whose argument is echoed: it must come back exactly as typed, not as markup.
ECHOED = {
    "grant-html-town": "“<b>bari</b>”",
    "grant-script-town": "“<script>”",
    "revoke-html-town": "“<i>x”",
    "report-html-date": "“<b>2025</b>”",
    "addtown-html-zone": "“Europe/<b>x</b>”",
    "addtown-script-zone": "“<script>alert(1)</script>”",
}
LINES: dict[str, Msg | tuple[Msg, ...]] = {
    "grant-one-arg": ROLE_USAGE,
    "grant-too-many": ROLE_USAGE,
    "grant-negative-id": ROLE_USAGE,
    "grant-huge-id": ROLE_USAGE,
    "grant-arabic-id": ROLE_USAGE,
    "grant-admin": ROLE_NAME,
    "grant-moderator-town": MODERATOR_TOWN,
    "grant-html-town": NO_SUCH_TOWN,
    "grant-script-town": NO_SUCH_TOWN,
    "grant-missing-town": NO_SUCH_TOWN,
    "revoke-html-town": NO_SUCH_TOWN,
    "revoke-absent": DID_NOT_HAVE,
    "revoke-not-an-id": ROLE_USAGE,
    "addtown-one-arg": ADDTOWN_USAGE,
    "addtown-html-slug": SHORT_NAME,
    "addtown-html-zone": NOT_A_ZONE,
    "addtown-script-zone": NOT_A_ZONE,
    "addtown-unknown-zone": NOT_A_ZONE,
    "addtown-path-zone": NOT_A_ZONE,
    "addtown-existing": TOWN_EXISTS,
    "addtown-long-name": TOWN_NAME,
    "addtown-unicode-slug": SHORT_NAME,
    "addtown-html-name": TOWN_ADDED,
    "proposals-maybe": PROPOSALS_USAGE,
    "proposals-both": PROPOSALS_USAGE,
    "proposals-upper": PROPOSALS_USAGE,
    "proposals-html": PROPOSALS_USAGE,
    "newround-not-a-number": NEWROUND_USAGE,
    "newround-zero": NEWROUND_USAGE,
    "newround-negative": NEWROUND_USAGE,
    "newround-too-long": NEWROUND_USAGE,
    "newround-huge": NEWROUND_USAGE,
    "newround-no-title": NEWROUND_USAGE,
    "newround-superscript": NEWROUND_USAGE,  # "²" is a digit, not a number
    # Two network coordinators opening a round at once: one of them finds nothing left.
    "newround-html": (ROUND_OPEN, NO_PROPOSALS),
    "chapter-add-no-title": CHAPTER_USAGE,
    "chapter-html-slug": SHORT_NAME,
    "chapter-unknown-language": x.NO_LANGUAGE,
    "chapter-out-of-range": CHAPTER_USAGE,
    "chapter-superscript": CHAPTER_USAGE,
    "chapter-long-title": x.TITLE_LIMIT,
    "chapter-unknown-verb": CHAPTER_USAGE,
    "chapter-html-title": (CHAPTERS_SAVED, CHAPTER_EXISTS),
    "addproposal-no-bar": ADDPROPOSAL_USAGE,
    "addproposal-zero": ADDPROPOSAL_USAGE,
    "addproposal-out-of-range": ADDPROPOSAL_USAGE,
    "addproposal-negative": ADDPROPOSAL_USAGE,
    "addproposal-superscript": ADDPROPOSAL_USAGE,
    "addproposal-no-title": x.TITLE_LIMIT,
    "addproposal-no-text": PROPOSAL_TEXT_LIMIT,
    "addproposal-html": PROPOSAL_ADDED,
    "attendance-args": Msg("Attendance of which event?"),
    "cancel-args": x.NOTHING_TO_CANCEL,
    "report-one-date": REPORT_USAGE,
    "report-not-a-day": REPORT_NOT_A_DATE,
    "report-html-date": REPORT_NOT_A_DATE,
    "report-backwards": REPORT_BACKWARDS,
    "report-too-long": REPORT_TOO_LONG,
}
# Lines a bug in code this suite may not change answers with the generic error: none now.
KNOWN_LINES: dict[str, str] = {}


def split(line: str) -> tuple[str | None, list[str]]:
    """The command a line is for this bot (None if none) and its arguments, as the handlers
    see them."""
    command = x.command_of(line)
    if not command:
        return None, []
    return command, line.split()[1:]


def allowed(ctx: Ctx, who: str) -> bool:
    return {
        "moderates": ctx.moderates,
        "coordinates": ctx.coordinates,
        "network": ctx.sees_network,
        "admin": ctx.role == "admin",
    }[who]


def command_expect(ctx: Ctx, case: Case, line: str) -> Expect:
    command, args = split(line)
    if command is None:
        return x.plain_text(ctx)
    if command == "start":
        return start_expect(ctx, args[0] if args else None)
    if command in PERMISSION and not allowed(ctx, PERMISSION[command]):
        return stays(x.NOT_ALLOWED)
    if command in STAFF_ANSWERS:
        who, answer = STAFF_ANSWERS[command]
        if not allowed(ctx, who):
            return stays(x.NOT_ALLOWED)
        if command == "stats":
            return stays(*STATS)
        return moves(answer) if command in ENTERS else stays(answer)
    if case.category == "command-line":
        found = LINES[case.id]
        return stays(*(found if isinstance(found, tuple) else (found,)))
    if command in PERMISSION:
        return generic_arguments(command, args, case.id)
    if not ctx.registered and command not in ANSWERED_TO_ANYONE:
        return stays(STORE_NOTHING if command in ("mydata", "deleteme") else x.NOT_REGISTERED)
    answer = PARTICIPANT_ANSWERS[command]
    return moves(answer) if command in ENTERS else stays(answer)


def generic_arguments(command: str, args: list[str], case_id: str) -> Expect:
    """The argument shapes of the corpus, given to the commands that read arguments."""
    if command in ("grant", "revoke"):
        return stays(ROLE_USAGE)
    if command == "addtown":
        if len(args) < 3:
            return stays(ADDTOWN_USAGE)
        # "one two three...": a fine short name, and "two" is no time zone.
        return stays(NOT_A_ZONE if case_id == "args-extra" else SHORT_NAME)
    if command == "proposals":
        return stays(PROPOSALS_USAGE)
    if command == "newround" and case_id == "args-unicode":
        # "٣" is a decimal digit: a three-hour vote with an Arabic title, if anything is left
        # to vote on (another network coordinator may have just taken it).
        return stays(ROUND_OPEN, NO_PROPOSALS)
    if command == "newround":
        return stays(NEWROUND_USAGE)
    if command == "chapter":
        return stays(CHAPTER_USAGE)
    if command == "pulse":
        # No survey in this world: the bare command says so; no shape is a sub-command.
        return stays(PULSE_USAGE if args else NO_SURVEY)
    if command == "report":
        # No shape is two dates: two words are not dates, any other count gets the usage.
        return stays(REPORT_NOT_A_DATE if len(args) == 2 else REPORT_USAGE)
    return stays(ADDPROPOSAL_USAGE)


PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SHAPE = re.compile(r"^(ev|ci|vote)_([0-9]{1,12})(?:_([A-Za-z0-9-]{1,40}))?$")


def start_expect(ctx: Ctx, payload: str | None) -> Expect:
    """/start, with what a link carries: Telegram's rules (at most 64 of A-Za-z0-9_-) and the
    README's kinds (ev_<id>, ci_<id>_<code>, vote_<id>)."""
    if payload is None:
        return stays(x.WELCOME_BACK if ctx.registered else x.WELCOME)
    match = SHAPE.match(payload) if PAYLOAD.match(payload) else None
    if match is None:
        return stays(x.LINK_NOTE)
    if not ctx.registered:
        return stays(x.WELCOME)  # the link opens once they have agreed
    kind, target = match.group(1), int(match.group(2))
    world = ctx.world
    if kind == "vote":
        return stays(Shows(world["round_title"]) if target == int(world["round"]) else x.NO_VOTE)
    if target == int(world["cancelled"]):
        return stays(Msg("❌ This event was cancelled.", anywhere=True))
    if target != int(world["event"]):
        return stays(x.NO_EVENT)
    if kind == "ci":
        return stays(x.NOT_VALID_CODE)
    return stays(Shows(world["event_title"]))


# Lanes ------------------------------------------------------------------------------------------


@dataclass
class CommandState(State):
    """Someone in a role, nothing going on, sending commands (and /start links)."""

    command: str = ""

    def ctx(self, lane: Lane, before: Snapshot) -> Ctx:
        world = {k: str(v) for k, v in lane.ids.items()}
        return Ctx(lane.role, lane.role != "unknown", world=world)

    def restore(self, role: str) -> tuple[Text, ...]:
        return (Text("/cancel", (x.STOPPED,)),)

    def judge(
        self,
        session: Session,
        lane: Lane,
        inp: Input,
        reply: Reply,
        diff: Diff,
        before: Snapshot,
        after: Snapshot,
    ) -> None:
        assert isinstance(inp.step, Text)
        ctx = self.ctx(lane, before)
        line = inp.step.value
        expect = command_expect(ctx, inp.case, line)
        moved = session.check(lane, inp, reply, expect)
        echoed = ECHOED.get(inp.case.id)
        refused = x.NOT_ALLOWED in expect.stays
        if echoed is not None and not refused and not any(echoed in t for t in reply.texts):
            session.fail(lane, inp.step, inp, f"{echoed} is not shown as typed")
        claim = CHANGES.get(split(line)[0] or "")
        if claim is not None:
            problem = claim(lane, diff)
            if problem:
                session.fail(lane, inp.step, inp, problem)
        if moved:
            lane.pending.extend(self.restore(lane.role))


def _claim_flow(kind: str, step: str) -> Callable[[Lane, Diff], str | None]:
    """A command that starts a flow: its drafts row at the first step, and nothing else."""

    def claim(lane: Lane, diff: Diff) -> str | None:
        made = diff.claim(lambda c: c.table == "drafts" and c.owner == lane.id)
        if any(c.row["kind"] != kind or c.row["step"] != step for c in made):
            return f"not the start of {kind}: {[str(c) for c in made]}"
        return None

    return claim


def _valid_staff_command(lane: Lane, diff: Diff) -> str | None:
    """A valid staff command: its line in the audit log, and the rows of what it names."""
    audit = diff.claim(lambda c: c.table == "audit_log" and c.owner == lane.id)
    if not audit:
        return None
    if len(audit) != 1 or audit[0].kind != "insert":
        return f"audit log: {[str(c) for c in audit]}"
    entry = audit[0].row
    subject = str(entry["subject"])
    made: list[Change] = []
    if entry["action"] == "add_town":
        made = diff.claim(lambda c: c.table == "towns" and c.owner == lane.id)
    elif entry["action"] == "open_round":
        round_id = int(subject.split(":")[1])
        made = diff.claim(lambda c: c.table == "rounds" and c.rowid == round_id)
        made += diff.claim(lambda c: c.table == "round_proposals" and c.row["round_id"] == round_id)
    elif entry["action"] == "add_chapter":
        made = diff.claim(lambda c: c.table == "chapters" and c.row["slug"] == subject)
        ids = {c.rowid for c in made}
        made += diff.claim(lambda c: c.table == "chapter_titles" and c.row["chapter_id"] in ids)
    elif entry["action"] == "add_proposal":
        proposal = int(subject.split(":")[1])
        made = diff.claim(lambda c: c.table == "proposals" and c.rowid == proposal)
        # Its number, from the one sequence of stories and proposals.
        made += diff.claim(lambda c: c.table == "submissions" and c.rowid == proposal)
    if not made or any(c.kind != "insert" for c in made):
        return f"{entry['action']} changed: {[str(c) for c in made]}"
    return None


CHANGES: dict[str, Callable[[Lane, Diff], str | None]] = {
    "story": _claim_flow("story", "chapter"),
    "propose": _claim_flow("story", "chapter"),
    "newevent": _claim_flow("newevent", "title"),
    "broadcast": _claim_flow("broadcast", "compose"),
    "addtown": _valid_staff_command,
    "newround": _valid_staff_command,
    "chapter": _valid_staff_command,
    "addproposal": _valid_staff_command,
}


def command_inputs(command: str) -> list[Input]:
    """The argument shapes after the command, then the corpus lines written for it."""
    inputs = [Input(case, Text(f"/{command}{case.value}")) for case in ARGUMENT_SHAPES]
    inputs += [
        Input(case, Text(case.value)) for case in COMMAND_LINES if split(case.value)[0] == command
    ]
    return inputs


def link_inputs(lane: Lane) -> list[Input]:
    return [Input(case, Text(lane.fill(f"/start {case.value}"))) for case in DEEP_LINKS]


def known_lines() -> dict[tuple[str, str], Known]:
    """The lines a bug in a file this suite may not change crashes on, for whom it does."""
    return {
        ("*", case_id): Known(
            why,
            roles=frozenset(
                {"network", "admin"}
                if "addproposal" not in case_id
                else {"town", "network", "admin"}
            ),
        )
        for case_id, why in KNOWN_LINES.items()
    }
