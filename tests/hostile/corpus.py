"""The hostile corpus: what people type, tap, open and command, each case with an id and category.

Texts are typed messages; callbacks are button data a stale message or a modified client sends;
deep links are ``/start`` payloads; argument shapes are appended to every command, and command
lines give the commands that read arguments something to choke on. ``{name}`` in a callback,
link or command line is filled in with an id from the running bot (an event, a story...).
Lone surrogates cannot travel in JSON, so the unusual planes stand in for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Categories of typed text.
HTML = "html"
MARKDOWN = "markdown"
LENGTH = "length"
BIDI = "bidi"
INVISIBLE = "invisible"
COMBINING = "combining"
EMOJI = "emoji"
CONTROL = "control"
PLANES = "planes"
WHITESPACE = "whitespace"
SQL = "sql"
FORMAT = "format-string"
LONG_WORD = "long-word"
NEWLINES = "newlines"
COMMAND_LIKE = "command-like"
VALUES = "values"  # dates and numbers, some of them right for some step
# Everything else.
CALLBACK = "callback"
DEEP_LINK = "deep-link"
ARGUMENTS = "arguments"
COMMAND_LINE = "command-line"

# Tags of typed text, for the steps that take a date, a number or nothing at all.
BLANK = "blank"  # nothing a person can see or Telegram keeps: whitespace only
FUTURE = "future"  # a date and time, well ahead of now, before the walks' event start
TIME = "time"  # a bare time of day after the walks' event start
COUNT = "count"  # a whole number of seats from 1 to 100,000
HOURS = "hours"  # up to five whole numbers of hours, each at most 30 days


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    value: str
    tags: frozenset[str] = field(default_factory=frozenset)


def _case(id_: str, category: str, value: str, *tags: str) -> Case:
    return Case(id_, category, value, frozenset(tags))


# Dates a few years ahead, whatever the day the suite runs; the ways into the event steps
# start the year after (see tests/hostile/states.py).
FUTURE_YEAR = date.today().year + 3


def _last_sunday_of_march(year: int) -> int:
    """The night European clocks skip 02:00-03:00."""
    last = date(year, 3, 31)
    return 31 - (last.weekday() + 1) % 7


def _zalgo(word: str) -> str:
    marks = "".join(chr(c) for c in range(0x0300, 0x0300 + 24))
    return "".join(ch + marks for ch in word)


TEXTS: tuple[Case, ...] = (
    _case(
        "html-bold-link",
        HTML,
        '<b>Bold</b> neighbours <a href="javascript:alert(1)">click</a> helped us find a flat',
    ),
    _case("html-unclosed", HTML, "<b><i>unclosed tags <u>all over the place and more words"),
    _case("html-entities", HTML, "&amp; &lt; &gt; &quot; &#65; &#x42; &nbsp; written literally"),
    _case("html-script", HTML, "<script>alert('x')</script> and the teachers were kind to us"),
    _case("html-bare", HTML, "a < b and c > d && e, my maths teacher says </i> <"),
    _case(
        "html-telegram",
        HTML,
        '<tg-spoiler>x</tg-spoiler> <tg-emoji emoji-id="1">👍</tg-emoji> <pre>code</pre>'
        " <blockquote expandable>quote</blockquote>",
    ),
    _case("md-v1", MARKDOWN, "*bold* _italic_ [link](http://example.com) `code` in a sentence"),
    _case(
        "md-v2", MARKDOWN, "~strike~ ||spoiler|| __under__ \\*esc\\* _*[]()~`>#+-=|{}.!\\ specials"
    ),
    _case("md-fence", MARKDOWN, "```python\nprint('hello')\n```"),
    _case("len-10000", LENGTH, "x" * 10_000),
    _case("len-4096", LENGTH, "ж" * 4096),
    _case("len-4097", LENGTH, "ж" * 4097),
    _case("len-emoji-4096-units", LENGTH, "😀" * 2048),
    _case("len-emoji-4097-units", LENGTH, "😀" * 2048 + "x"),
    _case("len-ampersands-4096", LENGTH, "&" * 4096),
    _case("len-121", LENGTH, "Ti" * 60 + "t"),
    _case("len-201", LENGTH, "Pl" * 100 + "a"),
    _case("bidi-override", BIDI, "\u202etxt.exe — my story, read it from right to left"),
    _case(
        "bidi-isolates-mixed",
        BIDI,
        "\u2066isolated\u2069 \u2067rtl\u2069 مرحبا hello שלום ١٢٣ \u200f\u200e\u061c marks",
    ),
    _case("zw-only", INVISIBLE, "\u200b\u200b\u200b"),
    _case("zw-mixed", INVISIBLE, "\ufeffNeigh\u200bbours help\u200ded us a\u200cb\u2060c\u180ed"),
    _case("zalgo", COMBINING, _zalgo("Zalgo") + " text still reads, Cafe\u0301 nai\u0308ve"),
    _case("combining-only", COMBINING, "\u0301\u0308\u0336" * 40),
    _case("emoji-flags-skin", EMOJI, "🇦🇱🇮🇹🇺🇦🏳️‍🌈🏴‍☠️ 👋🏻👋🏼👋🏽👋🏾👋🏿 waving"),
    _case("emoji-zwj-families", EMOJI, "👨‍👩‍👧‍👦👩‍❤️‍💋‍👨🧑🏽‍🤝‍🧑🏿 1️⃣#️⃣"),
    _case("emoji-4000", EMOJI, "😀" * 4000),
    _case("nul", CONTROL, "before\x00after: a NUL byte in the middle of a sentence"),
    _case("controls", CONTROL, "bell\x07 esc\x1b[31m red\x1b[0m \x0c\x0b \x85next \x9b c1 \x7f"),
    _case("crlf", CONTROL, "line one\r\nline two\rline three"),
    _case(
        "planes-private",
        PLANES,
        "\ue000\uf8ff\U000f0000\U0010fffd private, \ufffe\uffff\U0010ffff\ufdd0 \ufffd",
    ),
    _case(
        "planes-astral",
        PLANES,
        "𝕳𝖊𝖑𝖑𝖔 𝟕𝟖𝟗 𠀀𠀁 𓀀 🀄 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    ),
    _case("ws-spaces", WHITESPACE, "     ", BLANK),
    _case("ws-mixed", WHITESPACE, " \t\n\r\u00a0\u2003\u3000 ", BLANK),
    _case(
        "sql", SQL, "Robert'); DROP TABLE people;-- ' OR '1'='1' UNION SELECT * FROM staff_roles"
    ),
    _case("fmt-braces", FORMAT, "{name} {0} {chapter!r} {limit:>10} {{}} { %s %d %(name)s %% %n"),
    _case("fmt-shell", FORMAT, "${HOME} $(whoami) `id` {{7*7}} #{7*7}"),
    _case("word-long", LONG_WORD, "Rindfleischetikettierungsüberwachungsaufgabenübertragung" * 40),
    _case("word-url", LONG_WORD, "https://example.com/" + "a" * 3000),
    _case("newlines-many", NEWLINES, "line\n" * 500),
    _case("newlines-around", NEWLINES, "\n\n\nWords with newlines around\n\n\nand inside\n\n"),
    _case("cmd-unknown", COMMAND_LIKE, "/nosuchcommand with args"),
    _case("cmd-other-bot", COMMAND_LIKE, "/start@other_bot"),
    _case("cmd-help", COMMAND_LIKE, "/help"),
    _case("cmd-start-ours", COMMAND_LIKE, "/start@bashke_test_bot"),
    _case("cmd-slash", COMMAND_LIKE, "/"),
    _case("cmd-inside", COMMAND_LIKE, "please /cancel this, it is not a command here"),
    _case("date-future", VALUES, f"{FUTURE_YEAR}-01-01 10:00", FUTURE),
    _case("date-dotted", VALUES, f" 15.06.{FUTURE_YEAR}   09:30 ", FUTURE),
    _case("date-past", VALUES, "2020-01-01 10:00"),
    _case("date-dst-gap", VALUES, f"{FUTURE_YEAR}-03-{_last_sunday_of_march(FUTURE_YEAR)} 02:30"),
    _case("date-impossible", VALUES, f"{FUTURE_YEAR}-02-30 10:00"),
    _case("date-year-one", VALUES, "0001-01-01 00:30"),
    _case("time-late", VALUES, "23:30", TIME),
    _case("time-bad", VALUES, "25:61"),
    _case("num-zero", VALUES, "0"),
    _case("num-negative", VALUES, "-3"),
    _case("num-huge", VALUES, "99999999999999999999"),
    _case("num-superscript", VALUES, "²"),
    _case("num-arabic-indic", VALUES, "٣", COUNT, HOURS),
    _case("hours-list", VALUES, "48; 24, 2", HOURS),
    _case("hours-too-far", VALUES, "721", COUNT),
    _case("dash", VALUES, "-"),
)

CALLBACKS: tuple[Case, ...] = tuple(
    _case(id_, CALLBACK, value)
    for id_, value in (
        ("cb-empty", ""),
        ("cb-garbage", "garbage"),
        ("cb-unknown-prefix", "zz:1"),
        ("cb-uppercase", "TOWN:1"),
        ("cb-64-bytes", "x" * 64),
        ("cb-non-ascii", "é" * 32),
        ("cb-emoji", "🙂:1"),
        ("cb-town-no-arg", "town"),
        ("cb-town-arity", "town:1:2"),
        ("cb-town-negative", "town:-1"),
        ("cb-town-huge", "town:99999999999999999999"),
        ("cb-town-gone", "town:99999"),
        ("cb-town-arabic-digit", "town:٢"),
        ("cb-lang-unknown", "lang:xx:"),
        ("cb-lang-arity", "lang:uk"),
        ("cb-consent-unknown", "consent:xx:"),
        ("cb-decline-unknown", "decline:xx"),
        ("cb-decline-registered", "decline:uk"),
        ("cb-towns-negative", "towns:-1"),
        ("cb-towns-huge", "towns:999999"),
        ("cb-desc-forged", "desc:admin"),
        ("cb-erase-maybe", "erase:maybe"),
        ("cb-events-page-huge", "events:999999"),
        ("cb-join-gone", "join:999999999999"),
        ("cb-join-negative", "join:-1"),
        ("cb-join-cancelled", "join:{cancelled}"),
        ("cb-wait-gone", "wait:999999999999"),
        ("cb-calendar-gone", "ics:999999999999"),
        ("cb-card-huge", "event:999999999999999999"),
        ("cb-leave-other", "leave:{other_event}"),
        ("cb-qr-other", "qr:{other_event}"),
        ("cb-attendance-other", "att:{other_event}"),
        ("cb-cancel-cancelled", "evcancel:{cancelled}:yes"),
        ("cb-cancel-bad-step", "evcancel:{event}:maybe"),
        ("cb-pulse-start-gone", "pls:999999:0"),
        ("cb-pulse-answer-gone", "pla:999999:1:3"),
        ("cb-pulse-answer-value", "pla:999999:1:9"),
        ("cb-pulse-stop-gone", "plx:999999"),
        ("cb-rate-gone", "rate:999999:4"),
        ("cb-rate-stars", "rate:999999:9"),
        ("cb-rate-skip", "rateskip"),
        ("cb-edit-menu-other", "evedit:{other_event}"),
        ("cb-edit-field", "evfield:{event}:checkin_code"),
        ("cb-move-abc", "evmove:abc"),
        ("cb-approve-gone", "modok:999999"),
        ("cb-approve-decided", "modok:{approved}"),
        ("cb-reject-reason", "modno:{story}:nonsense"),
        ("cb-ask-reason", "modask:{story}"),
        ("cb-chapter-gone", "stch:99999"),
        ("cb-chapter", "stch:{chapter}"),
        ("cb-anonymous-bad", "stanon:2"),
        ("cb-anonymous", "stanon:1"),
        ("cb-send-arity", "stsend:1"),
        ("cb-rewrite", "stedit"),
        ("cb-drop-arity", "stdrop:1"),
        ("cb-read-negative", "stread:{chapter}:-1"),
        ("cb-read-huge", "stread:{chapter}:999999999999999999"),
        ("cb-round-gone", "rd:999999:0"),
        ("cb-round-huge-index", "rd:{round}:999999999999999999"),
        ("cb-vote-choice", "vt:{round}:{proposal}:maybe"),
        ("cb-vote-proposal", "vt:{round}:999999:support"),
        ("cb-vote-round-gone", "vt:999999:{proposal}:support"),
        ("cb-results-open", "res:{round}"),
        ("cb-broadcast-gone", "bccancel:999999"),
        ("cb-scope", "nescope:local"),
        ("cb-scope-moon", "nescope:moon"),
        ("cb-town-other", "netown:{shkoder}"),
        ("cb-town-missing", "netown:99999"),
        ("cb-no-limit-arity", "necap:none:1"),
        ("cb-deadline-arity", "nedeadline:none:x"),
        ("cb-reminders-no-arg", "neremind"),
        ("cb-save-maybe", "nesave:maybe"),
        ("cb-version-unknown", "bcver:xx"),
        ("cb-audience-everyone", "bcaud:everyone"),
        ("cb-audience-nobody", "bcaud:nobody"),
        ("cb-audience-value", "bcval:abc"),
        ("cb-send-maybe", "bcsend:maybe"),
    )
)

DEEP_LINKS: tuple[Case, ...] = tuple(
    _case(id_, DEEP_LINK, value)
    for id_, value in (
        ("link-kind-only", "ev_"),
        ("link-not-a-number", "ev_abc"),
        ("link-huge-id", "ev_99999999999999999999"),
        ("link-missing-event", "ev_999999999999"),
        ("link-negative-vote", "vote_-1"),
        ("link-missing-vote", "vote_0"),
        ("link-wrong-code", "ci_{event}_wrongcode"),
        ("link-code-empty", "ci_{event}_"),
        ("link-65-chars", "ev_" + "1" * 62),
        ("link-long-code", "ci_{event}_" + "a" * 60),
        ("link-unicode", "événement_1"),
        ("link-arabic-digits", "ev_١"),
        ("link-cancelled", "ev_{cancelled}"),
        ("link-event", "ev_{event}"),
        ("link-vote", "vote_{round}"),
        ("link-two-payloads", "ev_{event} vote_{round}"),
        ("link-percent", "%00%3Cscript%3E"),
    )
)

# Appended to every command: "/events" + " -1", "/grant" + "@other_bot"...
ARGUMENT_SHAPES: tuple[Case, ...] = tuple(
    _case(id_, ARGUMENTS, value)
    for id_, value in (
        ("args-none", ""),
        ("args-extra", " one two three four five six"),
        ("args-negative", " -1 -2"),
        ("args-huge", " 99999999999999999999 " + "9" * 60),
        ("args-unicode", " ٣ مرحبا 😀 Ж \u202e"),
        ("args-html", " <b>x</b> <script>alert(1)</script> &amp;"),
        ("args-other-bot", "@other_bot"),
        ("args-other-bot-args", "@other_bot 1 moderator"),
        ("args-our-bot", "@bashke_test_bot"),
    )
)

COMMAND_LINES: tuple[Case, ...] = tuple(
    _case(id_, COMMAND_LINE, value)
    for id_, value in (
        ("grant-one-arg", "/grant 1"),
        ("grant-too-many", "/grant 1 moderator bari extra"),
        ("grant-negative-id", "/grant -5 moderator"),
        ("grant-huge-id", "/grant 99999999999999999999 moderator"),
        ("grant-arabic-id", "/grant ٣ moderator"),
        ("grant-admin", "/grant 5 admin"),
        ("grant-moderator-town", "/grant 5 moderator bari"),
        ("grant-html-town", "/grant 5 coordinator <b>bari</b>"),
        ("grant-script-town", "/grant 5 coordinator <script>"),
        ("grant-missing-town", "/grant 5 coordinator nowhere"),
        ("revoke-html-town", "/revoke 5 coordinator <i>x"),
        ("revoke-absent", "/revoke 5 moderator"),
        ("revoke-not-an-id", "/revoke abc moderator"),
        ("addtown-one-arg", "/addtown berat"),
        ("addtown-html-slug", "/addtown <b>b</b> Europe/Tirane Berat"),
        ("addtown-html-zone", "/addtown berat Europe/<b>x</b> Berat"),
        ("addtown-script-zone", "/addtown berat <script>alert(1)</script> Berat"),
        ("addtown-unknown-zone", "/addtown berat Mars/Olympus Berat"),
        ("addtown-path-zone", "/addtown berat ../../etc/passwd Berat"),
        ("addtown-existing", "/addtown bari Europe/Rome Bari"),
        ("addtown-long-name", "/addtown berat Europe/Tirane " + "B" * 65),
        ("addtown-unicode-slug", "/addtown nëw Europe/Tirane New"),
        ("addtown-html-name", "/addtown berat Europe/Tirane <b>Berat</b> & <i>co"),
        ("proposals-maybe", "/proposals maybe"),
        ("proposals-both", "/proposals open close"),
        ("proposals-upper", "/proposals OPEN"),
        ("proposals-html", "/proposals <b>open</b>"),
        ("newround-not-a-number", "/newround abc Title"),
        ("newround-zero", "/newround 0 Title"),
        ("newround-negative", "/newround -1 Title"),
        ("newround-too-long", "/newround 1441 Title"),
        ("newround-huge", "/newround 99999999999999999999 Title"),
        ("newround-no-title", "/newround 72"),
        ("newround-superscript", "/newround ² Title"),
        ("newround-html", "/newround 72 <b>Spring</b> & <script>vote</script>"),
        ("chapter-add-no-title", "/chapter add slug"),
        ("chapter-html-slug", "/chapter add <b>x</b> Title"),
        ("chapter-unknown-language", "/chapter title 1 xx Title"),
        ("chapter-out-of-range", "/chapter title 99 en Title"),
        ("chapter-superscript", "/chapter title ² en Title"),
        ("chapter-long-title", "/chapter title 1 en " + "x" * 81),
        ("chapter-unknown-verb", "/chapter remove 1"),
        ("chapter-html-title", "/chapter add hostile <b>Title</b> & <i>co"),
        ("addproposal-no-bar", "/addproposal 1 Title without a bar"),
        ("addproposal-zero", "/addproposal 0 T | x"),
        ("addproposal-out-of-range", "/addproposal 99 T | x"),
        ("addproposal-negative", "/addproposal -1 T | x"),
        ("addproposal-superscript", "/addproposal ² T | x"),
        ("addproposal-no-title", "/addproposal 1 | text"),
        ("addproposal-no-text", "/addproposal 1 Title |"),
        ("addproposal-html", "/addproposal 1 <b>Shared</b> & <script>x</script> | Each <i>month"),
        ("attendance-args", "/attendance 99999 <b>x</b>"),
        ("cancel-args", "/cancel now please"),
        ("report-one-date", "/report 2025-01-01"),
        ("report-not-a-day", "/report 2025-02-30 2025-03-01"),
        ("report-html-date", "/report <b>2025</b> 2025-01-01"),
        ("report-backwards", "/report 2025-06-01 2025-05-31"),
        ("report-too-long", "/report 2020-01-01 2025-01-01"),
    )
)

CORPUS: tuple[Case, ...] = TEXTS + CALLBACKS + DEEP_LINKS + ARGUMENT_SHAPES + COMMAND_LINES
