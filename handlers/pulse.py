"""The attitude pulse on Telegram: /pulse for network coordinators (write the survey, see the
results), the offer when someone joins or after an event, and one statement per message."""

from __future__ import annotations

from html import escape

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import charts
from bot import pulse as pl
from bot.disclosure import SMALL_GROUP
from bot.errors import InvalidInput, NotFound
from bot.i18n import N_, Translator
from bot.outbox import OutboxRow, OutgoingMessage
from bot.people import DESCRIPTION_OF_GROUP
from bot.pulse import Figure, PulseResults, Question, Survey
from bot.services import Services
from bot.text import visible_units
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.render import Button, keyboard, show

USAGE = N_(
    "/pulse shows the survey and its results. To write a new one: /pulse add with a statement "
    "(one line per language: sq, en, it, ar, uk), once per statement, then /pulse done to "
    "publish it, or /pulse discard."
)
INVITATION = N_(
    "A few statements about living together here, answered from 1 to 5: it takes a minute, "
    "and you can stop at any time. Your answers are never shown on their own; they show the "
    "network whether anything changes."
)
MESSAGE_LENGTH = 4096  # Telegram's, counted by bot.text.visible_units


def offer_buttons(tr: Translator, survey_id: int, event_id: int | None) -> list[list[Button]]:
    return [
        [
            (tr.gettext("Start"), callbacks.encode("pls", survey_id, event_id or 0)),
            (tr.gettext("Not now"), callbacks.encode("plx", 0)),
        ]
    ]


async def offer_on_joining(update: Update, context: BashkeContext) -> None:
    """Right after onboarding: the survey, once, if there is one."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    survey = await context.services.pulse.offered_on_joining(user.id)
    if survey is not None:
        tr = context.tr
        await chat.send_message(
            tr.gettext(INVITATION), reply_markup=keyboard(offer_buttons(tr, survey, None))
        )


def question_text(tr: Translator, question: Question) -> str:
    return (
        tr.gettext("Statement {number} of {total}").format(
            number=question.number, total=question.total
        )
        + f"\n\n<b>{escape(question.text)}</b>\n\n"
        + tr.gettext("1 = strongly disagree · 5 = strongly agree")
    )


def question_buttons(tr: Translator, question: Question) -> list[list[Button]]:
    ask, position = question.ask_id, question.position
    return [
        [(str(value), callbacks.encode("pla", ask, position, value)) for value in pl.SCALE],
        [(tr.gettext("Prefer not to say"), callbacks.encode("pla", ask, position, 0))],
        [(tr.gettext("Stop here"), callbacks.encode("plx", ask))],
    ]


async def _ask(update: Update, context: BashkeContext, question: Question | None) -> None:
    tr = context.tr
    if question is None:
        await show(update, tr.gettext("Thank you! Your answers are saved."))
    else:
        await show(update, question_text(tr, question), keyboard(question_buttons(tr, question)))


async def start_pressed(update: Update, context: BashkeContext) -> None:
    survey, event = callbacks.int_args(update, 2)
    question = await context.services.pulse.begin(
        context.asker, survey, event or None, context.services.clock(), context.tr.language
    )
    await _ask(update, context, question)


async def answer_pressed(update: Update, context: BashkeContext) -> None:
    ask, position, value = callbacks.int_args(update, 3)
    question = await context.services.pulse.answer(
        context.asker, ask, position, value, context.services.clock(), context.tr.language
    )
    await _ask(update, context, question)


async def stop_pressed(update: Update, context: BashkeContext) -> None:
    (ask,) = callbacks.int_args(update, 1)
    if ask:
        await context.services.pulse.stop(context.asker, ask, context.services.clock())
    await show(update, context.tr.gettext("All right. Thank you!"))


# Network coordinators ---------------------------------------------------------------------


def survey_text(tr: Translator, survey: Survey, heading: str) -> str:
    lines = [f"<b>{escape(heading)}</b>"]
    lines += [
        f"{position}. {escape(survey.text(position, tr.language))}"
        for position in sorted(survey.statements)
    ]
    return "\n".join(lines)


def _figure(tr: Translator, figure: Figure | None) -> str:
    if figure is None:
        return tr.gettext("not shown")
    return tr.gettext("{mean} ({people} people, {agree}% agree)").format(
        mean=f"{figure.mean:.1f}", people=figure.people, agree=round(figure.agree * 100)
    )


def results_lines(tr: Translator, results: PulseResults) -> list[str]:
    lines = [tr.gettext("<b>Results</b>: average from 1 to 5, before → after.")]
    for statement in results.statements:
        lines.append(f"\n<b>{statement.position}. {escape(statement.text(tr.language))}</b>")
        for row in statement.rows:
            if row.kind == "overall":
                label = tr.gettext("Everyone")
            elif row.kind == "description":
                label = tr.gettext(DESCRIPTION_OF_GROUP[row.group])
            else:
                label = escape(row.group)
            change = "" if row.change is None else f" ({row.change:+.1f})"
            lines.append(f"{label}: {_figure(tr, row.before)} → {_figure(tr, row.after)}{change}")
    lines.append("\n" + tr.gettext(pl.EXPLANATION).format(count=SMALL_GROUP))
    return lines


def messages_of(lines: list[str]) -> list[str]:
    """Lines packed into messages within Telegram's length (many towns make a long list)."""
    messages: list[str] = []
    for line in lines:
        if messages and visible_units(f"{messages[-1]}\n{line}") <= MESSAGE_LENGTH:
            messages[-1] += "\n" + line
        else:
            messages.append(line)
    return messages


def results_chart(tr: Translator, results: PulseResults) -> bytes:
    def agree(figure: Figure | None) -> float | None:
        return None if figure is None else figure.agree * 100

    overall = [statement.rows[0] for statement in results.statements]
    return charts.grouped_bars(
        tr.gettext("Agreeing (4 or 5), everyone"),
        # Numbers, not the statements: the text lists them, and a chart cannot shape Arabic.
        [str(s.position) for s in results.statements],
        [
            (tr.gettext("Before"), [agree(row.before) for row in overall]),
            (tr.gettext("After"), [agree(row.after) for row in overall]),
        ],
        unit=tr.gettext("per cent"),
    )


async def pulse_command(update: Update, context: BashkeContext) -> None:
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    assert user is not None and chat is not None and message is not None
    services, tr = context.services, context.tr
    # Refused before the arguments are read; each service call checks its own rule again.
    await services.authz.require_coordinator(user.id)
    now = services.clock()
    first, _, more = (message.text or "").partition("\n")
    words = first.split(maxsplit=2)
    word = words[1].lower() if len(words) > 1 else ""
    if word == "add":
        statement = "\n".join([*words[2:], more])
        survey = await services.pulse.add_statement(user.id, statement, now)
        await chat.send_message(
            survey_text(tr, survey, tr.gettext("The new survey so far (not yet published):"))
            + "\n\n"
            + tr.gettext("Add another with /pulse add, or publish it with /pulse done.")
        )
        return
    if word == "done":
        survey = await services.pulse.publish(user.id, now)
        await chat.send_message(
            survey_text(tr, survey, tr.gettext("Published. From now on people are asked:"))
        )
        return
    if word == "discard":
        await services.pulse.discard(user.id)
        await chat.send_message(tr.gettext("The unpublished survey is discarded."))
        return
    if word:
        raise InvalidInput(USAGE)
    results = await services.pulse.results(user.id)
    live = await services.pulse.live()
    if live is None:
        await chat.send_message(tr.gettext("There is no survey yet.") + "\n\n" + tr.gettext(USAGE))
        return
    heading = survey_text(tr, live, tr.gettext("The attitude pulse:"))
    for text in messages_of([heading, "", *results_lines(tr, results)]):
        await chat.send_message(text)
    if any(s.rows[0].before or s.rows[0].after for s in results.statements):
        await chat.send_photo(InputFile(results_chart(tr, results)))


def register_notices(services: Services) -> None:
    async def offer(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        survey, event_id = int(row.params["survey_id"]), int(row.params["event_id"])
        if not await services.pulse.still_offered(row.chat_id, survey, event_id):
            return None
        try:
            event = await services.events.get(event_id)
        except NotFound:
            return None
        return OutgoingMessage(
            tr.gettext("Thank you for coming to “{title}”!").format(title=escape(event.title))
            + "\n\n"
            + tr.gettext(INVITATION),
            buttons=tuple(tuple(row) for row in offer_buttons(tr, survey, event_id)),
        )

    services.outbox.register(pl.OFFER, offer)


def register(app: BashkeApp) -> None:
    app.add_handler(CommandHandler("pulse", pulse_command, filters=filters.ChatType.PRIVATE))
    for action, callback in (
        ("pls", start_pressed),
        ("pla", answer_pressed),
        ("plx", stop_pressed),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=callbacks.pattern(action)))
