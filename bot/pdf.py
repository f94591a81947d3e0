"""PDF documents (certificates, the manual, the funder's report) in every language.

fpdf2 lays the pages out; HarfBuzz (uharfbuzz) shapes the text, so Arabic letters join as they
should, and fpdf2's bidi algorithm sets right-to-left runs right to left. The font is DejaVu Sans
(bot/fonts, with its licence), which has Latin, Cyrillic and Arabic letters.

Directions. In a right-to-left language every paragraph and table cell is right to left, even one
that starts with a Latin name or a number: the Arabic runs, the numbers and any Latin words then
read in the right order. In the other languages each paragraph takes the direction of its first
letter (Unicode's rule), so an Arabic event title in an Italian table still reads right to left.
fpdf2 reorders only two levels, which is what these documents have; an Arabic phrase with a number
*inside a left-to-right sentence* is the one mix it sets in the wrong order.

Text extraction. The glyphs are placed in the right visual order (tests/test_pdf.py reads their
positions back). pypdf's ``extract_text`` gets Arabic words and numbers out intact, but with
numbers it may join the runs of a line in another order and it reverses Arabic-Indic digits:
that is the extractor guessing the logical order, not the file.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel import Locale, UnknownLocaleError
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

FONTS = Path(__file__).with_name("fonts")
FAMILY = "dejavu"
HEADING_SIZES = {1: 18, 2: 14, 3: 12}
TEXT_SIZE = 10.5
LINE_HEIGHT = 5.5
# A table row must fit on one page: a longer cell is cut (no cell of ours comes near it).
MAX_CELL = 600


def is_rtl(language: str) -> bool:
    """Whether the language is written right to left: Babel's notion, as Translator.is_rtl."""
    try:
        return bool(Locale.parse(language).character_order == "right-to-left")
    except (UnknownLocaleError, ValueError):
        return False


class Pdf:
    """One A4 document: headings, paragraphs, tables and chart images, in one language."""

    def __init__(self, language: str, title: str) -> None:
        self.language = language
        self.rtl = is_rtl(language)
        pdf = FPDF(format="A4")
        pdf.set_title(title)
        pdf.set_lang(language)
        pdf.set_creator("Bashkë")
        pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        # None: each paragraph's direction comes from its first strong letter.
        pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if self.rtl else None)
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.add_page()
        pdf.set_font(FAMILY, "", TEXT_SIZE)
        self._pdf = pdf
        self._align = Align.R if self.rtl else Align.L

    def heading(self, text: str, level: int = 1) -> None:
        size = HEADING_SIZES.get(level, TEXT_SIZE)
        pdf = self._pdf
        pdf.set_font(FAMILY, "B", size)
        if level > 1:
            pdf.ln(2)
        self._lines(text, height=size * 0.55)
        pdf.set_font(FAMILY, "", TEXT_SIZE)
        pdf.ln(1)

    def paragraph(self, text: str) -> None:
        self._pdf.set_font(FAMILY, "", TEXT_SIZE)
        self._lines(text, height=LINE_HEIGHT)
        self._pdf.ln(1.5)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        """A table with a bold header row; right to left, its first column is on the right."""
        pdf = self._pdf
        pdf.set_font(FAMILY, "", 9)
        with pdf.table(text_align=self._align, line_height=LINE_HEIGHT) as table:
            for cells in [header, *rows]:
                row = table.row()
                for cell in reversed(cells) if self.rtl else cells:
                    text = str(cell)
                    row.cell(text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…")
        pdf.set_font(FAMILY, "", TEXT_SIZE)
        pdf.ln(2)

    def image(self, png: bytes) -> None:
        """A chart, as wide as the text."""
        pdf = self._pdf
        pdf.image(io.BytesIO(png), x=pdf.l_margin, w=pdf.epw)
        pdf.ln(2)

    def output(self) -> bytes:
        return bytes(self._pdf.output())

    def _lines(self, text: str, height: float) -> None:
        # The cursor goes back to the left margin: left where multi_cell leaves it (the right
        # end), the next full-width cell would have no width at all ("Not enough horizontal
        # space to render a single character").
        self._pdf.multi_cell(
            0, height, text, align=self._align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
