"""告知承诺制 at the unit: the queue of post-hoc verifications, one verification's page (method,
evidence, outcome; found false sends the hearing notice), and the unit head's decision after
the hearing (stop or revoke, repayment, bar), the repayment's payment and the bar's lifting."""

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.accounts.decorators import reviewer_required
from kuaiban.cases import uploads
from kuaiban.cases.access import access_record
from kuaiban.cases.models import AccessKind
from kuaiban.commitments import selectors as commitment_selectors
from kuaiban.commitments import services
from kuaiban.web import form_errors_as_messages, or_404

from ..actions import run_service
from ..forms import (
    BarLiftForm,
    CheckEvidenceForm,
    CheckMethodForm,
    CheckOutcomeForm,
    HearingDecisionForm,
)


def _check(request, check_id):
    return or_404(commitment_selectors.check_for_staff(request.user, check_id))


def _back(check):
    return redirect("staff:commitment_check", check_id=check.pk)


@reviewer_required
def check_queue(request):
    return render(
        request,
        "desk/commitment_check_queue.html",
        {
            "rows": commitment_selectors.checks_of_unit(request.user),
            "bars": commitment_selectors.bars_of_unit(request.user),
        },
    )


@reviewer_required
def check_detail(request, check_id):
    check = _check(request, check_id)
    hearing = getattr(check, "hearing", None)
    return render(
        request,
        "desk/commitment_check_detail.html",
        {
            "check": check,
            "hearing": hearing,
            "may_decide": bool(hearing and request.user.is_unit_head and hearing.may_decide()),
            "method_form": CheckMethodForm(
                initial={"method": check.method, "method_note": check.method_note}
            ),
            "evidence_form": CheckEvidenceForm(),
            "outcome_form": CheckOutcomeForm(),
            "decision_form": HearingDecisionForm(),
            "lift_form": BarLiftForm(),
        },
    )


def _step(request, check_id, form_class, call, success, *, files=False):
    """One step: the form's fields are the service's arguments."""
    check = _check(request, check_id)
    form = form_class(request.POST, request.FILES if files else None)
    if form.is_valid():
        run_service(request, lambda: call(check, form.cleaned_data), success)
    else:
        form_errors_as_messages(request, form)
    return _back(check)


@reviewer_required
@require_POST
def check_method(request, check_id):
    return _step(
        request,
        check_id,
        CheckMethodForm,
        lambda check, data: services.check_record_method(check=check, actor=request.user, **data),
        _("Verification method recorded."),
    )


@reviewer_required
@require_POST
def check_evidence(request, check_id):
    if refused := uploads.refusal(request):
        messages.error(request, refused)
        return _back(_check(request, check_id))
    return _step(
        request,
        check_id,
        CheckEvidenceForm,
        lambda check, data: services.check_attach_evidence(
            check=check, actor=request.user, upload=data["file"]
        ),
        _("Evidence uploaded."),
        files=True,
    )


@reviewer_required
def check_evidence_file(request, check_id):
    check = _check(request, check_id)
    stored = or_404(check.evidence)
    access_record(
        request,
        AccessKind.FILE_DOWNLOAD,
        object_id=stored.pk,
        reference=check.application.reference,
    )
    response = FileResponse(
        uploads.open_stored(stored),
        as_attachment=True,
        filename=stored.original_name,
        content_type=stored.content_type,
    )
    response["Content-Length"] = stored.size
    return response


@reviewer_required
@require_POST
def check_outcome(request, check_id):
    return _step(
        request,
        check_id,
        CheckOutcomeForm,
        lambda check, data: services.check_conclude(check=check, actor=request.user, **data),
        _("Outcome recorded."),
    )


@reviewer_required
@require_POST
def hearing_decide(request, check_id):
    def call(check, data):
        hearing = or_404(getattr(check, "hearing", None))
        services.hearing_decide(hearing=hearing, actor=request.user, **data)

    return _step(request, check_id, HearingDecisionForm, call, _("Decision recorded."))


@reviewer_required
@require_POST
def repayment_paid(request, check_id, order_id):
    check = _check(request, check_id)
    order = or_404(next((o for o in check.repayments.all() if o.pk == order_id), None))
    run_service(
        request,
        lambda: services.repayment_record_paid(order=order, actor=request.user),
        _("Repayment recorded as paid."),
    )
    return _back(check)


@reviewer_required
@require_POST
def bar_lift(request, check_id, bar_id):
    check = _check(request, check_id)
    bar = or_404(next((b for b in check.bars.all() if b.pk == bar_id), None))
    form = BarLiftForm(request.POST)
    if form.is_valid():
        run_service(
            request,
            lambda: services.bar_lift(bar=bar, actor=request.user, **form.cleaned_data),
            _("The bar has been lifted."),
        )
    else:
        form_errors_as_messages(request, form)
    return _back(check)
