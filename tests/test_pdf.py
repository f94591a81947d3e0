"""PDFs in every language: the text a reader (or a screen reader, or a search) takes out of the
file is the text put in, Arabic shaped and running right to left."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from bot import charts
from bot.i18n import Catalogs
from bot.pdf import Pdf


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize(
    ("language", "title", "words"),
    [
        ("ar", "شهادة حضور", ["نشهد أن ليلى حضرت", "عشاء الجيران، باري،", "ديسمبر", "2026", "3"]),
        ("uk", "Сертифікат", ["Олена відвідала", "Спільна вечеря, Барі", "3 грудня 2026 р."]),
        ("sq", "Vërtetim", ["Drita mori pjesë në", "Darka e fqinjëve, Shkodër", "3 dhjetor 2026"]),
        ("it", "Attestato", ["Marco ha partecipato", "Cena condivisa, Bari", "3 dicembre 2026"]),
    ],
)
def test_the_text_comes_out_as_it_went_in(language: str, title: str, words: list[str]) -> None:
    document = Pdf(language, title)
    document.heading(title)
    sentence = " ".join(words)
    document.paragraph(sentence)
    document.table(["#", title], [["1", words[0]], ["2", words[1]]])
    data = document.output()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.title == title
    extracted = text_of(data)
    for word in [title, *words]:
        assert word in extracted, (word, extracted)


def test_arabic_is_set_from_the_right() -> None:
    """Right to left: the line starts far right (an English one starts at the left margin),
    and what comes out is the logical text, its letters joined as written."""
    starts: dict[str, float] = {}
    for language, text in (("ar", "السلام عليكم"), ("en", "Peace be with you")):
        document = Pdf(language, "Greeting")
        document.paragraph(text)
        page = PdfReader(io.BytesIO(document.output())).pages[0]

        def visit(
            found: str, cm: object, tm: list[float], *_: object, language: str = language
        ) -> None:
            if found.strip() and language not in starts:
                starts[language] = tm[4]

        assert text in page.extract_text(visitor_text=visit)
    width = 595  # A4, in points
    assert starts["ar"] > width / 2 > starts["en"]


def test_a_chart_goes_in_as_an_image() -> None:
    tr = Catalogs().translator("en")
    png = charts.stacked_bars(tr, "Participants", ["Bari", "Shkodër"], [("all", [3, 4])])
    document = Pdf("en", "Figures")
    document.image(png)
    page = PdfReader(io.BytesIO(document.output())).pages[0]
    assert len(page.images) == 1
