"""The Content-Security-Policy in a real browser: the supervision dashboard (inline SVG charts)
and an export's progress page (its polling script) run with no violation, and the progress bar
still follows the job to the end."""

import pytest
from playwright.sync_api import expect

from reports.jobs import export_run
from reports.models import ExportJob
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_the_dashboard_and_a_running_export_work_under_the_policy(site, page, csp_watch):
    supervisor = UserFactory(supervisor=True, username="watcher")
    log_in(page, site, "watcher")

    response = page.goto(f"{site}/supervision/dashboard/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    assert "unsafe-inline" not in policy
    expect(page.locator("svg.chart").first).to_be_visible()

    # A queued export: the page polls its status through the static script.
    job = ExportJob.objects.create(
        user=supervisor,
        kind="kpi",
        parameters={"filters": {}, "start": "2026-11-01", "end": "2026-11-28"},
    )
    page.goto(f"{site}/reports/exports/{job.pk}/")
    box = page.get_by_test_id("job")
    expect(box).to_have_attribute("data-status", "queued")
    bar = page.locator("progress#job-progress")
    expect(bar).to_have_attribute("value", "0")

    # The worker's progress reaches the bar without a reload…
    ExportJob.objects.filter(pk=job.pk).update(status="running", progress=40, rows_written=8)
    expect(bar).to_have_attribute("value", "40", timeout=10_000)
    expect(page.locator("#job-text")).to_contain_text("40%")
    expect(box).to_have_attribute("data-status", "queued")  # still the page first rendered

    # …and when the job is done the page reloads itself with the download.
    assert export_run(job.pk).status == "done"
    expect(box).to_have_attribute("data-status", "done", timeout=10_000)
    expect(bar).to_have_attribute("value", "100")
    expect(page.get_by_test_id("download")).to_be_visible()

    assert csp_watch.violations == []
    assert len(csp_watch.documents) >= 4  # log-in, dashboard, the job page and its reload


def test_the_api_docs_render_from_our_own_files_under_the_policy(site, page, csp_watch):
    """/api/docs/: Swagger UI from the portal's static files lists the operations, and nothing
    is fetched from another origin or refused by the policy."""
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{site}/api/docs/")
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15_000)
    expect(page.get_by_text("/api/v1/catalog/bundles/", exact=True)).to_be_visible()
    assert all(url.startswith(site) for url in fetched), fetched
    assert csp_watch.violations == []
