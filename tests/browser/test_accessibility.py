"""An axe-core check of the main pages of each role (issue 16): no serious or critical
violation on the pages a citizen, a clerk, a reviewer, a supervisor and an administrator use.
axe-core is the copy the axe-playwright-python package ships (a dev dependency), run in the
real page; a failure lists each rule and the elements it found."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from speedup.services.sweep import deadlines_sweep
from tests.builders import (
    accepted,
    clerk_of,
    draft,
    guide_administrator,
    on_record,
    ready_application,
    reviewer_of,
    submit,
)
from tests.factories import UserFactory

from .conftest import axe_report, axe_violations, log_in

pytestmark = pytest.mark.browser

MISSING = "/no-such-page/"  # the portal's own 404 page
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}


def check_pages(browser, site, username, paths, **context_options) -> None:
    """Open each page as `username` (logged out when None) and run axe-core in it."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    if username:
        log_in(page, site, username)
    found = {}
    for path in paths:
        response = page.goto(f"{site}{path}")
        expected = 404 if path == MISSING else 200
        assert response is not None and response.status == expected, (path, response)
        violations = axe_violations(page)
        if violations:
            found[path] = violations
    context.close()
    assert not found, "axe-core found serious or critical violations:\n" + axe_report(found)


def an_overdue_case(clerk=None):
    """A social-security card application accepted five weeks ago at the 一窗通办 window; the
    evening sweep since has flagged its open cases overdue. Returns one of them."""
    with time_machine.travel(timezone.now() - timedelta(days=35), tick=False):
        application = accepted(
            submit(ready_application(UserFactory(citizen=True))), clerk or clerk_of("BUNDLE")
        )
    deadlines_sweep()
    return application.cases.filter(overdue_at__isnull=False).select_related("unit").first()


def test_the_check_finds_what_a_screen_reader_user_would_miss(browser):
    """The check itself: a page with an unlabelled field, an image without a text alternative
    and grey-on-white text is reported, rule by rule."""
    page = browser.new_page()
    page.set_content(
        '<html lang="zh-CN"><head><title>t</title></head><body><main><h1>t</h1>'
        '<img src="x.png"><input type="text"><p style="color:#bbb">浅灰色的说明文字</p>'
        "</main></body></html>"
    )
    found = {v["id"] for v in axe_violations(page)}
    assert {"image-alt", "label", "color-contrast"} <= found
    page.close()


def test_the_pages_before_logging_in_have_no_serious_accessibility_violations(site, browser):
    paths = ["/", "/guide/", "/guide/items/SI-025/", "/accounts/login/", "/accounts/register/"]
    paths += ["/accounts/register/citizen/", MISSING]
    check_pages(browser, site, None, paths, **PHONE)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_citizen_s_pages_have_no_serious_accessibility_violations(site, browser, viewport):
    citizen = UserFactory(citizen=True, username="axe-citizen", real_name="林晓梅")
    on_record(citizen)
    started = draft(citizen, "B07")
    ready = ready_application(citizen, "B10")
    sent = submit(ready_application(citizen, "B10"))
    paths = [
        "/",
        "/guide/",
        "/guide/bundles/B07/",
        f"/applications/{started.reference}/questions/",
        f"/applications/{started.reference}/form/",
        f"/applications/{ready.reference}/materials/",
        f"/applications/{ready.reference}/review/",
        f"/applications/{sent.reference}/done/",
        f"/applications/{sent.reference}/",
        "/applications/",
    ]
    check_pages(browser, site, "axe-citizen", paths, **(PHONE if viewport == "phone" else {}))


def test_a_clerk_s_pages_have_no_serious_accessibility_violations(site, browser):
    clerk = clerk_of("BUNDLE", username="axe-clerk")
    waiting = submit(ready_application(UserFactory(citizen=True), "B10"))
    paths = ["/staff/intake/", f"/staff/intake/{waiting.reference}/", "/staff/intake/new/"]
    check_pages(browser, site, clerk.username, paths)


def test_a_reviewer_s_pages_have_no_serious_accessibility_violations(site, browser):
    case = an_overdue_case()
    reviewer_of(case.unit.code, username="axe-reviewer")
    paths = ["/staff/cases/", "/staff/cases/?show=overdue", f"/staff/cases/{case.pk}/"]
    check_pages(browser, site, "axe-reviewer", paths)


def test_a_supervisor_s_pages_have_no_serious_accessibility_violations(site, browser):
    case = an_overdue_case()
    UserFactory(supervisor=True, username="axe-supervisor")
    paths = ["/supervision/", "/supervision/dashboard/", "/supervision/overdue/"]
    paths += [f"/supervision/cases/{case.pk}/", "/supervision/visits/"]
    paths += ["/supervision/commitment-checks/", "/reports/exports/"]
    check_pages(browser, site, "axe-supervisor", paths)


def test_an_administrator_s_pages_have_no_serious_accessibility_violations(site, browser):
    guide_administrator(username="axe-admin")
    year = timezone.localdate().year
    paths = ["/staff/integrations/", f"/staff/calendar/{year}/", "/staff/calendar/import/"]
    check_pages(browser, site, "axe-admin", [*paths, "/staff/guides/"])
