"""Stories: /story for participants, /queue for moderators, /stories for readers."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import stories as st
from bot.errors import InvalidInput, NotFound, NotRegistered
from bot.i18n import N_, Translator
from bot.outbox import OutboxRow, OutgoingMessage
from bot.roles import Permission
from bot.services import Services
from bot.stories import Kind, Reason, Step, Story, StoryDraft, StoryStatus
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.conversation import STOPPED, Flow
from handlers.render import Button, keyboard, show

# The draft itself is the stories service's (bot/stories.py: its rules, in the drafts table);
# the engine routes the typed title and text to it and /cancel drops it.
flow = Flow(st.DRAFT, StoryDraft, idle=None, kept_by_service=True)

REASON_LABELS: dict[Reason, str] = {
    Reason.OFF_TOPIC: N_("Off-topic"),
    Reason.HATEFUL: N_("Hateful"),
    Reason.PERSONAL_DATA: N_("Contains personal data"),
    Reason.SPAM: N_("Spam"),
    Reason.OTHER: N_("Other reason"),
}


async def chapter_title(services: Services, tr: Translator, chapter_id: int | None) -> str:
    chapters = dict(await services.stories.chapters(tr.language, services.config.default_language))
    return chapters.get(chapter_id or 0, "")


def story_html(tr: Translator, story: Story | StoryDraft, chapter: str) -> str:
    """A story exactly as it is published: every character the author wrote, escaped."""
    if story.kind is Kind.PROPOSAL:
        return (
            f"<b>{escape(tr.gettext('Proposal for “{chapter}”').format(chapter=chapter))}"
            f"</b>\n\n<b>{escape(story.title or '')}</b>\n{escape(story.text or '')}"
        )
    byline = story.byline
    signature = ("— " + escape(byline)) if byline else ("— " + tr.gettext("anonymous"))
    return f"<b>{escape(chapter)}</b>\n\n{escape(story.text or '')}\n\n<i>{signature}</i>"


async def story_command(update: Update, context: BashkeContext) -> None:
    if context.person is None:
        raise NotRegistered()
    story = await context.services.stories.start(context.asker)
    await ask_step(update, context, story)


async def propose_command(update: Update, context: BashkeContext) -> None:
    if context.person is None:
        raise NotRegistered()
    story = await context.services.stories.start(context.asker, Kind.PROPOSAL)
    await ask_step(update, context, story)


async def proposals_phase_command(update: Update, context: BashkeContext) -> None:
    """/proposals open | close — network coordinators let participants propose, or stop it."""
    args = context.args or []
    await context.services.authz.require(context.asker, Permission.COORDINATE, None)
    if args not in (["open"], ["close"]):
        raise InvalidInput(N_("Usage: /proposals open or /proposals close"))
    await context.services.stories.set_proposals_phase(context.asker, args == ["open"])
    tr = context.tr
    await show(
        update,
        tr.gettext("Participants can now propose with /propose.")
        if args == ["open"]
        else tr.gettext("Proposals are closed."),
    )


async def ask_step(update: Update, context: BashkeContext, story: StoryDraft) -> None:
    tr = context.tr
    services = context.services
    if story.step is Step.CHAPTER and story.kind is Kind.PROPOSAL:
        chapters = await services.stories.chapters(tr.language, services.config.default_language)
        await show(
            update,
            tr.gettext(
                "Your proposal for the manual: a practice that works against ethnic stigma and "
                "racism. Which chapter is it for? (/cancel to stop)"
            ),
            keyboard(
                [
                    [(title[:60], callbacks.encode("stch", chapter_id))]
                    for chapter_id, title in chapters
                ]
            ),
        )
    elif story.step is Step.TITLE:
        await show(
            update,
            tr.gettext("Give it a short title (at most {limit} characters).").format(
                limit=st.MAX_PROPOSAL_TITLE
            ),
        )
    elif story.step is Step.TEXT and story.kind is Kind.PROPOSAL:
        await show(
            update,
            tr.gettext("Now describe the practice in a message: what to do, and why it helps."),
        )
    elif story.step is Step.CHAPTER:
        chapters = await services.stories.chapters(tr.language, services.config.default_language)
        rows: list[list[Button]] = [
            [(title[:60], callbacks.encode("stch", chapter_id))] for chapter_id, title in chapters
        ]
        await show(
            update,
            tr.gettext(
                "Your story helps write the network's manual. Which chapter is it about? "
                "(/cancel to stop)"
            ),
            keyboard(rows),
        )
    elif story.step is Step.TEXT:
        await show(
            update,
            tr.gettext(
                "Tell your story in a message: what happened, and what helped or hurt. "
                "Between {low} and {high} characters. Only text is taken, no photos or voice."
            ).format(low=st.MIN_CHARACTERS, high=st.MAX_UNITS),
        )
    elif story.step is Step.ANONYMITY:
        await show(
            update,
            tr.gettext("Should your story carry your first name, or be anonymous?"),
            keyboard(
                [
                    [
                        (tr.gettext("Anonymous"), callbacks.encode("stanon", 1)),
                        (tr.gettext("With my first name"), callbacks.encode("stanon", 0)),
                    ]
                ]
            ),
        )
    else:
        chapter = await chapter_title(services, tr, story.chapter_id)
        await show(
            update,
            tr.gettext("This is how it will be published, if a moderator approves it:")
            + "\n\n"
            + story_html(tr, story, chapter),
            keyboard(
                [
                    [(tr.gettext("Send"), callbacks.encode("stsend"))],
                    [
                        (tr.gettext("Write it again"), callbacks.encode("stedit")),
                        (tr.gettext("Cancel"), callbacks.encode("stdrop")),
                    ],
                ]
            ),
        )


async def choose_chapter(update: Update, context: BashkeContext) -> None:
    chapter_id = callbacks.int_args(update, 1)[0]
    story = await context.services.stories.set_chapter(context.asker, chapter_id)
    await ask_step(update, context, story)


@flow.on_text(st.Step.TITLE, st.Step.TEXT, any_message=True)
async def story_text(update: Update, context: BashkeContext, draft: StoryDraft) -> None:
    """A message while the draft waits for its title or text; a photo gets a clear answer."""
    message = update.message
    assert message is not None
    if message.text is None:
        raise InvalidInput(
            N_("Only text is taken for now: please send your story as a text message.")
        )
    if draft.step is Step.TITLE:
        story = await context.services.stories.set_title(context.asker, message.text)
    else:
        story = await context.services.stories.set_text(context.asker, message.text)
    await ask_step(update, context, story)


async def choose_anonymity(update: Update, context: BashkeContext) -> None:
    user = update.effective_user
    assert user is not None
    (value,) = callbacks.args(update, 1)
    if value not in ("0", "1"):
        raise InvalidInput()
    story = await context.services.stories.set_anonymous(user.id, value == "1", user.first_name)
    await ask_step(update, context, story)


async def send_story(update: Update, context: BashkeContext) -> None:
    callbacks.args(update, 0)
    await context.services.stories.submit(context.asker)
    await show(
        update,
        context.tr.gettext(
            "Thank you! Your story is with the moderators. I will tell you when they have read it."
        ),
    )


async def rewrite_story(update: Update, context: BashkeContext) -> None:
    callbacks.args(update, 0)
    story = await context.services.stories.clear_text(context.asker)
    await ask_step(update, context, story)


async def drop_story(update: Update, context: BashkeContext) -> None:
    callbacks.args(update, 0)
    await context.services.stories.discard(context.asker)
    await show(update, context.tr.gettext(STOPPED))


# Moderation -------------------------------------------------------------------------------


async def queue_command(update: Update, context: BashkeContext) -> None:
    await show_queue(update, context)


async def show_queue(update: Update, context: BashkeContext, note: str = "") -> None:
    services = context.services
    tr = context.tr
    story, waiting = await services.stories.queue(context.asker)
    prefix = note + "\n\n" if note else ""
    if story is None:
        await show(update, prefix + tr.gettext("The queue is empty. Thank you!"))
        return
    chapter = await chapter_title(services, tr, story.chapter_id)
    header = tr.ngettext("{count} story waiting.", "{count} stories waiting.", waiting).format(
        count=waiting
    )
    await show(
        update,
        prefix + header + "\n\n" + story_html(tr, story, chapter),
        keyboard(
            [
                [(tr.gettext("Approve"), callbacks.encode("modok", story.id))],
                [(tr.gettext("Reject…"), callbacks.encode("modask", story.id))],
            ]
        ),
    )


async def approve(update: Update, context: BashkeContext) -> None:
    story_id = callbacks.int_args(update, 1)[0]
    await context.services.stories.approve(context.asker, story_id)
    await show_queue(update, context, note=context.tr.gettext("Approved."))


async def ask_reason(update: Update, context: BashkeContext) -> None:
    story_id = callbacks.int_args(update, 1)[0]
    await context.services.authz.require(context.asker, Permission.MODERATE)
    tr = context.tr
    rows: list[list[Button]] = [
        [(tr.gettext(label), callbacks.encode("modno", story_id, reason.value))]
        for reason, label in REASON_LABELS.items()
    ]
    await show(update, tr.gettext("Why is it rejected? The author will be told."), keyboard(rows))


async def reject(update: Update, context: BashkeContext) -> None:
    story_id, reason = callbacks.args(update, 2)
    await context.services.stories.reject(context.asker, callbacks.as_int(story_id), reason)
    await show_queue(update, context, note=context.tr.gettext("Rejected."))


# Reading ----------------------------------------------------------------------------------


async def stories_command(update: Update, context: BashkeContext) -> None:
    if context.person is None:
        raise NotRegistered()
    tr = context.tr
    services = context.services
    chapters = await services.stories.chapters(tr.language, services.config.default_language)
    await show(
        update,
        tr.gettext("Stories shared by participants. Which chapter?"),
        keyboard(
            [
                [(title[:60], callbacks.encode("stread", chapter_id, 0))]
                for chapter_id, title in chapters
            ]
        ),
    )


async def read_story(update: Update, context: BashkeContext) -> None:
    if context.person is None:
        raise NotRegistered()
    chapter_id, index = (callbacks.as_int(arg) for arg in callbacks.args(update, 2))
    services = context.services
    tr = context.tr
    chapters = dict(await services.stories.chapters(tr.language, services.config.default_language))
    if chapter_id not in chapters:
        raise NotFound(N_("That chapter does not exist (any more)."))
    chapter = chapters[chapter_id]
    story, total = await services.stories.published(chapter_id, index)
    if story is None and total:
        # A stale ▶ after a story was erased: show the last one rather than "no stories".
        index = total - 1
        story, total = await services.stories.published(chapter_id, index)
    if story is None:
        await show(
            update,
            tr.gettext("No stories in “{chapter}” yet. Be the first: /story").format(
                chapter=escape(chapter)
            ),
        )
        return
    nav: list[Button] = []
    if index > 0:
        nav.append(("◀", callbacks.encode("stread", chapter_id, index - 1)))
    nav.append((f"{index + 1}/{total}", callbacks.encode("stread", chapter_id, index)))
    if index < total - 1:
        nav.append(("▶", callbacks.encode("stread", chapter_id, index + 1)))
    await show(update, story_html(tr, story, chapter), keyboard([nav]))


# Notices ----------------------------------------------------------------------------------


def register_notices(services: Services) -> None:
    stories = services.stories

    async def subject(row: OutboxRow) -> Story | None:
        return await stories.notice_about(row.kind, int(row.params["story_id"]))

    async def submitted(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        story = await subject(row)
        if story is None:
            return None
        if story.kind is Kind.PROPOSAL:
            return OutgoingMessage(tr.gettext("📝 A new proposal is waiting for review: /queue"))
        return OutgoingMessage(tr.gettext("📝 A new story is waiting for review: /queue"))

    async def decided(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        story = await subject(row)
        if story is None:
            return None
        chapter = await chapter_title(services, tr, story.chapter_id)
        reason = ""
        if story.kind is Kind.PROPOSAL:
            text = (
                tr.gettext(
                    "🎉 Your proposal for “{chapter}” was approved: it can now be "
                    "put to a vote. Thank you!"
                )
                if story.status is StoryStatus.APPROVED
                else tr.gettext("Your proposal for “{chapter}” was not approved. Reason: {reason}.")
            )
            if story.status is not StoryStatus.APPROVED:
                reason = tr.gettext(REASON_LABELS[story.reject_reason or Reason.OTHER])
        elif story.status is StoryStatus.APPROVED:
            text = tr.gettext(
                "🎉 Your story for “{chapter}” was approved. Thank you for "
                "sharing it! Read it with the others: /stories"
            )
        else:
            reason = tr.gettext(REASON_LABELS[story.reject_reason or Reason.OTHER])
            text = tr.gettext(
                "Your story for “{chapter}” was not approved. Reason: {reason}. "
                "You are welcome to write another one: /story"
            )
        return OutgoingMessage(text.format(chapter=escape(chapter), reason=escape(reason)))

    async def published(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        story = await subject(row)
        if story is None:
            return None
        chapter = await chapter_title(services, tr, story.chapter_id)
        return OutgoingMessage(story_html(tr, story, chapter))

    async def draft_waiting(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        if not await stories.draft_still_waiting(row.chat_id, row.params.get("updated_at")):
            return None
        return OutgoingMessage(
            tr.gettext(
                "Your story is not sent yet: it is kept safe. Send /story to finish it, "
                "or /cancel to drop it."
            )
        )

    for kind, renderer in (
        (st.SUBMITTED, submitted),
        (st.DECIDED, decided),
        (st.PUBLISHED, published),
        (st.DRAFT_WAITING, draft_waiting),
    ):
        services.outbox.register(kind, renderer)


def register(app: BashkeApp) -> None:
    private = filters.ChatType.PRIVATE
    for name, callback in (
        ("story", story_command),
        ("propose", propose_command),
        ("proposals", proposals_phase_command),
        ("queue", queue_command),
        ("stories", stories_command),
    ):
        app.add_handler(CommandHandler(name, callback, filters=private))
    for action, callback in (
        ("stch", choose_chapter),
        ("stanon", choose_anonymity),
        ("stsend", send_story),
        ("stedit", rewrite_story),
        ("stdrop", drop_story),
        ("modok", approve),
        ("modask", ask_reason),
        ("modno", reject),
        ("stread", read_story),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=callbacks.pattern(action)))
