"""好差评 follow-ups at the unit: the queue with its due times, and one follow-up's steps (verify,
then rectify or explain and answer)."""

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.accounts.decorators import reviewer_required
from kuaiban.cases.access import access_record
from kuaiban.cases.models import AccessKind
from kuaiban.ratings import followups
from kuaiban.web import form_errors_as_messages, or_404

from .. import selectors
from ..actions import run_service
from ..forms import FollowUpAnswerForm, FollowUpAppealForm, FollowUpVerifyForm


@reviewer_required
def follow_up_queue(request):
    return render(
        request,
        "desk/follow_up_queue.html",
        {"rows": selectors.follow_ups_of_unit(request.user)},
    )


@reviewer_required
def follow_up_detail(request, follow_up_id):
    follow_up = or_404(selectors.follow_up_for_reviewer(request.user, follow_up_id))
    if follow_up.rating and follow_up.rating.named:
        # The rater agreed to be named: the page shows their name and number.
        access_record(
            request,
            AccessKind.NAMED_RATER,
            object_id=follow_up.pk,
            reference=follow_up.application.reference,
        )
    return render(
        request,
        "desk/follow_up_detail.html",
        {
            "follow_up": follow_up,
            "rating": follow_up.rating,
            "verify_form": FollowUpVerifyForm(),
            "answer_form": FollowUpAnswerForm(),
            "appeal_form": FollowUpAppealForm(),
        },
    )


def _step(request, follow_up_id, form_class, service, success):
    """One step of a follow-up: the form's fields are the service's arguments."""
    follow_up = or_404(selectors.follow_up_for_reviewer(request.user, follow_up_id))
    form = form_class(request.POST)
    if form.is_valid():
        run_service(
            request,
            lambda: service(follow_up=follow_up, actor=request.user, **form.cleaned_data),
            success,
        )
    else:
        form_errors_as_messages(request, form)
    return redirect("staff:follow_up_detail", follow_up_id=follow_up.pk)


@reviewer_required
@require_POST
def follow_up_verify(request, follow_up_id):
    return _step(
        request,
        follow_up_id,
        FollowUpVerifyForm,
        followups.followup_verify,
        _("Verification recorded."),
    )


@reviewer_required
@require_POST
def follow_up_answer(request, follow_up_id):
    return _step(
        request,
        follow_up_id,
        FollowUpAnswerForm,
        followups.followup_answer,
        _("The answer has been sent to the applicant."),
    )


@reviewer_required
@require_POST
def follow_up_appeal(request, follow_up_id):
    return _step(
        request,
        follow_up_id,
        FollowUpAppealForm,
        followups.followup_appeal,
        _("The appeal has been sent to the supervision office."),
    )
