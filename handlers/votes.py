"""The manual's votes: /vote for participants, /results, /manual, and /newround and
/addproposal for coordinators. Notices (reminders, results) go through the outbox."""

from __future__ import annotations

import asyncio
from html import escape

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import charts, deeplinks
from bot import manual as manual_document
from bot import votes as vt
from bot.deeplinks import DeepLink
from bot.disclosure import SMALL_GROUP
from bot.errors import InvalidInput, NotRegistered
from bot.i18n import N_, Translator
from bot.outbox import OutboxRow, OutgoingMessage
from bot.people import DESCRIPTION_OF_GROUP
from bot.roles import Permission
from bot.services import Services
from bot.text import whole_number
from bot.votes import Choice, ProposalResult, Round, Voted
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.links import opens
from handlers.render import Button, keyboard, show

CHOICE_LABELS = {
    Choice.SUPPORT: N_("👍 Support"),
    Choice.OPPOSE: N_("👎 Oppose"),
    Choice.ABSTAIN: N_("🤷 Abstain"),
}


async def vote_command(update: Update, context: BashkeContext) -> None:
    tr = context.tr
    await _list_rounds(
        update,
        context,
        closed=False,
        action="rd",
        empty=tr.gettext("There is no open vote right now. See /results."),
        heading=tr.gettext("Open votes:"),
    )


async def _list_rounds(
    update: Update,
    context: BashkeContext,
    *,
    closed: bool,
    action: str,
    empty: str,
    heading: str,
) -> None:
    """The open or the closed rounds as buttons; ``action`` is what a tap opens."""
    if context.person is None:
        raise NotRegistered()
    rounds = await context.services.votes.rounds(closed=closed)
    if not rounds:
        await show(update, empty)
        return
    args: tuple[int, ...] = () if closed else (0,)
    await show(
        update,
        heading,
        keyboard([[(r.title[:60], callbacks.encode(action, r.id, *args))] for r in rounds]),
    )


async def show_round(
    update: Update,
    context: BashkeContext,
    round_id: int,
    index: int,
    note: str = "",
    known: Voted | None = None,
) -> None:
    """A proposal of the round; ``known`` is the round and the voter's choices when just read."""
    if context.person is None:
        raise NotRegistered()
    services = context.services
    tr = context.tr
    if known is None:
        voting_round = await services.votes.get_round(round_id)
        mine = await services.votes.my_choices(context.asker, round_id)
    else:
        voting_round, mine = known.round, known.choices
    if not voting_round.proposals:
        raise InvalidInput()
    index = min(max(index, 0), len(voting_round.proposals) - 1)
    proposal = voting_round.proposals[index]
    closes = tr.moment(voting_round.closes_at, services.config.timezone, "short")
    lines = [
        f"<b>{escape(voting_round.title)}</b>",
        tr.gettext("Proposal {number} of {total} · closes {moment}").format(
            number=index + 1, total=len(voting_round.proposals), moment=closes
        ),
        "",
        f"<b>{escape(proposal.title)}</b>",
        escape(proposal.text),
        "",
    ]
    choice = mine.get(proposal.id)
    lines.append(
        tr.gettext("Your choice: {choice}").format(choice=tr.gettext(CHOICE_LABELS[choice]))
        if choice
        else tr.gettext("You have not voted on this one yet.")
    )
    rows: list[list[Button]] = []
    if voting_round.is_open(services.clock()):
        rows.append(
            [
                (
                    ("✓ " if choice is c else "") + tr.gettext(label),
                    callbacks.encode("vt", round_id, proposal.id, c.value),
                )
                for c, label in CHOICE_LABELS.items()
            ]
        )
    else:
        lines.append(tr.gettext("This vote is closed. See /results."))
    nav: list[Button] = []
    if index > 0:
        nav.append(("◀", callbacks.encode("rd", round_id, index - 1)))
    if index < len(voting_round.proposals) - 1:
        nav.append(("▶", callbacks.encode("rd", round_id, index + 1)))
    if nav:
        rows.append(nav)
    await show(update, (note + "\n\n" if note else "") + "\n".join(lines), keyboard(rows))


async def open_round_card(update: Update, context: BashkeContext) -> None:
    round_id, index = callbacks.int_args(update, 2)
    await show_round(update, context, round_id, index)


async def cast(update: Update, context: BashkeContext) -> None:
    round_id, proposal_id, choice = callbacks.args(update, 3)
    voted = await context.services.votes.vote(
        context.asker, callbacks.as_int(round_id), callbacks.as_int(proposal_id), choice
    )
    voting_round = voted.round
    index = next(i for i, p in enumerate(voting_round.proposals) if p.id == int(proposal_id))
    # On to the next proposal, so a person votes through the round tap after tap.
    following = min(index + 1, len(voting_round.proposals) - 1)
    await show_round(
        update,
        context,
        voting_round.id,
        following,
        note=context.tr.gettext("Your vote is saved. You can change it until the vote closes."),
        known=voted,
    )


@opens(deeplinks.VOTE)
async def open_vote_link(update: Update, context: BashkeContext, link: DeepLink) -> None:
    await show_round(update, context, link.target_id, 0)


# Results ------------------------------------------------------------------------------------


def results_text(tr: Translator, voting_round: Round, results: list[ProposalResult]) -> str:
    lines = [f"<b>{escape(voting_round.title)}</b>"]
    both = [r for r in results if r.supported_by_both]
    if both:
        lines.append("\n⭐ " + tr.gettext("Supported by both residents and migrants:"))
        lines += [f"• {escape(r.proposal.title)}" for r in both]
    for result in results:
        share = result.overall.share
        lines.append("")
        lines.append(f"<b>{escape(result.proposal.title)}</b>")
        lines.append(
            tr.gettext(
                "{support} support, {oppose} oppose, {abstain} abstain — {share} support"
            ).format(
                support=result.overall.support,
                oppose=result.overall.oppose,
                abstain=result.overall.abstain,
                share="—" if share is None else f"{round(share * 100)}%",
            )
        )
        for group, tally in result.groups.items():
            label = tr.gettext(DESCRIPTION_OF_GROUP[group])
            if tally is None:
                hidden = tr.gettext("not shown, so that no vote can be guessed")
                lines.append(f"  {label}: {hidden}")
            else:
                group_share = "—" if tally.share is None else f"{round(tally.share * 100)}%"
                lines.append(f"  {label}: {group_share} ({tally.votes})")
    lines.append(
        "\n"
        + tr.gettext(
            "A group is shown separately only when it has at least {count} voters and the voters"
            " not shown are none or at least {count} too, so that no one's vote can be guessed,"
            " not even by subtraction."
        ).format(count=SMALL_GROUP)
    )
    return "\n".join(lines)


def results_chart(tr: Translator, voting_round: Round, results: list[ProposalResult]) -> bytes:
    def share(tally: object) -> float | None:
        value = getattr(tally, "share", None)
        return None if value is None else value * 100

    return charts.grouped_bars(
        voting_round.title,
        [r.proposal.title for r in results],
        [
            (tr.gettext("Everyone"), [share(r.overall) for r in results]),
            (
                tr.gettext(DESCRIPTION_OF_GROUP["resident"]),
                [share(r.groups["resident"]) for r in results],
            ),
            (
                tr.gettext(DESCRIPTION_OF_GROUP["newcomer"]),
                [share(r.groups["newcomer"]) for r in results],
            ),
        ],
        unit=tr.gettext("Support (per cent)"),
    )


async def results_command(update: Update, context: BashkeContext) -> None:
    tr = context.tr
    await _list_rounds(
        update,
        context,
        closed=True,
        action="res",
        empty=tr.gettext("No vote has closed yet."),
        heading=tr.gettext("Closed votes:"),
    )


async def show_results(update: Update, context: BashkeContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    round_id = callbacks.int_args(update, 1)[0]
    services = context.services
    tr = context.tr
    voting_round = await services.votes.get_round(round_id)
    results = await services.votes.results(round_id)
    await show(update, results_text(tr, voting_round, results))
    await chat.send_photo(
        InputFile(results_chart(tr, voting_round, results), filename=f"results-{round_id}.png"),
        caption=escape(voting_round.title[:200]),
    )


# The manual document --------------------------------------------------------------------------


async def manual_command(update: Update, context: BashkeContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    if context.person is None:
        raise NotRegistered()
    tr = context.tr
    chapters = await context.services.manual.chapters(tr.language)
    name = f"bashke-manual-{tr.language}"
    await chat.send_document(
        InputFile(manual_document.markdown(tr, chapters).encode(), filename=f"{name}.md")
    )
    await chat.send_document(
        InputFile(manual_document.html(tr, chapters).encode(), filename=f"{name}.html")
    )
    # Laid out off the event loop: a long manual takes a while to set, and others are waiting.
    document = await asyncio.to_thread(manual_document.pdf, tr, chapters)
    await chat.send_document(
        InputFile(document, filename=f"{name}.pdf"),
        caption=tr.gettext(
            "The current draft of the manual, as Markdown, as a web page and as a PDF."
        ),
    )


# Coordinators ---------------------------------------------------------------------------------


async def addproposal_command(update: Update, context: BashkeContext) -> None:
    """/addproposal CHAPTER_NUMBER Title | Text — one message, for coordinators."""
    services = context.services
    await context.services.authz.require_coordinator(context.asker)
    text = (update.message.text or "") if update.message else ""
    body = text.partition(" ")[2]
    number, _, rest = body.strip().partition(" ")
    title, bar, proposal = rest.partition("|")
    chapters = await services.stories.chapters(
        context.tr.language, services.config.default_language
    )
    chapter = whole_number(number, 1, len(chapters))
    if chapter is None or not bar:
        raise InvalidInput(
            N_(
                "Usage: /addproposal CHAPTER_NUMBER Title | Text of the proposal. Chapters: "
                "{chapters}"
            ),
            chapters="; ".join(f"{i}. {escape(t)}" for i, (_, t) in enumerate(chapters, 1)),
        )
    await services.votes.add_proposal(context.asker, chapters[chapter - 1][0], title, proposal)
    await show(
        update, context.tr.gettext("The proposal is added. Put it to a vote with /newround.")
    )


async def newround_command(update: Update, context: BashkeContext) -> None:
    """/newround HOURS Title — a vote on every proposal not already being voted on."""
    services = context.services
    await services.authz.require(context.asker, Permission.COORDINATE, None)
    args = context.args or []
    hours = whole_number(args[0], 1, 24 * 60) if args else None
    if hours is None or len(args) < 2:
        raise InvalidInput(
            N_(
                "Usage: /newround HOURS Title, e.g. /newround 72 Spring vote. "
                "Every proposal not already in a vote is included."
            )
        )
    voting_round = await services.votes.open_round_on_waiting(
        context.asker, " ".join(args[1:]), hours
    )
    link = DeepLink(deeplinks.VOTE, voting_round.id).payload()
    await show(
        update,
        context.tr.gettext("The vote is open until {moment}. Share this link: {link}").format(
            moment=context.tr.moment(voting_round.closes_at, services.config.timezone, "short"),
            link=f"https://t.me/{context.bot.username}?start={link}",
        ),
    )


async def chapter_command(update: Update, context: BashkeContext) -> None:
    """/chapter add SLUG Title, or /chapter title NUMBER LANGUAGE Title (network coordinators)."""
    services = context.services
    await services.authz.require(context.asker, Permission.COORDINATE, None)
    args = context.args or []
    tr = context.tr
    chapters = await services.stories.chapters(tr.language, services.config.default_language)
    if len(args) >= 3 and args[0] == "add":
        await services.towns.add_chapter(context.asker, args[1], tr.language, " ".join(args[2:]))
    elif (
        len(args) >= 4
        and args[0] == "title"
        and (number := whole_number(args[1], 1, len(chapters))) is not None
    ):
        await services.towns.set_chapter_title(
            context.asker, chapters[number - 1][0], args[2], " ".join(args[3:])
        )
    else:
        raise InvalidInput(
            N_(
                "Usage: /chapter add SHORT_NAME Title, or /chapter title NUMBER LANGUAGE Title "
                "(LANGUAGE is sq, en, it, uk or ar). Chapters: {chapters}"
            ),
            chapters="; ".join(f"{i}. {escape(t)}" for i, (_, t) in enumerate(chapters, 1)),
        )
    chapters = await services.stories.chapters(tr.language, services.config.default_language)
    await show(
        update,
        tr.gettext("Saved. The manual's chapters:")
        + "\n"
        + "\n".join(f"{i}. {escape(t)}" for i, (_, t) in enumerate(chapters, 1)),
    )


# Notices --------------------------------------------------------------------------------------


def register_notices(services: Services) -> None:
    votes = services.votes

    async def reminder(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        voting_round = await votes.reminder_applies(int(row.params["round_id"]), row.chat_id)
        if voting_round is None:
            return None
        return OutgoingMessage(
            tr.gettext(
                "🗳 “{title}” closes soon and you have not voted yet. Your vote shapes the manual: "
                "/vote"
            ).format(title=escape(voting_round.title))
        )

    async def results(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        round_id = int(row.params["round_id"])
        voting_round = await votes.get_round(round_id)
        return OutgoingMessage(results_text(tr, voting_round, await votes.results(round_id)))

    services.outbox.register(vt.REMINDER, reminder)
    services.outbox.register(vt.RESULTS, results)


def register(app: BashkeApp) -> None:
    private = filters.ChatType.PRIVATE
    for name, callback in (
        ("vote", vote_command),
        ("results", results_command),
        ("manual", manual_command),
        ("addproposal", addproposal_command),
        ("newround", newround_command),
        ("chapter", chapter_command),
    ):
        app.add_handler(CommandHandler(name, callback, filters=private))
    for action, callback in (("rd", open_round_card), ("vt", cast), ("res", show_results)):
        app.add_handler(CallbackQueryHandler(callback, pattern=callbacks.pattern(action)))
