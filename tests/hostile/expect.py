"""What a person may be answered: catalog messages in their language, and the rules of each step.

A ``Msg`` is a catalog message id; it matches an answer when the answer (as the person sees it,
tags gone) starts with the message translated into the person's language, placeholders
standing for anything. The rules below say, from what the README and the code's own messages
promise, which answers an input may get: they are the suite's oracle, not a copy of the code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from bot.i18n import Catalogs, Translator
from tests.botapi import utf16_len, visible_text

CATALOGS = Catalogs()
_PLACEHOLDER = re.compile(r"\\\{[a-z_]+\\\}")
# n for which each language's plural forms differ (Arabic has six).
_PLURAL_SAMPLES = (0, 1, 2, 3, 11, 100)


@cache
def _pattern(language: str, msgid: str, plural: str | None, anywhere: bool) -> re.Pattern[str]:
    tr = CATALOGS.translator(language)
    if plural is None:
        forms = {tr.gettext(msgid)}
    else:
        forms = {tr.ngettext(msgid, plural, n) for n in _PLURAL_SAMPLES}
    alternatives = []
    for form in sorted(forms):
        seen = visible_text(form, "HTML")
        alternatives.append(_PLACEHOLDER.sub(".*?", re.escape(seen)))
    body = "(?:" + "|".join(alternatives) + ")"
    return re.compile(("(?s).*?" if anywhere else "(?s)") + body)


@dataclass(frozen=True)
class Msg:
    """A catalog message, as the person reads it in their language."""

    msgid: str
    plural: str | None = None
    anywhere: bool = False  # found anywhere in the answer, not only at its start
    language: str | None = None  # always in this language, whoever reads it

    def matches(self, tr: Translator, text: str) -> bool:
        language = self.language or tr.language
        return _pattern(language, self.msgid, self.plural, self.anywhere).match(text) is not None

    def describe(self, tr: Translator) -> str:
        return CATALOGS.translator(self.language or tr.language).gettext(self.msgid)[:80]


@dataclass(frozen=True)
class Shows:
    """Content of the bot's own (a title, a story) that the answer must show exactly."""

    text: str

    def matches(self, tr: Translator, text: str) -> bool:
        return self.text in text

    def describe(self, tr: Translator) -> str:
        return f"shows {self.text[:60]!r}"


Matcher = Msg | Shows

# Said to anyone, anywhere ----------------------------------------------------------------------
GENERIC_ERROR = "Sorry, something went wrong on my side. Please try again in a moment."
NOT_UNDERSTOOD = Msg("Sorry, I did not understand that.")
HELLO = Msg("Hello! Send /start to begin.")
STALE = Msg("This button is no longer valid. Send /help to see what you can do.")
INVALID = Msg("I did not understand that. Nothing was changed.")
NOT_ALLOWED = Msg("Sorry, that is only for staff with the right role. Nothing was changed.")
NOT_REGISTERED = Msg("Please send /start first: I do not know you yet.")
HELP = Msg("Here is what you can do:")
WELCOME = Msg("Welcome to Bashkë! Choose your language:")
WELCOME_BACK = Msg("Welcome back!")
LINK_NOTE = Msg("I did not recognise that link, so let us start from the beginning.")
PRIVACY = Msg(
    "<b>Your privacy</b>\n"
    "Bashkë is run by the partner towns of the network. To let you take part we store:\n"
    "• your Telegram id and your language;\n"
    "• your partner town, if you choose one;\n"
    "• how you describe yourself (resident, newcomer or migrant), if you say. "
    "It is used only in overall figures and never shown to anyone;\n"
    "• the events you join, and the stories and votes you send. "
    "No one can see how you voted.\n"
    "• your answers to the attitude pulse, if you give them. They are used only in overall "
    "figures and never shown on their own.\n"
    "We never sell or share your data. /mydata sends you a copy of all of it; /deleteme "
    "erases it: your approved stories stay only if they are anonymous, your votes only as "
    "anonymous counts, and if you were staff, the record of your staff actions stays."
)
NO_LANGUAGE = Msg("I do not know that language.")
NO_TOWN = Msg("That partner town does not exist (any more).")
NOTHING_ERASED = Msg("Nothing was erased.")
# A language button's answer speaks the language on the button.
DECLINED_IN_UKRAINIAN = Msg(
    "No problem: nothing about you has been stored. If you change your mind, just send /start.",
    language="uk",
)
ASK_TOWN = Msg("Which partner town are you part of?", anywhere=True)
ASK_SELF_DESCRIPTION = Msg(
    "One last, optional question: how do you describe yourself here? "
    "It is used only in overall figures and never shown to anyone.",
    anywhere=True,
)
STOPPED = Msg("Stopped. Nothing was saved.")
NOTHING_TO_CANCEL = Msg("There is nothing to cancel.")
EMPTY = Msg("This cannot be empty. Please write it again.")
USE_BUTTONS = Msg("Please choose one of the buttons above, or send /cancel to stop.")

# Events ----------------------------------------------------------------------------------------
NO_EVENT = Msg("That event does not exist (any more).")
UPCOMING_PAGE = Msg("Upcoming events (page {page} of {pages}):")
NO_UPCOMING = Msg("There are no upcoming events yet. Check again soon!")
CLOSED = Msg("Registration for this event is closed.")
NOT_ON_EVENT = Msg("You were not on this event.")
QR_CODE = Msg("Show this code at the entrance of “{title}”: scanning it checks people in.")
ATTENDANCE = Msg("{present} of {registered} registered people came.", anywhere=True)
EVENT_CANCELLED = Msg("The event is cancelled; everyone on it is being told.")
WHAT_CHANGES = Msg("What should change?")
NOT_VALID_CODE = Msg("This check-in code is not valid for this event.")
ASK_TITLE = Msg("A new event. What is its title? (/cancel to stop)")
ASK_DESCRIPTION = Msg("A short description? Send - to leave it empty.")
ASK_SCOPE = Msg("Is it a local event of one town, or international?")
ASK_EVENT_TOWN = Msg("Which town is it in?")
ASK_START = Msg("When does it start? Write the date and time in {timezone}, like this: {example}")
ASK_END = Msg("When does it end? Write the time (like 20:00), or a date and time.")
ASK_PLACE = Msg("Where is it? (the address or the place's name)")
ASK_CAPACITY = Msg("How many seats are there? Write a number.")
ASK_DEADLINE = Msg("Until when can people register? Write a date and time, like this: {example}")
ASK_REMINDERS = Msg(
    "When should people be reminded? Write hours before the start, like 24, 2 — "
    "or keep the usual ones."
)
EVENT_PREVIEW = Msg("This is how people will see it:")
ASK_MOVE_START = Msg(
    "When does it start now? Write the date and time in {timezone}, like this: {example}"
)
MOVED = Msg("The event has new times; everyone on it is being told.")
ASK_NEW_TITLE = Msg("The new title?")
ASK_NEW_CAPACITY = Msg("How many seats now? Write a number, or - for no limit.")
SAVED = Msg("Saved; everyone on the event is being told.")
ASK_SENTENCE = Msg(
    "Thank you! If you like, add one sentence about it: what was good, or what could be better."
)
NOTED = Msg("Thank you, it is noted.")
WRITE_SENTENCE = Msg("Please write a sentence, or tap Skip.")
SENTENCE_TOO_LONG = Msg("Please keep it to one sentence of at most {limit} characters.")
NOT_ASKED = Msg("Only the people who came to this event can rate it.")
STARS = Msg("Please choose from 1 to 5 stars.")
TITLE_TOO_LONG = Msg("The title can have at most {limit} characters; this has {length}.")
DESCRIPTION_TOO_LONG = Msg(
    "The description can have at most {limit} characters; this has {length}."
)
PLACE_TOO_LONG = Msg("The place can have at most {limit} characters; this has {length}.")
DATE_FORMAT = Msg("Please write the date and time like this: {example}")
IN_THE_PAST = Msg("The start is in the past. Please give a future date and time.")
CLOCKS_MOVE = Msg(
    "{moment} does not exist in {timezone}: the clocks move forward that night. "
    "Please choose another time."
)
END_BEFORE_START = Msg("The end must be after the start.")
SEATS = Msg("The number of seats must be a whole number from 1 to {limit}.")
DEADLINE_RULE = Msg("The registration deadline must be in the future and not after the start.")
REMINDER_FORMAT = Msg("Please write up to five whole numbers of hours, like 24, 2.")
REMINDER_RANGE = Msg("Reminders can be from 1 minute to 30 days before the start.")
DATE_REFUSALS = (DATE_FORMAT, IN_THE_PAST, CLOCKS_MOVE)

# Stories, proposals, moderation ------------------------------------------------------------------
NO_STORY = Msg("That story does not exist (any more).")
ALREADY_DECIDED = Msg("Another moderator has already decided on this story.")
WHY_REJECTED = Msg("Why is it rejected? The author will be told.")
NO_CHAPTER = Msg("That chapter does not exist (any more).")
NO_DRAFT = Msg("There is no story waiting to be sent. Start one with /story.")
QUEUE_WAITING = Msg("{count} story waiting.", "{count} stories waiting.")
STORY_CHAPTER = Msg(
    "Your story helps write the network's manual. Which chapter is it about? (/cancel to stop)"
)
PROPOSAL_CHAPTER = Msg(
    "Your proposal for the manual: a practice that works against ethnic stigma and "
    "racism. Which chapter is it for? (/cancel to stop)"
)
PROPOSAL_TITLE = Msg("Give it a short title (at most {limit} characters).")
STORY_TEXT = Msg(
    "Tell your story in a message: what happened, and what helped or hurt. "
    "Between {low} and {high} characters. Only text is taken, no photos or voice."
)
PROPOSAL_TEXT = Msg("Now describe the practice in a message: what to do, and why it helps.")
ANONYMITY = Msg("Should your story carry your first name, or be anonymous?")
STORY_PREVIEW = Msg("This is how it will be published, if a moderator approves it:")
ONLY_SYMBOLS = Msg("Please tell your story in words, not only emoji or symbols.")
TOO_SHORT = Msg("That is a little short: please write at least {limit} characters.")
TOO_LONG = Msg(
    "That is {length} characters; a story can have at most {limit}. "
    "Please shorten it and send it again."
)
TITLE_LIMIT = Msg("The title must be 1 to {limit} characters.")

# Votes -------------------------------------------------------------------------------------------
NO_VOTE = Msg("That vote does not exist.")
NOT_IN_VOTE = Msg("That proposal is not part of this vote.")
RESULTS_HIDDEN = Msg("The results stay hidden until the vote closes.")
PULSE_GONE = Msg("This question is no longer open. Thank you all the same!")

# Announcements -----------------------------------------------------------------------------------
NO_BROADCAST = Msg("That announcement does not exist.")
ASK_ANNOUNCEMENT = Msg(
    "Write the announcement in {language} (the network's language), as one message. "
    "You may send a photo with a caption instead. Formatting like <b>bold</b> and "
    "<i>italics</i> works. (/cancel to stop)"
)
ASK_VERSIONS = Msg(
    "Above is how it looks. People get the version in their language, if you add one; "
    "the others get this one. Versions so far: {languages}"
)
ASK_VERSION = Msg("Send the {language} version.")
ASK_AUDIENCE = Msg("Who should get it?")
WHICH_ONE = Msg("Which one?")
CONFIRM_REACH = Msg(
    "It will reach {count} person. Send it?", "It will reach {count} people. Send it?"
)
ASK_WHEN = Msg("When should it go out? Write the date and time in {timezone}, like this: {example}")
QUEUED = Msg(
    "Queued for {count} person, from {moment}. Follow it with /broadcasts.",
    "Queued for {count} people, from {moment}. Follow it with /broadcasts.",
)
TOO_LONG_FOR_TELEGRAM = Msg(
    "That is too long for Telegram: at most {limit} characters. Please shorten it."
)


# The oracle ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """The answers an input may get: ``stays`` keep the person where they are, ``moves`` take
    them on (a valid answer to the step), and ``must`` says which of the two it has to be."""

    stays: tuple[Matcher, ...] = ()
    moves: tuple[Matcher, ...] = ()
    must: str | None = None  # "stay", "move" or None (either)

    def __post_init__(self) -> None:
        assert self.must in (None, "stay", "move")


def stays(*matchers: Matcher) -> Expect:
    return Expect(stays=matchers, must="stay")


def moves(*matchers: Matcher) -> Expect:
    return Expect(moves=matchers, must="move")


@dataclass(frozen=True)
class Ctx:
    """Who taps or types, and where they are."""

    role: str
    registered: bool
    conversation: str | None = None  # "newevent" or "broadcast" while one of them runs
    step: str | None = None  # the step of that conversation
    story_step: str | None = None  # the step of the person's story or proposal draft
    world: dict[str, str] = field(default_factory=dict)  # texts the bot shows: titles...

    @property
    def moderates(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def coordinates(self) -> bool:
        return self.role in ("town", "network", "admin")

    @property
    def sees_network(self) -> bool:
        return self.role in ("network", "admin")


COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@([A-Za-z0-9_]{3,32}))?(?![\w/])")
BOT_USERNAME = "bashke_test_bot"


def command_of(text: str) -> str | None:
    """The command a message starts with, as the bot's command handlers see it; None if it
    does not start with one, or names another bot (then it is no command for this bot)."""
    match = COMMAND.match(text)
    if match is None:
        return None
    if match.group(1) is not None and match.group(1).lower() != BOT_USERNAME:
        return ""  # a command, but for another bot
    return match.group(0).split("@")[0][1:].lower()


def typed_command(ctx: Ctx, text: str) -> Expect | None:
    """What a command typed in the middle of anything gets (the corpus's command-like texts)."""
    command = command_of(text)
    if command is None:
        return None
    if command == "help":
        return stays(HELP)
    if command == "start":
        return stays(WELCOME_BACK if ctx.registered else WELCOME)
    return stays(NOT_UNDERSTOOD if ctx.registered else HELLO)


def event_manager(ctx: Ctx, event: str) -> bool:
    """Who manages which of the world's events: the Bari one is the town's, the others the
    network's."""
    if event == "event":
        return ctx.coordinates
    return ctx.sees_network


def in_step(ctx: Ctx, conversation: str, step: str) -> bool:
    return ctx.conversation == conversation and ctx.step == step


def tap(ctx: Ctx, case_id: str) -> Expect:
    """What tapping a corpus callback gets, wherever the person is (story steps aside)."""
    registered = ctx.registered
    if case_id == "cb-empty":
        # python-telegram-bot hands empty data to the first button handler whatever its
        # pattern; each of them wants arguments, so it is refused as not understood.
        return stays(INVALID)
    if case_id in (
        "cb-garbage",
        "cb-unknown-prefix",
        "cb-uppercase",
        "cb-64-bytes",
        "cb-non-ascii",
        "cb-emoji",
    ):
        return stays(STALE)
    if case_id in (
        "cb-town-no-arg",
        "cb-town-arity",
        "cb-town-negative",
        "cb-town-huge",
        "cb-town-arabic-digit",
        "cb-lang-arity",
        "cb-desc-forged",
        "cb-join-negative",
        "cb-anonymous-bad",
        "cb-send-arity",
        "cb-drop-arity",
        "cb-vote-choice",
        "cb-reject-reason",
        "cb-pulse-answer-value",
    ):
        return stays(INVALID)
    simple: dict[str, Msg] = {
        "cb-town-gone": NO_TOWN,
        "cb-lang-unknown": NO_LANGUAGE,
        "cb-consent-unknown": NO_LANGUAGE,
        "cb-decline-unknown": NO_LANGUAGE,
        "cb-erase-maybe": NOTHING_ERASED,
        "cb-join-gone": NO_EVENT,
        "cb-wait-gone": NO_EVENT,
        "cb-calendar-gone": NO_EVENT,
        "cb-chapter-gone": NO_CHAPTER,
        "cb-results-open": RESULTS_HIDDEN,
        "cb-pulse-answer-gone": PULSE_GONE,
        "cb-pulse-stop-gone": PULSE_GONE,
        "cb-rate-gone": NOT_ASKED,
        "cb-rate-stars": STARS,
    }
    if case_id == "cb-pulse-start-gone":
        # Someone unknown is asked to /start first; anyone else learns it is no longer open.
        return stays(PULSE_GONE if ctx.registered else NOT_REGISTERED)
    if case_id == "cb-cancel-bad-step":
        # The event's own coordinators may cancel it: the forged button is what is wrong.
        return stays(INVALID if event_manager(ctx, "event") else NOT_ALLOWED)
    if case_id in simple:
        return stays(simple[case_id])
    # Refused to someone the bot does not know yet, whatever else they ask.
    unknown_first: dict[str, Matcher] = {
        "cb-join-cancelled": CLOSED,
        "cb-card-huge": NO_EVENT,
        "cb-leave-other": NOT_ON_EVENT,
        "cb-read-negative": INVALID,
        "cb-round-gone": NO_VOTE,
        "cb-vote-proposal": NOT_IN_VOTE,
        "cb-vote-round-gone": NO_VOTE,
        "cb-read-huge": Shows(ctx.world.get("approved_text", "")),
        "cb-round-huge-index": Shows(ctx.world.get("round_title", "")),
        "cb-towns-huge": ASK_TOWN,
        "cb-towns-negative": INVALID,
        # Past the last page: the last page, as /stories does.
        "cb-events-page-huge": UPCOMING_PAGE,
    }
    if case_id in unknown_first:
        return stays(unknown_first[case_id] if registered else NOT_REGISTERED)
    if case_id == "cb-decline-registered":
        # A stale "No, thank you" must not tell someone registered that nothing is stored.
        return stays(STALE if registered else DECLINED_IN_UKRAINIAN)
    if case_id == "cb-qr-other":
        return stays(QR_CODE if event_manager(ctx, "other_event") else NOT_ALLOWED)
    if case_id == "cb-attendance-other":
        return stays(ATTENDANCE if event_manager(ctx, "other_event") else NOT_ALLOWED)
    if case_id == "cb-edit-menu-other":
        return stays(WHAT_CHANGES if event_manager(ctx, "other_event") else NOT_ALLOWED)
    if case_id == "cb-cancel-cancelled":
        if not event_manager(ctx, "cancelled"):
            return stays(NOT_ALLOWED)
        return stays(EVENT_CANCELLED if registered else NOT_REGISTERED)
    if case_id == "cb-move-abc":
        return stays(INVALID)
    if case_id == "cb-edit-field":
        return stays(INVALID if event_manager(ctx, "event") else NOT_ALLOWED)
    if case_id == "cb-approve-gone":
        return stays(NO_STORY if ctx.moderates else NOT_ALLOWED)
    if case_id == "cb-approve-decided":
        return stays(ALREADY_DECIDED if ctx.moderates else NOT_ALLOWED)
    if case_id == "cb-ask-reason":
        return stays(WHY_REJECTED if ctx.moderates else NOT_ALLOWED)
    if case_id == "cb-broadcast-gone":
        return stays(NO_BROADCAST if ctx.coordinates else NOT_ALLOWED)
    if case_id in ("cb-chapter", "cb-anonymous", "cb-rewrite"):
        return stays(NO_DRAFT)  # the story steps answer these themselves when there is a draft
    return _conversation_tap(ctx, case_id)


def _conversation_tap(ctx: Ctx, case_id: str) -> Expect:
    """The buttons of the /newevent and /broadcast steps: outside their step, stale."""
    rules: dict[str, tuple[str, str, Expect]] = {
        "cb-scope": ("newevent", "scope", moves(ASK_EVENT_TOWN)),
        "cb-scope-moon": ("newevent", "scope", stays(INVALID)),
        "cb-town-other": (
            "newevent",
            "town",
            moves(ASK_START) if ctx.sees_network else stays(NOT_ALLOWED),
        ),
        "cb-town-missing": ("newevent", "town", stays(NO_TOWN)),
        "cb-no-limit-arity": ("newevent", "capacity", stays(INVALID)),
        "cb-deadline-arity": ("newevent", "deadline", stays(INVALID)),
        "cb-reminders-no-arg": ("newevent", "reminders", stays(INVALID)),
        "cb-save-maybe": ("newevent", "preview", moves(STOPPED)),
        "cb-version-unknown": ("broadcast", "versions", stays(NO_LANGUAGE)),
        "cb-audience-everyone": (
            "broadcast",
            "audience",
            moves(CONFIRM_REACH) if ctx.sees_network else stays(NOT_ALLOWED),
        ),
        "cb-audience-nobody": ("broadcast", "audience", stays(INVALID)),
        "cb-audience-value": ("broadcast", "audience_value", stays(INVALID)),
        "cb-send-maybe": ("broadcast", "confirm", moves(STOPPED)),
        "cb-rate-skip": ("rating", "rating_comment", moves(NOTED)),
    }
    conversation, step, expect = rules[case_id]
    return expect if in_step(ctx, conversation, step) else stays(STALE)


# Rules of the typed steps ------------------------------------------------------------------


def plain_text(ctx: Ctx) -> Expect:
    """Text where no step waits for any."""
    return stays(NOT_UNDERSTOOD if ctx.registered else HELLO)


def limited_text(value: str, limit: int, too_long: Msg, *, required: bool = True) -> Expect:
    """A title, a place or a description: trimmed, at most ``limit`` characters."""
    text = value.strip()
    if required and not text:
        return stays(EMPTY)
    if len(text) > limit:
        return stays(too_long)
    return Expect(must="move")


def story_text(value: str) -> Expect:
    """A story's text: 20 to 3,000 characters counted as Telegram counts, words not symbols."""
    body = value.strip()
    if not body:
        return stays(EMPTY)
    if not any(unicodedata.category(ch)[0] in "LN" for ch in body):
        return stays(ONLY_SYMBOLS)
    if sum(unicodedata.category(ch) not in ("Cf", "Mn", "Me") for ch in body) < 20:
        return stays(TOO_SHORT)
    if utf16_len(body) > 3000:
        return stays(TOO_LONG)
    return Expect(must="move")


def proposal_title(value: str) -> Expect:
    name = " ".join(value.split())
    if not name or len(name) > 120:
        return stays(TITLE_LIMIT)
    return Expect(must="move")


def announcement(value: str) -> Expect:
    """An announcement's text: what Telegram will show, at most 4,096 characters."""
    if not value.strip():
        return stays(EMPTY)
    if utf16_len(value.strip()) > 4096:
        return stays(TOO_LONG_FOR_TELEGRAM)
    return Expect(must="move")


# Wrong answers given by code this suite may not change: expected as they are, and reported.
# None now: a page of /events past the end shows the last page.
KNOWN_WRONG: dict[str, tuple[Matcher, str]] = {}
