"""The visit shares (跑动次数 against 一次不用跑 / 最多跑一次) equal the direct counts: trips
counted in plain Python from the VISIT events (distinct local days per application), grouped per
item, bundle, unit and hall, under every filter of the dashboard's tests."""

import io
from collections import defaultdict

import openpyxl
import pytest
import time_machine
from django.utils import timezone

from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from acceptance.selectors.drilldown import BROKE_VISIT_TARGET, cases_behind
from acceptance.selectors.visits import VISIT_DIMENSIONS, visits_by
from kuaiban.cases.models import CaseEvent, EventAction, ItemCase
from reports import exports
from tests.factories import UserFactory

from .conftest import END_OF_PERIOD as END
from .conftest import PERIOD, filter_cases, refreshed
from .direct import _day, matches

pytestmark = pytest.mark.django_db

ALLOWED = {"none": 0, "at_most_once": 1}


def _trips() -> dict[int, int]:
    days = defaultdict(set)
    for application_id, moment in CaseEvent.objects.filter(action=EventAction.VISIT).values_list(
        "application_id", "at"
    ):
        days[application_id].add(timezone.localtime(moment).date())
    return {pk: len(d) for pk, d in days.items()}


def _member(case: ItemCase, dimension: str):
    application = case.application
    return {
        "item": case.item_id,
        "unit": case.unit_id,
        "bundle": application.bundle_id,
        "hall": application.hall_id,
    }[dimension]


def direct_shares(dimension: str | None, filters: dict) -> dict:
    """{member: counts} (member None for the total) of the applications concluded in the period
    with a case that matches the filters, each counted once per member."""
    trips = _trips()
    start, end = PERIOD
    seen = set()
    result: dict = defaultdict(lambda: defaultdict(int))
    for case in ItemCase.objects.select_related(
        "application__bundle", "application__item", "application__hall"
    ):
        application = case.application
        day = _day(application.concluded_at)
        if not (day and start <= day <= end and matches(case, filters)):
            continue
        member = _member(case, dimension) if dimension else None
        if (member, application.pk) in seen:
            continue
        seen.add((member, application.pk))
        visits = trips.get(application.pk, 0)
        counts = result[member]
        counts["applications"] += 1
        counts["visits"] += visits
        counts["within_target"] += visits <= ALLOWED[application.visit_target]
        counts["no_visit_promised"] += application.visit_target == "none"
        counts["no_visit_kept"] += application.visit_target == "none" and visits == 0
    return result


def _as_dict(figures) -> dict:
    return {
        name: getattr(figures, name)
        for name in ("applications", "visits", "within_target", "no_visit_promised")
    } | {"no_visit_kept": figures.no_visit_kept}


def test_the_history_breaks_and_keeps_both_promises(history):
    totals = direct_shares(None, {})[None]
    assert totals["no_visit_promised"] > totals["no_visit_kept"] > 0  # jobless broke it
    at_most_once = totals["applications"] - totals["no_visit_promised"]
    kept_once = totals["within_target"] - totals["no_visit_kept"]
    assert at_most_once > kept_once > 0  # card-gl-2 came back the next day
    # The counter on the application is the rule applied to its events.
    trips = _trips()
    for name in ("card-gl-2", "jobless", "card-gl-1", "retire"):
        application = history.apps[name]
        assert application.visits == trips.get(application.pk, 0), name
    assert history.apps["card-gl-2"].visits == 2
    assert history.apps["jobless"].visit_target == "none" and history.apps["jobless"].visits == 1


def test_visit_shares_equal_direct_counts(history):
    refreshed(full=True)
    period = Period(*PERIOD)
    for name, filters in filter_cases():
        for dimension in VISIT_DIMENSIONS:
            total, rows = visits_by(dimension, filters, period)
            expected = direct_shares(dimension, filters)
            got = {(row.member.pk if row.member else None): _as_dict(row.figures) for row in rows}
            assert got == {m: dict(c) for m, c in expected.items()}, (name, dimension)
            direct_total = direct_shares(None, filters).get(None, {})
            assert _as_dict(total) == {k: direct_total.get(k, 0) for k in _as_dict(total)}, name
        board = dashboard(filters, period)
        assert board.visits.within_target == total.within_target, name
        assert board.visits.no_visit_kept == total.no_visit_kept, name


def test_the_broken_promises_drill_down_to_their_cases(history):
    refreshed(full=True)
    period = Period(*PERIOD)
    cases = cases_behind(BROKE_VISIT_TARGET, {}, period)
    references = {case.application.reference for case in cases}
    assert references == {history.apps["card-gl-2"].reference, history.apps["jobless"].reference}
    total, _rows = visits_by("hall", {}, period)
    assert total.broke_target == 2


def test_the_visits_page_shows_the_shares_per_group_and_links_the_broken_promises(client, history):
    refreshed(full=True)
    client.force_login(UserFactory(supervisor=True))
    query = "start=2026-11-02&end=2026-11-29"
    with time_machine.travel(END, tick=False):
        assert client.get(f"/supervision/visits/?{query}&by=window").status_code == 404
        for by in VISIT_DIMENSIONS:
            page = client.get(f"/supervision/visits/?{query}&by={by}").content.decode()
            total, rows = visits_by(by, {}, Period(*PERIOD))
            assert (
                f'data-testid="visit-totals" data-applications="{total.applications}" '
                f'data-within="{total.within_target}"'
            ) in page, by
            assert page.count("<tr data-member=") == len(rows), by
        page = client.get(f"/supervision/visits/?{query}&by=hall").content.decode()
        link = query.replace("&", "&amp;") + "&amp;figure=broke_visit_target"
        assert f"/supervision/cases/?{link}" in page
        listing = client.get(f"/supervision/cases/?{query}&figure=broke_visit_target")
        assert history.apps["jobless"].reference in listing.content.decode()
        board = client.get(f"/supervision/dashboard/?{query}").content.decode()
        assert 'data-testid="visit-target"' in board and "figure=broke_visit_target" in board


def test_the_kpi_workbook_carries_the_visit_promises(history):
    refreshed(full=True)
    board = dashboard({}, Period(*PERIOD))
    out = io.BytesIO()
    exports.write_kpi(out, board, about=[])
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["到场次数"]
    values = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    visits = board.visits
    assert values["跑动次数符合承诺的申请数"] == visits.within_target
    assert values["承诺一次不用跑的申请数"] == visits.no_visit_promised == 2
    assert values["其中未到场的申请数"] == visits.no_visit_kept == 1
    assert values["跑动次数超过承诺的申请数"] == visits.broke_target == 2
    assert values["一次不用跑兑现率"] == 0.5
