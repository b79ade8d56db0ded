"""The applicant's journey: guide → apply → situation → one form → one set of materials →
check → submit → confirmation → status. Views parse, call one service or selector, render."""

import uuid
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.accounts.decorators import applicant_required
from kuaiban.cases import uploads
from kuaiban.cases.access import access_record
from kuaiban.cases.models import AccessKind, ApplicationState, StoredFile
from kuaiban.catalog.models import Material
from kuaiban.catalog.selectors import published_bundles, published_items
from kuaiban.commitments.selectors import active_bar, bar_message, hearings_of
from kuaiban.commitments.services import hearing_answer as hearing_answer_service
from kuaiban.documents.models import ResultDelivery
from kuaiban.documents.selectors import documents_released
from kuaiban.precheck.rules import Severity
from kuaiban.proactive import services as proactive
from kuaiban.proactive.selectors import proposal_shown
from kuaiban.ratings.followups import followup_rate_rectification
from kuaiban.ratings.links import application_for_token
from kuaiban.ratings.models import Channel, FollowUp, Grade
from kuaiban.ratings.selectors import (
    answered_follow_ups,
    dimensions_for,
    rating_list,
    rating_targets,
)
from kuaiban.ratings.services import rating_submit
from kuaiban.shareddata.selectors import records_by_material
from kuaiban.web import add_errors_to_form, form_errors_as_messages, or_404, start_key_parsed

from . import selectors
from .fitted_forms import PersonsTable, fit_form, persons_from_workbook, persons_workbook
from .fitting import PERSONS_KEY, fitting_for, persons_shown
from .forms import (
    ApplicationForm,
    CommitmentForm,
    HearingAnswerForm,
    ObjectionForm,
    QuestionnaireForm,
    RatingForm,
    RectificationRatingForm,
    ReturnAnswerForm,
    ReuseForm,
    UploadForm,
    WithdrawForm,
)
from .services import applications, corrections, entitlements, submission
from .services import fitting as fitting_services
from .services import materials as material_services
from .services.guards import require_open_to
from .services.invitations import application_start_invited


@dataclass
class MaterialStep(selectors.RequiredMaterial):
    """A required material on the materials step, with the applicant's earlier uploads of it."""

    reusable: list[StoredFile] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # of the last action on it, shown beside it

    @classmethod
    def of(cls, entry: selectors.RequiredMaterial, **extra) -> "MaterialStep":
        return cls(entry.material, entry.items, entry.provided, entry.shared_record, **extra)


def _own(request, reference):
    return or_404(selectors.application_for_applicant(request.user, reference))


def _bar_notice(application) -> str:
    """Why the applicant may not commit instead of proving (empty when they may)."""
    bar = active_bar(application.applicant)
    return bar_message(bar) if bar else ""


def _editable_or_status(application):
    if application.is_editable:
        return None
    return redirect("applications:status", reference=application.reference)


def _steps(application, current):
    steps = [
        ("questions", _("Your situation")),
        ("form", _("Application form")),
        ("materials", _("Materials")),
        ("review", _("Check and submit")),
    ]
    if not application.bundle_id:
        steps = steps[1:]
    return [
        {"key": key, "label": label, "current": key == current, "number": n}
        for n, (key, label) in enumerate(steps, start=1)
    ]


def _render_step(request, application, step, template, context):
    return render(
        request,
        template,
        {"application": application, "steps": _steps(application, step), **context},
    )


# -- start ---------------------------------------------------------------------------------


@applicant_required
def apply_bundle(request, code):
    bundle = get_object_or_404(published_bundles(), code=code)
    return _start(request, bundle=bundle)


@applicant_required
def apply_item(request, code):
    item = get_object_or_404(published_items(), code=code)
    return _start(request, item=item)


def _start(request, *, bundle=None, item=None):
    refusal = ""
    if request.method == "POST":
        try:
            application = applications.application_start(
                applicant=request.user,
                bundle=bundle,
                item=item,
                start_key=start_key_parsed(request.POST.get("start_key", "")),
            )
        except ValidationError as error:
            refusal = " ".join(error.messages)
        else:
            first = "questions" if bundle and bundle.questions.exists() else "form"
            return redirect(f"applications:{first}", reference=application.reference)
    else:
        try:
            require_open_to(bundle, request.user)
        except ValidationError as error:
            refusal = " ".join(error.messages)
    return render(
        request,
        "bundles/start.html",
        {
            "subject": bundle or item,
            "is_bundle": bundle is not None,
            "start_key": uuid.uuid4(),
            "refusal": refusal,
        },
        status=403 if refusal else 200,
    )


# -- steps -----------------------------------------------------------------------------------


@applicant_required
def questions(request, reference):
    application = _own(request, reference)
    if (blocked := _editable_or_status(application)) or not application.bundle_id:
        return blocked or redirect("applications:form", reference=reference)
    bundle_questions = list(application.situation_questions())
    initial = {code: ("yes" if v else "no") for code, v in (application.answers or {}).items()}
    posted = request.POST if request.method == "POST" else None  # (an empty POST is falsy)
    form = QuestionnaireForm(posted, questions=bundle_questions, initial=initial)
    if request.method == "POST" and form.is_valid():
        applications.application_answer_questions(
            application=application, actor=request.user, answers=form.answers()
        )
        return redirect("applications:form", reference=reference)
    planned = selectors.planned_items(application) if application.answers else []
    return _render_step(
        request,
        application,
        "questions",
        "bundles/questions.html",
        {"form": form, "planned": planned},
    )


@applicant_required
def application_form(request, reference):
    application = _own(request, reference)
    if blocked := _editable_or_status(application):
        return blocked
    form_fields = selectors.required_form_fields(application)
    initial = {"delivery": application.delivery, "delivery_address": application.delivery_address}
    initial.update(application.form_data or {})
    fitting = fitting_for(application, form_fields)
    form = ApplicationForm(
        request.POST or None, form_fields=fitting.as_asked(form_fields), initial=initial
    )
    fit_form(form, fitting)
    persons = PersonsTable.of(request, application, fitting)
    if request.method == "POST" and not (persons and persons.adding):
        # The service saves every valid answer as the draft even when others fail, so it is
        # called whatever the form's own checks say; its errors join theirs, once per field.
        form.is_valid()
        try:
            _save_form(request, application, form, persons)
        except ValidationError as error:
            errors = error.message_dict
            if persons is not None:
                persons.errors = errors.pop(PERSONS_KEY, [])
            add_errors_to_form(form, {k: v for k, v in errors.items() if k not in form.errors})
        else:
            if not form.errors:
                return redirect("applications:materials", reference=reference)
    return _render_step(
        request,
        application,
        "form",
        "bundles/form.html",
        {
            "form": form,
            "planned": selectors.planned_items(application),
            "persons": persons,
            "identity_answers": bool(fitting.identity),
        },
    )


def _save_form(request, application, form, persons):
    answers = {
        "application": application,
        "actor": request.user,
        "data": form.raw_answers(),
        "delivery": request.POST.get("delivery", ""),
        "address": request.POST.get("delivery_address", ""),
    }
    if persons is None:
        applications.application_save_form(**answers)
    else:
        fitting_services.application_save_form_and_persons(**answers, rows=persons.rows)


def _table_of_persons(application):
    """How the form fits this application, which must have a table of persons (else 404)."""
    fitting = fitting_for(application, selectors.required_form_fields(application))
    if not fitting.several_persons:
        raise Http404
    return fitting


@applicant_required
def persons_template(request, reference):
    """The Excel template of the table of persons (with the persons listed so far)."""
    application = _own(request, reference)
    fitting = _table_of_persons(application)
    rows = (application.form_data or {}).get(PERSONS_KEY) or []
    response = HttpResponse(
        persons_workbook(fitting.person_fields, rows),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="persons-{reference}.xlsx"'
    return response


@applicant_required
@require_POST
def persons_upload(request, reference):
    """The filled-in template: every row valid fills the table, else each bad row is named."""
    application = _own(request, reference)
    if blocked := _editable_or_status(application):
        return blocked
    fitting = _table_of_persons(application)
    upload = request.FILES.get("workbook")
    try:
        if upload is None:
            raise ValidationError(_("Choose the filled-in workbook."))
        rows, numbers = persons_from_workbook(upload, fitting.person_fields)
        fitting_services.application_save_persons(
            application=application, actor=request.user, rows=rows, numbers=numbers
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("%(count)d persons read from the workbook.") % {"count": len(rows)}
        )
    return redirect("applications:form", reference=reference)


@applicant_required
def materials(request, reference):
    application = _own(request, reference)
    if blocked := _editable_or_status(application):
        return blocked
    if request.method == "POST":
        _material_action(request, application)
        return redirect("applications:materials", reference=reference)
    errors = _material_errors_taken(request, application)
    required = selectors.required_materials(application)
    reusable = selectors.reusable_files(request.user, [r.material.pk for r in required])
    rows = [
        MaterialStep.of(
            entry,
            reusable=[
                f
                for f in reusable.get(entry.material.pk, [])
                if not (entry.provided and entry.provided.file_id == f.pk)
            ],
        )
        for entry in required
    ]
    returned = _returned(application, required)
    for row, entry in zip(rows, required, strict=True):
        row.returned = entry.returned
        row.errors = errors.pop(row.material.code, [])
    by_code = {row.material.code: row for row in rows}
    return _render_step(
        request,
        application,
        "materials",
        "bundles/materials.html",
        {
            "required": rows,
            "bar": _bar_notice(application),
            "returned": returned,
            # The summary at the top: each material's problem, linked to its upload control.
            "problem_links": [
                (
                    f"#{'file' if row.upload_offered else 'material'}-{code}",
                    _material_problem(row, m),
                )
                for code, row in by_code.items()
                for m in row.errors
            ]
            + [("", m) for leftover in errors.values() for m in leftover],
        },
    )


def _returned(application, required):
    """The latest return while the application is back with the applicant (else None), each
    required material it named marked (需补正)."""
    if application.state != ApplicationState.RETURNED:
        return None
    returned = selectors.return_corrections(application, required)
    selectors.mark_returned(required, returned)
    return returned


@applicant_required
@require_POST
def return_answer(request, reference):
    """Record "unchanged, because …" for a returned material, or answer a note-only return."""
    application = _own(request, reference)
    if blocked := _editable_or_status(application):
        return blocked
    form = ReturnAnswerForm(request.POST)
    anchor = ""
    if form.is_valid():
        code = form.cleaned_data["material"]
        material = get_object_or_404(Material, code=code) if code else None
        anchor = f"#material-{code}" if code else "#return-notice"
        try:
            corrections.return_answer(
                application=application,
                actor=request.user,
                material=material,
                explanation=form.cleaned_data["explanation"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Your explanation has been saved."))
    else:
        form_errors_as_messages(request, form)
    return redirect(reverse("applications:materials", args=[reference]) + anchor)


# Upload errors carried across the redirect (post/redirect/get) to be shown next to the
# material they concern: {reference: {material code: [messages]}} in the session.
MATERIAL_ERRORS = "kuaiban_material_errors"


def _material_error(request, application, code: str | None, messages_: list) -> None:
    """Keep errors of the material `code` for the page the action redirects to (as a message
    above the page when the material is not known)."""
    if not code:
        for message in messages_:
            messages.error(request, message)
        return
    kept = request.session.get(MATERIAL_ERRORS, {})
    kept.setdefault(application.reference, {}).setdefault(code, []).extend(map(str, messages_))
    request.session[MATERIAL_ERRORS] = kept


def _material_errors_taken(request, application) -> dict[str, list[str]]:
    kept = request.session.get(MATERIAL_ERRORS)
    if not kept or application.reference not in kept:
        return {}
    errors = kept.pop(application.reference)
    request.session[MATERIAL_ERRORS] = kept
    return errors


def _material_problem(row, message: str) -> str:
    return _("“%(material)s”: %(message)s") % {"material": row.material.name, "message": message}


def _material_action(request, application):
    # The material's code comes before the file in the form, so it is read even when the
    # upload handler stopped the body at the file.
    code = str(request.POST.get("material", ""))[:40] or None
    if refused := uploads.refusal(request):
        # The upload handler stopped reading an oversized file: nothing was kept.
        _material_error(request, application, code, [refused])
        return
    action = request.POST.get("action")
    form_class = {"upload": UploadForm, "commit": CommitmentForm, "reuse": ReuseForm}.get(action)
    if form_class is None:
        raise Http404
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        errors = [m for field_errors in form.errors.values() for m in field_errors]
        _material_error(request, application, code, errors)
        return
    material = get_object_or_404(Material, code=form.cleaned_data["material"])
    try:
        if action == "upload":
            material_services.material_upload(
                application=application,
                actor=request.user,
                material=material,
                upload=form.cleaned_data["file"],
            )
            messages.success(request, _("“%(m)s” uploaded.") % {"m": material.name})
        elif action == "commit":
            material_services.material_commit(
                application=application,
                actor=request.user,
                material=material,
                signed_name=form.cleaned_data["signed_name"],
                agreed=form.cleaned_data["agree"],
            )
            messages.success(request, _("Commitment for “%(m)s” signed.") % {"m": material.name})
        else:
            stored = get_object_or_404(
                StoredFile, pk=form.cleaned_data["file_id"], owner=request.user
            )
            material_services.material_reuse(
                application=application, actor=request.user, material=material, stored_file=stored
            )
            messages.success(request, _("Earlier file used for “%(m)s”.") % {"m": material.name})
    except ValidationError as error:
        _material_error(request, application, material.code, error.messages)


@applicant_required
def review(request, reference):
    application = _own(request, reference)
    if blocked := _editable_or_status(application):
        return blocked
    if request.method == "POST":
        try:
            # Shared data first, outside the submission's transaction (a slow source never
            # holds the application's lock); then the submission reads what was fetched.
            submission.shared_data_fetch(
                application=application,
                actor=request.user,
                consented=request.POST.get("consent") == "on",
            )
            # 智能预审: the page posts the warnings it showed; one it did not show (raised by
            # the data just fetched) brings the applicant back to read it.
            submission.application_submit(
                application=application,
                actor=request.user,
                warnings_seen=request.POST.getlist("warning_seen"),
            )
        except ValidationError as error:
            if getattr(error, "code", None) == "precheck_unseen":
                messages.warning(request, error.message)
            else:
                for message in error.messages:
                    messages.error(request, message)
            return redirect("applications:review", reference=reference)
        return redirect("applications:done", reference=reference)
    planned = selectors.planned_items(application)
    form_fields = selectors.required_form_fields(application, planned)
    data = application.form_data or {}
    fitting = fitting_for(application, form_fields)
    answers = [(f, data.get(f.code, "")) for f in fitting.as_asked(form_fields, data)]
    shared = records_by_material(application.pk)  # read once: the materials and the pre-check
    required = selectors.required_materials(application, planned, shared)
    returned = _returned(application, required)
    findings = submission.precheck(application, planned, shared.values())
    return _render_step(
        request,
        application,
        "review",
        "bundles/review.html",
        {
            "answers": answers,
            "from_identity": fitting.identity,
            "persons": persons_shown(fitting, data),
            "questions": list(application.situation_questions()),
            "planned": planned,
            "required": required,
            "to_fetch": submission.shared_data_to_fetch(required),
            "problems": (
                problems := submission.missing_for_submission(
                    application, planned=planned, required=required, findings=findings
                )
            ),
            # 智能预审: what the applicant is warned of (may still submit).
            "precheck_warnings": [f for f in findings if f.severity == Severity.WARN],
            "problem_links": [(_problem_href(application, p), p) for p in problems],
            "returned": returned,
        },
    )


def _problem_href(application, problem) -> str:
    """Where a problem of the check page is put right: the step's page, at the field or the
    material (a problem without a step has no link)."""
    step = getattr(problem, "step", "")
    if not step:
        return ""
    url = reverse(f"applications:{step}", kwargs={"reference": application.reference})
    anchor = getattr(problem, "anchor", "")
    if not anchor:
        return url
    return f"{url}#{'id_' if step == 'form' else 'material-'}{anchor}"


@applicant_required
def done(request, reference):
    application = _own(request, reference)
    if application.state == ApplicationState.DRAFT:
        return redirect("applications:review", reference=reference)
    return render(request, "bundles/done.html", {"application": application})


@applicant_required
def status(request, reference):
    return _status_page(request, _own(request, reference))


def _status_page(request, application, *, withdraw_form=None, objection_form=None, status=200):
    application = selectors.application_status(application)
    return render(
        request,
        "bundles/status.html",
        {
            "application": application,
            "outlook": selectors.status_outlook(application),
            "timeline": selectors.applicant_timeline(application),
            "withdrawable": "withdraw" in application.available_transitions(),
            "withdraw_form": withdraw_form or WithdrawForm(),
            "rateable": bool(rating_targets(application)),
            "answers": answered_follow_ups(application),
            "rated": application.state == ApplicationState.CONCLUDED
            and bool(rating_list(application)),
            "documents": documents_released(application),
            "delivery": ResultDelivery.objects.filter(application=application).first(),
            "hearings": hearings_of(application),
            "hearing_form": HearingAnswerForm(),
            "now": timezone.now(),
            "proposal": proposal_shown(application.pk),
            "objection_form": objection_form or ObjectionForm(),
        },
        status=status,
    )


@applicant_required
@require_POST
def hearing_answer(request, reference, hearing_id):
    """The applicant's statement on a notice before a decision (陈述申辩)."""
    application = _own(request, reference)
    hearing = or_404(hearings_of(application).filter(pk=hearing_id).first())
    form = HearingAnswerForm(request.POST)
    if form.is_valid():
        try:
            hearing_answer_service(
                hearing=hearing, actor=request.user, response=form.cleaned_data["response"]
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Your statement has been sent to the unit."))
    else:
        form_errors_as_messages(request, form)
    return redirect("applications:status", reference=reference)


@applicant_required
@require_POST
def object_to_proposal(request, reference):
    """免申即享: the person objects to what was proposed for them without an application; the
    application is withdrawn with their reason."""
    application = _own(request, reference)
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        return _status_page(request, application, objection_form=form, status=400)
    try:
        entitlements.proposal_object(
            application=application, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Your objection is recorded; the proposal is withdrawn."))
    return redirect("applications:status", reference=reference)


@applicant_required
@require_POST
def withdraw(request, reference):
    application = _own(request, reference)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        # The status page again, its withdrawal form open with the error summary and what was
        # typed (the reason) kept.
        return _status_page(request, application, withdraw_form=form, status=400)
    try:
        applications.application_withdraw(
            application=application, actor=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("The application has been withdrawn."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("applications:status", reference=reference)


@applicant_required
def rate(request, reference):
    """好差评 from the status page: the logged-in applicant rates what has concluded."""
    return _rating_page(request, _own(request, reference), channel=Channel.ONLINE)


def rate_by_link(request, token):
    """好差评 from the link in the SMS sent at the conclusion, or the window's QR code: no log-in
    (the link reached the applicant's phone, or they stood at the window); it expires with the
    rating period."""
    application, channel = application_for_token(token)
    return _rating_page(request, or_404(application), channel=channel)


def _rating_page(request, application, *, channel):
    targets = rating_targets(application)
    form = RatingForm(request.POST or None, targets=targets, dimensions=dimensions_for(application))
    if request.method == "POST" and targets and form.is_valid():
        target = next(t for t in targets if t.key == form.cleaned_data["target"])
        try:
            rating = rating_submit(
                application=application,
                item_case=target.item_case,
                grade=form.cleaned_data["grade"],
                dimensions=form.dimensions(),
                comment=form.cleaned_data["comment"],
                channel=channel,
                named=form.cleaned_data["named"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _(
                    "Thank you: your rating of “%(what)s” is recorded (application %(reference)s, "
                    "rating no. %(number)s)."
                )
                % {"what": target.label, "reference": application.reference, "number": rating.pk},
            )
            return redirect(request.path)
    return render(
        request,
        "bundles/rate.html",
        {
            "application": application,
            "form": form,
            "targets": targets,
            "ratings": rating_list(application),
            "answers": answered_follow_ups(application),
            "grades": Grade.choices,
            "logged_in_owner": request.user == application.applicant,
        },
    )


@applicant_required
@require_POST
def rate_rectification(request, reference, follow_up_id):
    """The rater judges the unit's rectification, once."""
    application = _own(request, reference)
    follow_up = or_404(FollowUp.objects.filter(application=application, pk=follow_up_id).first())
    form = RectificationRatingForm(request.POST)
    if form.is_valid():
        try:
            followup_rate_rectification(follow_up=follow_up, grade=form.cleaned_data["grade"])
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request, _("Thank you: your verdict on the rectification is recorded.")
            )
    else:
        form_errors_as_messages(request, form)
    return redirect("applications:rate", reference=reference)


@applicant_required
def application_list(request):
    return render(
        request,
        "bundles/list.html",
        {"applications": selectors.applications_of(request.user)},
    )


@login_required
def download(request, file_id):
    """Serve a stored material as an attachment, only to those allowed to see it (else 404)."""
    stored = or_404(selectors.file_for_user(request.user, file_id))
    access_record(request, AccessKind.FILE_DOWNLOAD, object_id=stored.pk)
    response = FileResponse(
        uploads.open_stored(stored),  # decrypted as it streams
        as_attachment=True,
        filename=stored.original_name,
        content_type=stored.content_type,
    )
    response["Content-Length"] = stored.size
    return response


# -- proactive invitations (主动服务) ---------------------------------------------------------


@applicant_required
def invitation(request, token):
    """An invitation's link: the invited person starts the bundle pre-filled, or opts out."""
    found = or_404(proactive.invitation_for(request.user, token))
    refusal = ""
    if request.method == "POST":
        if request.POST.get("opt_out") in ("rule", "all"):
            proactive.opt_out(invitation=found, every_rule=request.POST["opt_out"] == "all")
            messages.success(request, _("You will not be invited like this again."))
            return redirect("home")
        try:
            application = application_start_invited(
                applicant=request.user,
                invitation=found,
                start_key=start_key_parsed(request.POST.get("start_key", "")),
            )
        except ValidationError as error:
            refusal = " ".join(error.messages)
        else:
            bundle = found.rule.bundle
            first = "questions" if not application.answers and bundle.questions.exists() else "form"
            return redirect(f"applications:{first}", reference=application.reference)
    return render(
        request,
        "bundles/invitation.html",
        {
            "invitation": found,
            "subject": found.rule.bundle,
            "start_key": uuid.uuid4(),
            "refusal": refusal,
        },
        status=403 if refusal else 200,
    )
