"""/report through the Bot API double: an Italian coordinator gets the PDF and the CSV files of
a period, watches one message count the steps, and nobody else waits meanwhile."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from pypdf import PdfReader

from bot.i18n import Catalogs
from handlers.reports import PROGRESS, STEPS
from tests.botapi import Call
from tests.flows.harness import running_bot, seen, sent_to
from tests.test_reports import NETWORK, seed

CATALOGS = Catalogs()
REPORT_TIMEOUT = 120.0  # a worker process starts, draws five charts and writes the PDF
STEM = "bashke-report-2025-01-01-2025-06-30"


def document_to(chat_id: int, suffix: str) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return (
            call.method == "sendDocument"
            and call.params.get("chat_id") == chat_id
            and any(f.filename.endswith(suffix) for f in call.files.values())
        )

    return matches


def file_of(call: Call) -> tuple[str, bytes]:
    (upload,) = call.files.values()
    return upload.filename, upload.data


async def test_an_italian_coordinator_gets_the_report(tmp_path: Path) -> None:
    it = CATALOGS.translator("it")
    en = CATALOGS.translator("en")
    async with running_bot(tmp_path) as bot:
        await bot.pause_delivery()
        await seed(bot.services)
        giulia = bot.person("Giulia", language_code="it", telegram_id=NETWORK)
        ana = bot.person("Ana", language_code="en")
        await giulia.onboard("it")
        await ana.onboard("en")

        # Bad input, answered in Italian; a participant is refused whatever they type.
        for line, message in (
            ("/report", "Usage: /report FROM TO"),
            ("/report 2025-06-01 2025-05-31", "The period starts after it ends"),
            ("/report 2022-01-01 2025-06-30", "A report covers at most"),
            ("/report ieri oggi", "is not a date"),
        ):
            await giulia.send(line)
            expected = next(m for m in _messages() if m.startswith(message) or message in m)
            pattern = re.escape(it.gettext(expected)).replace(r"\{text\}", ".*")
            pattern = re.sub(r"\\\{[a-z]+\\\}", ".*", pattern)
            assert re.fullmatch(pattern, seen(giulia.last_text)), (line, giulia.last_text)
        await ana.send("/report 2025-01-01 2025-06-30")
        assert ana.last_text == en.gettext(
            "Sorry, that is only for staff with the right role. Nothing was changed."
        )
        assert not [c for c in bot.double.calls if c.method == "sendDocument"]

        # The report, and Ana's /help while it is being made.
        start = len(bot.double.calls)
        bot.double.send_text(giulia.user, "/report 2025-01-01 2025-06-30")
        bot.pushed += 1
        await bot.double.wait_for(
            sent_to(giulia, it.gettext(PROGRESS).format(step=1, steps=STEPS)),
            timeout=10,
            start=start,
        )
        bot.double.send_text(ana.user, "/help")
        bot.pushed += 1
        await bot.double.wait_for(
            sent_to(ana, en.gettext("Here is what you can do:")), timeout=10, start=start
        )
        assert not [c for c in bot.double.calls[start:] if c.method == "sendDocument"], (
            "/help waited for the report"
        )
        pdf_call = await bot.double.wait_for(
            document_to(giulia.telegram_id, ".pdf"),
            timeout=REPORT_TIMEOUT,
            start=start,
        )
        zip_call = await bot.double.wait_for(
            document_to(giulia.telegram_id, ".zip"),
            timeout=REPORT_TIMEOUT,
            start=start,
        )
        await bot.settle()

        # One progress message, edited at each step, then "ready".
        first = next(c for c in bot.double.calls[start:] if sent_to(giulia, "")(c))
        message_id = first.result["message_id"]
        edits = [
            str(c.params["text"])
            for c in bot.double.calls[start:]
            if c.method == "editMessageText" and c.params.get("message_id") == message_id
        ]
        assert edits == [
            *(it.gettext(PROGRESS).format(step=s, steps=STEPS) for s in range(2, STEPS + 1)),
            it.gettext("The report is ready."),
        ]

        # The PDF: in Italian, with the period's figures.
        name, pdf = file_of(pdf_call)
        assert name == f"{STEM}.pdf" and pdf.startswith(b"%PDF")
        text = " ".join(
            " ".join((page.extract_text() or "").split())
            for page in PdfReader(io.BytesIO(pdf)).pages
        )
        assert it.gettext("Bashkë: report for the funder") in text
        assert "1 gennaio 2025" in text and "30 giugno 2025" in text
        for label, figure in (
            ("Events held", 4),
            ("Local events", 2),
            ("International events", 2),
            ("Participants at the end of the period", 9),
            ("Joined during the period", 6),
            ("Registered for the events held", 7),
            ("Present at the events held", 5),
            ("Stories collected", 4),
            ("Stories published", 2),
            ("Proposals submitted", 3),
            ("Ballots cast", 13),
            ("Proposals adopted", 1),
        ):
            assert f"{it.gettext(label)} {figure}" in text, label
        for title in ("Dinner", "Summit", "Online", "New Year", "Spring vote"):
            assert title in text
        assert "Autumn vote" not in text and "Called off" not in text

        # The CSV files: one per section, rows as the service counted them.
        name, zipped = file_of(zip_call)
        assert name == f"{STEM}-csv.zip"
        archive = zipfile.ZipFile(io.BytesIO(zipped))
        rows = {
            n.removeprefix(f"{STEM}-").removesuffix(".csv"): list(
                csv.reader(io.StringIO(archive.read(n).decode("utf-8-sig")))
            )
            for n in archive.namelist()
        }
        assert sorted(rows) == sorted(
            ["events-held", "participants", "attendance-by-town", "stories", "votes"]
        )
        assert rows["events-held"][1:] == [
            ["New Year", it.gettext("local"), "Bari", "2025-01-01", "0", "0"],
            ["Dinner", it.gettext("local"), "Shkodër", "2025-02-15", "4", "3"],
            ["Summit", it.gettext("international"), "Bari", "2025-05-10", "2", "1"],
            ["Online", it.gettext("international"), "", "2025-06-30", "1", "1"],
        ]
        assert rows["attendance-by-town"][1:] == [
            ["Bari", "2", "1", "50%"],
            ["Shkodër", "5", "4", "80%"],
        ]
        other = it.gettext("Another town / none of these")
        assert rows["participants"][1:] == [
            [other, "0", "1", "0", "0", "1", "1"],
            ["Bari", "2", "0", "0", "1", "3", "3"],
            ["Shkodër", "3", "2", "0", "0", "5", "2"],
        ]
        assert rows["stories"][1:] == [
            ["2025-01", "0", "0"],
            ["2025-02", "1", "1"],
            ["2025-03", "1", "0"],
            ["2025-04", "1", "1"],
            ["2025-05", "0", "0"],
            ["2025-06", "1", "0"],
        ]
        assert rows["votes"][1:] == [["Spring vote", "2025-05-01", "2", "13", "1"]]


def _messages() -> list[str]:
    from bot import reports

    return [
        reports.USAGE,
        "The period starts after it ends: {first} is later than {last}.",
        "A report covers at most {years} years. Please choose a shorter period.",
        "“{text}” is not a date. Write it as YYYY-MM-DD, for example 2026-03-31.",
    ]
