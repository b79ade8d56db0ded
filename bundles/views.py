"""The applicant's journey: guide → apply → situation → one form → one set of materials →
check → submit → confirmation → status. Views parse, call one service or selector, render."""

import uuid
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
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
from kuaiban.web import add_errors_to_form, form_errors_as_messages, or_404, start_key_parsed

from . import selectors
from .forms import (
    ApplicationForm,
    CommitmentForm,
    HearingAnswerForm,
    QuestionnaireForm,
    RatingForm,
    RectificationRatingForm,
    ReturnAnswerForm,
    ReuseForm,
    UploadForm,
    WithdrawForm,
)
from .services import applications, corrections, submission
from .services import materials as material_services
from .services.guards import require_open_to


@dataclass
class MaterialStep(selectors.RequiredMaterial):
    """A required material on the materials step, with the applicant's earlier uploads of it."""

    reusable: list[StoredFile] = field(default_factory=list)

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
    form = QuestionnaireForm(request.POST or None, questions=bundle_questions, initial=initial)
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
    form = ApplicationForm(request.POST or None, form_fields=form_fields, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            applications.application_save_form(
                application=application,
                actor=request.user,
                data=form.raw_answers(),
                delivery=form.cleaned_data["delivery"],
                address=form.cleaned_data["delivery_address"],
            )
        except ValidationError as error:
            add_errors_to_form(form, error.message_dict)
        else:
            return redirect("applications:materials", reference=reference)
    return _render_step(
        request,
        application,
        "form",
        "bundles/form.html",
        {"form": form, "planned": selectors.planned_items(application)},
    )


@applicant_required
def materials(request, reference):
    application = _own(request, reference)
    if blocked := _editable_or_status(application):
        return blocked
    if request.method == "POST":
        _material_action(request, application)
        return redirect("applications:materials", reference=reference)
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
    return _render_step(
        request,
        application,
        "materials",
        "bundles/materials.html",
        {"required": rows, "bar": _bar_notice(application), "returned": returned},
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


def _material_action(request, application):
    if refused := uploads.refusal(request):
        # The upload handler stopped reading an oversized file: nothing was kept.
        messages.error(request, refused)
        return
    action = request.POST.get("action")
    form_class = {"upload": UploadForm, "commit": CommitmentForm, "reuse": ReuseForm}.get(action)
    if form_class is None:
        raise Http404
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        form_errors_as_messages(request, form)
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
        for message in error.messages:
            messages.error(request, message)


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
            submission.application_submit(application=application, actor=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("applications:review", reference=reference)
        return redirect("applications:done", reference=reference)
    form_fields = selectors.required_form_fields(application)
    data = application.form_data or {}
    answers = [(f, data.get(f.code, "")) for f in form_fields]
    required = selectors.required_materials(application)
    returned = _returned(application, required)
    return _render_step(
        request,
        application,
        "review",
        "bundles/review.html",
        {
            "answers": answers,
            "questions": list(application.situation_questions()),
            "planned": selectors.planned_items(application),
            "required": required,
            "to_fetch": submission.shared_data_to_fetch(required),
            "problems": submission.missing_for_submission(application, required=required),
            "returned": returned,
        },
    )


@applicant_required
def done(request, reference):
    application = _own(request, reference)
    if application.state == ApplicationState.DRAFT:
        return redirect("applications:review", reference=reference)
    return render(request, "bundles/done.html", {"application": application})


@applicant_required
def status(request, reference):
    application = selectors.application_status(_own(request, reference))
    return render(
        request,
        "bundles/status.html",
        {
            "application": application,
            "outlook": selectors.status_outlook(application),
            "timeline": selectors.applicant_timeline(application),
            "withdrawable": "withdraw" in application.available_transitions(),
            "withdraw_form": WithdrawForm(),
            "rateable": bool(rating_targets(application)),
            "answers": answered_follow_ups(application),
            "rated": application.state == ApplicationState.CONCLUDED
            and bool(rating_list(application)),
            "documents": documents_released(application),
            "delivery": ResultDelivery.objects.filter(application=application).first(),
            "hearings": hearings_of(application),
            "hearing_form": HearingAnswerForm(),
            "now": timezone.now(),
        },
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
def withdraw(request, reference):
    application = _own(request, reference)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return redirect("applications:status", reference=reference)
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
