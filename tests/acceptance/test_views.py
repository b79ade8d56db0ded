"""The supervision pages: who may see them, the district scope, the drill-down and overdue lists,
and a constant number of SQL queries whatever the number of cases."""

import logging
import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acceptance.models import DASHBOARD_FIGURES
from acceptance.rollups import rollup_refresh
from acceptance.selectors.programme import programme_status
from bundles.services import handling, intake
from kuaiban.accounts.models import Role
from kuaiban.cases.models import ItemCase
from kuaiban.catalog.models import District
from speedup.selectors import speedup_goal
from speedup.services.sweep import deadlines_sweep
from tests.builders import single_item_submitted
from tests.factories import UserFactory

from .conftest import PERIOD, at, cache_cut
from .direct import direct_counts, direct_sets
from .svg import parse

pytestmark = pytest.mark.django_db
URLS = ("/supervision/", "/supervision/dashboard/", "/supervision/cases/?figure=received",
        "/supervision/overdue/")  # fmt: skip
END = at(2026, 11, 29, 22)
PERIOD_QUERY = f"start={PERIOD[0]:%Y-%m-%d}&end={PERIOD[1]:%Y-%m-%d}"


@pytest.fixture
def supervisor(db):
    return UserFactory(supervisor=True)


@pytest.fixture
def travel_to_end():
    with time_machine.travel(END, tick=False):
        yield


def refreshed():
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)


def svgs(html: str) -> list:
    return [parse(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


# -- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.ENTERPRISE, Role.CLERK])
def test_other_roles_get_404(client, role):
    client.force_login(UserFactory(role=role))
    for url in URLS:
        assert client.get(url).status_code == 404, url


def test_a_reviewer_gets_404(client, reviewer_of):
    client.force_login(reviewer_of("SBZX"))
    for url in URLS:
        assert client.get(url).status_code == 404, url


def test_anonymous_users_are_sent_to_log_in(client):
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMINISTRATOR])
def test_supervisors_and_administrators_see_every_page(client, role, travel_to_end):
    user = UserFactory(role=role)
    client.force_login(user)
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'data-testid="nav-supervision"' in response.content.decode()


def test_the_nav_link_is_for_supervisors_only(client):
    client.force_login(UserFactory(citizen=True))
    assert 'data-testid="nav-supervision"' not in client.get("/").content.decode()


# -- the dashboard page ----------------------------------------------------------------------


def test_the_dashboard_page_shows_every_figure_with_its_drill_down(
    client, supervisor, history, travel_to_end
):
    refreshed()
    client.force_login(supervisor)
    response = client.get(f"/supervision/dashboard/?{PERIOD_QUERY}")
    html = response.content.decode()
    expected = direct_counts({}, *PERIOD)
    shown = dict(re.findall(r'data-figure="(\w+)" data-value="(\d+)"', html))
    assert shown == {key: str(expected.get(key, 0)) for key in DASHBOARD_FIGURES}
    for key in DASHBOARD_FIGURES:
        assert f"figure={key}" in html
    assert 'data-testid="freshness"' in html and 'data-testid="follow-up-counts"' in html
    charts = svgs(html)
    assert len(charts) == 3  # the trend, the on-time rate and statutory mode per unit
    # Drill down from a figure: the page lists the same number of cases.
    for key in ("overdue", "completed_late", "statutory_mode", "paused", "refused"):
        page = client.get(f"/supervision/cases/?{PERIOD_QUERY}&figure={key}").content.decode()
        assert f'data-count="{expected[key]}"' in page, key
        assert len(re.findall('data-testid="case-row"', page)) == expected[key]


def test_the_drill_down_sorts_and_rejects_unknown_figures(client, supervisor, history):
    refreshed()
    client.force_login(supervisor)
    assert client.get("/supervision/cases/?figure=nonsense").status_code == 404
    assert client.get("/supervision/cases/").status_code == 404
    base = f"/supervision/cases/?{PERIOD_QUERY}&figure=received"
    ascending = client.get(base + "&sort=reference").context["page"].object_list
    descending = client.get(base + "&sort=-reference").context["page"].object_list
    references = [c.application.reference for c in ascending]
    assert references == sorted(references)
    assert [c.application.reference for c in descending] == sorted(references, reverse=True)
    fallback = client.get(base + "&sort=password").context
    assert fallback["sort"] == "-received"


def test_the_overdue_list_shows_unit_holder_lateness_and_explanation(
    client, supervisor, history, travel_to_end
):
    client.force_login(supervisor)
    response = client.get("/supervision/overdue/")
    rows = {row.case.pk: row for row in response.context["rows"]}
    breach, late_open = history.case("lic-breach"), history.case("lic-open")
    assert set(rows) == {breach.pk, late_open.pk}
    reviewer = history.reviewers["LDGX"]
    for case in (breach, late_open):
        row = rows[case.pk]
        assert row.case.reviewer == reviewer and row.case.unit.code == "LDGX"
        assert row.late == END - case.committed_due_at
    assert rows[breach.pk].breached and not rows[late_open.pk].breached
    assert rows[breach.pk].working_days_late > rows[late_open.pk].working_days_late > 0
    html = response.content.decode()
    assert f'data-holder="{reviewer.username}"' in html
    assert "听证" in breach.deadline_notes and breach.deadline_notes in html
    # Latest first.
    assert [r.case.pk for r in response.context["rows"]] == [breach.pk, late_open.pk]


# -- the district scope ----------------------------------------------------------------------


def test_a_district_supervisor_sees_only_their_district(client, history, travel_to_end):
    refreshed()
    guangling = District.objects.get(code="321002")
    hanjiang = District.objects.get(code="321003")
    client.force_login(UserFactory(supervisor=True, district=guangling))
    # Asking for another district, or for none, gives their own.
    for query in (f"&district={hanjiang.pk}", ""):
        board = client.get(f"/supervision/dashboard/?{PERIOD_QUERY}{query}").context["board"]
        assert board.filters["district"] == guangling.pk
        expected = direct_counts({"district": guangling.pk}, *PERIOD)
        assert board.values == {k: expected.get(k, 0) for k in DASHBOARD_FIGURES}
    listed = client.get(
        f"/supervision/cases/?{PERIOD_QUERY}&figure=received&district={hanjiang.pk}"
    ).context["page"]
    assert {c.pk for c in listed} == direct_sets({"district": guangling.pk}, *PERIOD)["received"]
    assert all(c.application.hall.district_id == guangling.pk for c in listed)
    overdue = client.get(f"/supervision/overdue/?district={hanjiang.pk}").context["rows"]
    assert [r.case.pk for r in overdue] == [history.case("lic-breach").pk]
    # The filter form offers only their district and its halls.
    form = client.get("/supervision/dashboard/").context["form"]
    assert [c[0] for c in form.fields["district"].choices] == [guangling.pk]
    halls = [c[0] for c in form.fields["hall"].choices if c[0] != ""]
    assert halls and all(
        h.district_id == guangling.pk for h in guangling.servicehall_set.filter(pk__in=halls)
    )
    assert len(halls) == guangling.servicehall_set.count()


def test_a_city_supervisor_may_filter_any_district(client, supervisor, history):
    refreshed()
    hanjiang = District.objects.get(code="321003")
    client.force_login(supervisor)
    board = client.get(f"/supervision/dashboard/?{PERIOD_QUERY}&district={hanjiang.pk}").context[
        "board"
    ]
    expected = direct_counts({"district": hanjiang.pk}, *PERIOD)
    assert board.values == {k: expected.get(k, 0) for k in DASHBOARD_FIGURES}


# -- the page cache --------------------------------------------------------------------------


def _freshness(html: str) -> str:
    return re.search(r'data-testid="freshness">(.*?)</p>', html, flags=re.S).group(1)


def test_the_dashboard_page_is_served_from_the_cache_the_second_time(
    client, supervisor, history, travel_to_end
):
    refreshed()
    client.force_login(supervisor)
    url = f"/supervision/dashboard/?{PERIOD_QUERY}"
    first, again = client.get(url), client.get(url)
    assert not first.context["board"].from_cache
    assert again.context["board"].from_cache
    assert again.context["board"].values == first.context["board"].values
    assert "muted" not in _freshness(first.content.decode())
    assert "muted" in _freshness(again.content.decode())  # "served from the cache (computed at)"


def test_with_the_cache_unreachable_the_pages_render_from_the_database(
    client, supervisor, history, travel_to_end, monkeypatch, caplog
):
    refreshed()
    client.force_login(supervisor)
    cache_cut(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="acceptance.page_cache"):
        dashboard = client.get(f"/supervision/dashboard/?{PERIOD_QUERY}")
        programme = client.get("/supervision/?year=2026")
    assert dashboard.status_code == programme.status_code == 200
    board = dashboard.context["board"]
    expected = direct_counts({}, *PERIOD)
    assert not board.from_cache
    assert board.values == {k: expected.get(k, 0) for k in DASHBOARD_FIGURES}
    assert programme.context["status"].bundles_in_service == 3
    assert any("cache unreachable" in r.getMessage() for r in caplog.records)


# -- the programme page ----------------------------------------------------------------------


def test_the_programme_page_shows_the_year_end_goals(client, supervisor, history):
    refreshed()
    status = programme_status(2026, today=date(2026, 11, 29))
    assert status.bundles_in_service == 3  # B10, B07 and B03 received applications
    assert len(status.bundles) == 10
    assert status.bundle_applications_concluded == 8  # six B10 and two B03
    start, end = status.start, status.end
    expected = direct_counts({}, start, end)
    assert status.instant_decided == expected["instant_decided"]
    assert status.instant_in_time == expected["instant_in_time"]
    assert 0 < status.instant_share < 1
    goal = speedup_goal(start=at(2026, 1, 1), end=at(2026, 11, 30))
    assert status.speedup.faster_count == goal.faster_count
    assert len(status.speedup.entries) == 23
    with time_machine.travel(END, tick=False):
        client.force_login(supervisor)
        html = client.get("/supervision/?year=2026").content.decode()
    assert 'data-testid="goal-bundles" data-value="3"' in html
    assert f'data-testid="goal-speedup" data-value="{goal.faster_count}"' in html
    assert len(svgs(html)) == 2


# -- constant queries ------------------------------------------------------------------------


def _licences(n, clerk, reviewer):
    """n licence cases accepted on 2026-10-12 (overdue by November), held by `reviewer`."""
    for _ in range(n):
        with time_machine.travel(at(2026, 10, 12, 10), tick=False):
            application = single_item_submitted("劳务派遣经营许可")
            intake.application_accept(application=application, actor=clerk)
            handling.case_start_review(case=application.cases.get(), actor=reviewer)


def _queries(client, url) -> int:
    with time_machine.travel(at(2026, 11, 20, 10), tick=False):
        deadlines_sweep()
        rollup_refresh(full=True)
        cache.clear()  # measure the dashboard computed, not served from the cache
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
    assert response.status_code == 200
    # The working calendar is loaded once per process and reloaded when another process bumps
    # its version in the shared cache (other test runs on the same Redis do): not per row.
    return sum(1 for q in context.captured_queries if "workdays_" not in q["sql"])


def test_every_list_page_runs_a_constant_number_of_queries(
    client, supervisor, clerk_of, reviewer_of, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    clerk, reviewer = clerk_of("LABOUR"), reviewer_of("LDGX")
    client.force_login(supervisor)
    period = "start=2026-10-01&end=2026-11-20"
    urls = (
        f"/supervision/dashboard/?{period}",
        f"/supervision/cases/?{period}&figure=accepted",
        f"/supervision/cases/?{period}&figure=overdue&sort=-due",
        "/supervision/overdue/",
    )
    _licences(1, clerk, reviewer)
    for url in urls:  # warm the per-process calendar and content types
        _queries(client, url)
    one = {url: _queries(client, url) for url in urls}
    _licences(49, clerk, reviewer)
    assert ItemCase.objects.count() == 50
    fifty = {url: _queries(client, url) for url in urls}
    assert fifty == one
    assert one[urls[0]] <= 20  # session, user, six filter lists, the dashboard's reads
    # Still on 2026-11-20: eleven days later the staff session would have ended (idle limit).
    with time_machine.travel(at(2026, 11, 20, 10, 5), tick=False):
        for figure in ("accepted", "overdue"):
            page = client.get(f"/supervision/cases/?{period}&figure={figure}").context["page"]
            assert page.paginator.count == 50


def test_dates_in_the_filter_form_are_validated(client, supervisor):
    client.force_login(supervisor)
    context = client.get("/supervision/dashboard/?start=2026-11-20&end=2026-11-01").context
    assert context["form"].non_field_errors()
    period = context["board"].period
    assert period.days == 28  # the default period instead
    context = client.get("/supervision/dashboard/?start=2026-11-01").context
    assert context["board"].period.end == date(2026, 11, 1) + timedelta(days=27)
