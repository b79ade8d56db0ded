"""通报 and scores at the supervision office: the units' scores by the campaign's rubric (with
the bonus and accountability lists), and the circulated notices — drafted from the period's
figures and findings, edited, issued (numbered and frozen), printable."""

import io
from urllib.parse import quote

import openpyxl
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban import xlsx
from kuaiban.accounts.decorators import supervision_office_required, supervisor_required
from kuaiban.campaigns import notices as services
from kuaiban.campaigns.models import Campaign, Notice
from kuaiban.web import form_errors_as_messages, or_404, service_reported

from .forms import NoticeDraftForm, NoticeEditForm
from .notice_text import notice_body, notice_title
from .selectors.common import Period
from .selectors.scores import unit_scores

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def campaign_period(campaign: Campaign) -> Period:
    """The campaign's days so far (all of them once it is over)."""
    today = timezone.localdate()
    end = min(campaign.ends_on, today)
    return Period(min(campaign.starts_on, end), end)


@supervisor_required
def scores(request, code):
    campaign = or_404(Campaign.objects.filter(code=code).first())
    period = campaign_period(campaign)
    rows = unit_scores(campaign, period, timezone.now())
    return render(
        request,
        "acceptance/scores.html",
        {
            "campaign": campaign,
            "period": period,
            "rows": rows,
            "criteria": list(campaign.criteria.all()),
            "accountable": [r for r in rows if r.accountable],
        },
    )


@supervisor_required
def notice_list(request):
    today = timezone.localdate()
    form = NoticeDraftForm(initial={"period_start": today.replace(day=1), "period_end": today})
    return render(
        request,
        "acceptance/notices.html",
        {"notices": Notice.objects.select_related("campaign"), "draft_form": form},
    )


@supervision_office_required
@require_POST
def notice_draft(request):
    form = NoticeDraftForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return redirect("supervision:notices")
    data = form.cleaned_data
    campaign, period = data["campaign"], Period(data["period_start"], data["period_end"])
    drafted: list[Notice] = []
    ok = service_reported(
        request,
        lambda: drafted.append(
            services.notice_draft(
                campaign=campaign,
                actor=request.user,
                period_start=period.start,
                period_end=period.end,
                title=notice_title(campaign, period),
                body=notice_body(campaign, period, timezone.now()),
            )
        ),
        _("Draft written from the period's figures; edit it, then issue it."),
    )
    if ok:
        return redirect("supervision:notice", notice_id=drafted[0].pk)
    return redirect("supervision:notices")


@supervisor_required
def notice_detail(request, notice_id):
    notice = or_404(Notice.objects.select_related("campaign").filter(pk=notice_id).first())
    form = NoticeEditForm(initial={"title": notice.title, "body": notice.body})
    return render(request, "acceptance/notice.html", {"notice": notice, "form": form})


@supervision_office_required
@require_POST
def notice_edit(request, notice_id):
    notice = or_404(Notice.objects.filter(pk=notice_id).first())
    form = NoticeEditForm(request.POST)
    if form.is_valid():
        service_reported(
            request,
            lambda: services.notice_edit(
                notice=notice,
                actor=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            ),
            _("Saved."),
        )
    else:
        form_errors_as_messages(request, form)
    return redirect("supervision:notice", notice_id=notice.pk)


@supervision_office_required
@require_POST
def notice_issue(request, notice_id):
    notice = or_404(Notice.objects.filter(pk=notice_id).first())
    service_reported(
        request,
        lambda: services.notice_issue(notice=notice, actor=request.user),
        _("Issued; the notice is numbered and can no longer change."),
    )
    return redirect("supervision:notice", notice_id=notice.pk)


@supervisor_required
def notice_xlsx(request, notice_id):
    """The notice as a workbook: its number, title and text, one paragraph a row."""
    notice = or_404(Notice.objects.filter(pk=notice_id).first())
    book = openpyxl.Workbook(write_only=True)
    sheet = xlsx.guarded_sheet(book, "通报", [(notice.reference or "通报（草稿）", 100)])
    sheet.append([notice.title])
    for line in notice.body.splitlines():
        sheet.append([line])
    if notice.issued_at:
        sheet.append([f"印发时间：{timezone.localtime(notice.issued_at):%Y-%m-%d}"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    name = f"{notice.reference or '通报草稿'}.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response
