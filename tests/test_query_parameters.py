"""Every date, number and key a page reads from its URL is validated: whatever is typed into the
address bar (out-of-range or impossible dates, words, huge or negative numbers, ids that do not
exist) gives the page with a clear message or a 4xx, never a 5xx.

Table-driven over every query parameter of every page that reads one (grep `request.GET`), as
the user allowed to see the page, plus hypothesis for free text in the date fields, plus the
record ids in paths (`<id:…>`) beyond any database integer.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kuaiban.accounts.models import Role
from reports.models import ExportJob, LeaderReport
from tests.builders import single_item_submitted
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=SH)

BAD_DATES = [
    "9999-12-31", "0001-01-01", "2026-02-30", "2026-13-01", "abc", "", "2026-1", "１２３",
    "2026-11-24T10:00", "-2026-01-01", "99999-01-01", "2026-11-24\x00", "1" * 500,
]  # fmt: skip
BAD_NUMBERS = [
    "abc", "", "-1", "0", "1.5", "1e9", "9" * 30, "-" + "9" * 30, "２", "0x10", "1" * 500,
    "99999999", "\x00",
]  # fmt: skip
BAD_WORDS = ["", "-", "--due", "abc", "<script>", "1" * 500, "\x00", "unknown"]

FILTERS = ("bundle", "item", "unit", "window", "hall", "district")
PERIOD = ("start", "end")

# Each page that reads the query string, with the user who may open it, and what it reads.
PAGES = [
    ("/supervision/dashboard/", Role.SUPERVISOR, {}, (*PERIOD, *FILTERS)),
    ("/supervision/cases/", Role.SUPERVISOR, {"figure": "received"},
     (*PERIOD, *FILTERS, "figure", "sort", "page")),
    ("/supervision/overdue/", Role.SUPERVISOR, {}, (*FILTERS, "sort", "page")),
    ("/supervision/reviews/", Role.SUPERVISOR, {"figure": "bad"},
     (*PERIOD, *FILTERS, "figure", "page")),
    ("/supervision/", Role.SUPERVISOR, {}, ("year",)),
    ("/speedup/", Role.SUPERVISOR, {}, PERIOD),
    ("/reports/exports/new/", Role.SUPERVISOR, {"kind": "cases", "figure": "received"},
     (*PERIOD, *FILTERS, "kind", "figure")),
    ("/reports/exports/new/", Role.SUPERVISOR, {"kind": "overdue"}, FILTERS),
    ("/reports/leaders/", Role.SUPERVISOR, {}, (*PERIOD, *FILTERS)),
    ("/reports/leaders/xlsx", Role.SUPERVISOR, {}, (*PERIOD, *FILTERS)),
    ("/verify/", Role.CITIZEN, {}, ("code",)),
]  # fmt: skip


def values_for(name: str) -> list[str]:
    if name in PERIOD:
        return BAD_DATES
    if name in (*FILTERS, "page", "year"):
        return BAD_NUMBERS
    return BAD_WORDS


def client_as(role: Role, **kwargs) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role=role, **kwargs))
    return client


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize(
    ("path", "role", "base", "names"), PAGES, ids=[f"{p[0]}{p[2]}" for p in PAGES]
)
def test_no_query_parameter_value_gives_a_server_error(path, role, base, names):
    client = client_as(role)
    failures = []
    for name in names:
        for value in values_for(name):
            response = client.get(path, {**base, name: value})
            if response.status_code >= 500:
                failures.append((name, value, response.status_code))
    assert failures == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.text(max_size=30), end=st.text(max_size=30))
def test_any_text_as_the_period_gives_the_page_or_a_4xx(start, end):
    client = Client(raise_request_exception=False)
    client.force_login(_supervisor())
    for path in ("/supervision/dashboard/", "/speedup/", "/reports/leaders/"):
        assert client.get(path, {"start": start, "end": end}).status_code < 500, path


def _supervisor():
    return UserFactory(role=Role.SUPERVISOR)


@pytest.mark.parametrize("path", ["/supervision/dashboard/", "/speedup/", "/reports/leaders/"])
@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"start": "9999-12-31"}, "start"),
        ({"end": "0001-01-01"}, "end"),
        ({"start": "2026-02-30", "end": "2026-03-05"}, "start"),
    ],
)
def test_an_impossible_date_shows_the_page_with_a_clear_message(path, query, names):
    client = client_as(Role.SUPERVISOR)
    response = client.get(path, query)
    assert response.status_code == 200
    form = response.context["filter_form" if path.startswith("/reports/") else "form"]
    assert names in form.errors
    error = form.errors.as_data()[names][0]
    impossible = query.get("start") == "2026-02-30"
    assert error.code == ("invalid" if impossible else "out_of_range")
    message = form.errors[names][0]
    if not impossible:
        assert "2000-01-01" in message and "2027-12-31" in message  # says which dates are allowed
    assert escape(message) in response.content.decode()  # shown on the page


def test_a_period_out_of_range_falls_back_to_the_default_period():
    client = client_as(Role.SUPERVISOR)
    response = client.get("/supervision/dashboard/", {"start": "9999-12-31"})
    board = response.context["board"]
    assert board.period.end == date(2026, 11, 24)


@pytest.mark.parametrize(
    "path",
    [
        "/reports/exports/{}/",
        "/reports/exports/{}/status.json",
        "/reports/exports/{}/download",
        "/reports/leaders/{}/",
        "/reports/leaders/{}/xlsx",
    ],
)
@pytest.mark.parametrize("pk", ["0", "99999999", "9223372036854775808", "9" * 40])
def test_record_ids_in_the_path_that_do_not_exist_give_404(path, pk):
    client = client_as(Role.SUPERVISOR)
    assert client.get(path.format(pk)).status_code == 404


@pytest.mark.parametrize("pk", ["99999999", "9223372036854775808", "9" * 40])
def test_staff_and_applicant_ids_in_the_path_that_do_not_exist_give_404(pk, reviewer_of):
    reviewer = Client(raise_request_exception=False)
    reviewer.force_login(reviewer_of("LDGX"))
    assert reviewer.get(f"/staff/cases/{pk}/").status_code == 404
    assert reviewer.post(f"/staff/cases/{pk}/approve/").status_code == 404
    citizen = client_as(Role.CITIZEN)
    assert citizen.get(f"/files/{pk}/").status_code == 404
    assert citizen.get(f"/documents/{pk}/pdf/").status_code == 404
    head = Client(raise_request_exception=False)
    head.force_login(reviewer_of("LDGX", head=True))
    assert head.post(f"/staff/extensions/{pk}/decide/").status_code == 404


def test_the_in_person_step_parameter_never_fails(clerk_of):
    clerk = clerk_of("LABOUR")
    application = single_item_submitted("劳务派遣经营许可")
    client = Client(raise_request_exception=False)
    client.force_login(clerk)
    for step in BAD_WORDS:
        url = f"/staff/intake/new/{application.reference}/"
        assert client.get(url, {"step": step}).status_code < 500


def test_records_of_others_stay_hidden_whatever_their_id(reviewer_of):
    owner = UserFactory(role=Role.SUPERVISOR)
    job = ExportJob.objects.create(user=owner, kind="kpi")
    report = LeaderReport.objects.create(
        author=owner, period_start=date(2026, 11, 1), period_end=date(2026, 11, 24), filters={}
    )
    other = client_as(Role.SUPERVISOR)
    assert other.get(f"/reports/exports/{job.pk}/").status_code == 404
    assert other.get(f"/reports/leaders/{report.pk}/xlsx").status_code in (200, 404)


@pytest.mark.parametrize("code", [*BAD_WORDS[1:], "O" * 16, "2" * 17, "２" * 16, "%00" * 16])
def test_any_malformed_verification_code_in_the_path_gives_404(code):
    response = Client(raise_request_exception=False).get(f"/verify/{code}/")
    assert response.status_code == 404
