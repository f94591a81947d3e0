"""Every state a person can be in: who can be there, the way there, and what it may answer.

``STATES`` is the matrix's other axis. A conversation state names the flow and step it stands
for (handlers/conversation.py): the coverage test fails when the bot has a step that no state
here reaches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.botapi import utf16_len
from tests.botapi.double import COMMAND
from tests.hostile import expect as x
from tests.hostile.corpus import COUNT, FUTURE, FUTURE_YEAR, HOURS, TIME
from tests.hostile.driver import (
    Diff,
    Input,
    Lane,
    Reply,
    Row,
    Session,
    Snapshot,
    Step,
    Tap,
    Text,
    rows,
)
from tests.hostile.expect import Ctx, Expect, Msg, Shows, moves, stays

# What the ways into the states answer: hostile, yet valid, so each is shown back exactly.
WALK_TITLE = "<b>Fête</b> & <i>co \u202e — 👨‍👩‍👧"
WALK_DESCRIPTION = "Bring a dish & a friend <script>alert(1)</script> {name} %s"
WALK_PLACE = "Sala <comunale>, Via Roma 1 & 2"
WALK_START = f"{FUTURE_YEAR + 1}-06-01 18:00"
WALK_END = "21:00"
WALK_MOVE_START = f"{FUTURE_YEAR + 1}-07-01 10:00"
WALK_STORY = "Our <b>neighbours</b> & friends helped us when we arrived {name} %s — thank you!"
WALK_PROPOSAL_TITLE = "Shared <meals> & more"
WALK_PROPOSAL = "Every month, a dinner where each family brings a dish from home <3 & more."
WALK_ANNOUNCEMENT = "The <b>spring</b> gathering & <script>x</script> is on Saturday!"

DRAFT_NOTE = "story_draft_waiting"  # the outbox row a draft's new text queues


@dataclass
class State:
    name: str
    roles: tuple[str, ...]
    group: str  # the test that runs it
    registered: bool = True  # whether the person is known to the bot in this state
    fresh: bool = False  # the lane's person starts unknown (onboarding)
    conversation: tuple[str, str] | None = None  # (flow, step) of handlers/conversation.py
    # Inputs that meet the same code wherever they land are spread over the states of one
    # flow (per role); a state with ``full`` gets the whole corpus.
    flow: str = ""
    full: bool = False

    @property
    def takes_text(self) -> bool:
        """Whether a step here reads what is typed (else any text meets the same answer)."""
        return False

    def path(self, role: str) -> tuple[Step, ...]:
        return ()

    def restore(self, role: str) -> tuple[Step, ...]:
        return (Text("/cancel"), *self.path(role))

    def ctx(self, lane: Lane, before: Snapshot) -> Ctx:
        return Ctx(lane.role, self.registered, world=_world_texts(lane))

    def expect_text(self, lane: Lane, value: str, tags: frozenset[str], ctx: Ctx) -> Expect:
        return x.plain_text(ctx)

    def expect_tap(self, lane: Lane, case_id: str, ctx: Ctx, before: Snapshot) -> Expect:
        return x.tap(ctx, case_id)

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
        ctx = self.ctx(lane, before)
        if isinstance(inp.step, Text):
            expect = x.typed_command(ctx, inp.step.value) or self.expect_text(
                lane, inp.step.value, inp.case.tags, ctx
            )
        else:
            expect = self.expect_tap(lane, inp.case.id, ctx, before)
        moved = session.check(lane, inp, reply, expect)
        if moved:
            self.moved(session, lane, inp, reply, diff, before, after)

    def moved(
        self,
        session: Session,
        lane: Lane,
        inp: Input,
        reply: Reply,
        diff: Diff,
        before: Snapshot,
        after: Snapshot,
    ) -> None:
        """A valid input took the person on: claim what it legitimately changed, go back."""
        lane.where = "elsewhere"
        lane.pending.extend(self.restore(lane.role))


def _world_texts(lane: Lane) -> dict[str, str]:
    return {key: str(value) for key, value in lane.ids.items() if isinstance(value, str)}


# Onboarding, and nothing going on --------------------------------------------------------------


@dataclass
class Plain(State):
    """No step waits for text: typing gets "not understood", buttons are judged on their own."""

    steps: tuple[Step, ...] = ()

    def path(self, role: str) -> tuple[Step, ...]:
        return self.steps

    def restore(self, role: str) -> tuple[Step, ...]:
        return ()  # nothing here takes a person on: a move is already a failure


START = Text("/start", (x.WELCOME,))
CHOOSE_LANGUAGE = Tap("lang:{lang}:", (x.PRIVACY,))
CONSENT = Tap("consent:{lang}:", (x.ASK_TOWN,))
CHOOSE_TOWN = Tap("town:{bari}", (x.ASK_SELF_DESCRIPTION,))
UNKNOWN_ROLES = ("unknown", "moderator", "town", "network", "admin")
REGISTERED_ROLES = ("participant", "moderator", "town", "network", "admin")

ONBOARDING: tuple[State, ...] = (
    Plain("new", UNKNOWN_ROLES, "onboarding", registered=False, fresh=True, full=True),
    Plain("language", UNKNOWN_ROLES, "onboarding", False, True, flow="unknown", steps=(START,)),
    Plain(
        "consent",
        UNKNOWN_ROLES,
        "onboarding",
        False,
        True,
        flow="unknown",
        steps=(START, CHOOSE_LANGUAGE),
    ),
    Plain(
        "town",
        REGISTERED_ROLES,
        "onboarding",
        True,
        True,
        flow="known",
        steps=(START, CHOOSE_LANGUAGE, CONSENT),
    ),
    Plain(
        "self_description",
        REGISTERED_ROLES,
        "onboarding",
        True,
        True,
        flow="known",
        steps=(START, CHOOSE_LANGUAGE, CONSENT, CHOOSE_TOWN),
    ),
    Plain("idle", REGISTERED_ROLES, "onboarding", full=True),
    Plain(
        "reject_reason",
        ("moderator", "admin"),
        "onboarding",
        flow="known",
        steps=(
            Text("/queue", (x.QUEUE_WAITING,)),
            Tap("modask:{story}", (x.WHY_REJECTED,)),
        ),
    ),
)


# Stories and proposals: the draft (the drafts table's "story" row) is the state ---------------

STORY_PROMPTS: dict[tuple[str, str], Msg] = {
    ("story", "chapter"): x.STORY_CHAPTER,
    ("proposal", "chapter"): x.PROPOSAL_CHAPTER,
    ("proposal", "title"): x.PROPOSAL_TITLE,
    ("story", "text"): x.STORY_TEXT,
    ("proposal", "text"): x.PROPOSAL_TEXT,
    ("story", "anonymity"): x.ANONYMITY,
    ("story", "preview"): x.STORY_PREVIEW,
    ("proposal", "preview"): x.STORY_PREVIEW,
}


def is_command(text: str) -> bool:
    """What Telegram marks as a command (a bot_command entity at the start)."""
    return COMMAND.match(text) is not None


def draft_of(snapshot: Snapshot, author: int) -> Row | None:
    """The person's unfinished story or proposal: its answers, as the drafts table holds them."""
    found = [r for r in rows(snapshot, "drafts", "telegram_id", author) if r["kind"] == "story"]
    return json.loads(found[0]["answers"]) if found else None


def step_of(draft: Row) -> str:
    """The step a draft is at: what it still lacks, in the order the README gives."""
    if draft["chapter_id"] is None:
        return "chapter"
    if draft["kind"] == "proposal" and draft["title"] is None:
        return "title"
    if draft["text"] is None:
        return "text"
    if draft["anonymous"] is None:
        return "anonymity"
    return "preview"


@dataclass
class StoryState(State):
    """A step of /story or /propose. The draft row says which step the person is at, so every
    answer is judged against the draft before it and checked against the draft after it."""

    kind: str = "story"
    step: str = "chapter"

    @property
    def takes_text(self) -> bool:
        return self.step in ("title", "text")

    def path(self, role: str) -> tuple[Step, ...]:
        command = "/story" if self.kind == "story" else "/propose"
        order = ["chapter", "text", "anonymity", "preview"]
        if self.kind == "proposal":
            order = ["chapter", "title", "text", "preview"]
        steps: list[Step] = [Text(command, (STORY_PROMPTS[self.kind, "chapter"],))]
        answers: dict[str, Step] = {
            "chapter": Tap("stch:{chapter}", (STORY_PROMPTS[self.kind, order[1]],)),
            "title": Text(WALK_PROPOSAL_TITLE, (x.PROPOSAL_TEXT,)),
            "text": Text(
                WALK_PROPOSAL if self.kind == "proposal" else WALK_STORY,
                (STORY_PROMPTS[self.kind, order[order.index("text") + 1]],),
            ),
            "anonymity": Tap("stanon:1", (x.STORY_PREVIEW, Shows(WALK_STORY))),
        }
        for step in order[: order.index(self.step)]:
            steps.append(answers[step])
        return tuple(steps)

    def ctx(self, lane: Lane, before: Snapshot) -> Ctx:
        draft = draft_of(before, lane.id)
        return Ctx(
            lane.role,
            True,
            story_step=None if draft is None else step_of(draft),
            world=_world_texts(lane),
        )

    def _prompt(self, draft: Row) -> Msg:
        return STORY_PROMPTS[draft["kind"], step_of(draft)]

    def _after(self, draft: Row, **change: Any) -> Expect:
        changed = {**draft, **change}
        prompt = self._prompt(changed)
        return moves(prompt) if step_of(changed) != step_of(draft) else stays(prompt)

    def expect_text(self, lane: Lane, value: str, tags: frozenset[str], ctx: Ctx) -> Expect:
        step = ctx.story_step
        # A command is never an answer; a "/" that is not one is, as in every flow.
        if step not in ("title", "text") or is_command(value):
            return x.plain_text(ctx)
        rule = x.proposal_title(value) if step == "title" else x.story_text(value)
        if rule.must == "stay":
            return rule
        return Expect(moves=(x.PROPOSAL_TEXT, x.ANONYMITY, x.STORY_PREVIEW), must="move")

    def expect_tap(self, lane: Lane, case_id: str, ctx: Ctx, before: Snapshot) -> Expect:
        draft = draft_of(before, lane.id)
        if draft is None or case_id not in ("cb-chapter", "cb-anonymous", "cb-rewrite"):
            return x.tap(ctx, case_id)
        if case_id == "cb-chapter":
            return self._after(draft, chapter_id=lane.ids["chapter"])
        if case_id == "cb-anonymous":
            return self._after(draft, anonymous=1)
        return self._after(draft, text=None)

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
        super().judge(session, lane, inp, reply, diff, before, after)
        old, new = draft_of(before, lane.id), draft_of(after, lane.id)
        if old is None or new is None:
            if old != new:
                session.fail(lane, inp.step, inp, "the draft appeared or vanished")
            return
        changed = {k for k in new if new[k] != old[k]} - {"updated_at"}
        allowed: dict[str, set[str]] = {
            "cb-chapter": {"chapter_id"},
            "cb-anonymous": {"anonymous", "signed_name"},
            "cb-rewrite": {"text"},
        }
        wanted = allowed.get(inp.case.id, set())
        value = inp.step.value if isinstance(inp.step, Text) else ""
        if isinstance(inp.step, Text) and changed:
            wanted = {"text", "title"}
            stored = new["text"] if "text" in changed else new["title"]
            written = value.strip() if "text" in changed else " ".join(value.split())
            if stored != written:
                session.fail(lane, inp.step, inp, f"stored {stored!r}, not as written")
        if not changed <= wanted:
            session.fail(lane, inp.step, inp, f"the draft changed: {sorted(changed)}")
        diff.claim(lambda c: c.table == "drafts" and c.owner == lane.id)
        if "text" in changed and new["text"] is not None:
            queued = diff.claim(
                lambda c: c.table == "outbox" and c.owner == lane.id and c.row["kind"] == DRAFT_NOTE
            )
            if len(queued) != 1:
                session.fail(lane, inp.step, inp, f"{len(queued)} draft notes queued, not 1")
        if step_of(new) == "preview" and step_of(old) != "preview":
            shown = (new["text"] or "").strip()
            if not any(shown in t for t in reply.texts):
                session.fail(lane, inp.step, inp, "the preview does not show the text as written")
        if step_of(new) != self.step:
            lane.where = step_of(new)
            if step_of(new) == "anonymity" and self.step == "text":
                # Back by the preview, which must show the story exactly as written.
                lane.pending.extend(
                    (
                        Tap("stanon:1", (x.STORY_PREVIEW, Shows(new["text"]))),
                        Tap("stedit", (x.STORY_TEXT,)),
                    )
                )
            elif step_of(new) == "preview" and self.step == "text":
                lane.pending.append(Tap("stedit", (STORY_PROMPTS[self.kind, "text"],)))
            else:
                lane.pending.extend(self.restore(lane.role))

    def moved(
        self,
        session: Session,
        lane: Lane,
        inp: Input,
        reply: Reply,
        diff: Diff,
        before: Snapshot,
        after: Snapshot,
    ) -> None:
        """The draft row says where the person is; ``judge`` sends them back."""


def _story_states() -> tuple[State, ...]:
    out: list[State] = []
    for kind, steps in (
        ("story", ("chapter", "text", "anonymity", "preview")),
        ("proposal", ("chapter", "title", "text", "preview")),
    ):
        for step in steps:
            out.append(
                StoryState(
                    f"{kind}_{step}",
                    REGISTERED_ROLES,
                    "stories",
                    conversation=("story", step) if step in ("title", "text") else None,
                    flow="stories",
                    kind=kind,
                    step=step,
                )
            )
    return tuple(out)


# Conversations: /newevent, editing and moving an event, /broadcast ------------------------------

COORDINATORS = ("town", "network", "admin")


@dataclass
class Conversation(State):
    """A step of /newevent, of editing or moving an event, or of /broadcast: a valid answer moves
    the flow on, so it is followed by the way back."""

    steps: dict[str, tuple[Step, ...]] = field(default_factory=dict)  # role class -> path
    back: tuple[Step, ...] = ()  # a shorter way back after a valid answer, if there is one

    @property
    def takes_text(self) -> bool:
        return self.name in TEXT_RULES

    def path(self, role: str) -> tuple[Step, ...]:
        return self.steps.get(role) or self.steps["*"]

    def restore(self, role: str) -> tuple[Step, ...]:
        # The conversations take their command (and a card's Edit or Move) again midway.
        return self.back or self.path(role)

    def ctx(self, lane: Lane, before: Snapshot) -> Ctx:
        return Ctx(
            lane.role, True, conversation=self.flow, step=lane.where, world=_world_texts(lane)
        )

    def expect_text(self, lane: Lane, value: str, tags: frozenset[str], ctx: Ctx) -> Expect:
        rule = TEXT_RULES.get(self.name)
        if rule is None:
            return stays(BUTTON_STEP)
        return rule(lane, value, tags)

    def moved(
        self,
        session: Session,
        lane: Lane,
        inp: Input,
        reply: Reply,
        diff: Diff,
        before: Snapshot,
        after: Snapshot,
    ) -> None:
        value = inp.step.value if isinstance(inp.step, Text) else ""
        # The flow's place and answers, written with each answer taken (bot/drafts.py).
        diff.claim(lambda c: c.table == "drafts" and c.owner == lane.id)
        if self.name in ("compose", "version_text"):
            if value.strip() not in reply.texts:
                session.fail(lane, inp.step, inp, "the preview is not the message as written")
        elif self.name in ("edit_title", "edit_capacity", "move_end"):
            self._claim_event_change(session, lane, inp, reply, diff, value)
        elif self.name == "rating_comment" and isinstance(inp.step, Text):
            noted = diff.claim(lambda c: c.table == "ratings" and c.owner == lane.id)
            kept = noted[0].row["comment"] if len(noted) == 1 else None
            if kept != " ".join(value.split()):
                session.fail(lane, inp.step, inp, f"the sentence was kept as {kept!r}")
        elif self.name == "when":
            made = diff.claim(lambda c: c.table == "broadcasts" and c.owner == lane.id)
            subject = f"broadcast:{made[0].rowid}" if len(made) == 1 else "?"
            queued = diff.claim(lambda c: c.table == "outbox" and c.row["subject"] == subject)
            audit = diff.claim(lambda c: c.table == "audit_log" and c.owner == lane.id)
            if len(made) != 1 or not queued or len(audit) != 1:
                session.fail(lane, inp.step, inp, "the announcement was not queued once")
        super().moved(session, lane, inp, reply, diff, before, after)

    def _claim_event_change(
        self, session: Session, lane: Lane, inp: Input, reply: Reply, diff: Diff, value: str
    ) -> None:
        mine = int(lane.ids["mine"])
        changed = diff.claim(lambda c: c.table == "events" and c.rowid == mine)
        audit = diff.claim(lambda c: c.table == "audit_log" and c.owner == lane.id)
        # Nobody is registered for the lane's own event: there is no one to tell.
        columns = changed[0].columns if len(changed) == 1 else set()
        wanted = {
            "edit_title": {"title"},
            "edit_capacity": {"capacity"},
            "move_end": {"starts_at", "ends_at", "registration_deadline"},
        }[self.name]
        if not columns or not columns <= wanted or len(audit) != 1:
            session.fail(lane, inp.step, inp, f"the event changed wrongly: {changed} {audit}")
            return
        if self.name == "edit_title":
            title = changed[0].row["title"]
            if title != value.strip():
                session.fail(lane, inp.step, inp, f"title stored as {title!r}")
            elif not any(title in t for t in reply.texts):
                session.fail(lane, inp.step, inp, "the card does not show the title exactly")


BUTTON_STEP = x.USE_BUTTONS


def _title(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    rule = x.limited_text(value, 120, x.TITLE_TOO_LONG)
    return rule if rule.must == "stay" else moves(x.ASK_DESCRIPTION)


def _description(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    rule = x.limited_text(value, 2000, x.DESCRIPTION_TOO_LONG, required=False)
    if value.strip() != "-" and rule.must == "stay":
        return rule
    return moves(x.ASK_SCOPE if lane.role in ("network", "admin") else x.ASK_EVENT_TOWN)


def _place(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    rule = x.limited_text(value, 200, x.PLACE_TOO_LONG)
    return rule if rule.must == "stay" else moves(x.ASK_CAPACITY)


Rule = Callable[[Lane, str, frozenset[str]], Expect]


def _date(after: Msg, *refusals: Msg, accept: str = FUTURE) -> Rule:
    def rule(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
        return moves(after) if accept in tags else stays(*refusals)

    return rule


def _capacity(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    return moves(x.ASK_DEADLINE) if COUNT in tags else stays(x.SEATS)


def _reminders(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    return moves(x.EVENT_PREVIEW) if HOURS in tags else stays(x.REMINDER_FORMAT, x.REMINDER_RANGE)


def _edit_title(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    rule = x.limited_text(value, 120, x.TITLE_TOO_LONG)
    return rule if rule.must == "stay" else moves(x.SAVED)


def _edit_capacity(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    return moves(x.SAVED) if COUNT in tags or value.strip() == "-" else stays(x.SEATS)


def _sentence(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    """One sentence about an event: on one line, at most 300 characters as Telegram counts."""
    sentence = " ".join(value.split())
    if not sentence:
        return stays(x.WRITE_SENTENCE)
    if utf16_len(sentence) > 300:
        return stays(x.SENTENCE_TOO_LONG)
    return moves(x.NOTED)


def _announcement(lane: Lane, value: str, tags: frozenset[str]) -> Expect:
    rule = x.announcement(value)
    return rule if rule.must == "stay" else moves(x.ASK_VERSIONS)


END_REFUSALS = (x.DATE_FORMAT, x.END_BEFORE_START, x.CLOCKS_MOVE)
TEXT_RULES: dict[str, Rule] = {
    "title": _title,
    "description": _description,
    "start": _date(x.ASK_END, *x.DATE_REFUSALS),
    "end": _date(x.ASK_PLACE, *END_REFUSALS, accept=TIME),
    "place": _place,
    "capacity": _capacity,
    "deadline": _date(x.ASK_REMINDERS, x.DATE_FORMAT, x.DEADLINE_RULE, x.CLOCKS_MOVE),
    "reminders": _reminders,
    "edit_title": _edit_title,
    "edit_capacity": _edit_capacity,
    "move_start": _date(x.ASK_END, *x.DATE_REFUSALS),
    "move_end": _date(x.MOVED, *END_REFUSALS, accept=TIME),
    "compose": _announcement,
    "version_text": _announcement,
    "when": _date(x.QUEUED, *x.DATE_REFUSALS),
    "rating_comment": _sentence,
}


def _newevent_states() -> tuple[State, ...]:
    def walk(network: bool) -> list[tuple[str, Step]]:
        scope = [("town", Tap("nescope:local", (x.ASK_EVENT_TOWN,)))] if network else []
        return [
            ("title", Text("/newevent", (x.ASK_TITLE,))),
            ("description", Text(WALK_TITLE, (x.ASK_DESCRIPTION,))),
            (
                "scope" if network else "town",
                Text(WALK_DESCRIPTION, (x.ASK_SCOPE if network else x.ASK_EVENT_TOWN,)),
            ),
            *scope,
            ("start", Tap("netown:{bari}", (x.ASK_START,))),
            ("end", Text(WALK_START, (x.ASK_END,))),
            ("place", Text(WALK_END, (x.ASK_PLACE,))),
            ("capacity", Text(WALK_PLACE, (x.ASK_CAPACITY,))),
            ("deadline", Text("3", (x.ASK_DEADLINE,))),
            ("reminders", Tap("nedeadline:none", (x.ASK_REMINDERS,))),
            (
                "preview",
                Tap(
                    "neremind:default",
                    (
                        x.EVENT_PREVIEW,
                        Shows(WALK_TITLE),
                        Shows(WALK_DESCRIPTION),
                        Shows(WALK_PLACE),
                    ),
                ),
            ),
        ]

    def until(network: bool, name: str) -> tuple[Step, ...]:
        steps = walk(network)
        names = [n for n, _ in steps]
        return tuple(step for _, step in steps[: names.index(name) + 1])

    keys = (
        "title",
        "description",
        "scope",
        "town",
        "start",
        "end",
        "place",
        "capacity",
        "deadline",
        "reminders",
        "preview",
    )
    out: list[State] = []
    for name in keys:
        roles = ("network", "admin") if name == "scope" else COORDINATORS
        paths = {"*": until(True, name)}
        if name != "scope":
            paths["town"] = until(False, name)
        out.append(
            Conversation(
                name,
                roles,
                "events",
                conversation=("newevent", name),
                flow="newevent",
                steps=paths,
            )
        )
    card = Text("/start ev_{mine}")
    edit: dict[str, tuple[Step, ...]] = {
        "edit_title": (
            card,
            Tap("evedit:{mine}", (x.WHAT_CHANGES,)),
            Tap("evfield:{mine}:title", (x.ASK_NEW_TITLE,)),
        ),
        "edit_capacity": (
            card,
            Tap("evedit:{mine}", (x.WHAT_CHANGES,)),
            Tap("evfield:{mine}:capacity", (x.ASK_NEW_CAPACITY,)),
        ),
        "move_start": (card, Tap("evmove:{mine}", (x.ASK_MOVE_START,))),
        "move_end": (
            card,
            Tap("evmove:{mine}", (x.ASK_MOVE_START,)),
            Text(WALK_MOVE_START, (x.ASK_END,)),
        ),
    }
    edit_keys = {
        "edit_title": ("event_edit", "value"),
        "edit_capacity": ("event_edit", "value"),
        "move_start": ("event_move", "start"),
        "move_end": ("event_move", "end"),
    }
    for name, path in edit.items():
        out.append(
            Conversation(
                name,
                COORDINATORS,
                "events",
                conversation=edit_keys[name],
                flow="newevent",
                steps={"*": path},
                # Saved, the card is shown again: its Edit button leads straight back.
                back=path[1:] if name.startswith("edit") else (),
            )
        )
    return tuple(out)


def _broadcast_states() -> tuple[State, ...]:
    compose = Text("/broadcast", (x.ASK_ANNOUNCEMENT,))
    written = Text(WALK_ANNOUNCEMENT, (x.ASK_VERSIONS, Shows(WALK_ANNOUNCEMENT)))
    done = Tap("bcver:done", (x.ASK_AUDIENCE,))
    town = Tap("bcaud:town", (x.WHICH_ONE,))
    bari = Tap("bcval:{bari}", (x.CONFIRM_REACH,))
    paths: dict[str, tuple[Step, ...]] = {
        "compose": (compose,),
        "versions": (compose, written),
        "version_text": (compose, written, Tap("bcver:uk", (x.ASK_VERSION,))),
        "audience": (compose, written, done),
        "audience_value": (compose, written, done, town),
        "confirm": (compose, written, done, town, bari),
        "when": (compose, written, done, town, bari, Tap("bcsend:later", (x.ASK_WHEN,))),
    }
    return tuple(
        Conversation(
            name,
            COORDINATORS,
            "broadcasts",
            conversation=("broadcast", name),
            flow="broadcast",
            steps={"*": path},
            # A version taken, the version buttons are shown again.
            back=(Tap("bcver:uk", (x.ASK_VERSION,), strict=False),)
            if name == "version_text"
            else (),
        )
        for name, path in paths.items()
    )


def _rating_states() -> tuple[State, ...]:
    """After the stars for an event they came to, the sentence about it (the world asked each
    lane of this state about its event)."""
    return (
        Conversation(
            "rating_comment",
            ("participant", "moderator", "town", "network", "admin"),
            "events",
            conversation=("rating", "comment"),
            flow="rating",
            steps={"*": (Tap("rate:{event}:4", (x.ASK_SENTENCE,), strict=False),)},
        ),
    )


STATES: tuple[State, ...] = (
    ONBOARDING + _story_states() + _newevent_states() + _broadcast_states() + _rating_states()
)
