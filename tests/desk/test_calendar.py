"""The administrators' calendar pages (desk/views/calendar.py): the month view of a year and the
import of a year's schedule (upload → preview → confirm)."""

from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kuaiban.workdays import services
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.selectors import configured_years
from kuaiban.workdays.services import CalendarChange
from tests.builders import guide_administrator, reviewer_of
from tests.factories import UserFactory

Kind = CalendarDay.Kind
SAMPLE = Path(settings.KUAIBAN_FIXTURES_DIR) / "calendar_2027_sample.csv"
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    client.force_login(guide_administrator())
    return client


@pytest.fixture
def heard(monkeypatch):
    changes: list[CalendarChange] = []
    monkeypatch.setattr(services, "_subscribers", [changes.append])
    return changes


def cell(html: str, day: date) -> str:
    """The <td> of `day` in the page."""
    start = html.index(f'data-date="{day:%Y-%m-%d}"')
    return html[html.rindex("<td", 0, start) : html.index("</td>", start)]


def test_the_month_view_shows_a_holiday_and_a_make_up_day_with_their_admin_links(admin):
    """Rule CAL-VIEW-KINDS: each day coloured and labelled by kind, linked to its admin page."""
    holiday = CalendarDay.objects.get(date=date(2026, 10, 1))
    makeup = CalendarDay.objects.get(date=date(2026, 10, 10))
    response = admin.get("/staff/calendar/2026/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kind="holiday"' in cell(html, holiday.date) and holiday.name in cell(
        html, holiday.date
    )
    assert 'data-kind="makeup"' in cell(html, makeup.date)
    assert f"/admin/workdays/calendarday/{makeup.pk}/change/" in cell(html, makeup.date)
    assert 'data-kind="weekend"' in cell(html, date(2026, 11, 28))
    assert 'data-configured="yes"' in html
    assert 'href="/staff/calendar/2025/"' in html and 'href="/staff/calendar/2027/"' in html
    assert html.count('class="cal-month"') == 12
    assert "style=" not in html and "<script" not in html  # the CSP refuses inline code


def test_a_year_not_loaded_is_marked_day_by_day_and_not_configured(admin):
    """Rule CAL-VIEW-NOT-LOADED: days the table does not know are "not loaded" and link to adding
    them; the year is said not to be fully configured."""
    CalendarDay.objects.create(date=date(2027, 1, 1), kind=Kind.HOLIDAY, name="元旦")
    html = admin.get("/staff/calendar/2027/").content.decode()
    assert 'data-kind="holiday"' in cell(html, date(2027, 1, 1))
    assert 'data-kind="unknown"' in cell(html, date(2027, 1, 4))
    assert "/admin/workdays/calendarday/add/?date=2027-01-04" in cell(html, date(2027, 1, 4))
    assert 'data-configured="no"' in html


def test_the_month_view_costs_the_same_queries_whatever_the_year(admin):
    """Rule CAL-VIEW-QUERIES: one query for the year's days, whatever their number."""
    admin.get("/staff/calendar/2026/")  # the session and the user are warm
    counts = []
    for year in (2026, 2030):
        with CaptureQueriesContext(connection) as queries:
            assert admin.get(f"/staff/calendar/{year}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    "someone",
    [
        lambda: UserFactory(supervisor=True),
        lambda: reviewer_of("LDGX", head=True),
        lambda: UserFactory(citizen=True),
    ],
    ids=["supervisor", "unit_head", "citizen"],
)
def test_the_calendar_pages_do_not_exist_for_anyone_else(client, someone):
    """Rule CAL-ADMIN-ONLY: 404 (never 403) for everyone but administrators."""
    client.force_login(someone())
    for url in ("/staff/calendar/", "/staff/calendar/2026/", "/staff/calendar/import/"):
        assert client.get(url).status_code == 404
    assert client.post("/staff/calendar/import/", {"payload": "x"}).status_code == 404


def test_a_year_out_of_range_does_not_exist(admin):
    assert admin.get("/staff/calendar/1999/").status_code == 404


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_upload_preview_confirm_imports_the_year_and_announces_it(
    admin, heard, django_capture_on_commit_callbacks
):
    """Rule CAL-IMPORT-PREVIEW: nothing is written before the confirmation; the preview lists the
    special days, the confirmation imports the year and announces it."""
    response = admin.post(
        "/staff/calendar/import/", {"file": upload("2027.csv", SAMPLE.read_bytes())}
    )
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.year == 2027 and len(plan.added) == 365
    assert 'data-change="added" data-date="2027-01-01"' in response.content.decode()
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    confirm = response.context["confirm"].initial
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/staff/calendar/import/",
            {"payload": confirm["payload"], "replace_admin_edits": ""},
        )
    assert response.status_code == 302 and response.url == "/staff/calendar/2027/"
    assert 2027 in configured_years()
    assert CalendarDay.objects.get(date=date(2027, 1, 31)).kind == Kind.MAKEUP
    assert heard == [CalendarChange(years_loaded=frozenset({2027}), background=True)]


def test_a_bad_file_lists_every_bad_row_keeps_the_form_and_writes_nothing(admin, heard):
    """Rule CAL-IMPORT-ALL-OR-NOTHING: the errors named by line, the year and the tick kept."""
    bad = b"date,kind,name\n2027-01-01,holiday,x\n2027-02-30,holiday,x\n2027-03-01,makeup,x\n"
    response = admin.post(
        "/staff/calendar/import/",
        {"file": upload("2027.csv", bad), "year": "2027", "replace_admin_edits": "on"},
    )
    assert response.status_code == 200
    assert [e.line for e in response.context["errors"]] == [3, 4]
    html = response.content.decode()
    assert 'data-line="3"' in html and 'data-line="4"' in html
    assert 'value="2027"' in html and "checked" in html
    assert "plan" not in response.context
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    assert heard == []


def test_a_tampered_or_stale_preview_imports_nothing(admin, heard):
    response = admin.post("/staff/calendar/import/", {"payload": "forged"})
    assert response.status_code == 302 and response.url == "/staff/calendar/import/"
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_the_admins_calendar_list_links_to_the_month_view(admin_client):
    html = admin_client.get("/admin/workdays/calendarday/").content.decode()
    assert 'href="/staff/calendar/"' in html and 'href="/staff/calendar/import/"' in html
