"""Leaders' reports that issue themselves (issue 14, part 6): the period each covers, one issue
per period under the author's name with its workbook kept as issued, the author told, and the
campaign's phases beside the figures."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine

from kuaiban.campaigns.models import Campaign
from kuaiban.campaigns.services import campaign_launch
from kuaiban.notifications.models import Notification
from reports.models import LeaderReport, ReportSchedule
from reports.schedules import last_period, scheduled_reports_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("frequency", "today", "start", "end"),
    [
        ("weekly", date(2026, 12, 2), date(2026, 11, 23), date(2026, 11, 29)),
        ("weekly", date(2026, 11, 30), date(2026, 11, 23), date(2026, 11, 29)),
        ("monthly", date(2026, 12, 1), date(2026, 11, 1), date(2026, 11, 30)),
        ("monthly", date(2026, 3, 15), date(2026, 2, 1), date(2026, 2, 28)),
    ],
)
def test_rule_report_period_the_week_or_the_month_before(frequency, today, start, end):
    period = last_period(frequency, today)
    assert (period.start, period.end) == (start, end)


def test_a_scheduled_report_is_issued_once_a_period_kept_as_issued_and_the_author_told(
    client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    supervisor = UserFactory(supervisor=True)
    campaign_launch(campaign=Campaign.objects.get(code="KB2020"), actor=supervisor)
    client.force_login(supervisor)
    client.post("/reports/leaders/schedules/", {"frequency": "monthly"})
    schedule = ReportSchedule.objects.get(author=supervisor)
    assert schedule.is_active and schedule.filters == {}
    with time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=SH), tick=False):
        assert scheduled_reports_issue() == 1
        assert scheduled_reports_issue() == 0  # once per period
    report = LeaderReport.objects.get(schedule=schedule)
    assert (report.period_start, report.period_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert report.author == supervisor and report.issued_at is not None
    assert Notification.objects.filter(recipient=supervisor, link__endswith=f"/{report.pk}/")
    response = client.get(f"/reports/leaders/{report.pk}/issued.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(tmp_path / report.issued_file)
    assert "进展" in book.sheetnames
    page = client.get(f"/reports/leaders/{report.pk}/").content.decode()
    assert 'data-testid="issued-xlsx"' in page
    assert 'data-testid="campaign-progress"' in page and 'data-phase="1"' in page
    client.post(f"/reports/leaders/schedules/{schedule.pk}/stop/")
    schedule.refresh_from_db()
    assert not schedule.is_active
    with time_machine.travel(datetime(2027, 1, 1, 9, tzinfo=SH), tick=False):
        assert scheduled_reports_issue() == 0
