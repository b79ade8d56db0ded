"""In-person intake (现场办理): the clerk identifies the person by ID number, then on one page
in steps asks the situation questions, fills in the one form with them, records each material
as it is handed over, and submits and accepts in the same sitting. Each POST is one service
call in one transaction."""

import uuid
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from bundles.fitted_forms import PersonsTable, fit_form
from bundles.fitting import PERSONS_KEY, fitting_for
from bundles.forms import ApplicationForm, QuestionnaireForm
from bundles.selectors import (
    RequiredMaterial,
    planned_items,
    required_form_fields,
    required_materials,
)
from bundles.services import applications, submission, window
from kuaiban.accounts import security_log
from kuaiban.accounts.decorators import clerk_required
from kuaiban.cases import uploads
from kuaiban.cases.models import Application, ApplicationMaterial
from kuaiban.commitments.selectors import active_bar, bar_message
from kuaiban.web import add_errors_to_form, or_404

from .. import selectors
from ..actions import action_name, run_service
from ..forms import WindowIntakeStartForm


@clerk_required
def intake_new(request):
    bundles, items = selectors.intake_services(request.user)
    form = WindowIntakeStartForm(
        request.POST or None,
        bundles=bundles,
        items=items,
        initial={"start_key": uuid.uuid4()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = window.window_intake_start(
                clerk=request.user,
                resident_id=data["resident_id"],
                real_name=data["real_name"],
                phone=data["phone"],
                start_key=data["start_key"],
                **form.subject(),
                **form.organisation(),
            )
        except PermissionDenied:
            security_log.permission_refused(request, detail=action_name(request))
            raise Http404 from None
        except ValidationError as error:
            add_errors_to_form(form, window.errors_by_field(error))
        else:
            return redirect("staff:intake_in_person", reference=application.reference)
    return render(request, "desk/intake_new.html", {"form": form})


def _in_person_application(request, reference):
    application = or_404(selectors.application_for_clerk(request.user, reference))
    if application.channel != Application.Channel.WINDOW:
        raise Http404
    return application


def _to_intake_page(application):
    return redirect("staff:intake_application", reference=application.reference)


@clerk_required
def intake_in_person(request, reference):
    """One page, in steps on the same URL: the situation questions while any is unanswered
    (or asked for again), then the form with the materials, and submit + accept."""
    application = _in_person_application(request, reference)
    if not application.is_editable:
        return _to_intake_page(application)
    questions = list(application.situation_questions())
    unanswered = {q.code for q in questions} - set(application.answers or {})
    step = request.POST.get("step") if request.method == "POST" else request.GET.get("step")
    if questions and (unanswered or step == "questions"):
        return _questions_step(request, application, questions)
    return _form_step(request, application)


@dataclass
class MaterialAtWindow(RequiredMaterial):
    """A required material on the clerk's page, with what the clerk ticked or typed for it."""

    seen: bool = False
    signed_name: str = ""
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, entry: RequiredMaterial, **extra) -> "MaterialAtWindow":
        return cls(entry.material, entry.items, entry.provided, entry.shared_record, **extra)


def _page(request, application, step, **context):
    return render(
        request,
        "desk/intake_in_person.html",
        {
            "application": application,
            "step": step,
            "questions_count": application.situation_questions().count(),
            **context,
        },
    )


def _questions_step(request, application, questions):
    initial = {code: ("yes" if v else "no") for code, v in (application.answers or {}).items()}
    posted = request.method == "POST" and request.POST.get("step") == "questions"
    form = QuestionnaireForm(request.POST if posted else None, questions=questions, initial=initial)
    if (
        posted
        and form.is_valid()
        and run_service(
            request,
            lambda: applications.application_answer_questions(
                application=application, actor=request.user, answers=form.answers()
            ),
            _("Answers saved."),
        )
    ):
        return redirect("staff:intake_in_person", reference=application.reference)
    return _page(
        request,
        application,
        "questions",
        form=form,
        planned=planned_items(application) if application.answers else [],
    )


def _handed_over(request, application) -> list[window.MaterialHandedOver]:
    """What the clerk recorded for each material on the posted page."""
    seen = set(request.POST.getlist("seen"))
    return [
        window.MaterialHandedOver(
            material=material,
            scan=request.FILES.get(f"scan-{material.code}"),
            seen=material.code in seen,
            signed_name=request.POST.get(f"commit-{material.code}", "").strip(),
            agreed=bool(request.POST.get(f"agree-{material.code}")),
        )
        for material in window.materials_to_record(application)
    ]


def _form_step(request, application):
    initial = {
        # At the window the results are picked up in the hall unless the applicant says otherwise.
        "delivery": application.delivery if application.form_data else Application.Delivery.PICKUP,
        "delivery_address": application.delivery_address,
        **(application.form_data or {}),
    }
    posted = request.method == "POST" and request.POST.get("step") == "form"
    form_fields = required_form_fields(application)
    fitting = fitting_for(application, form_fields)
    form = ApplicationForm(
        request.POST if posted else None, form_fields=fitting.as_asked(form_fields), initial=initial
    )
    fit_form(form, fitting)
    # An enterprise's several employees: the same table as online ("add a row" records nothing).
    persons = PersonsTable.of(request, application, fitting)
    adding = bool(persons and persons.adding)
    material_errors: dict[str, list[str]] = {}
    problems: list[str] = []
    conclude_instant = bool(posted and request.POST.get("conclude_instant"))
    refused = uploads.refusal(request) if posted else None
    if refused:
        # A scan was over the limit and the rest of the page was never read: record nothing,
        # show the page again with what was typed above the materials and the reason.
        form.is_valid()
        form.add_error(None, refused)
    elif posted and not adding:
        valid = form.is_valid()
        if request.POST.get("shared_consent"):
            # Rule SHARED-WINDOW: the person consented (the clerk ticks it); fetched before the
            # sitting's transaction, never inside it. Without the tick nothing is fetched and
            # the shared materials stand as before (the originals are at the window).
            submission.shared_data_fetch(
                application=application,
                actor=request.user,
                consented=True,
                answers=form.raw_answers() if valid else None,
            )
        result = window.window_intake_record(
            application=application,
            actor=request.user,
            form_data=form.raw_answers() if valid else None,
            delivery=form.cleaned_data.get("delivery", "") if valid else "",
            address=form.cleaned_data.get("delivery_address", "") if valid else "",
            materials=_handed_over(request, application),
            conclude_instant=conclude_instant,
            persons=persons.rows if persons is not None else None,
        )
        if result.conflict:
            messages.error(request, _("This was already handled by someone else; please refresh."))
            return _to_intake_page(application)
        if result.completed:
            messages.success(
                request,
                _(
                    "Application %(reference)s submitted and accepted. Give the applicant "
                    "this reference number; it is also sent to them."
                )
                % {"reference": application.reference},
            )
            return _to_intake_page(application)
        if persons is not None:
            persons.errors = result.form_errors.pop(PERSONS_KEY, [])
        add_errors_to_form(form, result.form_errors)
        material_errors, problems = result.material_errors, result.problems
        # Show the page again with what is stored now and everything typed.
        application = _in_person_application(request, application.reference)
    seen = set(request.POST.getlist("seen")) if posted else set()
    required = [
        MaterialAtWindow.of(
            entry,
            seen=entry.material.code in seen
            or bool(
                entry.provided
                and entry.provided.provision == ApplicationMaterial.Provision.AT_WINDOW
            ),
            signed_name=request.POST.get(f"commit-{entry.material.code}", "") if posted else "",
            errors=material_errors.get(entry.material.code, []),
        )
        for entry in required_materials(application)
    ]
    return _page(
        request,
        application,
        "form",
        form=form,
        planned=planned_items(application),
        required=required,
        problems=problems or (submission.missing_for_submission(application) if posted else []),
        conclude_instant=conclude_instant,
        persons=persons,
        shared_consent=bool(posted and request.POST.get("shared_consent")),
        to_fetch=submission.shared_data_to_fetch(required),
        bar=bar_message(bar) if (bar := active_bar(application.applicant)) else "",
    )
