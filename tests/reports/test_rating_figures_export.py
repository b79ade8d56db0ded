"""The 好差评 figures in the reports: the KPI workbook's rates, counts and per-unit, per-item,
per-bundle, per-window, per-hall and per-district sheets, `satisfaction_by` for a filter, and the
leaders' report, all equal to the ratings and follow-ups counted directly (in Python, without the
rollup's query code)."""

import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acceptance.models import RATING_COUNTS
from acceptance.rating_figures import RATES
from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from acceptance.selectors.satisfaction import (
    DIMENSION_MODELS,
    Satisfaction,
    UnitSatisfaction,
    satisfaction_by,
)
from bundles.services import intake
from kuaiban.cases.models import CaseState, ItemCase
from kuaiban.catalog.models import ServiceHall, Unit
from kuaiban.ratings.models import Channel, FollowUp, FollowUpKind, FollowUpState, Rating
from kuaiban.ratings.services import rating_submit
from kuaiban.xlsx import PERCENT
from reports import exports
from reports.models import ExportStatus
from reports.selectors import leader_report, ratings_behind
from reports.services import export_request
from tests.builders import (
    accepted,
    approved,
    at,
    case_of,
    clerk_of,
    concluded,
    follow_ups_worked,
    reviewer_of,
    single_item_submitted,
    submitted,
)

pytestmark = pytest.mark.django_db
PERIOD = Period(date(2026, 11, 2), date(2026, 11, 29))
END = at(2026, 11, 29, 22)
GRADES = (5, 1, 4, 2, 3, 5, None)
WINDOWS = (
    "SOCIAL",
    "EMPLOY",
    "TALENT",
    "LABOUR",
    "BUNDLE",
)  # cycled over the concluded cases; None: left unrated


def concluded_at_hall(hall_code: str, when: datetime):
    """As `tests.builders.concluded`, accepted at a hall (its district then counts it)."""
    hall = ServiceHall.objects.get(code=hall_code)
    with time_machine.travel(when, tick=False):
        application = submitted("B10", answers={"BANK_OUTLET": True, "INSURED": True})
        intake.application_accept(
            application=application, actor=clerk_of("BUNDLE", hall=hall), conclude_instant=True
        )
    application.refresh_from_db()
    return application


def licence_concluded(hall_code: str, when: datetime):
    """A single-item application (no bundle), accepted at a hall and approved the next day."""
    hall = ServiceHall.objects.get(code=hall_code)
    with time_machine.travel(when - timedelta(minutes=30), tick=False):
        application = single_item_submitted("劳务派遣经营许可")
    with time_machine.travel(when, tick=False):
        accepted(application, clerk_of(*WINDOWS, hall=hall))
    case = case_of(application)
    with time_machine.travel(when + timedelta(days=1), tick=False):
        approved(case, reviewer_of(case.unit.code))
    application.refresh_from_db()
    return application


def rated_history() -> None:
    """Bundles concluded in two districts' halls, the city hall and with no hall, a licence;
    their cases rated (grades cycled, some left unrated; the licence very dissatisfied), two
    bundles rated badly as a whole;
    two bad reviews answered (one late), one rectification rated, one appeal upheld, one bad
    review left unanswered."""
    applications = [
        concluded_at_hall("HALL-321002", at(2026, 11, 3, 10)),
        concluded_at_hall("HALL-321003", at(2026, 11, 10, 10)),
        concluded_at_hall("HALL-CITY", at(2026, 11, 17, 10)),
        concluded(when=at(2026, 11, 18, 10)),
        licence_concluded("HALL-321003", at(2026, 11, 9, 10)),
        concluded_at_hall("HALL-321002", at(2026, 10, 20, 10)),  # before the period
    ]
    k = 0
    for application in applications:
        cases = application.cases.filter(state=CaseState.CONCLUDED).order_by("pk")
        for case in cases:
            grade = GRADES[k % len(GRADES)] if application.bundle_id else 1  # the licence
            k += 1
            if grade is None:
                continue
            rating_submit(
                application=application,
                item_case=case,
                grade=grade,
                channel=Channel.ONLINE,
                now=case.concluded_at + timedelta(hours=1),
            )
    for application in applications[:2]:
        rating_submit(
            application=application,
            grade=2,
            channel=Channel.ONLINE,
            now=application.concluded_at + timedelta(hours=2),
        )
    reviews = list(
        FollowUp.objects.filter(kind=FollowUpKind.BAD_REVIEW, opened_at__gte=at(2026, 11, 2))
        .select_related("unit")
        .order_by("pk")
    )
    assert len(reviews) >= 4
    follow_ups_worked(reviews)
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)


# -- direct counts -----------------------------------------------------------------------------


def _in_period(moment) -> bool:
    start, end = PERIOD.span
    return moment is not None and start <= moment < end


def _dims(application, item_case, unit_id) -> dict:
    subject = application.bundle or application.item
    hall = application.hall
    return {
        "unit": unit_id,
        "item": item_case.item_id if item_case else None,
        "bundle": application.bundle_id,
        "window": subject.window_id,
        "hall": application.hall_id,
        "district": hall.district_id if hall else None,
    }


def direct(dimension: str | None = None, filters: dict | None = None) -> dict:
    """member id (None for the total, or for no member) → every 好差评 count and "concluded",
    counted row by row."""
    filters = filters or {}
    found: dict = {}

    def add(dims: dict, name: str, n: int = 1) -> None:
        if any(dims[k] != v for k, v in filters.items()):
            return
        counts = found.setdefault(
            dims[dimension] if dimension else None, dict.fromkeys((*RATING_COUNTS, "concluded"), 0)
        )
        counts[name] += n

    for case in ItemCase.objects.select_related(
        "application__bundle", "application__item", "application__hall"
    ):
        if _in_period(case.concluded_at):
            add(_dims(case.application, case, case.unit_id), "concluded")
    ratings = Rating.objects.select_related(
        "item_case", "application__bundle", "application__item", "application__hall", "follow_up"
    )
    for rating in ratings:
        if hasattr(rating, "follow_up") and rating.follow_up.state == FollowUpState.APPEAL_UPHELD:
            continue
        if not _in_period((rating.item_case or rating.application).concluded_at):
            continue
        dims = _dims(
            rating.application, rating.item_case, getattr(rating.item_case, "unit_id", None)
        )
        prefix = "" if rating.item_case else "whole_"
        add(dims, f"{prefix}rated")
        add(dims, f"{prefix}satisfied" if rating.grade >= 3 else f"{prefix}bad")
    follow_ups = FollowUp.objects.select_related(
        "item_case", "application__bundle", "application__item", "application__hall"
    )
    for f in follow_ups:
        if not _in_period(f.opened_at):
            continue
        dims = _dims(f.application, f.item_case, f.unit_id)
        upheld = f.state == FollowUpState.APPEAL_UPHELD
        answered = f.state == FollowUpState.ANSWERED
        add(dims, "fu_opened")
        add(dims, f"fu_{f.kind}")
        add(dims, "fu_due", int(not upheld))
        add(dims, "fu_answered", int(answered))
        add(dims, "fu_answered_on_time", int(answered and f.answered_at <= f.answer_due_at))
        add(dims, "fu_escalated", int(f.escalated_at is not None))
        add(dims, "fu_rect_rated", int(f.rectification_grade is not None))
        add(dims, "fu_rect_satisfied", int((f.rectification_grade or 0) >= 3))
        add(dims, "fu_appealed", int(f.appealed_at is not None))
        add(dims, "fu_appeals_upheld", int(upheld))
    return {k: v for k, v in found.items() if any(v.values())}


def rate_of(counts: dict, key: str) -> tuple[int, int, float | None]:
    """(numerator, denominator, rate); the rate as a workbook reads it back (openpyxl writes 16
    significant digits)."""
    rate = next(r for r in RATES if r.key == key)
    numerator = sum(counts[n] for n in rate.numerators)
    denominator = sum(counts[n] for n in rate.denominators)
    value = numerator / denominator if denominator else None
    return numerator, denominator, value if value is None else pytest.approx(value, rel=1e-14)


def code_of(dimension: str, pk) -> str:
    return DIMENSION_MODELS[dimension].objects.get(pk=pk).code if pk is not None else ""


# The per-member columns after the code and the name (exports.RATING_GROUP_COLUMNS).
COUNT_COLUMNS = {0: "concluded", 1: "rated", 4: "bad", 6: "fu_due", 7: "fu_answered"}
COUNT_COLUMNS |= {11: "fu_appealed", 12: "fu_appeals_upheld"}
RATE_COLUMNS = {2: "rating_rate", 3: "satisfaction_rate", 5: "bad_rate", 8: "answered_rate"}
RATE_COLUMNS |= {9: "on_time_rate", 10: "rectification_rate"}


def expected_member_row(counts: dict) -> dict[int, object]:
    row: dict[int, object] = {i: counts[name] for i, name in COUNT_COLUMNS.items()}
    row |= {i: rate_of(counts, key)[2] for i, key in RATE_COLUMNS.items()}
    return row


def sheet_members(sheet) -> dict[str, dict[int, object]]:
    rows = list(sheet.iter_rows())[1:]
    members = {}
    for row in rows:
        for i in RATE_COLUMNS:
            cell = row[2 + i]
            assert cell.value is None or cell.number_format == PERCENT, sheet.title
        members[row[0].value or ""] = {i: row[2 + i].value for i in (*COUNT_COLUMNS, *RATE_COLUMNS)}
    return members


# -- the tests ---------------------------------------------------------------------------------


def test_the_kpi_workbook_has_the_rating_figures_of_the_ratings_and_follow_ups(
    supervisor, eager, django_capture_on_commit_callbacks
):
    rated_history()
    total = direct()[None]
    assert total["rated"] and total["whole_bad"] and total["fu_answered"] == 2
    assert total["fu_appeals_upheld"] == 1 and total["fu_rect_satisfied"] == 1
    assert total["rated"] < total["concluded"]  # some cases left unrated
    with django_capture_on_commit_callbacks(execute=True):
        job = export_request(user=supervisor, kind="kpi", filters={}, period=PERIOD)
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE, job.error
    book = openpyxl.load_workbook(Path(settings.MEDIA_ROOT) / job.file_path)

    rows = {r[0].value: r for r in list(book["好差评"].iter_rows())[1:]}
    for rate in RATES:
        row = rows[rate.key]
        assert (row[2].value, row[3].value, row[4].value) == rate_of(total, rate.key), rate.key
        assert row[4].number_format == PERCENT
        assert row[5].value == rate.goal
        if rate.goal is not None:
            assert row[5].number_format == PERCENT
            assert row[6].value == (exports.YES if row[4].value < rate.goal else exports.NO)
            assert rate.key != "answered_rate" or row[6].value == exports.YES
    for name in RATING_COUNTS:
        assert rows[name][2].value == total[name], name
        assert rows[name][7].value  # its definition
    # The figures are the dashboard's.
    board = dashboard({}, PERIOD)
    assert board.ratings.counts == {name: total[name] for name in RATING_COUNTS}
    assert board.ratings.concluded == total["concluded"]

    for dimension, title in (
        ("unit", "好差评-单位"),
        ("item", "好差评-事项"),
        ("bundle", "好差评-一件事"),
        ("window", "好差评-窗口"),
        ("hall", "好差评-服务大厅"),
        ("district", "好差评-县区"),
    ):
        expected = {
            code_of(dimension, pk): expected_member_row(counts)
            for pk, counts in direct(dimension).items()
            # the units' sheet is the dashboard's table: units only (a whole application's
            # rating has none, and is in the totals)
            if pk is not None or dimension != "unit"
        }
        assert len(expected) >= (1 if dimension == "bundle" else 2), dimension
        assert sheet_members(book[title]) == expected, dimension
    assert "" in sheet_members(book["好差评-一件事"])  # the licence: no bundle
    assert "" in sheet_members(book["好差评-服务大厅"])  # the card concluded with no hall


def test_satisfaction_by_a_dimension_equals_direct_counts_for_a_filter():
    rated_history()
    district = ServiceHall.objects.get(code="HALL-321003").district_id
    board = dashboard({}, PERIOD)
    for filters in (
        {},
        {"district": district},
        {"hall": ServiceHall.objects.get(code="HALL-321002").pk},
    ):
        for dimension in DIMENSION_MODELS:
            with CaptureQueriesContext(connection) as queries:
                groups = satisfaction_by(dimension, filters, PERIOD)
            assert len(queries) <= 3, (dimension, filters)  # whatever the number of members
            found = {
                (g.member.pk if g.member else None): {
                    **g.figures.counts,
                    "concluded": g.figures.concluded,
                }
                for g in groups
            }
            assert found == direct(dimension, filters), (dimension, filters)
            if not filters:
                assert sum(g.figures["rated"] for g in groups) == board.ratings["rated"]
    # Per unit, the dashboard's own table.
    units = {
        g.member.pk: g.figures for g in satisfaction_by("unit", {}, PERIOD) if g.member is not None
    }
    assert {u.unit.pk: u.figures for u in board.unit_ratings} == units


def rate_rows(html: str) -> dict[str, tuple[int, int]]:
    table = html.split('data-testid="rating-rates"', 1)[1].split("</table>", 1)[0]
    return {
        key: (int(n), int(d))
        for key, n, d in re.findall(
            r'data-rate="(\w+)" data-numerator="(\d+)" data-denominator="(\d+)"', table
        )
    }


def test_the_leader_report_shows_the_periods_rates_and_names_the_units_behind(client, supervisor):
    rated_history()
    total = direct()[None]
    query = f"start={PERIOD.start}&end={PERIOD.end}"
    client.force_login(supervisor)
    html = client.get(f"/reports/leaders/?{query}").content.decode()

    shown = rate_rows(html)
    assert set(shown) == {r.key for r in RATES}
    for rate in RATES:
        numerator, denominator, value = rate_of(total, rate.key)
        assert shown[rate.key] == (numerator, denominator), rate.key
        row = html.split(f'data-rate="{rate.key}"', 1)[1].split("</tr>", 1)[0]
        assert (f"{value.expected * 100:.1f}%" if value is not None else "—") in row, rate.key
    answered = rate_of(total, "answered_rate")
    assert answered[2] is not None and answered[2].expected < 1
    assert (
        f'data-problem="answered_rate" data-numerator="{answered[0]}" '
        f'data-denominator="{answered[1]}"'
    ) in html

    # The units below the answered-rate goal, and those with the highest bad-review rates.
    units = {pk: counts for pk, counts in direct("unit").items() if pk is not None}
    below = {pk for pk, c in units.items() if c["fu_due"] and c["fu_answered"] < c["fu_due"]}
    assert below
    worst = max(c["bad"] / c["rated"] for c in units.values() if c["bad"])
    highest = {pk for pk, c in units.items() if c["bad"] and c["bad"] / c["rated"] == worst}
    behind = html.split('data-testid="ratings-behind"', 1)[1].split("</table>", 1)[0]
    named = set(re.findall(r'data-unit="([\w-]+)"', behind))
    assert {code_of("unit", pk) for pk in below | highest} <= named
    data = leader_report({}, PERIOD)
    assert {r.row.unit.code for r in data.ratings_behind} == named
    with_bad = {code_of("unit", pk) for pk, c in units.items() if c["bad"]}
    assert len(with_bad) >= 2  # at most three named for their bad-review rate: all of them here
    assert {r.row.unit.code for r in data.ratings_behind if "bad_rate" in r.reasons} == with_bad

    # The workbook: the rates in 成效, the units in 问题.
    response = client.get(f"/reports/leaders/xlsx?{query}")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    outcomes = list(book["成效"].iter_rows())
    start = next(i for i, r in enumerate(outcomes) if r[0].value is None) + 2
    rates = {r[0].value: r for r in outcomes[start:]}
    for rate in RATES:
        row = rates[rate.key]
        assert (row[2].value, row[3].value, row[4].value) == rate_of(total, rate.key)
    problems = [r for r in book["问题"].iter_rows(values_only=True)]
    unit_names = {r.row.unit.name_zh for r in data.ratings_behind}
    assert unit_names <= {r[0] for r in problems}


def test_at_most_three_units_are_named_for_their_bad_review_rate_the_highest_first():
    def unit(pk: int, rated: int, bad: int, due: int = 0, answered: int = 0):
        counts = dict.fromkeys(RATING_COUNTS, 0)
        counts |= {"rated": rated, "bad": bad, "fu_due": due, "fu_answered": answered}
        return UnitSatisfaction(Unit(pk=pk, code=f"U{pk}"), Satisfaction(counts, rated))

    units = [
        unit(1, rated=10, bad=1),  # 10%
        unit(2, rated=4, bad=2),  # 50%
        unit(3, rated=10, bad=5),  # 50%, more bad reviews: first
        unit(4, rated=5, bad=1, due=1, answered=1),  # 20%
        unit(5, rated=8, bad=0, due=2, answered=1),  # no bad review; an answer missing
        unit(6, rated=3, bad=0, due=1, answered=1),  # nothing wrong
    ]
    behind = {r.row.unit.code: r.reasons for r in ratings_behind(units)}
    assert behind == {
        "U2": ["bad_rate"],
        "U3": ["bad_rate"],
        "U4": ["bad_rate"],
        "U5": ["answered"],
    }
