"""Improvement opinions (整改意见) at the unit: the unit's findings from the acceptance
evaluation, nearest due first, and one finding's page where the unit says what it did and
uploads the evidence, which closes it."""

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.accounts.decorators import reviewer_required
from kuaiban.campaigns import evaluations as services
from kuaiban.campaigns.selectors import findings_for_unit
from kuaiban.cases import uploads
from kuaiban.web import form_errors_as_messages, or_404

from ..actions import run_service
from ..forms import RectificationForm


@reviewer_required
def finding_list(request):
    return render(
        request,
        "desk/findings.html",
        {"findings": findings_for_unit(request.user.unit_id), "now": timezone.now()},
    )


def _finding(request, finding_id):
    return or_404(findings_for_unit(request.user.unit_id).filter(pk=finding_id).first())


@reviewer_required
def finding_detail(request, finding_id):
    finding = _finding(request, finding_id)
    return render(
        request,
        "desk/finding.html",
        {"finding": finding, "form": RectificationForm(), "now": timezone.now()},
    )


@reviewer_required
@require_POST
def finding_close(request, finding_id):
    finding = _finding(request, finding_id)
    if refused := uploads.refusal(request):
        messages.error(request, refused)
        return redirect("staff:finding", finding_id=finding.pk)
    form = RectificationForm(request.POST, request.FILES)
    if form.is_valid():
        run_service(
            request,
            lambda: services.finding_close(
                finding=finding,
                actor=request.user,
                rectification=form.cleaned_data["rectification"],
                upload=form.cleaned_data["evidence"],
            ),
            _("Rectification recorded; the finding is closed."),
        )
    else:
        form_errors_as_messages(request, form)
    return redirect("staff:finding", finding_id=finding.pk)


@reviewer_required
def finding_evidence(request, finding_id):
    finding = _finding(request, finding_id)
    stored = or_404(finding.evidence)
    return FileResponse(
        uploads.open_stored(stored), as_attachment=True, filename=stored.original_name
    )
