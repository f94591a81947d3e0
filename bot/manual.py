"""The manual: the network's main deliverable, built from the database at request time.

Chapters in order; in each, the adopted proposals (supported by most of those who took a side
in a closed vote) in order of support, with their results, then the approved stories of that
chapter (anonymous ones without a name). Written as Markdown and as HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from bot.db import Database
from bot.i18n import Translator
from bot.pdf import Pdf
from bot.votes import ProposalResult, VoteService

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


@dataclass(frozen=True)
class Chapter:
    title: str
    adopted: list[ProposalResult]
    stories: list[tuple[str, str | None]]  # (text, signed name or None)


class ManualService:
    def __init__(self, db: Database, votes: VoteService, default_language: str) -> None:
        self._db = db
        self._votes = votes
        self._default = default_language

    async def chapters(self, language: str) -> list[Chapter]:
        titles = await self._db.fetchall(
            "SELECT c.id, COALESCE(mine.title, fb.title, c.slug) AS title FROM chapters c"
            " LEFT JOIN chapter_titles mine ON mine.chapter_id = c.id AND mine.language = ?"
            " LEFT JOIN chapter_titles fb ON fb.chapter_id = c.id AND fb.language = ?"
            " ORDER BY c.position",
            (language, self._default),
        )
        adopted: dict[int, list[ProposalResult]] = {}
        for voting_round in await self._votes.rounds(closed=True):
            for result in await self._votes.results(voting_round.id):
                if result.overall.supports:
                    adopted.setdefault(result.proposal.chapter_id, []).append(result)
        stories = await self._db.fetchall(
            "SELECT chapter_id, text, CASE WHEN anonymous = 1 THEN NULL ELSE signed_name END"
            " AS name FROM stories WHERE status = 'approved'"
            " ORDER BY decided_at, id"
        )
        chapters = []
        for row in titles:
            results = sorted(adopted.get(row["id"], []), key=lambda r: -(r.overall.share or 0))
            chapter_stories = [
                (s["text"], s["name"]) for s in stories if s["chapter_id"] == row["id"]
            ]
            chapters.append(Chapter(row["title"], results, chapter_stories))
        return chapters


def _result_line(tr: Translator, result: ProposalResult) -> str:
    share = round((result.overall.share or 0) * 100)
    line = tr.gettext("Support: {share}%, {votes} votes.").format(
        share=share, votes=result.overall.votes
    )
    if result.supported_by_both:
        line += " " + tr.gettext("Supported by both residents and migrants.")
    return line


def markdown(tr: Translator, chapters: list[Chapter]) -> str:
    def md(text: str) -> str:
        return MARKDOWN_SPECIAL.sub(r"\\\1", text)

    lines = [
        f"# {md(tr.gettext('Manual on fighting ethnic stigma and racism'))}",
        "",
        md(tr.gettext("A draft written by the participants of the Bashkë network.")),
        "",
    ]
    for number, chapter in enumerate(chapters, 1):
        lines += [f"## {number}. {md(chapter.title)}", ""]
        if not chapter.adopted and not chapter.stories:
            lines += [f"*{md(tr.gettext('Nothing adopted in this chapter yet.'))}*", ""]
        for result in chapter.adopted:
            lines += [
                f"### {md(result.proposal.title)}",
                "",
                md(result.proposal.text),
                "",
                f"*{md(_result_line(tr, result))}*",
                "",
            ]
        if chapter.stories:
            lines += [f"#### {md(tr.gettext('Experiences'))}", ""]
            for text, name in chapter.stories:
                quoted = "\n".join("> " + md(line) if line else ">" for line in text.splitlines())
                lines += [quoted, f"> — {md(name or tr.gettext('anonymous'))}", ""]
    return "\n".join(lines)


def html(tr: Translator, chapters: list[Chapter]) -> str:
    title = escape(tr.gettext("Manual on fighting ethnic stigma and racism"))
    direction = "rtl" if tr.is_rtl else "ltr"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{tr.language}" dir="{direction}"><head><meta charset="utf-8">',
        f"<title>{title}</title></head><body>",
        f"<h1>{title}</h1>",
        f"<p>{escape(tr.gettext('A draft written by the participants of the Bashkë network.'))}"
        "</p>",
    ]
    for number, chapter in enumerate(chapters, 1):
        parts.append(f"<h2>{number}. {escape(chapter.title)}</h2>")
        if not chapter.adopted and not chapter.stories:
            parts.append(
                f"<p><em>{escape(tr.gettext('Nothing adopted in this chapter yet.'))}</em></p>"
            )
        for result in chapter.adopted:
            parts += [
                f"<h3>{escape(result.proposal.title)}</h3>",
                f"<p>{escape(result.proposal.text)}</p>",
                f"<p><em>{escape(_result_line(tr, result))}</em></p>",
            ]
        if chapter.stories:
            parts.append(f"<h4>{escape(tr.gettext('Experiences'))}</h4>")
            for text, name in chapter.stories:
                parts.append(
                    f"<blockquote><p>{escape(text)}</p>"
                    f"<footer>— {escape(name or tr.gettext('anonymous'))}</footer>"
                    "</blockquote>"
                )
    parts.append("</body></html>")
    return "\n".join(parts)


def pdf(tr: Translator, chapters: list[Chapter]) -> bytes:
    """The same document as a PDF, right to left in Arabic (bot.pdf)."""
    title = tr.gettext("Manual on fighting ethnic stigma and racism")
    document = Pdf(tr.language, title)
    document.heading(title)
    document.paragraph(tr.gettext("A draft written by the participants of the Bashkë network."))
    for number, chapter in enumerate(chapters, 1):
        document.heading(f"{number}. {chapter.title}", level=2)
        if not chapter.adopted and not chapter.stories:
            document.paragraph(tr.gettext("Nothing adopted in this chapter yet."))
        for result in chapter.adopted:
            document.heading(result.proposal.title, level=3)
            document.paragraph(result.proposal.text)
            document.paragraph(_result_line(tr, result))
        if chapter.stories:
            document.heading(tr.gettext("Experiences"), level=3)
            for text, name in chapter.stories:
                document.paragraph(f"{text}\n— {name or tr.gettext('anonymous')}")
    return document.output()
