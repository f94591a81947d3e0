"""The one way the bot holds a conversation: steps whose place and answers live in the database.

A ``Flow`` is a named series of steps (``/newevent``: title, description, …). Each step has its
question (``asks``) and takes typed text (``on_text``) or the taps of its buttons
(``on_button``); a handler gets the flow's typed answers, checks and fills them in, and returns
the next step (or ``END``). The engine writes the step and the answers to the drafts table
(bot/drafts.py) first and asks the next question after, so after a restart — even a SIGKILL —
the person's next message or tap continues exactly where they were. A refused answer
(``InvalidInput``) changes nothing: the person stays on the step, told why in their language.

Routing: a typed message that no command took reaches ``offer`` (from the fallback): it goes to
the flow the person touched last. A flow's button works only on its own step; anywhere else it
is stale. ``/cancel`` ends the flow the person touched last.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, Generic, TypeVar

from telegram import Update
from telegram.ext import CallbackQueryHandler, filters

from bot.drafts import Draft
from bot.errors import InvalidInput
from bot.i18n import N_
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.render import show

A = TypeVar("A")
END: None = None
StepHandler = Callable[[Update, BashkeContext, A], Awaitable[str | None]]
Question = Callable[[Update, BashkeContext, A], Awaitable[None]]

USE_BUTTONS = N_("Please choose one of the buttons above, or send /cancel to stop.")
USE_TEXT = N_("Please answer with text, or send /cancel to stop.")
STALE = N_("This button is no longer valid. Send /help to see what you can do.")
STOPPED = N_("Stopped. Nothing was saved.")
NOTHING_TO_CANCEL = N_("There is nothing to cancel.")

FLOWS: dict[str, Flow[Any]] = {}


class Flow(Generic[A]):
    """One conversation: its kind (the drafts row's), its answers' type and its steps."""

    def __init__(
        self,
        kind: str,
        answers: type[A],
        *,
        idle: timedelta | None = timedelta(hours=24),
        put_aside: str | None = None,
        kept_by_service: bool = False,
    ) -> None:
        if kind in FLOWS:
            raise ValueError(f"two flows named {kind!r}")
        self.kind = kind
        self.answers = answers
        # Left alone this long, the draft is put aside: the next message is not taken as an
        # answer to a question asked long ago (``put_aside`` tells the person so).
        self.idle = idle
        self.put_aside = put_aside
        # A draft whose service applies its rules and writes it (the story's): the handlers
        # call the service and ask the next question themselves; the engine only routes.
        self.kept_by_service = kept_by_service
        self.questions: dict[str, Question[A]] = {}
        self.texts: dict[str, tuple[StepHandler[A], bool, bool]] = {}
        self.buttons: dict[str, tuple[frozenset[str], StepHandler[A]]] = {}
        FLOWS[kind] = self

    @property
    def tapped(self) -> frozenset[str]:
        """The steps that take the flow's buttons."""
        return frozenset(step for steps, _ in self.buttons.values() for step in steps)

    @property
    def steps(self) -> frozenset[str]:
        """Every step the engine routes: each takes text, buttons or both."""
        return frozenset(self.texts) | self.tapped

    def asks(self, step: str) -> Callable[[Question[A]], Question[A]]:
        """What the person is asked on arriving at ``step``."""

        def decorate(question: Question[A]) -> Question[A]:
            self.questions[step] = question
            return question

        return decorate

    def on_text(
        self, *steps: str, photo: bool = False, any_message: bool = False
    ) -> Callable[[StepHandler[A]], StepHandler[A]]:
        """The handler of typed answers on ``steps`` (and of photos, if ``photo``; of every
        kind of message, if ``any_message``: the handler says what it does not take)."""

        def decorate(handler: StepHandler[A]) -> StepHandler[A]:
            for step in steps:
                self.texts[step] = (handler, photo, any_message)
            return handler

        return decorate

    def on_button(self, action: str, *steps: str) -> Callable[[StepHandler[A]], StepHandler[A]]:
        """The handler of the ``action`` buttons, which work on ``steps`` only."""

        def decorate(handler: StepHandler[A]) -> StepHandler[A]:
            self.buttons[action] = (frozenset(steps), handler)
            return handler

        return decorate

    # What handlers call -------------------------------------------------------------------

    async def begin(self, update: Update, context: BashkeContext, step: str, answers: A) -> None:
        """Start the flow afresh at ``step`` (an unfinished one of the same kind is replaced)."""
        await self.save(context, step, answers)
        await self.questions[step](update, context, answers)

    async def save(self, context: BashkeContext, step: str, answers: A) -> None:
        """Write the place and answers now: before telling the person something that must not
        happen twice (the event created) if Telegram loses the answer and they tap again."""
        await context.services.drafts.save(context.asker, self.kind, step, answers)

    async def end(self, context: BashkeContext) -> bool:
        return await context.services.drafts.drop(context.asker, self.kind)

    async def load(self, context: BashkeContext, read: Draft | None = None) -> tuple[str, A] | None:
        """The step and answers (of the draft ``read`` already, if given), or None when there
        is no draft or it was left too long (it is put aside then)."""
        drafts = context.services.drafts
        if read is None:
            loaded = await drafts.load(context.asker, self.kind, self.answers)
        else:
            typed = await drafts.typed(context.asker, read, self.answers)
            loaded = None if typed is None else (read, typed)
        if loaded is None:
            return None
        draft, answers = loaded
        if self.idle is not None and context.services.clock() - draft.updated_at > self.idle:
            await self.end(context)
            return None
        return draft.step, answers

    # The engine ---------------------------------------------------------------------------

    async def _run(
        self, update: Update, context: BashkeContext, handler: StepHandler[A], answers: A
    ) -> None:
        following = await handler(update, context, answers)
        if self.kept_by_service:
            return
        if following is END:
            await self.end(context)
            return
        # Written before the question goes out: a question the person sees is always the step
        # the database holds, so their answer never lands on the step before.
        await self.save(context, following, answers)
        await self.questions[following](update, context, answers)

    async def take_message(self, update: Update, context: BashkeContext, draft: Draft) -> bool:
        """A typed message for this flow (``draft`` is its row): answer it, or say what the
        step wants."""
        message = update.message
        assert message is not None
        loaded = await self.load(context, draft)
        if loaded is None:
            if self.put_aside is None:
                return False
            await show(update, context.tr.gettext(self.put_aside))
            return True
        step, answers = loaded
        taken = self.texts.get(step)
        if taken is None:
            if step in self.tapped:
                raise InvalidInput(USE_BUTTONS)
            return False  # a step the engine does not route: the fallback answers
        handler, photo, any_message = taken
        if message.text is None and not (photo and message.photo) and not any_message:
            raise InvalidInput(USE_TEXT)
        await self._run(update, context, handler, answers)
        return True

    def _tapper(self, action: str) -> Callable[[Update, BashkeContext], Coroutine[Any, Any, None]]:
        steps, handler = self.buttons[action]

        async def tap(update: Update, context: BashkeContext) -> None:
            if not (update.callback_query and update.callback_query.data):
                raise InvalidInput()  # python-telegram-bot hands a press without data to all
            loaded = await self.load(context)
            if loaded is None or loaded[0] not in steps:
                await stale_button(update, context)
                return
            await self._run(update, context, handler, loaded[1])

        return tap

    def register(self, app: BashkeApp) -> None:
        unasked = set() if self.kept_by_service else self.steps - set(self.questions)
        if unasked:
            raise RuntimeError(f"{self.kind}: steps without a question: {sorted(unasked)}")
        for action in self.buttons:
            app.add_handler(
                CallbackQueryHandler(self._tapper(action), pattern=callbacks.pattern(action))
            )


async def stale_button(update: Update, context: BashkeContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(context.tr.gettext(STALE), show_alert=True)


async def offer(update: Update, context: BashkeContext) -> bool:
    """A message no command took: the answer to the flow the person is in, if they are."""
    message = update.message
    if message is None or filters.COMMAND.check_update(update):
        return False  # an unknown command is nobody's answer; the fallback answers it
    draft = await context.services.drafts.current(context.asker)
    if draft is None or (flow := FLOWS.get(draft.kind)) is None or not flow.steps:
        return False
    return await flow.take_message(update, context, draft)


async def cancel_command(update: Update, context: BashkeContext) -> None:
    """/cancel: end the flow the person is in; nothing of it is saved."""
    draft = await context.services.drafts.current(context.asker)
    stopped = draft is not None and draft.kind in FLOWS and await FLOWS[draft.kind].end(context)
    await show(update, context.tr.gettext(STOPPED if stopped else NOTHING_TO_CANCEL))
