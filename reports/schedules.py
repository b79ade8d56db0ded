"""Leaders' reports issued by themselves (issue 14, part 6): a supervisor sets a report up to be
issued every week or month (for the filters of the page); Celery beat
(`reports.issue_scheduled_reports`) issues each past period once, under the author's name — the
report is saved and its workbook written as it stands then, kept frozen in the media folder —
and tells the author. RULE REPORT-PERIOD: a weekly report covers the week before (Monday to
Sunday), a monthly one the month before."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from acceptance.selectors.common import Period
from kuaiban.accounts.models import Role
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notify

from . import exports, selectors
from .models import LeaderReport, ReportSchedule

ISSUED_DIR = "reports/issued"


def last_period(frequency: str, today: date) -> Period:
    """RULE REPORT-PERIOD (pure)."""
    if frequency == ReportSchedule.Frequency.WEEKLY:
        monday = today - timedelta(days=today.weekday())
        return Period(monday - timedelta(days=7), monday - timedelta(days=1))
    end = today.replace(day=1) - timedelta(days=1)
    return Period(end.replace(day=1), end)


def schedule_create(*, author, frequency: str, filters: dict) -> ReportSchedule:
    if getattr(author, "role", None) not in (Role.SUPERVISOR, Role.ADMINISTRATOR):
        raise PermissionDenied
    if frequency not in ReportSchedule.Frequency.values:
        raise ValidationError(_("Choose how often."))
    clean = {k: v for k, v in filters.items() if v is not None and v != ""}
    return ReportSchedule.objects.create(author=author, frequency=frequency, filters=clean)


def schedule_stop(*, schedule: ReportSchedule, actor) -> None:
    if schedule.author_id != getattr(actor, "pk", None):
        raise PermissionDenied
    schedule.is_active = False
    schedule.save(update_fields=["is_active"])


def _write(report: LeaderReport, data) -> str:
    about = [
        ("统计期间", f"{data.period.start.isoformat()} 至 {data.period.end.isoformat()}"),
        *(data.filter_names or [("筛选条件", "全市")]),
        ("报送人", str(report.author)),
        ("印发时间", exports.local(report.issued_at)),
    ]
    buffer = io.BytesIO()
    exports.write_leader(buffer, data, report.next_steps, about)
    relative = f"{ISSUED_DIR}/{report.pk}.xlsx"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return relative


def scheduled_reports_issue(*, now=None) -> int:
    """Issue every active schedule's last complete period not issued yet. Returns how many."""
    now = now or timezone.now()
    issued = 0
    for schedule in ReportSchedule.objects.filter(is_active=True).select_related("author"):
        period = last_period(schedule.frequency, timezone.localdate(now))
        with transaction.atomic():
            locked = ReportSchedule.objects.select_for_update().get(pk=schedule.pk)
            if locked.reports.filter(period_start=period.start).exists():
                continue
            data = selectors.leader_report(schedule.filters, period, now=now)
            report = LeaderReport.objects.create(
                author=schedule.author,
                period_start=period.start,
                period_end=period.end,
                filters=schedule.filters,
                schedule=locked,
                issued_at=now,
            )
            report.issued_file = _write(report, data)
            report.save(update_fields=["issued_file"])
            subject = _("Report to bureau leaders issued: %(start)s to %(end)s") % {
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            }
            notify(
                recipient=schedule.author,
                subject=subject,
                body=subject,
                link=reverse("reports:leader_saved", kwargs={"pk": report.pk}),
                channels=[Notification.Channel.IN_APP],
            )
        issued += 1
    return issued


def issued_path(report: LeaderReport) -> Path | None:
    if not report.issued_file:
        return None
    path = Path(settings.MEDIA_ROOT) / report.issued_file
    return path if path.is_file() else None
