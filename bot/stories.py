"""Stories: participants write an experience for a chapter of the manual; moderators decide.

The draft is kept in the drafts table (bot/drafts.py) from the first answer on, like every
conversation's, so a restart in the middle loses nothing; its step is derived from what it
already holds. Sent, it becomes a row of ``stories``, waiting for the moderators.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

from bot import people
from bot.clock import Clock
from bot.db import Database, Transaction, to_db_time
from bot.drafts import Drafts
from bot.errors import InvalidInput, NotFound, UserFacingError
from bot.i18n import N_
from bot.outbox import Outbox
from bot.roles import Authorizer, Permission, Role
from bot.text import utf16_units

MIN_CHARACTERS = 20
# Counted as Telegram counts (UTF-16 code units), so a story of emoji cannot overflow a message.
MAX_UNITS = 3000
MAX_WAITING = 3
MAX_SIGNED_NAME = 64
MAX_PROPOSAL_TITLE = 120
DRAFT_NOTE_AFTER = timedelta(minutes=30)

SUBMITTED = "story_submitted"
DECIDED = "story_decided"
PUBLISHED = "story_published"
DRAFT_WAITING = "story_draft_waiting"
DRAFT = "story"  # the drafts table's kind for an unfinished story or proposal
NO_DRAFT = N_("There is no story waiting to be sent. Start one with /story.")


class Reason(StrEnum):
    OFF_TOPIC = "off_topic"
    HATEFUL = "hateful"
    PERSONAL_DATA = "personal_data"
    SPAM = "spam"
    OTHER = "other"


class StoryStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Kind(StrEnum):
    STORY = "story"
    PROPOSAL = "proposal"  # a practice proposed for the manual; voted on once approved


class Step(StrEnum):
    CHAPTER = "chapter"
    TITLE = "title"
    TEXT = "text"
    ANONYMITY = "anonymity"
    PREVIEW = "preview"


class AlreadyDecided(UserFacingError):
    default_message = N_("Another moderator has already decided on this story.")


@dataclass(frozen=True)
class Story:
    id: int
    author_id: int | None
    chapter_id: int | None
    text: str | None
    anonymous: bool | None
    signed_name: str | None
    status: StoryStatus
    reject_reason: Reason | None
    submitted_at: str | None
    decided_at: str | None
    updated_at: str
    kind: Kind = Kind.STORY
    title: str | None = None

    @property
    def byline(self) -> str | None:
        """The name shown under the story, or None: anonymous stories show no name anywhere."""
        return None if self.anonymous or not self.signed_name else self.signed_name


@dataclass(frozen=True)
class StoryDraft:
    """An unfinished story or proposal, as the drafts table keeps it."""

    kind: Kind = Kind.STORY
    chapter_id: int | None = None
    title: str | None = None
    text: str | None = None
    anonymous: bool | None = None
    signed_name: str | None = None
    created_at: str = ""
    updated_at: str = ""

    @property
    def step(self) -> Step:
        if self.chapter_id is None:
            return Step.CHAPTER
        if self.kind is Kind.PROPOSAL and self.title is None:
            return Step.TITLE
        if self.text is None:
            return Step.TEXT
        if self.anonymous is None:
            return Step.ANONYMITY
        return Step.PREVIEW

    @property
    def byline(self) -> str | None:
        return None if self.anonymous or not self.signed_name else self.signed_name


# Stories and proposals side by side, as submissions: one queue, one numbering (migration 0014).
_STORIES = (
    "SELECT id, author_id, chapter_id, text, anonymous, signed_name, status, reject_reason,"
    " created_at, submitted_at, decided_at, decided_by, updated_at, 'story' AS kind,"
    " NULL AS title FROM stories"
)
_PROPOSALS = (
    "SELECT id, author_id, chapter_id, text, 1 AS anonymous, NULL AS signed_name, status,"
    " reject_reason, created_at, submitted_at, decided_at, decided_by, updated_at,"
    " 'proposal' AS kind, title FROM proposals"
)
SUBMISSIONS = f"({_STORIES} UNION ALL {_PROPOSALS})"
TABLE_OF = {Kind.STORY: "stories", Kind.PROPOSAL: "proposals"}


def _story(row: Any) -> Story:
    return Story(
        id=row["id"],
        author_id=row["author_id"],
        chapter_id=row["chapter_id"],
        text=row["text"],
        anonymous=None if row["anonymous"] is None else bool(row["anonymous"]),
        signed_name=row["signed_name"],
        status=StoryStatus(row["status"]),
        reject_reason=Reason(row["reject_reason"]) if row["reject_reason"] else None,
        submitted_at=row["submitted_at"],
        decided_at=row["decided_at"],
        updated_at=row["updated_at"],
        kind=Kind(row["kind"]),
        title=row["title"],
    )


def _draft_subject(author_id: int) -> str:
    """The outbox subject of the note about an author's unfinished draft."""
    return f"story-draft:{author_id}"


def check_story_text(text: str) -> str:
    """The story as written (nothing removed or rewritten), or a refusal that explains why."""
    body = text.strip()
    if not body:
        raise InvalidInput(N_("This cannot be empty. Please write it again."))
    if not any(unicodedata.category(ch)[0] in "LN" for ch in body):
        raise InvalidInput(N_("Please tell your story in words, not only emoji or symbols."))
    # Invisible and combining characters do not make a story longer to read.
    if sum(unicodedata.category(ch) not in ("Cf", "Mn", "Me") for ch in body) < MIN_CHARACTERS:
        raise InvalidInput(
            N_("That is a little short: please write at least {limit} characters."),
            limit=MIN_CHARACTERS,
        )
    if utf16_units(body) > MAX_UNITS:
        raise InvalidInput(
            N_(
                "That is {length} characters; a story can have at most {limit}. "
                "Please shorten it and send it again."
            ),
            length=utf16_units(body),
            limit=MAX_UNITS,
        )
    return body


class StoryService:
    def __init__(
        self,
        db: Database,
        authz: Authorizer,
        outbox: Outbox,
        drafts: Drafts,
        clock: Clock,
        channel_id: int | None,
    ) -> None:
        self._db = db
        self._authz = authz
        self._outbox = outbox
        self._drafts = drafts
        outbox.declare(SUBMITTED, DECIDED, PUBLISHED, DRAFT_WAITING)
        self._clock = clock
        self.channel_id = channel_id

    async def export(self, telegram_id: int) -> dict[str, Any]:
        stories = await self._db.fetchall(
            "SELECT id, status, text, anonymous, signed_name, created_at, submitted_at,"
            " decided_at, reject_reason FROM stories WHERE author_id = ? ORDER BY id",
            (telegram_id,),
        )
        proposals = await self._db.fetchall(
            "SELECT id, status, title, text, created_at, submitted_at, decided_at,"
            " reject_reason FROM proposals WHERE author_id = ? ORDER BY id",
            (telegram_id,),
        )
        return {
            "stories": [dict(row) for row in stories],
            "proposals": [dict(row) for row in proposals],
        }

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: their stories go, but for the approved anonymous ones, which stay with no
        link to them; where they moderated, the decision stays and the moderator goes."""
        person = (telegram_id,)
        removed = await tx.execute(
            "DELETE FROM stories WHERE author_id = ?"
            " AND NOT (status = 'approved' AND anonymous = 1)",
            person,
        )
        # Proposals carry no name: the approved ones stay, the network's, with no link to them.
        removed += await tx.execute(
            "DELETE FROM proposals WHERE author_id = ? AND status != 'approved'", person
        )
        for table in TABLE_OF.values():
            tx.defer(f"UPDATE {table} SET author_id = NULL WHERE author_id = ?", person)
            tx.defer(f"UPDATE {table} SET decided_by = NULL WHERE decided_by = ?", person)
        tx.defer("UPDATE moderation_log SET moderator_id = 0 WHERE moderator_id = ?", person)
        return bool(removed)

    # Authors --------------------------------------------------------------------------------

    async def draft(self, author_id: int, tx: Transaction | None = None) -> StoryDraft | None:
        loaded = await self._drafts.load(author_id, DRAFT, StoryDraft, tx)
        return None if loaded is None else loaded[1]

    async def start(self, author_id: int, kind: Kind = Kind.STORY) -> StoryDraft:
        """The author's draft, created if needed; refused while too many wait for review.

        An unfinished draft of the other kind is resumed rather than replaced: nothing the
        person wrote is thrown away without their /cancel.
        """
        async with self._db.transaction() as tx:
            await people.require_known(tx, author_id)
            phase = await tx.fetchval("SELECT value FROM settings WHERE name = 'proposals'")
            draft = await self.draft(author_id, tx)
            if kind is Kind.PROPOSAL and phase != "open" and draft is None:
                raise InvalidInput(
                    N_(
                        "Proposals are not being collected right now. You can "
                        "share an experience with /story, and vote with /vote."
                    )
                )
            waiting = await tx.fetchval(
                f"SELECT COUNT(*) FROM {SUBMISSIONS} WHERE author_id = ? AND status = 'pending'",
                (author_id,),
            )
            if waiting >= MAX_WAITING:
                raise InvalidInput(
                    N_(
                        "You have {count} stories waiting for review. Please wait until a "
                        "moderator has read them before sending another."
                    ),
                    count=waiting,
                )
            if draft is None:
                now = to_db_time(self._clock())
                # Proposals carry no name: they are the network's, once adopted.
                draft = StoryDraft(
                    kind=kind,
                    anonymous=True if kind is Kind.PROPOSAL else None,
                    created_at=now,
                )
                draft = await self._save(tx, author_id, draft)
        return draft

    async def set_chapter(self, author_id: int, chapter_id: int) -> StoryDraft:
        if not await self._db.fetchval("SELECT 1 FROM chapters WHERE id = ?", (chapter_id,)):
            raise NotFound(N_("That chapter does not exist (any more)."))
        return await self._update_draft(author_id, chapter_id=chapter_id)

    async def set_title(self, author_id: int, title: str) -> StoryDraft:
        name = " ".join(title.split())
        if not name or len(name) > MAX_PROPOSAL_TITLE:
            raise InvalidInput(
                N_("The title must be 1 to {limit} characters."), limit=MAX_PROPOSAL_TITLE
            )
        return await self._update_draft(author_id, title=name)

    async def set_text(self, author_id: int, text: str) -> StoryDraft:
        checked = check_story_text(text)
        async with self._db.transaction() as tx:
            draft = await self._update_draft(author_id, tx, text=checked)
            # A gentle note if the draft is left unfinished; dropped if it is sent or changed.
            self._outbox.enqueue(
                tx,
                author_id,
                DRAFT_WAITING,
                {"updated_at": draft.updated_at},
                not_before=self._clock() + DRAFT_NOTE_AFTER,
                subject=_draft_subject(author_id),
            )
        return draft

    async def clear_text(self, author_id: int) -> StoryDraft:
        """Back to the text step, to write the story again."""
        return await self._update_draft(author_id, text=None)

    async def set_anonymous(self, author_id: int, anonymous: bool, first_name: str) -> StoryDraft:
        name = None if anonymous else " ".join(first_name.split())[:MAX_SIGNED_NAME] or None
        return await self._update_draft(author_id, anonymous=anonymous, signed_name=name)

    async def submit(self, author_id: int) -> Story:
        """Send the finished draft to the moderators, who are told through the outbox.

        A second "Send" (its first answer lost, or a double tap) finds the story already with
        the moderators and returns it as it is: nothing is queued twice, and the author is not
        told to write it again.
        """
        now = to_db_time(self._clock())
        async with self._db.transaction() as tx:
            draft = await self.draft(author_id, tx)
            if draft is None:
                row = await tx.fetchone(
                    f"SELECT * FROM {SUBMISSIONS} WHERE author_id = ? AND status = 'pending'"
                    " ORDER BY id DESC LIMIT 1",
                    (author_id,),
                )
                if row is None:
                    raise NotFound(NO_DRAFT)
                return _story(row)
            if draft.step is not Step.PREVIEW:
                raise InvalidInput(N_("The story is not finished yet. Send /story to go on."))
            story_id = await tx.insert("INSERT INTO submissions DEFAULT VALUES")
            if draft.kind is Kind.PROPOSAL:
                await tx.execute(
                    "INSERT INTO proposals (id, author_id, chapter_id, title, text, status,"
                    " created_at, submitted_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                    (
                        story_id,
                        author_id,
                        draft.chapter_id,
                        draft.title,
                        draft.text,
                        draft.created_at or now,
                        now,
                        now,
                    ),
                )
            else:
                await tx.execute(
                    "INSERT INTO stories (id, author_id, chapter_id, text, anonymous,"
                    " signed_name, status, created_at, submitted_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                    (
                        story_id,
                        author_id,
                        draft.chapter_id,
                        draft.text,
                        int(bool(draft.anonymous)),
                        draft.signed_name,
                        draft.created_at or now,
                        now,
                        now,
                    ),
                )
            await self._drafts.drop(author_id, DRAFT, tx)
            await self._outbox.cancel(tx, _draft_subject(author_id), kind=DRAFT_WAITING)
            for moderator in await self._moderators(tx):
                self._outbox.enqueue(
                    tx,
                    moderator,
                    SUBMITTED,
                    {"story_id": story_id},
                    subject=f"story:{story_id}",
                    dedupe_key=f"submitted:{story_id}:{moderator}",
                )
        return await self.get(story_id)

    async def discard(self, author_id: int) -> bool:
        return await self._drafts.drop(author_id, DRAFT)

    async def add_adopted_proposal(
        self, tx: Transaction, actor_id: int, chapter_id: int, title: str, text: str, now: str
    ) -> int:
        """A coordinator's proposal, in the caller's change: approved as it is written (the
        network's own, with no author and no moderation)."""
        if not await tx.fetchval("SELECT 1 FROM chapters WHERE id = ?", (chapter_id,)):
            raise NotFound(N_("That chapter does not exist (any more)."))
        proposal_id = await tx.insert("INSERT INTO submissions DEFAULT VALUES")
        await tx.execute(
            "INSERT INTO proposals (id, author_id, chapter_id, title, text, status,"
            " created_at, updated_at, submitted_at, decided_at, decided_by)"
            " VALUES (?, NULL, ?, ?, ?, 'approved', ?, ?, ?, ?, ?)",
            (proposal_id, chapter_id, title, text, now, now, now, now, actor_id),
        )
        return proposal_id

    async def approved_proposals(self, tx: Transaction | None = None) -> list[Story]:
        """The proposals that can be voted on, in the manual's order of chapters."""
        rows = await (tx or self._db).fetchall(
            f"SELECT p.* FROM ({_PROPOSALS}) p JOIN chapters c ON c.id = p.chapter_id"
            " WHERE p.status = 'approved' ORDER BY c.position, p.id"
        )
        return [_story(row) for row in rows]

    async def set_proposals_phase(self, actor_id: int, open_: bool) -> None:
        """Network coordinators open and close the phase in which participants propose."""
        async with self._db.transaction() as tx:
            await self._authz.require(actor_id, Permission.COORDINATE, None, tx)
            tx.defer(
                "INSERT INTO settings (name, value) VALUES ('proposals', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                ("open" if open_ else "closed",),
            )

    # Moderators -----------------------------------------------------------------------------

    async def queue(self, moderator_id: int) -> tuple[Story | None, int]:
        """The oldest story waiting for a decision, and how many wait."""
        await self._authz.require(moderator_id, Permission.MODERATE)
        row = await self._db.fetchone(
            f"SELECT * FROM {SUBMISSIONS} WHERE status = 'pending'"
            " ORDER BY submitted_at, id LIMIT 1"
        )
        waiting = await self._db.fetchval(
            f"SELECT COUNT(*) FROM {SUBMISSIONS} WHERE status = 'pending'"
        )
        return (None if row is None else _story(row)), int(waiting)

    async def approve(self, moderator_id: int, story_id: int) -> Story:
        return await self._decide(moderator_id, story_id, StoryStatus.APPROVED, None)

    async def reject(self, moderator_id: int, story_id: int, reason: str) -> Story:
        try:
            why = Reason(reason)
        except ValueError:
            raise InvalidInput() from None
        return await self._decide(moderator_id, story_id, StoryStatus.REJECTED, why)

    async def _decide(
        self, moderator_id: int, story_id: int, status: StoryStatus, reason: Reason | None
    ) -> Story:
        now = to_db_time(self._clock())
        async with self._db.transaction() as tx:
            # The role too is checked inside the change: one revoked meanwhile decides nothing.
            await self._authz.require(moderator_id, Permission.MODERATE, tx=tx)
            row = await tx.fetchone(f"SELECT * FROM {SUBMISSIONS} WHERE id = ?", (story_id,))
            if row is None:
                raise NotFound(N_("That story does not exist (any more)."))
            # Only the first of two moderators tapping at once changes the row.
            changed = await tx.execute(
                f"UPDATE {TABLE_OF[Kind(row['kind'])]} SET status = ?, reject_reason = ?,"
                " decided_at = ?, decided_by = ? WHERE id = ? AND status = 'pending'",
                (status, reason.value if reason else None, now, moderator_id, story_id),
            )
            if not changed:
                raise AlreadyDecided()
            action = "approve" if status is StoryStatus.APPROVED else "reject"
            await tx.execute(
                "INSERT INTO moderation_log (at, moderator_id, story_id, action, reason)"
                " VALUES (?, ?, ?, ?, ?)",
                (now, moderator_id, story_id, action, reason.value if reason else None),
            )
            if row["author_id"] is not None:
                self._outbox.enqueue(
                    tx,
                    row["author_id"],
                    DECIDED,
                    {"story_id": story_id},
                    subject=f"story:{story_id}",
                    dedupe_key=f"decided:{story_id}",
                )
            if (
                status is StoryStatus.APPROVED
                and row["kind"] == Kind.STORY
                and self.channel_id is not None
            ):
                self._outbox.enqueue(
                    tx,
                    self.channel_id,
                    PUBLISHED,
                    {"story_id": story_id},
                    subject=f"story:{story_id}",
                    dedupe_key=f"published:{story_id}",
                )
        return await self.get(story_id)

    async def moderation_log(self, actor_id: int) -> list[dict[str, Any]]:
        await self._authz.require_coordinator(actor_id)
        rows = await self._db.fetchall(
            "SELECT at, moderator_id, story_id, action, IFNULL(reason, '') AS reason"
            " FROM moderation_log ORDER BY id"
        )
        return [dict(row) for row in rows]

    # Readers --------------------------------------------------------------------------------

    async def notice_about(self, kind: str, story_id: int) -> Story | None:
        """The story a queued notice is about, while the notice still applies; None drops it:
        the story is gone (erased with its author); the moderators' call to review it comes
        after another moderator decided; the author's news or the channel's post before a
        decision (or, for the post, without an approval)."""
        try:
            story = await self.get(story_id)
        except NotFound:
            return None
        if kind == SUBMITTED and story.status is not StoryStatus.PENDING:
            return None
        if kind == DECIDED and story.status is StoryStatus.PENDING:
            return None
        if kind == PUBLISHED and story.status is not StoryStatus.APPROVED:
            return None
        return story

    async def draft_still_waiting(self, author_id: int, updated_at: object) -> bool:
        """Whether the draft a "still waiting" note was queued about is unchanged and unsent."""
        draft = await self.draft(author_id)
        return draft is not None and draft.updated_at == updated_at

    async def get(self, story_id: int) -> Story:
        row = await self._db.fetchone(f"SELECT * FROM {SUBMISSIONS} WHERE id = ?", (story_id,))
        if row is None:
            raise NotFound(N_("That story does not exist (any more)."))
        return _story(row)

    async def published(self, chapter_id: int, index: int) -> tuple[Story | None, int]:
        """One approved story of a chapter, newest first, and how many there are."""
        total = await self._db.fetchval(
            "SELECT COUNT(*) FROM stories WHERE status = 'approved' AND chapter_id = ?",
            (chapter_id,),
        )
        row = await self._db.fetchone(
            f"{_STORIES} WHERE status = 'approved' AND chapter_id = ?"
            " ORDER BY decided_at DESC, id DESC LIMIT 1 OFFSET ?",
            (chapter_id, index),
        )
        return (None if row is None else _story(row)), int(total)

    async def chapters(self, language: str, fallback: str) -> list[tuple[int, str]]:
        """The manual's chapters in order, titled in the reader's language where there is one."""
        rows = await self._db.fetchall(
            "SELECT c.id, COALESCE(mine.title, fb.title, c.slug) AS title FROM chapters c"
            " LEFT JOIN chapter_titles mine ON mine.chapter_id = c.id AND mine.language = ?"
            " LEFT JOIN chapter_titles fb ON fb.chapter_id = c.id AND fb.language = ?"
            " ORDER BY c.position",
            (language, fallback),
        )
        return [(row["id"], row["title"]) for row in rows]

    # Helpers --------------------------------------------------------------------------------

    async def _update_draft(
        self, author_id: int, tx: Transaction | None = None, **changes: Any
    ) -> StoryDraft:
        draft = await self.draft(author_id, tx)
        if draft is None:
            raise NotFound(NO_DRAFT)
        return await self._save(tx, author_id, replace(draft, **changes))

    async def _save(self, tx: Transaction | None, author_id: int, draft: StoryDraft) -> StoryDraft:
        draft = replace(draft, updated_at=to_db_time(self._clock()))
        await self._drafts.save(author_id, DRAFT, draft.step, draft, tx)
        return draft

    async def _moderators(self, tx: Transaction) -> list[int]:
        moderators = await self._authz.holders_of(Role.MODERATOR, tx)
        # With no moderator named yet, the admins read the queue: nothing slips through unseen.
        return moderators or sorted(self._authz.admins)
