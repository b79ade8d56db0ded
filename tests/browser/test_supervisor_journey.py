"""A supervisor's journey in a real browser: the programme's goals, the dashboard filtered to one
unit, the overdue case behind a figure and an Excel export of it, downloaded and opened."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from acceptance.models import DASHBOARD_FIGURES
from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import default_period
from acceptance.selectors.visits import visits_by
from bundles.services import handling
from kuaiban.accounts.models import User
from kuaiban.cases.models import ItemCase
from kuaiban.catalog.models import ServiceHall
from kuaiban.workdays.calendar import calendar_from_db
from reports.tasks import run_queued_exports
from speedup.services.sweep import deadlines_sweep
from tests.acceptance.conftest import History, at
from tests.acceptance.direct import direct_counts, direct_sets
from tests.builders import accepted, approved, case_of, clerk_of, reviewer_of, submitted
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser

CARD = {"BANK_OUTLET": True, "INSURED": True}  # the instant card, concluded at the window


@pytest.fixture
def without_a_broker(settings):
    """As in the demo: no worker listens, the request only queues the export and the timer
    process runs it (`run_queued_exports`, called here when the test plays that process)."""
    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = True
    return run_queued_exports


def working_day_on_or_before(day):
    calendar = calendar_from_db()
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day


def next_working_day(day):
    return calendar_from_db().next_working_day(day, include_today=False)


def build_recent_history() -> tuple[History, ItemCase]:
    """A few applications over the last weeks in several units; one batch card's 社会保障卡
    (信息中心, 15 calendar days committed) is still held by its reviewer and becomes overdue."""
    today = timezone.localdate()
    h = History()

    def moment(day, hour, minute=0):
        return at(day.year, day.month, day.day, hour, minute)

    # Accepted three weeks ago; its batch card is taken but never decided.
    late = working_day_on_or_before(today - timedelta(days=21))
    h.at(moment(late, 9, 30), lambda: h.submit_bundle("card-late", "B10"))
    h.at(moment(late, 10), lambda: h.accept("card-late", "HALL-CITY"))
    for item in ("SI-025", "SI-026", "EX-005"):
        h.at(moment(late, 10, 20), lambda i=item: h.approve("card-late", i))
    taken = next_working_day(late)
    h.at(moment(taken, 10), lambda: h.start_review("card-late", "SI-016"))

    # Accepted twelve days ago and finished on time.
    done = working_day_on_or_before(today - timedelta(days=12))
    h.at(moment(done, 9, 30), lambda: h.submit_bundle("card-done", "B10"))
    h.at(moment(done, 10), lambda: h.accept("card-done", "HALL-321002"))
    for item in ("SI-025", "SI-026", "EX-005"):
        h.at(moment(done, 10, 20), lambda i=item: h.approve("card-done", i))
    h.at(moment(next_working_day(done), 15), lambda: h.approve("card-done", "SI-016"))

    # An instant card concluded at the window last week (another hall, several units).
    instant = working_day_on_or_before(today - timedelta(days=6))
    h.at(moment(instant, 9, 55), lambda: h.submit_bundle("card-now", "B10", CARD))
    h.at(moment(instant, 10), lambda: h.visit("card-now", "HALL-321003"))
    h.at(moment(instant, 10), lambda: h.accept("card-now", "HALL-321003", conclude_instant=True))

    # A licence (劳动关系处) accepted and approved within its ten working days.
    licence = working_day_on_or_before(today - timedelta(days=9))
    h.at(moment(licence, 9, 30), lambda: h.submit_item("lic", "劳务派遣经营许可"))
    h.at(moment(licence, 10), lambda: h.accept("lic", "HALL-321002"))
    h.at(moment(next_working_day(licence), 16), lambda: h.approve("lic"))

    # The evening sweep on every past day, then once now.
    day = late
    while day < today:
        h.at(moment(day, 20), deadlines_sweep)
        day += timedelta(days=1)
    h.run()
    deadlines_sweep()
    for application in h.apps.values():
        application.refresh_from_db()
    return h, h.case("card-late", "SI-016")


def test_supervisor_follows_an_overdue_case_from_the_goals_to_an_excel_export(
    site, browser, without_a_broker, tmp_path
):
    history, overdue_case = build_recent_history()
    overdue_case.refresh_from_db()
    assert overdue_case.overdue_at is not None and overdue_case.decided_at is None
    assert overdue_case.reviewer_id is not None
    rollup_refresh(full=True)
    unit = overdue_case.unit
    assert ItemCase.objects.exclude(unit=unit).exists()  # more than one unit in the data
    period = default_period()
    filters = {"unit": unit.pk}
    expected = direct_counts(filters, period.start, period.end)
    assert expected["overdue"] == 1 and expected["accepted"] >= 2
    assert direct_sets(filters, period.start, period.end)["overdue"] == {overdue_case.pk}
    reference = overdue_case.application.reference
    applicant_ids = [
        u.resident_id
        for u in User.objects.filter(pk__in=[a.applicant_id for a in history.apps.values()])
        if u.resident_id
    ]
    assert applicant_ids

    UserFactory(supervisor=True, username="boss")
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    log_in(page, site, "boss")

    # The programme's year-end goals.
    page.goto(f"{site}/supervision/")
    expect(page.get_by_test_id("goals")).to_be_visible()
    expect(page.get_by_test_id("goal-bundles")).to_have_attribute(
        "data-value", re.compile(r"^\d+$")
    )

    # The dashboard, filtered to the overdue case's unit through the filter form.
    page.goto(f"{site}/supervision/dashboard/")
    filters_form = page.get_by_test_id("filters")
    filters_form.locator("select[name=unit]").select_option(str(unit.pk))
    filters_form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    query = parse_qs(urlparse(page.url).query)
    assert query["unit"] == [str(unit.pk)]
    assert query["start"] == [period.start.isoformat()]
    assert query["end"] == [period.end.isoformat()]
    for key in DASHBOARD_FIGURES:
        figure = page.locator(f'[data-testid=figure][data-figure="{key}"]')
        expect(figure).to_have_attribute("data-value", str(expected.get(key, 0)))

    # The cases behind the overdue figure: the one case, and who holds it.
    page.locator('[data-testid=figure][data-figure="overdue"] [data-testid=drill]').click()
    page.wait_for_load_state()
    assert re.search(r"[?&]figure=overdue(&|$)", page.url)
    assert parse_qs(urlparse(page.url).query)["unit"] == [str(unit.pk)]
    expect(page.get_by_test_id("cases")).to_have_attribute("data-count", "1")
    row = page.locator(f'[data-testid=case-row][data-case="{overdue_case.pk}"]')
    expect(row).to_contain_text(reference)
    expect(row).to_contain_text(str(overdue_case.reviewer))
    drill_url = page.url

    # The overdue list for the unit: holder and the explanation column.
    page.goto(f"{site}/supervision/overdue/?unit={unit.pk}")
    expect(page.get_by_test_id("overdue")).to_have_attribute("data-count", "1")
    row = page.locator(f'[data-testid=overdue-row][data-case="{overdue_case.pk}"]')
    expect(row).to_contain_text(reference)
    expect(row).to_have_attribute("data-holder", overdue_case.reviewer.username)
    expect(row.get_by_test_id("holder")).to_contain_text(str(overdue_case.reviewer))
    expect(row.get_by_test_id("explanation")).to_be_visible()

    # An Excel export of the drill-down: start it, watch it finish, download it.
    page.goto(drill_url)
    page.get_by_test_id("export").click()
    page.wait_for_load_state()
    summary = page.get_by_test_id("export-summary")
    expect(summary).to_have_attribute("data-kind", "cases")
    expect(summary).to_have_attribute("data-figure", "overdue")
    expect(summary).to_have_attribute("data-count", "1")
    page.get_by_test_id("start-export").click()
    page.wait_for_load_state()
    job = page.get_by_test_id("job")
    expect(job).to_have_attribute("data-status", "queued")  # the request did not run it
    expect(page.get_by_test_id("cancel-export")).to_be_visible()
    assert without_a_broker.apply().result == 1  # the timer process's next tick
    expect(job).to_have_attribute("data-status", "done", timeout=30_000)  # the page polled
    expect(page.locator("progress#job-progress")).to_have_attribute("value", "100")
    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / "export.xlsx"
    download.save_as(path)

    workbook = openpyxl.load_workbook(path, read_only=True)
    sheet = workbook.worksheets[0]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if any(v for v in r)]
    assert len(rows) == expected["overdue"] == 1
    cells = [
        str(value)
        for ws in workbook.worksheets
        for r in ws.iter_rows(values_only=True)
        for value in r
        if value is not None
    ]
    text = "\n".join(cells)
    assert reference in text
    for number in applicant_ids:
        assert number not in text
    workbook.close()
    context.close()


def test_supervisor_on_a_phone_sees_the_visit_promises_and_the_cases_that_broke_them(site, browser):
    history, _overdue = build_recent_history()
    # Promised no visit (B03 online, downloaded), but the applicant was called in for a check.
    called_in = accepted(submitted("B03"), clerk_of("BUNDLE", hall=ServiceHall.objects.first()))
    first = case_of(called_in, "EM-002")
    handling.case_on_site_check(
        case=first, actor=reviewer_of(first.unit.code), note="核对解除劳动合同证明原件"
    )
    for stage in (1, 2):
        for case in called_in.cases.filter(stage=stage):
            approved(case, reviewer_of(case.unit.code))
    called_in.refresh_from_db()
    assert called_in.state == "concluded" and called_in.broke_visit_target
    rollup_refresh(full=True)
    total, _rows = visits_by("hall", {}, default_period())
    assert total.broke_target == 1 and total.no_visit_promised >= 1

    UserFactory(supervisor=True, username="boss")
    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    log_in(page, site, "boss")
    page.goto(f"{site}/supervision/dashboard/")
    page.locator("nav.sup-nav a[href^='/supervision/visits/']").click()
    page.wait_for_load_state()
    totals = page.get_by_test_id("visit-totals")
    expect(totals).to_have_attribute("data-applications", str(total.applications))
    expect(totals).to_have_attribute("data-within", str(total.within_target))
    page.get_by_test_id("group-hall").click()
    page.wait_for_load_state()
    assert "by=hall" in page.url
    expect(page.get_by_test_id("visit-rows").locator("tbody tr.overdue")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, "the page scrolls sideways on a phone"
    page.get_by_test_id("broke-target").click()
    page.wait_for_load_state()
    assert re.search(r"[?&]figure=broke_visit_target(&|$)", page.url)
    expect(page.get_by_test_id("cases")).to_have_attribute(
        "data-count", str(called_in.cases.count())
    )
    expect(page.get_by_test_id("cases")).to_contain_text(called_in.reference)
    assert history.apps["card-now"].reference not in page.content()
