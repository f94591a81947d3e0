"""PDF documents (certificates, the manual, the funder's report) in every language.

fpdf2 lays the pages out; HarfBuzz (uharfbuzz) shapes the text, so Arabic letters join as they
should and right-to-left lines run right to left. The font is DejaVu Sans (bot/fonts, with its
licence), which has Latin, Cyrillic and Arabic letters.
"""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

FONTS = Path(__file__).with_name("fonts")
FAMILY = "dejavu"
RIGHT_TO_LEFT = frozenset({"ar"})
HEADING_SIZES = {1: 18, 2: 14, 3: 12}
TEXT_SIZE = 10.5


class Pdf:
    """One document: headings, paragraphs, tables and chart images, in one language."""

    def __init__(self, language: str, title: str) -> None:
        self.language = language
        self.rtl = language in RIGHT_TO_LEFT
        pdf = FPDF(format="A4")
        pdf.set_title(title)
        pdf.set_lang(language)
        pdf.set_creator("Bashkë")
        pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        # The direction of each paragraph comes from its first strong letter (Unicode's bidi
        # algorithm), so a Latin name inside Arabic text keeps its own order.
        pdf.set_text_shaping(use_shaping_engine=True)
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.add_page()
        self._pdf = pdf
        self._align = Align.R if self.rtl else Align.L

    def heading(self, text: str, level: int = 1) -> None:
        pdf = self._pdf
        pdf.set_font(FAMILY, "B", HEADING_SIZES.get(level, TEXT_SIZE))
        pdf.ln(2 if level > 1 else 0)
        self._lines(text, height=HEADING_SIZES.get(level, TEXT_SIZE) * 0.55)
        pdf.ln(1)

    def paragraph(self, text: str) -> None:
        self._pdf.set_font(FAMILY, "", TEXT_SIZE)
        self._lines(text, height=5.5)
        self._pdf.ln(1.5)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        """A table with a bold header row; right to left, its first column is on the right."""
        pdf = self._pdf
        pdf.set_font(FAMILY, "", 9)
        with pdf.table(text_align=self._align, line_height=5.5) as table:
            for cells in [header, *rows]:
                row = table.row()
                for cell in reversed(cells) if self.rtl else cells:
                    row.cell(str(cell))
        pdf.set_font(FAMILY, "", TEXT_SIZE)
        pdf.ln(2)

    def image(self, png: bytes) -> None:
        pdf = self._pdf
        pdf.image(io.BytesIO(png), w=pdf.epw)
        pdf.ln(2)

    def output(self) -> bytes:
        return bytes(self._pdf.output())

    def _lines(self, text: str, height: float) -> None:
        self._pdf.multi_cell(
            0, height, text, align=self._align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
