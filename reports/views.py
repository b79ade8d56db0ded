"""Reports (mounted at /reports/): Excel exports run as background jobs, and the written report
to bureau leaders. Supervisors and administrators only (404 for anyone else, as the supervision
pages); a district supervisor is held to their district by the supervision filter form. A job,
its status and its file are its owner's only (404 for anyone else), and so are cancelling and
retrying it (POST only)."""

import io

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from acceptance.columns import SCREEN_TABLES
from acceptance.forms import FilterForm
from acceptance.page_cache import dashboard_cached
from acceptance.selectors.common import Period
from acceptance.selectors.drilldown import DRILL_FIGURES
from kuaiban.accounts.decorators import supervisor_required
from kuaiban.cases.access import access_record
from kuaiban.cases.models import AccessKind

from . import exports, jobs, schedules, selectors, services
from .models import ExportJob, ExportKind, LeaderReport, ReportSchedule

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
QUEUE_UNREACHABLE = _(
    "The job queue is unreachable just now: your export is kept in the queue and starts as soon "
    "as it is back. You can leave this page."
)
# The query-string names an export page reads besides the filter form's own.
EXPORT_FIELDS = ("kind", "figure")


def _form(data, user, *, with_period: bool = True) -> FilterForm:
    form = FilterForm(data or None, user=user, with_period=with_period)
    if form.is_bound:
        form.is_valid()
    return form


def _kind_and_figure(data) -> tuple[str, str]:
    figure = data.get("figure", "")
    kind = data.get("kind") or (ExportKind.CASES if figure else "")
    if kind not in ExportKind.values:
        raise Http404
    if kind == ExportKind.CASES and figure not in DRILL_FIGURES:
        raise Http404
    return kind, figure if kind == ExportKind.CASES else ""


def _own_job(request, pk: int) -> ExportJob:
    return get_object_or_404(ExportJob, pk=pk, user=request.user)


# -- exports ---------------------------------------------------------------------------------


@supervisor_required
def export_new(request):
    """What will be exported, with a start button. Linked from the dashboard as
    /reports/exports/new/?kind=cases&figure=<figure>&start=…&end=…&<filters>."""
    kind, figure = _kind_and_figure(request.GET)
    form = _form(request.GET, request.user, with_period=kind != ExportKind.OVERDUE)
    period = form.period() if kind != ExportKind.OVERDUE else None
    filters = form.filters()
    count = None
    if kind != ExportKind.KPI:
        queryset = selectors.export_queryset(
            kind,
            filters=filters,
            period=period or form.period(),
            figure=figure,
            now=timezone.now(),
        )
        count = queryset.count()
    hidden = [("kind", kind), ("figure", figure)]
    if period:
        hidden += [("start", period.start.isoformat()), ("end", period.end.isoformat())]
    hidden += [(k, v) for k, v in filters.items() if not (k == "district" and form.scope_district)]
    return render(
        request,
        "reports/export_new.html",
        {
            "kind": kind,
            "kind_label": ExportKind(kind).label,
            "figure": figure,
            "figure_label": selectors.figure_label(figure) if figure else "",
            "period": period,
            "filter_names": selectors.filters_described(filters),
            "count": count,
            "hidden": [(k, v) for k, v in hidden if v not in (None, "")],
            "jobs": selectors.jobs_of(request.user, 10),
        },
    )


@supervisor_required
@require_http_methods(["GET", "POST"])
def exports_view(request):
    """GET: my recent exports. POST: start one, then show its page."""
    if request.method == "POST":
        kind, figure = _kind_and_figure(request.POST)
        form = _form(request.POST, request.user, with_period=kind != ExportKind.OVERDUE)
        period = form.period() if kind != ExportKind.OVERDUE else _today_period()
        job = services.export_request(
            user=request.user, kind=kind, filters=form.filters(), period=period, figure=figure
        )
        _say_if_waiting(request, job)
        return redirect("reports:export", pk=job.pk)
    return render(request, "reports/exports.html", {"jobs": selectors.jobs_of(request.user, 50)})


def _say_if_waiting(request, job: ExportJob) -> None:
    if job.queue_unreachable:
        messages.warning(request, QUEUE_UNREACHABLE)


def _today_period() -> Period:
    today = timezone.localdate()
    return Period(today, today)


def _status(job: ExportJob) -> dict:
    done = jobs.job_file(job) is not None
    return {
        "id": job.pk,
        "status": job.status,
        "progress": job.progress,
        "rows": job.rows_written,
        "total": job.total_rows,
        "finished": job.is_finished,
        "error": job.error,
        "download": reverse("reports:download", args=[job.pk]) if done else None,
    }


@supervisor_required
def export_job(request, pk: int):
    job = _own_job(request, pk)
    return render(
        request,
        "reports/export_job.html",
        {
            "job": job,
            "status": _status(job),
            "label": ExportKind(job.kind).label,
            "figure_label": selectors.figure_label(job.parameters.get("figure", ""))
            if job.kind == ExportKind.CASES
            else "",
            "filter_names": selectors.filters_described(job.parameters.get("filters", {})),
            "retried_as": selectors.retried_as(job),
        },
    )


@supervisor_required
def export_status(request, pk: int):
    response = JsonResponse(_status(_own_job(request, pk)))
    response["Cache-Control"] = "no-store"
    return response


@supervisor_required
def export_download(request, pk: int):
    job = _own_job(request, pk)
    path = jobs.job_file(job)
    if path is None:
        raise Http404
    access_record(request, AccessKind.EXPORT_DOWNLOAD, object_id=job.pk)
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=jobs.download_name(job),
        content_type=XLSX,
    )


@supervisor_required
@require_http_methods(["POST"])
def export_cancel(request, pk: int):
    job = _own_job(request, pk)
    if services.export_cancel(job=job, user=request.user):
        messages.success(request, _("The export was cancelled."))
    else:
        messages.info(request, _("This export had already finished."))
    return redirect("reports:export", pk=job.pk)


@supervisor_required
@require_http_methods(["POST"])
def export_retry(request, pk: int):
    job = _own_job(request, pk)
    again = services.export_retry(job=job, user=request.user)
    if again is None:
        messages.info(request, _("Only a failed, cancelled or expired export can be run again."))
        return redirect("reports:export", pk=job.pk)
    messages.success(request, _("The export runs again as export #%(id)d.") % {"id": again.pk})
    _say_if_waiting(request, again)
    return redirect("reports:export", pk=again.pk)


# -- the report to bureau leaders ------------------------------------------------------------


class NextStepsForm(forms.Form):
    next_steps = forms.CharField(
        label=_("Next steps"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )


def _visible_report(request, pk: int) -> LeaderReport:
    report = get_object_or_404(LeaderReport.objects.select_related("author"), pk=pk)
    if not selectors.report_visible(report, request.user):
        raise Http404
    return report


def _render_leader(request, *, data, form, report, query, filter_form=None):
    return render(
        request,
        "reports/leader.html",
        {
            "data": data,
            "board": data.board,
            "programme": data.programme,
            "form": form,
            "report": report,
            "can_edit": report is None or report.author_id == request.user.pk,
            "query": query,
            "filter_form": filter_form,  # its errors (a date out of range) above the period
            "saved": selectors.saved_reports(request.user, 10),
            "schedules": ReportSchedule.objects.filter(author=request.user, is_active=True),
            "reasons": exports.REASONS,
            "columns": SCREEN_TABLES,
        },
    )


def _leader_data(filters: dict, period: Period) -> selectors.LeaderData:
    """The leader report with the dashboard as the dashboard page shows it (from the cache)."""
    return selectors.leader_report(filters, period, board=dashboard_cached(filters, period))


@supervisor_required
@require_http_methods(["GET", "POST"])
def leader(request):
    """The report for ?start=&end=&<filters> (GET), saved with its next steps (POST)."""
    data_source = request.POST if request.method == "POST" else request.GET
    filter_form = _form(data_source, request.user)
    period, filters = filter_form.period(), filter_form.filters()
    if request.method == "POST":
        form = NextStepsForm(request.POST)
        if form.is_valid():
            report = services.leader_report_save(
                author=request.user,
                period=period,
                filters=filters,
                next_steps=form.cleaned_data["next_steps"],
            )
            return redirect("reports:leader_saved", pk=report.pk)
    else:
        form = NextStepsForm()
    data = _leader_data(filters, period)
    return _render_leader(
        request,
        data=data,
        form=form,
        report=None,
        query=filter_form.query(),
        filter_form=filter_form,
    )


@supervisor_required
@require_http_methods(["GET", "POST"])
def leader_saved(request, pk: int):
    report = _visible_report(request, pk)
    if request.method == "POST":
        if report.author_id != request.user.pk:
            raise Http404
        form = NextStepsForm(request.POST)
        if form.is_valid():
            services.leader_report_save(
                author=request.user,
                period=selectors.period_of(report),
                filters=report.filters,
                next_steps=form.cleaned_data["next_steps"],
                report=report,
            )
            return redirect("reports:leader_saved", pk=report.pk)
    else:
        form = NextStepsForm(initial={"next_steps": report.next_steps})
    data = _leader_data(report.filters, selectors.period_of(report))
    return _render_leader(request, data=data, form=form, report=report, query="")


def _leader_workbook(data, next_steps: str, author) -> HttpResponse:
    about = [
        ("统计期间", f"{data.period.start.isoformat()} 至 {data.period.end.isoformat()}"),
        *(data.filter_names or [("筛选条件", "全市")]),
        ("生成人", str(author)),
        ("生成时间", exports.local(data.computed_at)),
    ]
    buffer = io.BytesIO()
    exports.write_leader(buffer, data, next_steps, about)
    name = f"领导报告-{data.period.start.isoformat()}至{data.period.end.isoformat()}.xlsx"
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = _attachment(name)
    return response


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"report.xlsx\"; filename*=UTF-8''{quote(filename)}"


@supervisor_required
def leader_xlsx(request):
    filter_form = _form(request.GET, request.user)
    data = _leader_data(filter_form.filters(), filter_form.period())
    return _leader_workbook(data, "", request.user)


@supervisor_required
def leader_saved_xlsx(request, pk: int):
    report = _visible_report(request, pk)
    data = _leader_data(report.filters, selectors.period_of(report))
    return _leader_workbook(data, report.next_steps, report.author)


# -- reports that issue themselves ----------------------------------------------------------


@supervisor_required
@require_POST
def schedule_new(request):
    filter_form = _form(request.POST, request.user, with_period=False)
    try:
        schedules.schedule_create(
            author=request.user,
            frequency=request.POST.get("frequency", ""),
            filters=filter_form.filters(),
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("Set up: the report will be issued by itself and you will be told.")
        )
    return redirect("reports:leader")


@supervisor_required
@require_POST
def schedule_stop(request, pk: int):
    schedule = get_object_or_404(ReportSchedule, pk=pk, author=request.user)
    schedules.schedule_stop(schedule=schedule, actor=request.user)
    messages.success(request, _("Stopped."))
    return redirect("reports:leader")


@supervisor_required
def leader_issued_xlsx(request, pk: int):
    report = _visible_report(request, pk)
    path = schedules.issued_path(report)
    if path is None:
        raise Http404
    name = f"领导报告-{report.period_start.isoformat()}至{report.period_end.isoformat()}-印发.xlsx"
    response = FileResponse(path.open("rb"), content_type=XLSX)
    response["Content-Disposition"] = _attachment(name)
    return response
