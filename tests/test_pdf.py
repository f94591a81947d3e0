"""PDFs in every language: the text a reader (or a screen reader, or a search) takes out of the
file is the text put in, Arabic shaped and running right to left.

Two ways of reading a file back. ``text_of`` is pypdf's extraction: every word and number comes
out intact, but on an Arabic line with numbers pypdf may join the runs in another order ("2026
ديسمبر3") and it reverses Arabic-Indic digits; that is pypdf guessing the logical order. So
``lines_of`` also reads where each glyph is drawn and reads every line from right to left: that
proves the order in the file itself.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from babel.dates import format_date
from pypdf import PdfReader
from pypdf.generic import ContentStream

from bot import charts
from bot.i18n import Catalogs
from bot.pdf import FONTS, Pdf, is_rtl

DAY = datetime(2026, 12, 3, 18, 0)
# Runs written left to right inside a right-to-left line: numbers, and words in a script other
# than Arabic (Latin, Cyrillic) with the spaces between them.
_ARABIC = "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_LETTER = f"(?:(?![{_ARABIC}])[^\\W\\d_])"
LEFT_TO_RIGHT_RUN = re.compile(f"[0-9٠-٩]+|{_LETTER}+(?: {_LETTER}+)*")


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _glyph_map(font: Any) -> dict[int, str]:
    """Glyph id -> the text it stands for, from the font's ToUnicode map."""
    cmap = font["/ToUnicode"].get_data().decode("latin-1")
    return {
        int(glyph, 16): bytes.fromhex(text).decode("utf-16-be")
        for glyph, text in re.findall(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", cmap)
    }


def glyphs_of(data: bytes) -> list[tuple[float, float, str]]:
    """(x, y, text) of every glyph drawn on the first page (fpdf2 places them one by one)."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    resources: Any = page["/Resources"]
    fonts = {name: _glyph_map(font) for name, font in resources["/Font"].items()}
    glyphs: list[tuple[float, float, str]] = []
    font: dict[int, str] = {}
    x = y = 0.0
    for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
        if operator == b"Tf":
            font = fonts[operands[0]]
        elif operator in (b"Td", b"Tm"):
            x, y = float(operands[-2]), float(operands[-1])
        elif operator == b"Tj":
            raw = operands[0].original_bytes
            glyphs.append(
                (
                    x,
                    y,
                    "".join(font[int.from_bytes(raw[i : i + 2])] for i in range(0, len(raw), 2)),
                )
            )
    return glyphs


def lines_of(data: bytes) -> list[str]:
    """Each line read from its right end to its left, left-to-right runs turned back: for a
    right-to-left line laid out correctly this is the logical text."""
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for x, y, text in glyphs_of(data):
        rows[round(y, 1)].append((x, text))
    lines = []
    for y in sorted(rows, reverse=True):
        read = "".join(text for _, text in sorted(rows[y], reverse=True))
        lines.append(LEFT_TO_RIGHT_RUN.sub(lambda m: m.group()[::-1], read).strip())
    return lines


@pytest.mark.parametrize(
    ("language", "title", "words"),
    [
        ("uk", "Сертифікат", ["Олена відвідала", "Спільна вечеря, Барі", "3 грудня 2026 р."]),
        ("sq", "Vërtetim", ["Drita mori pjesë në", "Darka e fqinjëve, Shkodër", "3 dhjetor 2026"]),
        ("it", "Attestato", ["Marco ha partecipato", "Cena condivisa, Bari", "3 dicembre 2026"]),
    ],
)
def test_the_text_comes_out_as_it_went_in(language: str, title: str, words: list[str]) -> None:
    document = Pdf(language, title)
    document.heading(title)
    document.paragraph(" ".join(words))
    document.table(["#", title], [["1", words[0]], ["2", words[1]]])
    data = document.output()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.title == title
    extracted = text_of(data)
    for word in [title, *words]:
        assert word in extracted, (word, extracted)


def test_arabic_phrases_and_numbers_come_out_intact_and_in_order() -> None:
    """A certificate's sentences in Arabic with a Latin name and Babel's date (Latin digits):
    pypdf gets every phrase and number out whole, and the lines read right to left are the
    sentences as written, numbers and the Latin name in their place."""
    day = format_date(DAY, "long", locale="ar")
    assert day == "3 ديسمبر 2026"  # Babel writes Arabic dates with Latin digits
    sentences = [
        "نشهد أن Layla Haddad حضرت هذه الفعاليات",
        f"عشاء الجيران في باري يوم {day} مع 12 مشاركا",
        "لقاء الشبكة ٢٠٢٦ في ٣ مدن",  # Arabic-Indic digits, and the lam-alef ligature
    ]
    document = Pdf("ar", "شهادة حضور")
    document.heading("شهادة حضور")
    for sentence in sentences:
        document.paragraph(sentence)
    data = document.output()

    extracted = text_of(data)
    phrases = ["شهادة حضور", "نشهد أن", "Layla Haddad", "حضرت هذه الفعاليات", "عشاء الجيران"]
    phrases += ["في باري يوم", "ديسمبر", "مشاركا", "لقاء الشبكة", "مدن"]
    for phrase in [*phrases, "3", "2026", "12"]:
        assert phrase in extracted, (phrase, extracted)

    assert lines_of(data) == ["شهادة حضور", *sentences]


def test_long_arabic_paragraphs_wrap_without_error() -> None:
    """Long lines with Arabic-Indic and Latin digits, one paragraph after another (the cursor
    left at the right margin once made the next one fail), a table cell and a newline."""
    sentence = "شارك في عشاء الجيران يوم ٣ ديسمبر ٢٠٢٦ في باري مع 12345 مشاركا. "
    document = Pdf("ar", "تقرير")
    for _ in range(3):
        document.paragraph(sentence * 8)
    document.paragraph("سطر أول\nسطر ثان")
    document.table(["الفعالية", "التاريخ"], [[sentence * 3, "3 ديسمبر 2026"], ["x" * 2000, "٣"]])
    extracted = text_of(document.output())
    for phrase in ["شارك في عشاء الجيران يوم", "ديسمبر", "12345", "سطر أول", "سطر ثان"]:
        assert phrase in extracted


def test_arabic_is_set_from_the_right() -> None:
    """Right to left: the line starts far right (an English one starts at the left margin)."""
    starts: dict[str, float] = {}
    for language, text in (("ar", "السلام عليكم"), ("en", "Peace be with you")):
        document = Pdf(language, "Greeting")
        document.paragraph(text)
        xs = [x for x, _, glyph in glyphs_of(document.output()) if glyph.strip()]
        starts[language] = max(xs) if language == "ar" else min(xs)
        assert text in text_of(document.output())
    width = 595  # A4, in points
    assert starts["ar"] > width * 0.8 and starts["en"] < width * 0.2


def test_an_arabic_title_in_an_italian_table_reads_right_to_left() -> None:
    document = Pdf("it", "Attestato")
    document.paragraph("عشاء الجيران يوم 3 ديسمبر")
    document.paragraph("Cena condivisa, 3 dicembre 2026")
    assert lines_of(document.output())[0] == "عشاء الجيران يوم 3 ديسمبر"
    assert is_rtl("ar") and not is_rtl("it") and not is_rtl("xx")


def test_a_chart_goes_in_as_an_image() -> None:
    tr = Catalogs().translator("en")
    png = charts.stacked_bars(tr, "Participants", ["Bari", "Shkodër"], [("all", [3, 4])])
    document = Pdf("en", "Figures")
    document.image(png)
    page = PdfReader(io.BytesIO(document.output())).pages[0]
    assert len(page.images) == 1


def test_the_fonts_and_their_licence_are_shipped() -> None:
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE_DEJAVU"):
        assert (FONTS / name).is_file()
