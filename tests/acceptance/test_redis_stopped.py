"""Redis stopped for real: every supervision page still answers, computed from the database, and
says so; the applicant's and the staff's pages that read the calendar keep working.

A private `redis-server` (tests/conftest.py `private_redis`) serves the cache and the broker; the
pages are warmed into it, the server is killed, and every page is asked again by a supervisor who
logged in through the login form before the outage (sessions are in the database).
"""

import logging

import pytest
import time_machine
from django.core.cache import cache
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from acceptance.models import DASHBOARD_FIGURES
from acceptance.page_cache import dashboards_warm
from acceptance.rollups import rollup_refresh
from kuaiban import optional_cache
from kuaiban.accounts.models import Role
from reports.models import LeaderReport
from tests.factories import UserFactory

from .conftest import PERIOD, at
from .direct import direct_counts

pytestmark = pytest.mark.django_db
END = at(2026, 11, 29, 22)
PASSWORD = "pw-for-tests-2026"  # tests/factories.py
NOTICE = "cache unavailable"
QUERY = f"start={PERIOD[0]:%Y-%m-%d}&end={PERIOD[1]:%Y-%m-%d}"


def supervision_urls(report: LeaderReport) -> list[str]:
    """Every page a supervisor opens (kuaiban/urls.py: supervision/, speedup/, reports/)."""
    return [
        "/supervision/",
        "/supervision/?year=2026",
        f"/supervision/dashboard/?{QUERY}",
        "/supervision/dashboard/",
        f"/supervision/cases/?figure=received&{QUERY}",
        f"/supervision/cases/?figure=overdue&{QUERY}&sort=-due&page=1",
        "/supervision/overdue/",
        "/speedup/",
        "/speedup/?start=2026-11-02&end=2026-11-29",
        "/reports/exports/",
        f"/reports/exports/new/?kind=kpi&{QUERY}",
        f"/reports/exports/new/?kind=cases&figure=received&{QUERY}",
        "/reports/exports/new/?kind=overdue",
        f"/reports/leaders/?{QUERY}",
        f"/reports/leaders/{report.pk}/",
    ]


def logged_in_supervisor(client):
    supervisor = UserFactory(supervisor=True)
    response = client.post(
        "/accounts/login/", {"username": supervisor.username, "password": PASSWORD}
    )
    assert response.status_code == 302, "logged in through the form"
    # A form log-in, not the test client's: the second factor is typed too (tests/conftest.py).
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    code = f"{totp(device.bin_key):06d}"
    response = client.post("/accounts/two-factor/", {"code": code})
    assert (response.status_code, response.url) == (302, "/welcome/"), "passed the second factor"
    return supervisor


def test_with_redis_stopped_every_supervision_page_answers_200_and_says_so(
    client, history, private_redis, caplog
):
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
        supervisor = logged_in_supervisor(client)
        report = LeaderReport.objects.create(
            author=supervisor, period_start=PERIOD[0], period_end=PERIOD[1], filters={}
        )
        urls = supervision_urls(report)
        dashboards_warm()
        for url in urls:  # warm: every page once with Redis up
            response = client.get(url)
            assert response.status_code == 200, url
            assert NOTICE not in response.content.decode(), url
        assert cache.get("workdays:calendar:version") is not None  # the cache really was used

        private_redis.stop()
        with caplog.at_level(logging.WARNING, logger="kuaiban.optional_cache"):
            for url in urls:
                response = client.get(url)
                assert response.status_code == 200, url
                assert 'data-testid="cache-notice"' in response.content.decode(), url
            dashboard = client.get(f"/supervision/dashboard/?{QUERY}")
    # Computed from the database: the same figures as counted directly.
    board = dashboard.context["board"]
    expected = direct_counts({}, *PERIOD)
    assert not board.from_cache
    assert board.values == {k: expected.get(k, 0) for k in DASHBOARD_FIGURES}
    outage = [r for r in caplog.records if "cache unreachable" in r.getMessage()]
    assert len(outage) == 1  # logged once, not once per page


def test_the_notice_is_not_shown_while_redis_answers(client, history, private_redis):
    with time_machine.travel(END, tick=False):
        logged_in_supervisor(client)
        response = client.get(f"/supervision/dashboard/?{QUERY}")
    assert response.status_code == 200
    assert 'data-testid="cache-notice"' not in response.content.decode()
    assert not optional_cache.unavailable()


def test_with_redis_stopped_applicants_and_staff_pages_that_read_the_calendar_answer(
    client, history, private_redis, caplog
):
    """The status page and the desk show clocks (the calendar is kept in the cache); the
    admin's calendar banner reads its coverage from the cache."""
    application = history.apps["lic-open"]
    case = application.cases.get()
    reviewer = history.reviewer(case.unit.code)
    clerk = history.clerk("HALL-CITY")
    admin = UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    pages = [
        (application.applicant, f"/applications/{application.reference}/"),
        (application.applicant, "/applications/"),
        (reviewer, "/staff/cases/"),
        (reviewer, f"/staff/cases/{case.pk}/"),
        (clerk, "/staff/intake/"),
        (clerk, f"/staff/intake/{history.apps['waiting'].reference}/"),
        (admin, "/admin/"),
        (admin, "/admin/workdays/calendarday/"),
    ]
    with time_machine.travel(END, tick=False):
        for user, url in pages:
            client.force_login(user)
            assert client.get(url).status_code == 200, url
        private_redis.stop()
        with caplog.at_level(logging.WARNING, logger="kuaiban.optional_cache"):
            for user, url in pages:
                client.force_login(user)
                response = client.get(url)
                assert response.status_code == 200, url
                # The supervision notice is for supervision pages only.
                assert 'data-testid="cache-notice"' not in response.content.decode(), url
    assert any("cache unreachable" in r.getMessage() for r in caplog.records)  # really tried
