"""The attitude pulse without Telegram: who writes the survey, once per event, before and
after, small groups withheld, erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import InvalidInput, NotAllowed
from bot.events import EventDraft, Scope
from bot.pulse import PulseGone, PulseResults
from bot.services import Services
from tests.conftest import ADMIN_ID

NETWORK, TOWN = 801, 802


def statement(words: str) -> str:
    return "\n".join(f"{code}: {words} ({code})" for code in ("sq", "en", "it", "ar", "uk"))


async def live_survey(services: Services, count: int = 3) -> int:
    await services.staff.grant(ADMIN_ID, NETWORK, "coordinator")
    now = services.clock()
    for n in range(count):
        await services.pulse.add_statement(NETWORK, statement(f"Statement {n + 1}"), now)
    return (await services.pulse.publish(NETWORK, now)).id


async def people(
    services: Services, residents: int, newcomers: int, town: str = "bari"
) -> list[int]:
    town_id = (await services.towns.by_slug(town)).id
    found: list[int] = []
    for i in range(residents + newcomers):
        person = 9000 + len(found) + (0 if town == "bari" else 500)
        await services.people.give_consent(person, "en")
        await services.people.set_town(person, town_id)
        await services.people.set_self_description(
            person, "resident" if i < residents else "newcomer"
        )
        found.append(person)
    return found


async def answer_all(
    services: Services, person: int, survey: int, event: int | None, value: int
) -> None:
    now = services.clock()
    question = await services.pulse.begin(person, survey, event, now, "en")
    while question is not None:
        question = await services.pulse.answer(
            person, question.ask_id, question.position, value, now, "en"
        )


async def attended_event(services: Services, attendees: list[int]) -> int:
    bari = (await services.towns.by_slug("bari")).id
    start = services.clock() + timedelta(hours=1)
    event = await services.events.create(
        NETWORK,
        EventDraft(
            Scope.LOCAL,
            bari,
            "Supper",
            "",
            "Piazza",
            "Europe/Rome",
            start,
            start + timedelta(hours=2),
        ),
    )
    for person in attendees:
        await services.events.check_in(person, event.id, event.checkin_code, "Someone")
    return event.id


async def test_only_network_coordinators_write_it_and_badly_written_ones_are_refused(
    services: Services,
) -> None:
    await services.staff.grant(ADMIN_ID, NETWORK, "coordinator")
    await services.staff.grant(ADMIN_ID, TOWN, "coordinator", "bari")
    await services.people.give_consent(9999, "en")
    now = services.clock()
    for actor in (9999, TOWN):
        with pytest.raises(NotAllowed):
            await services.pulse.add_statement(actor, statement("Mine"), now)
    missing_arabic = "\n".join(f"{c}: x" for c in ("sq", "en", "it", "uk"))
    with pytest.raises(InvalidInput) as refused:
        await services.pulse.add_statement(NETWORK, missing_arabic, now)
    assert refused.value.params == {"languages": "ar"}
    for bad in (missing_arabic, statement("y" * 200), statement("ok") + "\nen: twice", "hello"):
        with pytest.raises(InvalidInput):
            await services.pulse.add_statement(NETWORK, bad, now)
    await services.pulse.add_statement(NETWORK, statement("One"), now)
    await services.pulse.add_statement(NETWORK, statement("Two"), now)
    with pytest.raises(InvalidInput):  # three at least
        await services.pulse.publish(NETWORK, now)
    for n in range(4):
        await services.pulse.add_statement(NETWORK, statement(f"More {n}"), now)
    with pytest.raises(InvalidInput):  # six at most
        await services.pulse.add_statement(NETWORK, statement("Seventh"), now)
    assert await services.pulse.live() is None
    first = await services.pulse.publish(NETWORK, now)
    assert first.status == "live" and len(first.statements) == 6
    assert first.text(1, "ar") == "One (ar)"
    # A new version retires the old one; the old one's offers stop.
    await services.pulse.add_statement(NETWORK, statement("New"), now)
    assert (await services.pulse.live()) == first
    for n in range(2):
        await services.pulse.add_statement(NETWORK, statement(f"New {n}"), now)
    second = await services.pulse.publish(NETWORK, now)
    assert (await services.pulse.live()) == second and second.id != first.id
    await services.people.give_consent(9998, "en")
    with pytest.raises(PulseGone):
        await services.pulse.begin(9998, first.id, None, now, "en")


async def test_asked_once_after_each_attended_event(services: Services) -> None:
    survey = await live_survey(services)
    attendees = await people(services, 3, 0)
    await services.people.give_consent(9100, "en")  # registered nowhere: never asked
    event = await attended_event(services, attendees)
    assert await services.pulse.due(services.clock()) == 0  # not over yet
    services.clock.advance(hours=4, minutes=30)  # ended 1.5 h ago
    assert await services.pulse.due(services.clock()) == 3
    assert await services.pulse.due(services.clock()) == 0
    offers = await services.db.fetchall(
        "SELECT chat_id, params FROM outbox WHERE kind = 'pulse_offer' ORDER BY chat_id"
    )
    assert [row[0] for row in offers] == attendees
    # Someone answers; a restart's due pass (same rows) asks nobody again.
    await answer_all(services, attendees[0], survey, event, 4)
    assert await services.pulse.due(services.clock()) == 0
    assert not await services.pulse.still_offered(attendees[0], survey, event)
    assert await services.pulse.still_offered(attendees[1], survey, event)
    # Someone not checked in there cannot answer as if they had been.
    with pytest.raises(PulseGone):
        await services.pulse.begin(9100, survey, event, services.clock(), "en")
    # What was offered is written down with the pulse, not only in the outbox: even with the
    # outbox emptied, a restart's pass offers nothing twice.
    await services.db.execute("DELETE FROM outbox")
    assert await services.pulse.due(services.clock()) == 0
    # A new version of the survey is offered about the same event once more.
    for n in range(3):
        await services.pulse.add_statement(NETWORK, statement(f"Again {n}"), services.clock())
    await services.pulse.publish(NETWORK, services.clock())
    assert not await services.pulse.still_offered(attendees[1], survey, event)
    assert await services.pulse.due(services.clock()) == 3
    # A week later, old events are left alone.
    services.clock.advance(days=8)
    for n in range(3):
        await services.pulse.add_statement(NETWORK, statement(f"Late {n}"), services.clock())
    await services.pulse.publish(NETWORK, services.clock())
    assert await services.pulse.due(services.clock()) == 0


async def test_someone_who_blocked_the_bot_or_left_is_not_offered_it(services: Services) -> None:
    await live_survey(services)
    attendees = await people(services, 3, 0)
    await attended_event(services, attendees)
    await services.outbox.mark_blocked(attendees[0])
    await services.erase_person(attendees[1])
    services.clock.advance(hours=4, minutes=30)
    assert await services.pulse.due(services.clock()) == 1
    offers = await services.db.fetchall("SELECT chat_id FROM outbox WHERE kind = 'pulse_offer'")
    assert [row[0] for row in offers] == [attendees[2]]


def rows_of(
    results: PulseResults, position: int = 1
) -> dict[str, tuple[float | None, float | None]]:
    statement = results.statements[position - 1]
    return {
        row.group or row.kind: (
            None if row.before is None else round(row.before.mean, 2),
            None if row.after is None else round(row.after.mean, 2),
        )
        for row in statement.rows
    }


async def test_before_and_after_with_small_groups_withheld(services: Services) -> None:
    survey = await live_survey(services)
    residents = await people(services, 5, 1)
    for person in residents:
        await answer_all(services, person, survey, None, 2)
    event = await attended_event(services, residents)
    for person in residents:
        await answer_all(services, person, survey, event, 4)
    results = await services.pulse.results(NETWORK)
    assert results.statements[0].text("it") == "Statement 1 (it)"
    # 5 residents and 1 newcomer: residents alone would be everyone minus the newcomer.
    assert rows_of(results) == {
        "overall": (2.0, 4.0),
        "resident": (None, None),
        "newcomer": (None, None),
        "Bari": (2.0, 4.0),
    }
    assert results.statements[0].rows[0].change == pytest.approx(2.0)
    assert results.statements[0].rows[0].after.agree == 1.0  # type: ignore[union-attr]

    # Six newcomers more, one of whom prefers not to say afterwards: now both groups are
    # large enough on both sides.
    newcomers = await people(services, 0, 6, town="shkoder")
    for person in newcomers:
        await answer_all(services, person, survey, None, 1)
    second = await attended_event(services, newcomers)
    for person in newcomers:
        await answer_all(services, person, survey, second, 0 if person == newcomers[0] else 5)
    shown = rows_of(await services.pulse.results(NETWORK))
    assert shown == {
        "overall": (1.5, pytest.approx(4.45, abs=0.01)),
        "resident": (2.0, 4.0),
        "newcomer": (pytest.approx(1.14, abs=0.01), pytest.approx(4.83, abs=0.01)),
        "Bari": (2.0, 4.0),
        "Shkodër": (1.0, 5.0),
    }
    # A town coordinator sees their town only; a participant nothing.
    await services.staff.grant(ADMIN_ID, TOWN, "coordinator", "shkoder")
    town = rows_of(await services.pulse.results(TOWN))
    assert town == {"overall": (1.0, 5.0), "newcomer": (1.0, 5.0), "Shkodër": (1.0, 5.0)}
    with pytest.raises(NotAllowed):
        await services.pulse.results(residents[0])


async def test_answers_are_in_mydata_and_go_with_deleteme(services: Services) -> None:
    survey = await live_survey(services)
    (person,) = await people(services, 1, 0)
    await answer_all(services, person, survey, None, 3)
    data = await services.export_person(person)
    assert [
        (a["survey_version"], a["statement"], a["answer"], a["after_event"]) for a in data["pulse"]
    ] == [
        (survey, 1, 3, None),
        (survey, 2, 3, None),
        (survey, 3, 3, None),
    ]
    # After an event: its title says which.
    event = await attended_event(services, [person])
    await answer_all(services, person, survey, event, 0)
    data = await services.export_person(person)
    assert {(a["statement"], a["answer"], a["after_event"]) for a in data["pulse"][3:]} == {
        (1, None, "Supper"),
        (2, None, "Supper"),
        (3, None, "Supper"),
    }
    await services.erase_person(person)
    assert await services.db.fetchval("SELECT COUNT(*) FROM pulse_answers") == 0
    assert await services.db.fetchval("SELECT COUNT(*) FROM pulse_asks") == 0


async def test_the_funder_report_carries_the_pulse(services: Services) -> None:
    survey = await live_survey(services)
    attendees = await people(services, 6, 5)
    for person in attendees:
        await answer_all(services, person, survey, None, 2)
    event = await attended_event(services, attendees)
    for person in attendees:
        await answer_all(services, person, survey, event, 5)
    today = services.clock().date()
    period = services.reports.period([str(today - timedelta(days=1)), str(today)])
    tr = services.catalogs.translator("en")
    document = await services.reports.document(NETWORK, period, tr)
    (section,) = [s for s in document.sections if s.name == "attitude-pulse"]
    assert section.header == ["Statement", "Group", "Before", "After", "Change"]
    assert ["1", "Everyone", "2.0", "5.0", "+3.0"] in section.rows
    assert ["1", "Residents", "2.0", "5.0", "+3.0"] in section.rows
    assert [1, "Newcomers or migrants", "2.0", "5.0", "+3.0"] in section.csv_rows
    assert section.chart is not None and section.chart.series[1][1] == [100, 100, 100]


async def test_before_is_the_first_answer_and_a_period_counts_its_own_answers(
    services: Services,
) -> None:
    survey = await live_survey(services)
    joined = await people(services, 5, 0)  # skipped the offer when joining
    first = await attended_event(services, joined)
    for person in joined:
        await answer_all(services, person, survey, first, 2)
    results = await services.pulse.results(NETWORK)
    assert rows_of(results)["overall"] == (2.0, None)  # a first answer is a "before"

    services.clock.advance(days=30)
    middle = services.clock()
    second = await attended_event(services, joined)
    for person in joined:
        await answer_all(services, person, survey, second, 4)
    assert rows_of(await services.pulse.results(NETWORK))["overall"] == (2.0, 4.0)
    # Answers given in a period: the first answers came before it.
    later = await services.pulse.results(NETWORK, start=middle)
    assert rows_of(later)["overall"] == (None, 4.0)
    earlier = await services.pulse.results(NETWORK, end=middle)
    assert rows_of(earlier)["overall"] == (2.0, None)
    # A latest "prefer not to say" is no answer: four people are too few to show.
    services.clock.advance(days=1)
    third = await attended_event(services, joined[:1])
    await answer_all(services, joined[0], survey, third, 0)
    assert rows_of(await services.pulse.results(NETWORK))["overall"] == (2.0, None)


async def test_unsaid_and_no_town_count_in_the_rule_without_being_shown_by_name(
    services: Services,
) -> None:
    survey = await live_survey(services)
    residents = await people(services, 6, 0)
    for person in residents:
        await answer_all(services, person, survey, None, 3)
    # Two people who said nothing about themselves and chose no partner town.
    for person in (9990, 9991):
        await services.people.give_consent(person, "en")
        await answer_all(services, person, survey, None, 1)
    rows = rows_of(await services.pulse.results(NETWORK))
    # 8 in all: residents (6) would leave 2 by subtraction, so they are withheld too; so is
    # Bari (6 of 8) beside the 2 without a town.
    assert rows == {
        "overall": (2.5, None),
        "resident": (None, None),
        "unsaid": (None, None),
        "Bari": (None, None),
    }
