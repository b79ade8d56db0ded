"""Window intake (一窗受理): the clerk's queue of online submissions and one application's page,
with accept (clocks start), return once with the complete list, refuse, and record a visit.

Views stay thin: a GET renders what a selector reads; a POST parses a small form, calls ONE
service, turns its refusal into a message and redirects. Another window's application is 404.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bundles.forms import RatingForm
from bundles.selectors import (
    application_status,
    required_materials,
    return_corrections,
    status_outlook,
)
from bundles.services import delivery, intake
from kuaiban.accounts.decorators import clerk_required
from kuaiban.cases.access import access_record
from kuaiban.cases.models import AccessKind
from kuaiban.documents.models import ResultDelivery
from kuaiban.documents.selectors import documents_of
from kuaiban.precheck.selectors import findings_of
from kuaiban.precheck.services import finding_review
from kuaiban.ratings.links import rating_qr_svg
from kuaiban.ratings.models import Channel
from kuaiban.ratings.selectors import dimensions_for, rating_targets
from kuaiban.ratings.services import rating_submit
from kuaiban.web import form_errors_as_messages, or_404

from .. import selectors
from ..actions import run_service
from ..forms import AcceptForm, PostedResultsForm, ReasonBasisForm, ReturnForm, VisitForm

ALREADY_HANDLED = gettext_lazy(
    "The application has already been handled by someone else; please refresh."
)


def _application(request, reference):
    return or_404(selectors.application_for_clerk(request.user, reference))


def _back(application):
    return redirect("staff:intake_application", reference=application.reference)


@clerk_required
def intake_queue(request):
    """The windows' waiting applications, first submitted first, 50 a page; a reference number
    or an ID number finds one."""
    query = request.GET.get("q", "")[:40]
    applications = selectors.intake_queue(request.user, query=query)
    page = Paginator(applications, selectors.QUEUE_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "desk/intake_queue.html",
        {
            "applications": page.object_list,
            "page": page,
            "page_query": urlencode({"q": query}),
            "query": query,
            "now": timezone.now(),
        },
    )


@clerk_required
def intake_receipt(request, reference):
    """The printable intake receipt (受理回执) handed to the applicant once accepted: what was
    accepted, by whom and when, the materials received, each item's expected completion and
    how to follow it."""
    application = _application(request, reference)
    accepted = or_404(selectors.acceptance_of(application))
    application = application_status(application)
    return render(
        request,
        "desk/intake_receipt.html",
        {
            "application": application,
            "accepted": accepted,
            "outlook": status_outlook(application),
        },
    )


@clerk_required
def intake_application(request, reference):
    application = _application(request, reference)
    access_record(
        request, AccessKind.INTAKE_PAGE, object_id=application.pk, reference=application.reference
    )
    required = required_materials(application)
    return render(
        request,
        "desk/intake_application.html",
        {
            "application": application,
            "answers": selectors.form_answers(application),
            "persons": selectors.form_persons(application),
            "questions": list(application.situation_questions()),
            "required": required,
            "corrections": return_corrections(application, required),
            "is_open_for_intake": intake.is_open_for_intake(application),
            "accept_form": AcceptForm(),
            "return_form": ReturnForm(materials=[entry.material for entry in required]),
            "refuse_form": ReasonBasisForm(),
            "visit_form": VisitForm(),
            "documents": documents_of(application),
            "delivery": ResultDelivery.objects.filter(application=application).first(),
            "posted_form": PostedResultsForm(),
            "precheck_findings": list(findings_of(application)),
            **_rating_context(application),
        },
    )


def _rating_context(application) -> dict:
    """好差评 at the window: once the application has concluded, the QR code the person scans
    to rate it, and the form for a rating phoned in to the 12345 hotline."""
    targets = rating_targets(application)
    if not targets:
        return {}
    return {
        "rating_qr": rating_qr_svg(application),
        "hotline_form": RatingForm(targets=targets, dimensions=dimensions_for(application)),
    }


@clerk_required
@require_POST
def intake_hotline_rating(request, reference):
    """A rating phoned in to the 12345 hotline, typed in by the clerk: marked as entered by them."""
    application = _application(request, reference)
    targets = rating_targets(application)
    form = RatingForm(request.POST, targets=targets, dimensions=dimensions_for(application))
    if not targets or not form.is_valid():
        form_errors_as_messages(request, form)
        return _back(application)
    target = next(t for t in targets if t.key == form.cleaned_data["target"])
    run_service(
        request,
        lambda: rating_submit(
            application=application,
            item_case=target.item_case,
            grade=form.cleaned_data["grade"],
            dimensions=form.dimensions(),
            comment=form.cleaned_data["comment"],
            channel=Channel.HOTLINE,
            named=form.cleaned_data["named"],
            entered_by=request.user,
        ),
        _("The hotline rating is recorded, marked as entered by you."),
    )
    return _back(application)


@clerk_required
@require_POST
def intake_precheck_verdict(request, reference, finding_id):
    """The clerk agrees or disagrees with a pre-check finding (智能预审), recorded with who and
    when; the supervisors' figures count the latest verdict."""
    application = _application(request, reference)
    finding = or_404(findings_of(application).filter(pk=finding_id).first())
    verdict = request.POST.get("verdict")
    if verdict not in ("agree", "disagree"):
        messages.error(request, _("Choose agree or disagree."))
        return _back(application)
    run_service(
        request,
        lambda: finding_review(finding=finding, actor=request.user, agreed=verdict == "agree"),
        _("Your verdict on the pre-check finding is recorded."),
    )
    return _back(application)


@clerk_required
@require_POST
def intake_accept(request, reference):
    application = _application(request, reference)
    form = AcceptForm(request.POST)
    form.is_valid()
    run_service(
        request,
        lambda: intake.application_accept(
            application=application,
            actor=request.user,
            conclude_instant=form.cleaned_data.get("conclude_instant", False),
        ),
        _("Application %(reference)s accepted.") % {"reference": application.reference},
        not_allowed=ALREADY_HANDLED,
    )
    return _back(application)


@clerk_required
@require_POST
def intake_return(request, reference):
    application = _application(request, reference)
    required = required_materials(application)
    form = ReturnForm(request.POST, materials=[entry.material for entry in required])
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return _back(application)
    run_service(
        request,
        lambda: intake.application_return(
            application=application,
            actor=request.user,
            material_ids=form.cleaned_data["materials"],
            note=form.cleaned_data["note"],
        ),
        _("Application %(reference)s returned with the complete list.")
        % {"reference": application.reference},
        not_allowed=ALREADY_HANDLED,
    )
    return _back(application)


@clerk_required
@require_POST
def intake_refuse(request, reference):
    application = _application(request, reference)
    form = ReasonBasisForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return _back(application)
    run_service(
        request,
        lambda: intake.application_refuse(
            application=application,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            legal_basis=form.cleaned_data["legal_basis"],
        ),
        _("Application %(reference)s refused.") % {"reference": application.reference},
        not_allowed=ALREADY_HANDLED,
    )
    return _back(application)


@clerk_required
@require_POST
def intake_visit(request, reference):
    application = _application(request, reference)
    form = VisitForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return _back(application)
    run_service(
        request,
        lambda: intake.visit_record(
            application=application, actor=request.user, purpose=form.cleaned_data["purpose"]
        ),
        _("Visit recorded."),
    )
    return _back(application)


@clerk_required
@require_POST
def intake_handed_over(request, reference):
    """The applicant picked the results up at the window: the clerk confirms it."""
    application = _application(request, reference)
    run_service(
        request,
        lambda: delivery.results_handed_over(application=application, actor=request.user),
        _("The hand-over of the results is recorded."),
    )
    return _back(application)


@clerk_required
@require_POST
def intake_posted(request, reference):
    """The results were posted: the clerk records the carrier and the tracking number."""
    application = _application(request, reference)
    form = PostedResultsForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return _back(application)
    run_service(
        request,
        lambda: delivery.results_posted(
            application=application,
            actor=request.user,
            carrier=form.cleaned_data["carrier"],
            tracking_number=form.cleaned_data["tracking_number"],
        ),
        _("The posting of the results is recorded; the applicant is told the tracking number."),
    )
    return _back(application)
