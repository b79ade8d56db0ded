"""The calendar table, its cache, coverage warnings and the health check."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.models import CalendarDay, OfficeHoursPeriod
from kuaiban.workdays.selectors import calendar_coverage, configured_years
from kuaiban.workdays.services import calendar_seed_years, package_years

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def test_every_year_the_package_covers_is_loaded():
    years = configured_years()
    assert years == list(package_years())
    assert CalendarDay.objects.get(date=date(2026, 10, 10)).kind == CalendarDay.Kind.MAKEUP
    assert CalendarDay.objects.get(date=date(2026, 10, 1)).kind == CalendarDay.Kind.HOLIDAY
    assert CalendarDay.objects.get(date=date(2026, 9, 25)).name == "Mid-autumn Festival"


def test_seeding_again_adds_nothing_and_keeps_an_administrators_closure():
    closure = CalendarDay.objects.get(date=date(2026, 12, 1))
    closure.kind, closure.name = CalendarDay.Kind.CLOSURE, "台风停工"
    closure.save()
    assert calendar_seed_years() == 0
    assert CalendarDay.objects.get(date=date(2026, 12, 1)).kind == CalendarDay.Kind.CLOSURE


def test_the_domain_example_from_the_database_calendar():
    due = calendar_from_db().add_working_days(datetime(2026, 9, 24, 10, tzinfo=SH), 10)
    assert due.at == datetime(2026, 10, 15, 17, 30, tzinfo=SH)
    assert not due.provisional


def test_an_admin_closure_changes_the_cached_calendar(
    admin_client, django_capture_on_commit_callbacks
):
    accepted = datetime(2026, 11, 30, 10, tzinfo=SH)  # Monday
    assert calendar_from_db().add_working_days(accepted, 1).at.date() == date(2026, 12, 1)
    day = CalendarDay.objects.get(date=date(2026, 12, 1))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/workdays/calendarday/{day.pk}/change/",
            {"date": "2026-12-01", "kind": "closure", "name": "台风停工"},
        )
    assert response.status_code == 302
    assert CalendarDay.objects.get(pk=day.pk).source == CalendarDay.Source.ADMIN
    assert calendar_from_db().add_working_days(accepted, 1).at.date() == date(2026, 12, 2)


def test_office_hours_come_from_the_table(admin_client, django_capture_on_commit_callbacks):
    period = OfficeHoursPeriod.objects.get(start__hour=13)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/workdays/officehoursperiod/{period.pk}/change/",
            {"start": "13:30", "end": "18:00"},
        )
    assert response.status_code == 302
    due = calendar_from_db().add_working_days(datetime(2026, 11, 20, 10, tzinfo=SH), 1)
    assert due.at == datetime(2026, 11, 23, 18, 0, tzinfo=SH)


def test_coverage_names_the_missing_year_within_90_days():
    coverage = calendar_coverage(today=date(2026, 11, 26))
    assert coverage.missing_years == (2027,)
    assert not coverage.ok
    assert calendar_coverage(today=date(2026, 6, 1)).ok


@time_machine.travel(datetime(2026, 11, 26, 10, tzinfo=SH))
def test_health_check_warns_that_2027_is_not_loaded(client):
    body = client.get("/health/").json()
    assert body["status"] == "warning"
    assert body["database"] == "ok"
    assert body["calendar"]["missing_years"] == [2027]


@time_machine.travel(datetime(2026, 11, 26, 10, tzinfo=SH))
def test_admin_pages_show_the_calendar_banner(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert 'id="calendar-warning"' in page
    assert "2027" in page


@time_machine.travel(datetime(2026, 6, 1, 10, tzinfo=SH))
def test_no_banner_when_the_next_90_days_are_loaded(admin_client):
    from django.core.cache import cache

    cache.clear()
    assert 'id="calendar-warning"' not in admin_client.get("/admin/").content.decode()
