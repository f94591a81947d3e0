"""Hostile input to the stories feature, through the Bot API double.

Every case gets a clear answer in the person's language, stores nothing it should not, loses
nothing it should keep, and an accepted story is shown exactly as written wherever it appears:
in the preview, in the moderators' queue, in the public channel and in /stories.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from bot import stories as st
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import Catalogs, Translator
from bot.outbox import OutboxRow
from bot.services import Services
from bot.stories import AlreadyDecided, Story
from bot.text import utf16_units
from tests.conftest import ADMIN_ID
from tests.flows.harness import Bot, Person, running_bot
from tests.flows.harness import sent_to as sent

CATALOGS = Catalogs()
EN = CATALOGS.translator("en")
UK = CATALOGS.translator("uk")
LANGS = {"en": EN, "uk": UK}
CHANNEL = -1001234567890
CHAPTER = "Fighting ethnic stigma"  # the test configuration has no Ukrainian title: English
GOOD = "Our neighbours helped my daughter find a school. Thank you!"

ROLE_REFUSAL = "Sorry, that is only for staff with the right role. Nothing was changed."
NOT_UNDERSTOOD = "I did not understand that. Nothing was changed."
NO_DRAFT = "There is no story waiting to be sent. Start one with /story."
NO_CHAPTER = "That chapter does not exist (any more)."
NO_STORY = "That story does not exist (any more)."
ALREADY = "Another moderator has already decided on this story."
ASK_ANONYMITY = "Should your story carry your first name, or be anonymous?"
ASK_TEXT = (
    "Tell your story in a message: what happened, and what helped or hurt. "
    "Between {low} and {high} characters. Only text is taken, no photos or voice."
)
PREVIEW = "This is how it will be published, if a moderator approves it:"
ONLY_TEXT = "Only text is taken for now: please send your story as a text message."
EMPTY = "This cannot be empty. Please write it again."
ONLY_SYMBOLS = "Please tell your story in words, not only emoji or symbols."
TOO_SHORT = "That is a little short: please write at least {limit} characters."
TOO_LONG = (
    "That is {length} characters; a story can have at most {limit}. "
    "Please shorten it and send it again."
)
THANKS = "Thank you! Your story is with the moderators. I will tell you when they have read it."


# Helpers ------------------------------------------------------------------------------------


def text_of_units(units: int) -> str:
    """A story of exactly ``units`` UTF-16 code units, mixing letters and emoji."""
    text = ""
    for ch in itertools.cycle("Сусіди 😀 допомогли, grazie 🙏 "):
        if utf16_units(text + ch) > units:
            break
        text += ch
    if text.endswith(" "):
        text = text[:-1] + "x"
    text += "x" * (units - utf16_units(text))
    assert utf16_units(text) == units and text == text.strip()
    return text


def published(chapter: str, body: str, byline: str) -> str:
    """What a person sees of a story: the chapter, the text as written, and the signature."""
    return f"{chapter}\n\n{body}\n\n— {byline}"


def entity_types(message: dict[str, Any]) -> set[str]:
    return {str(entity["type"]) for entity in message.get("entities", [])}


def alerts_since(bot: Bot, start: int) -> list[str]:
    return [
        str(call.params.get("text", ""))
        for call in bot.double.calls[start:]
        if call.method == "answerCallbackQuery" and call.params.get("text")
    ]


def text_of(person: Person, message_id: int) -> str:
    """The text a message of the bot shows now (edits applied), wherever it is in the chat."""
    for message in person.messages():
        if message["message_id"] == message_id:
            return str(message.get("text", ""))
    raise LookupError(f"no message {message_id} for {person.first_name}")


async def tap_and_read(person: Person, label: str) -> str:
    """Tap a button and read the message it edited: a notice arriving meanwhile is no matter."""
    message_id, _ = person.bot.double.find_button(person.telegram_id, label)
    await person.tap(label)
    return text_of(person, message_id)


async def forge(person: Person, data: str) -> list[str]:
    """Send forged callback data from the person's newest message; return the alerts shown."""
    bot = person.bot
    start = len(bot.double.calls)
    message_id = bot.double.last_message(person.telegram_id)["message_id"]
    await person.tap_data(message_id, data)
    return alerts_since(bot, start)


async def settled_rows(bot: Bot, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows once no outbox row they show is still in flight (marked just after the call)."""
    for _ in range(100):
        rows = [tuple(row) for row in await bot.services.db.fetchall(sql, params)]
        if "pending" not in {value for row in rows for value in row}:
            return rows
        await asyncio.sleep(0.05)
    return rows


_incoming_ids = itertools.count(700_000)


async def send_content(bot: Bot, person: Person, kind: str) -> None:
    """A message that is not text: photo, document, sticker or voice."""
    if kind == "photo":
        bot.double.send_photo(person.user)
    elif kind == "photo with caption":
        bot.double.send_photo(person.user, caption=GOOD)
    elif kind == "document":
        bot.double.send_document(person.user, "story.txt", GOOD.encode(), caption=GOOD)
    else:
        content: dict[str, Any] = (
            {
                "sticker": {
                    "file_id": "CAACAgIAAxkBAAIBQ2",
                    "file_unique_id": "AgADQ2",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "😀",
                }
            }
            if kind == "sticker"
            else {
                "voice": {
                    "file_id": "AwACAgIAAxkBAAIBR2",
                    "file_unique_id": "AgADR2",
                    "duration": 3,
                }
            }
        )
        bot.double.push_update(
            {
                "message": {
                    "message_id": next(_incoming_ids),
                    "from": {"is_bot": False, **person.user},
                    "chat": {
                        "id": person.telegram_id,
                        "type": "private",
                        "first_name": person.first_name,
                    },
                    "date": int(time.time()),
                    **content,
                }
            }
        )
    bot.pushed += 1
    await bot.settle()


async def participant(bot: Bot, name: str, lang: str, telegram_id: int | None = None) -> Person:
    person = bot.person(name, lang, telegram_id=telegram_id)
    await person.onboard(lang)
    return person


async def moderator(bot: Bot, name: str = "Mira", lang: str = "en") -> Person:
    person = await participant(bot, name, lang)
    await bot.services.staff.grant(ADMIN_ID, person.telegram_id, "moderator")
    return person


async def start_draft(person: Person) -> None:
    """/story and the chapter: the draft now waits for its text."""
    await person.send("/story")
    await person.tap(CHAPTER)


async def write_and_send(person: Person, tr: Translator, text: str, anonymous: bool) -> Story:
    await start_draft(person)
    await person.send(text)
    await person.tap(tr.gettext("Anonymous") if anonymous else tr.gettext("With my first name"))
    assert await tap_and_read(person, tr.gettext("Send")) == tr.gettext(THANKS)
    return await latest_story(person.bot, person)


async def latest_story(bot: Bot, person: Person) -> Story:
    story_id = await bot.services.db.fetchval(
        "SELECT MAX(id) FROM stories WHERE author_id = ?", (person.telegram_id,)
    )
    return await bot.services.stories.get(int(story_id))


async def draft_row(bot: Bot, person: Person) -> tuple[Any, ...] | None:
    """The unfinished story as stored: (kind, chapter, text, anonymous, signed name)."""
    draft = await bot.services.stories.draft(person.telegram_id)
    if draft is None:
        return None
    return (draft.kind, draft.chapter_id, draft.text, draft.anonymous, draft.signed_name)


async def chapter_id(bot: Bot) -> int:
    return int(await bot.services.db.fetchval("SELECT id FROM chapters ORDER BY position LIMIT 1"))


# Accepted hostile texts: stored exactly, shown exactly --------------------------------------

ACCEPTED: list[tuple[str, str]] = [
    ("html-bold", "<b>Bold</b> neighbours helped us find a flat in town."),
    ("javascript-link", '<a href="javascript:alert(1)">click</a> the school welcomed my son'),
    ("script", "<script>alert('x')</script> and the teachers were kind to us"),
    ("bare-ampersand", "Tom & Jerry & the whole street came to help & stayed"),
    ("escaped-entities", "&amp; &lt; &gt; &quot; &#65; &#x42; are written here literally"),
    ("lone-brackets", "a < b and c > d, my maths teacher says: <<>> </i> </b>"),
    ("rtl-override", "\u202etxt.exe — my story about the market, read it right to left"),
    ("zero-width", "\ufeffNeigh\u200bbours help\u200ded us when we arrived\u200b in Bari"),
    ("combining", "Cafe\u0301 nai\u0308ve: Z\u0336a\u0335l\u0334g\u0337o\u0338 text still reads"),
    ("markdown", "*bold* _x_ [a](tg://user?id=1) `code` ~strike~ ||spoiler|| text"),
    ("format-string", "{chapter} {0} {reason!r} %s %(name)s {{}} — placeholders stay as typed"),
    ("surrounding-whitespace", "  \n\t Our story, with spaces around it and\n\ninside. \n "),
    ("arabic", "ساعدنا الجيران كثيرًا عندما وصلنا إلى المدينة. شكرًا لكم"),
    ("exactly-max-units", text_of_units(st.MAX_UNITS)),
]


@pytest.mark.parametrize("lang", ["en", "uk"])
@pytest.mark.parametrize(("text"), [t for _, t in ACCEPTED], ids=[i for i, _ in ACCEPTED])
async def test_an_accepted_story_is_stored_and_shown_exactly_as_written(
    tmp_path: Path, text: str, lang: str
) -> None:
    tr = LANGS[lang]
    body = text.strip()
    async with running_bot(tmp_path, public_channel=CHANNEL) as bot:
        mira = await moderator(bot)
        author = await participant(bot, "Olena", lang)
        await start_draft(author)
        assert author.last_text == tr.gettext(ASK_TEXT).format(
            low=st.MIN_CHARACTERS, high=st.MAX_UNITS
        )
        await author.send(text)
        assert author.last_text == tr.gettext(ASK_ANONYMITY)
        draft = await draft_row(bot, author)
        assert draft is not None and draft[2] == body  # exactly as written, trimmed only

        await author.tap(tr.gettext("With my first name"))
        preview = bot.double.last_message(author.telegram_id)
        assert preview["text"] == tr.gettext(PREVIEW) + "\n\n" + published(CHAPTER, body, "Olena")
        assert entity_types(preview) <= {"bold", "italic"}  # no link, no mention smuggled in
        await author.tap(tr.gettext("Send"))
        assert author.last_text == tr.gettext(THANKS)

        await bot.double.wait_for(sent(mira.telegram_id, "/queue"), timeout=10)
        await mira.send("/queue")
        queue = bot.double.last_message(mira.telegram_id)
        header = EN.ngettext("{count} story waiting.", "{count} stories waiting.", 1)
        assert queue["text"] == header.format(count=1) + "\n\n" + published(CHAPTER, body, "Olena")
        assert entity_types(queue) <= {"bold", "italic"}
        assert (await tap_and_read(mira, EN.gettext("Approve"))).startswith(EN.gettext("Approved."))

        await bot.double.wait_for(sent(CHANNEL, "Olena"), timeout=10)
        post = bot.double.last_message(CHANNEL)
        assert post["text"] == published(CHAPTER, body, "Olena")
        assert entity_types(post) <= {"bold", "italic"}
        await bot.double.wait_for(sent(author.telegram_id, "/stories"), timeout=10)

        await author.send("/stories")
        await author.tap(CHAPTER)
        assert author.last_text == published(CHAPTER, body, "Olena")
        stored = await latest_story(bot, author)
        assert stored.text == body and stored.status == "approved"


async def test_a_hostile_first_name_is_shown_as_written_and_anonymity_hides_it(
    tmp_path: Path,
) -> None:
    name = "<i>Eve</i> & \u202eCo"
    async with running_bot(tmp_path) as bot:
        eve = await participant(bot, name, "uk")
        await start_draft(eve)
        await eve.send(GOOD)
        await eve.tap(UK.gettext("With my first name"))
        assert eve.last_text == UK.gettext(PREVIEW) + "\n\n" + published(CHAPTER, GOOD, name)
        await eve.tap(UK.gettext("Write it again"))
        assert eve.last_text == UK.gettext(ASK_TEXT).format(
            low=st.MIN_CHARACTERS, high=st.MAX_UNITS
        )
        await eve.send(GOOD + " Again.")
        # The choice was kept: straight to the preview, still signed.
        assert eve.last_text.endswith("— " + name)
        await eve.send("/story")
        assert eve.last_text.startswith(UK.gettext(PREVIEW))
        await eve.tap(UK.gettext("Cancel"))
        assert eve.last_text == UK.gettext("Stopped. Nothing was saved.")
        assert await draft_row(bot, eve) is None


# Refused texts: a clear reason, nothing stored, the draft kept for the next try --------------

REFUSED: list[tuple[str, str, str, dict[str, int]]] = [
    ("whitespace", " \n\t\u00a0\u3000 ", EMPTY, {}),
    ("zero-width-only", "\u200b\u200d\ufeff\u200b", ONLY_SYMBOLS, {}),
    ("emoji-only", "😀🎉🙏❤️" * 10, ONLY_SYMBOLS, {}),
    ("emoji-4000", "😀" * 4000, ONLY_SYMBOLS, {}),
    ("symbols-only", "!!! ??? ... --- *** ### @@@", ONLY_SYMBOLS, {}),
    ("too-short", "Short story.", TOO_SHORT, {"limit": st.MIN_CHARACTERS}),
    ("short-padded-zero-width", "Hi" + "\u200b" * 30, TOO_SHORT, {"limit": st.MIN_CHARACTERS}),
    ("short-padded-combining", "Hi" + "\u0301" * 30, TOO_SHORT, {"limit": st.MIN_CHARACTERS}),
    (
        "words-and-4000-emoji",
        "Our story " + "😀" * 4000,
        TOO_LONG,
        {"length": utf16_units("Our story " + "😀" * 4000), "limit": st.MAX_UNITS},
    ),
    (
        "max-units-plus-one",
        text_of_units(st.MAX_UNITS + 1),
        TOO_LONG,
        {"length": st.MAX_UNITS + 1, "limit": st.MAX_UNITS},
    ),
    ("ten-thousand", "x" * 10_000, TOO_LONG, {"length": 10_000, "limit": st.MAX_UNITS}),
]


@pytest.mark.parametrize(
    ("text", "msgid", "params"),
    [(t, m, p) for _, t, m, p in REFUSED],
    ids=[i for i, *_ in REFUSED],
)
async def test_a_refused_text_is_explained_and_the_draft_kept(
    tmp_path: Path, text: str, msgid: str, params: dict[str, int]
) -> None:
    lang = "uk" if len(text) % 2 else "en"
    tr = LANGS[lang]
    async with running_bot(tmp_path) as bot:
        author = await participant(bot, "Ana", lang)
        await start_draft(author)
        before = await draft_row(bot, author)
        calls = len(bot.double.calls)
        await author.send(text)
        assert author.last_text == tr.gettext(msgid).format(**params)
        # Refused before Telegram would refuse anything: no call in between broke a limit.
        assert [c.method for c in bot.double.calls[calls:]] == ["sendMessage"]
        assert await draft_row(bot, author) == before  # nothing stored, chapter kept
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM outbox") == 0
        await author.send(GOOD)  # the next try works
        assert author.last_text == tr.gettext(ASK_ANONYMITY)
        after = await draft_row(bot, author)
        assert after is not None and after[2] == GOOD


@pytest.mark.parametrize("kind", ["photo", "photo with caption", "document", "sticker", "voice"])
async def test_something_other_than_text_is_refused_clearly(tmp_path: Path, kind: str) -> None:
    async with running_bot(tmp_path) as bot:
        author = await participant(bot, "Olena", "uk")
        await start_draft(author)
        await send_content(bot, author, kind)
        assert author.last_text == UK.gettext(ONLY_TEXT)
        draft = await draft_row(bot, author)
        assert draft is not None and draft[2] is None  # a caption is not the story
        await author.send(GOOD)
        assert author.last_text == UK.gettext(ASK_ANONYMITY)


@pytest.mark.parametrize("state", ["no draft", "chapter step", "anonymity step", "preview"])
async def test_text_the_story_did_not_ask_for_is_not_taken(tmp_path: Path, state: str) -> None:
    async with running_bot(tmp_path) as bot:
        author = await participant(bot, "Ana", "en")
        if state != "no draft":
            await author.send("/story")
        if state in ("anonymity step", "preview"):
            await author.tap(CHAPTER)
            await author.send(GOOD)
        if state == "preview":
            await author.tap(EN.gettext("Anonymous"))
        before = await draft_row(bot, author)
        await author.send("<b>Another</b> story that arrives when nobody asked for it")
        assert author.last_text.startswith(EN.gettext("Sorry, I did not understand that."))
        assert "/help" in author.last_text and "/story" in author.last_text
        assert await draft_row(bot, author) == before
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM stories") == 0
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM drafts") == (
            0 if state == "no draft" else 1
        )


# Forged buttons -----------------------------------------------------------------------------

# (data, the state of the participant's own draft, the refusal shown)
FORGED: list[tuple[str, str, str]] = [
    ("modok:{story}", "none", ROLE_REFUSAL),
    ("modno:{story}:spam", "none", ROLE_REFUSAL),
    ("modask:{story}", "none", ROLE_REFUSAL),
    ("modno:{story}:nonsense", "none", NOT_UNDERSTOOD),
    ("modno:{story}", "none", NOT_UNDERSTOOD),
    ("modok:abc", "none", NOT_UNDERSTOOD),
    ("stch:99999", "text", NO_CHAPTER),
    ("stch:abc", "text", NOT_UNDERSTOOD),
    ("stch:{chapter}:1", "text", NOT_UNDERSTOOD),
    ("stch:{chapter}", "none", NO_DRAFT),
    ("stanon:2", "text", NOT_UNDERSTOOD),
    ("stanon:-1", "text", NOT_UNDERSTOOD),
    ("stanon:1", "none", NO_DRAFT),
    ("stsend", "none", NO_DRAFT),
    ("stsend", "text", "The story is not finished yet. Send /story to go on."),
    ("stsend:1", "text", NOT_UNDERSTOOD),
    ("stedit", "none", NO_DRAFT),
    ("stread:{chapter}:-1", "none", NOT_UNDERSTOOD),
    ("stread:abc:0", "none", NOT_UNDERSTOOD),
    ("stread:{chapter}", "none", NOT_UNDERSTOOD),
    ("stread:99999:0", "none", NO_CHAPTER),
]


@pytest.mark.parametrize(("data", "state", "msgid"), FORGED, ids=[f"{d}-{s}" for d, s, _ in FORGED])
async def test_forged_buttons_from_a_participant_change_nothing(
    tmp_path: Path, data: str, state: str, msgid: str
) -> None:
    async with running_bot(tmp_path) as bot:
        author = await participant(bot, "Ana", "en")
        story = await write_and_send(author, EN, GOOD, anonymous=True)
        eve = await participant(bot, "Eve", "uk")
        if state == "text":
            await start_draft(eve)
        before = await draft_row(bot, eve)
        chapter = await chapter_id(bot)
        alerts = await forge(eve, data.format(story=story.id, chapter=chapter))
        assert alerts == [UK.gettext(msgid)]
        assert len(alerts[0]) <= 200
        assert await draft_row(bot, eve) == before
        assert (await bot.services.stories.get(story.id)).status == "pending"
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM moderation_log") == 0
        assert bot.double.unanswered_callback_queries == []


async def test_reading_past_the_last_story_shows_the_last_one(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        mira = await moderator(bot)
        reader = await participant(bot, "Olena", "uk")
        chapter = await chapter_id(bot)
        await forge(reader, f"stread:{chapter}:99999")
        assert reader.last_text == UK.gettext(
            "No stories in “{chapter}” yet. Be the first: /story"
        ).format(chapter=CHAPTER)
        author = await participant(bot, "Ana", "en")
        await write_and_send(author, EN, GOOD, anonymous=True)
        await mira.send("/queue")
        await mira.tap(EN.gettext("Approve"))
        # A stale ▶ (or a forged index) past the end: the last story, not "no stories yet".
        await forge(reader, f"stread:{chapter}:99999")
        assert reader.last_text == published(CHAPTER, GOOD, UK.gettext("anonymous"))
        assert reader.buttons() == ["1/1"]


# Moderators ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "msgid"),
    [
        ("modok:99999", NO_STORY),
        ("modok:{draft}", NO_STORY),
        ("modno:{draft}:spam", NO_STORY),
        ("modno:{story}:nonsense", NOT_UNDERSTOOD),
        ("modno:{story}:", NOT_UNDERSTOOD),
    ],
)
async def test_a_moderator_cannot_decide_what_is_not_waiting(
    tmp_path: Path, data: str, msgid: str
) -> None:
    async with running_bot(tmp_path) as bot:
        mira = await moderator(bot, lang="uk")
        author = await participant(bot, "Ana", "en")
        story = await write_and_send(author, EN, GOOD, anonymous=False)
        other = await participant(bot, "Ben", "en")
        await start_draft(other)
        await other.send(GOOD)
        draft = await draft_row(bot, other)
        assert draft is not None
        await mira.send("/queue")
        # A draft has no story id yet: the id its story would get once sent is forged.
        alerts = await forge(mira, data.format(story=story.id, draft=story.id + 1))
        assert alerts == [UK.gettext(msgid)]
        assert (await bot.services.stories.get(story.id)).status == "pending"
        assert await draft_row(bot, other) == draft  # a draft is nobody's to decide on
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM moderation_log") == 0


async def test_approving_twice_counts_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, public_channel=CHANNEL) as bot:
        mira = await moderator(bot, lang="uk")
        author = await participant(bot, "Ana", "en")
        story = await write_and_send(author, EN, GOOD, anonymous=True)
        await mira.send("/queue")
        message_id, data = bot.double.find_button(mira.telegram_id, UK.gettext("Approve"))
        assert (await tap_and_read(mira, UK.gettext("Approve"))).startswith(UK.gettext("Approved."))
        start = len(bot.double.calls)
        await mira.tap_data(message_id, data)  # the same button again, or a double tap
        assert alerts_since(bot, start) == [UK.gettext(ALREADY)]
        start = len(bot.double.calls)
        await mira.tap_data(message_id, f"modno:{story.id}:spam")
        assert alerts_since(bot, start) == [UK.gettext(ALREADY)]
        assert (await bot.services.stories.get(story.id)).status == "approved"
        await bot.double.wait_for(sent(author.telegram_id, "/stories"), timeout=10)
        await bot.double.wait_for(sent(CHANNEL, GOOD), timeout=10)
        log = await bot.services.db.fetchall("SELECT action FROM moderation_log")
        assert [row[0] for row in log] == ["approve"]
        outbox = await settled_rows(
            bot, "SELECT kind, status FROM outbox WHERE kind IN (?, ?)", (st.DECIDED, st.PUBLISHED)
        )
        assert sorted(outbox) == [
            (st.DECIDED, "sent"),
            (st.PUBLISHED, "sent"),
        ]
        told = [c for c in bot.double.calls if sent(author.telegram_id, "/stories")(c)]
        posts = [c for c in bot.double.calls if sent(CHANNEL, GOOD)(c)]
        assert len(told) == 1 and len(posts) == 1


@pytest.mark.parametrize("second", ["approve", "reject"])
async def test_two_moderators_deciding_at_once_one_decision_counts(
    tmp_path: Path, second: str
) -> None:
    async with running_bot(tmp_path) as bot:
        mira = await moderator(bot, "Mira", "en")
        taras = await moderator(bot, "Taras", "uk")
        author = await participant(bot, "Ana", "en")
        story = await write_and_send(author, EN, GOOD, anonymous=True)
        await mira.send("/queue")
        await taras.send("/queue")
        if second == "reject":
            await taras.tap(UK.gettext("Reject…"))
            label = UK.gettext("Spam")
        else:
            label = UK.gettext("Approve")
        start = len(bot.double.calls)
        shown: dict[int, int] = {}
        for person, button in ((mira, EN.gettext("Approve")), (taras, label)):
            message_id, data = bot.double.find_button(person.telegram_id, button)
            shown[person.telegram_id] = message_id
            bot.double.tap(person.user, message_id, data)
        bot.pushed += 2
        await bot.settle()
        alerts = alerts_since(bot, start)
        assert alerts in ([EN.gettext(ALREADY)], [UK.gettext(ALREADY)])
        decided = await bot.services.stories.get(story.id)
        log = await bot.services.db.fetchall("SELECT moderator_id, action FROM moderation_log")
        assert len(log) == 1
        winner, action = log[0]
        assert decided.status == ("approved" if action == "approve" else "rejected")
        loser = taras if winner == mira.telegram_id else mira
        loser_tr = UK if loser is taras else EN
        assert alerts == [loser_tr.gettext(ALREADY)]
        winner_person = mira if loser is taras else taras
        winner_tr = EN if winner_person is mira else UK
        note = "Approved." if action == "approve" else "Rejected."
        winner_text = text_of(winner_person, shown[winner_person.telegram_id])
        assert winner_text.startswith(winner_tr.gettext(note))
        await bot.double.wait_for(sent(author.telegram_id, "/stor"), timeout=10)
        rows = await settled_rows(
            bot,
            "SELECT status FROM outbox WHERE chat_id = ? AND kind = ?",
            (author.telegram_id, st.DECIDED),
        )
        told = [c for c in bot.double.calls if sent(author.telegram_id, "/stor")(c)]
        assert [row[0] for row in rows] == ["sent"] and len(told) == 1


@pytest.mark.parametrize(
    "decisions",
    [("approve", "approve"), ("approve", "reject"), ("reject", "reject"), ("reject", "approve")],
)
async def test_two_moderators_at_once_in_the_service(
    services: Services, decisions: tuple[str, str]
) -> None:
    stories = services.stories
    for moderator_id in (801, 802):
        await services.staff.grant(ADMIN_ID, moderator_id, "moderator")
    await services.people.give_consent(501, "uk")
    await stories.start(501)
    await stories.set_chapter(501, int(await services.db.fetchval("SELECT id FROM chapters")))
    await stories.set_text(501, GOOD)
    await stories.set_anonymous(501, True, "Olena")
    story = await stories.submit(501)

    async def decide(moderator_id: int, how: str) -> Story:
        if how == "approve":
            return await stories.approve(moderator_id, story.id)
        return await stories.reject(moderator_id, story.id, "spam")

    results = await asyncio.gather(
        decide(801, decisions[0]), decide(802, decisions[1]), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Story)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], AlreadyDecided)
    final = await stories.get(story.id)
    assert final == won[0] and final.status in ("approved", "rejected")
    assert (final.reject_reason is None) == (final.status == "approved")
    log = await services.db.fetchall("SELECT moderator_id, action FROM moderation_log")
    decider = await services.db.fetchval("SELECT decided_by FROM stories WHERE id = ?", (story.id,))
    action = "approve" if final.status == "approved" else "reject"
    assert [tuple(r) for r in log] == [(decider, action)]
    assert decisions[0 if decider == 801 else 1] == action
    assert (
        await services.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE chat_id = 501 AND kind = ?", (st.DECIDED,)
        )
        == 1
    )
    # A participant at the same moment is refused, and a bad reason is not guessed at.
    with pytest.raises(NotAllowed):
        await stories.approve(501, story.id)
    with pytest.raises(InvalidInput):
        await stories.reject(801, story.id, "nonsense")
    with pytest.raises(NotFound):
        await stories.approve(801, 99999)


# Limits and erasure -------------------------------------------------------------------------


async def test_a_fourth_story_waits_until_a_moderator_has_read_one(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        mira = await moderator(bot)
        author = await participant(bot, "Olena", "uk")
        for n in range(st.MAX_WAITING):
            await write_and_send(author, UK, f"{GOOD} Story number {n + 1}.", anonymous=n % 2 == 0)
        await author.send("/story")
        assert author.last_text == UK.gettext(
            "You have {count} stories waiting for review. Please wait until a "
            "moderator has read them before sending another."
        ).format(count=st.MAX_WAITING)
        assert await draft_row(bot, author) is None
        await author.send(GOOD + " A fourth one, sent anyway.")
        assert author.last_text.startswith(UK.gettext("Sorry, I did not understand that."))
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM stories") == st.MAX_WAITING
        await mira.send("/queue")
        await mira.tap(EN.gettext("Approve"))
        await author.send("/story")
        assert author.buttons() == [CHAPTER]
        assert await draft_row(bot, author) is not None


async def test_deleteme_keeps_only_approved_anonymous_stories_without_an_author(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        mira = await moderator(bot)
        ana = await participant(bot, "Ana", "uk")
        anonymous = await write_and_send(ana, UK, GOOD + " (anonymous)", anonymous=True)
        signed = await write_and_send(ana, UK, GOOD + " (signed)", anonymous=False)
        await mira.send("/queue")
        await mira.tap(EN.gettext("Approve"))
        await mira.tap(EN.gettext("Approve"))
        rejected = await write_and_send(ana, UK, GOOD + " (rejected)", anonymous=True)
        await mira.send("/queue")
        await mira.tap(EN.gettext("Reject…"))
        await mira.tap(EN.gettext("Off-topic"))
        pending = await write_and_send(ana, UK, GOOD + " (pending)", anonymous=True)
        await start_draft(ana)
        await ana.send(GOOD + " (draft)")
        await mira.send("/queue")  # shows the pending story, about to disappear

        await ana.send("/deleteme")
        assert await tap_and_read(ana, UK.gettext("Yes, erase my data")) == UK.gettext(
            "Done: everything stored about you has been erased. "
            "If you ever want to come back, send /start."
        )
        rows = await bot.services.db.fetchall(
            "SELECT id, author_id, anonymous, signed_name, status, text FROM stories"
        )
        assert [tuple(r) for r in rows] == [
            (anonymous.id, None, 1, None, "approved", GOOD + " (anonymous)")
        ]
        assert await bot.services.people.get(ana.telegram_id) is None

        # Readers still find the anonymous story, with no name; the signed one is gone.
        reader = await participant(bot, "Ben", "en")
        await reader.send("/stories")
        await reader.tap(CHAPTER)
        assert reader.last_text == published(
            CHAPTER, GOOD + " (anonymous)", EN.gettext("anonymous")
        )
        assert reader.buttons() == ["1/1"]
        # The moderator's stale button for the erased pending story changes nothing.
        start = len(bot.double.calls)
        await mira.tap(EN.gettext("Approve"))
        assert alerts_since(bot, start) == [EN.gettext(NO_STORY)]
        start = len(bot.double.calls)
        await mira.send("/queue")
        empty = EN.gettext("The queue is empty. Thank you!")
        assert [c for c in bot.double.calls[start:] if sent(mira.telegram_id, empty)(c)]
        # Notices about erased stories are dropped when their turn comes, not failed.
        for story_id, kind, chat in (
            (pending.id, st.SUBMITTED, mira.telegram_id),
            (signed.id, st.PUBLISHED, CHANNEL),
            (rejected.id, st.DECIDED, ana.telegram_id),
        ):
            row = OutboxRow(
                id=0,
                chat_id=chat,
                kind=kind,
                params={"story_id": story_id},
                subject=None,
                attempts=0,
            )
            assert await bot.services.outbox.render(row, "en") is None
