"""The report to bureau leaders: its figures are the dashboard's; next steps are kept; every
/reports/ URL is for supervisors only."""

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.utils import timezone

from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from acceptance.selectors.drilldown import overdue_cases
from devtools.history import history_generate
from kuaiban.accounts.models import Role
from kuaiban.cases.models import ItemCase
from reports.models import ExportJob, LeaderReport
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(db):
    history_generate(cases=600, seed=17, years=0.2, open_share=0.3)
    rollup_refresh(full=True)
    today = timezone.localdate()
    return Period(today - timedelta(days=27), today)


def shown_figures(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-figure="(\w+)">(\d+)<', html)}


def test_the_leader_report_shows_the_dashboard_figures(client, supervisor, history):
    period = history
    client.force_login(supervisor)
    district = (
        ItemCase.objects.filter(application__hall__isnull=False)
        .values_list("application__hall__district_id", flat=True)
        .first()
    )
    for filters in ({}, {"district": district}):
        query = f"start={period.start}&end={period.end}" + "".join(
            f"&{k}={v}" for k, v in filters.items()
        )
        html = client.get(f"/reports/leaders/?{query}").content.decode()
        board = dashboard(filters, period)
        assert board.values["received"] > 0
        assert shown_figures(html) == board.values
        overdue = overdue_cases(filters).count()
        assert f'data-problem="overdue_now">{overdue}<' in html
        assert 'data-problem="ratings"' in html
        for section in ("progress", "outcomes", "problems", "next-steps"):
            assert f'data-testid="{section}"' in html

        response = client.get(f"/reports/leaders/xlsx?{query}")
        assert response["Content-Disposition"].startswith("attachment")
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        assert book.sheetnames[:4] == ["进展", "成效", "问题", "下一步"]
        rows = list(book["成效"].iter_rows(values_only=True))[1:]
        figures = rows[: rows.index((None,) * len(rows[0]))]  # the 好差评 rates follow a blank row
        assert {r[0]: r[2] for r in figures} == board.values


def test_next_steps_are_saved_shown_and_exported(client, supervisor, history):
    period = history
    client.force_login(supervisor)
    text = "一、督促劳动关系处压缩审批时限；\n二、12月开展考评验收。"
    response = client.post(
        "/reports/leaders/", {"start": period.start, "end": period.end, "next_steps": text}
    )
    report = LeaderReport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/leaders/{report.pk}/"
    assert (report.period_start, report.period_end, report.author) == (
        period.start,
        period.end,
        supervisor,
    )
    assert report.next_steps == text.replace("\n", "\r\n") or report.next_steps == text
    html = client.get(f"/reports/leaders/{report.pk}/").content.decode()
    assert "督促劳动关系处压缩审批时限" in html
    assert shown_figures(html) == dashboard({}, period).values

    client.post(f"/reports/leaders/{report.pk}/", {"next_steps": "改进后的下一步"})
    report.refresh_from_db()
    assert report.next_steps == "改进后的下一步"
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/reports/leaders/{report.pk}/xlsx").content)
    )
    assert book["下一步"]["A2"].value == "改进后的下一步"

    # Another supervisor reads it but cannot change it.
    client.force_login(UserFactory(supervisor=True))
    assert "改进后的下一步" in client.get(f"/reports/leaders/{report.pk}/").content.decode()
    assert client.post(f"/reports/leaders/{report.pk}/", {"next_steps": "x"}).status_code == 404
    report.refresh_from_db()
    assert report.next_steps == "改进后的下一步"


def test_the_printable_page_has_a4_print_css(client, supervisor):
    client.force_login(supervisor)
    html = client.get("/reports/leaders/").content.decode()
    assert "reports/reports.css" in html
    from pathlib import Path

    from django.contrib.staticfiles import finders

    css = Path(finders.find("reports/reports.css")).read_text(encoding="utf-8")
    assert "@page { size: A4" in css and ".site-header" in css


def test_a_district_supervisor_cannot_open_another_districts_report(client, supervisor):
    from kuaiban.catalog.models import District

    first, second = District.objects.order_by("code")[:2]
    report = LeaderReport.objects.create(
        period_start="2026-11-01", period_end="2026-11-28", filters={"district": first.pk},
        author=supervisor,
    )  # fmt: skip
    client.force_login(UserFactory(supervisor=True, district=second))
    assert client.get(f"/reports/leaders/{report.pk}/").status_code == 404
    assert client.get(f"/reports/leaders/{report.pk}/xlsx").status_code == 404
    client.force_login(UserFactory(supervisor=True, district=first))
    assert client.get(f"/reports/leaders/{report.pk}/").status_code == 200


def all_urls(supervisor) -> list[tuple[str, str]]:
    job = ExportJob.objects.create(user=supervisor, kind="kpi", parameters={})
    report = LeaderReport.objects.create(
        period_start="2026-11-01", period_end="2026-11-28", author=supervisor
    )
    return [
        ("get", "/reports/exports/"),
        ("post", "/reports/exports/"),
        ("get", "/reports/exports/new/?figure=received"),
        ("get", f"/reports/exports/{job.pk}/"),
        ("get", f"/reports/exports/{job.pk}/status.json"),
        ("get", f"/reports/exports/{job.pk}/download"),
        ("post", f"/reports/exports/{job.pk}/cancel"),
        ("post", f"/reports/exports/{job.pk}/retry"),
        ("get", "/reports/leaders/"),
        ("post", "/reports/leaders/"),
        ("get", "/reports/leaders/xlsx"),
        ("get", f"/reports/leaders/{report.pk}/"),
        ("post", f"/reports/leaders/{report.pk}/"),
        ("get", f"/reports/leaders/{report.pk}/xlsx"),
    ]


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.ENTERPRISE, Role.CLERK, Role.REVIEWER])
def test_everyone_but_supervisors_gets_404_on_every_reports_url(
    client, supervisor, role, reviewer_of
):
    urls = all_urls(supervisor)
    user = reviewer_of("SBZX") if role == Role.REVIEWER else UserFactory(role=role)
    client.force_login(user)
    for method, url in urls:
        response = getattr(client, method)(
            url, {"kind": "kpi", "next_steps": "x"} if method == "post" else None
        )
        assert response.status_code == 404, (role, method, url)
    assert ExportJob.objects.count() == 1 and LeaderReport.objects.get().next_steps == ""
    assert ExportJob.objects.get().status == "queued"  # not cancelled either


def test_anonymous_users_are_sent_to_log_in(client, supervisor):
    for method, url in all_urls(supervisor):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_unknown_figures_and_kinds_are_404(client, supervisor):
    client.force_login(supervisor)
    assert client.get("/reports/exports/new/?figure=nope").status_code == 404
    assert client.get("/reports/exports/new/?kind=nope").status_code == 404
    assert client.post("/reports/exports/", {"kind": "cases", "figure": "nope"}).status_code == 404
