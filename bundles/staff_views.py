"""Staff screens: one-window intake (一窗受理) for clerks, the back office for reviewers.

Views stay thin: a GET renders what a selector reads; a POST parses a small form, calls ONE
service, turns its refusal into a message and redirects. Staff screens never reveal themselves:
a wrong role, another window's application or another unit's case is a 404, never a 403.
"""

import uuid
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from kuaiban.accounts.identity import normalize_phone, normalize_resident_id
from kuaiban.accounts.models import Role
from kuaiban.cases import intake, review, selectors, services, staff_selectors
from kuaiban.cases.models import Application, ApplicationMaterial, ApplicationState, CasePause
from kuaiban.catalog.selectors import published_bundles, published_items

from .forms import ApplicationForm, QuestionnaireForm

# -- access ------------------------------------------------------------------------------------


def _role_required(role):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.user.role != role:
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


clerk_required = _role_required(Role.CLERK)
reviewer_required = _role_required(Role.REVIEWER)


def _run(request, call, success, *, not_allowed=None) -> bool:
    """Call one service; report its refusal as a message. True when it succeeded."""
    try:
        call()
    except TransitionNotAllowed:
        messages.error(
            request,
            not_allowed or _("This was already handled by someone else; please refresh."),
        )
    except ConcurrentTransition:
        messages.error(
            request, _("Someone else changed this at the same time; please refresh and retry.")
        )
    except PermissionDenied:
        messages.error(request, _("You may not do this."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
        return True
    return False


def _form_errors(request, form) -> None:
    for field_errors in form.errors.values():
        for message in field_errors:
            messages.error(request, message)


# -- forms -------------------------------------------------------------------------------------


class AcceptForm(forms.Form):
    conclude_instant = forms.BooleanField(
        label=gettext_lazy("Conclude instant items now"), required=False
    )


class ReturnForm(forms.Form):
    materials = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Missing or defective materials"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=gettext_lazy("What to correct"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, materials=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["materials"].choices = [(m.pk, m.name) for m in materials]


class ReasonBasisForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    legal_basis = forms.CharField(label=gettext_lazy("Legal basis"), max_length=300)


class VisitForm(forms.Form):
    purpose = forms.CharField(label=gettext_lazy("Purpose of the visit"), max_length=300)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class PauseForm(ReasonForm):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of pause"), choices=CasePause.Kind.choices)
    field_order = ["kind", "reason"]


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class DepartmentRequestForm(forms.Form):
    department = DepartmentChoiceField(
        label=gettext_lazy("Department"), queryset=staff_selectors.external_departments()
    )
    question = forms.CharField(
        label=gettext_lazy("Request"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DepartmentReplyForm(forms.Form):
    request = forms.ModelChoiceField(label=gettext_lazy("Request"), queryset=None)
    reply = forms.CharField(
        label=gettext_lazy("Reply"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["request"].queryset = case.department_requests.filter(replied_at__isnull=True)


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)


def _form_answers(application):
    """The one form's fields with the applicant's values (masked in the template)."""
    form_data = application.form_data or {}
    return [(f, form_data.get(f.code, "")) for f in selectors.required_form_fields(application)]


# -- one-window intake -------------------------------------------------------------------------


@clerk_required
def intake_queue(request):
    now = timezone.now()
    return render(
        request,
        "staff/intake_queue.html",
        {"applications": staff_selectors.intake_queue(request.user, now=now), "now": now},
    )


@clerk_required
def intake_application(request, reference):
    application = staff_selectors.application_for_clerk(request.user, reference)
    required = selectors.required_materials(application)
    return render(
        request,
        "staff/intake_application.html",
        {
            "application": application,
            "answers": _form_answers(application),
            "questions": list(application.bundle.questions.all()) if application.bundle_id else [],
            "required": required,
            "is_open_for_intake": intake.is_open_for_intake(application),
            "accept_form": AcceptForm(),
            "return_form": ReturnForm(materials=[entry.material for entry in required]),
            "refuse_form": ReasonBasisForm(),
            "visit_form": VisitForm(),
        },
    )


def _intake_redirect(application):
    return redirect("staff:intake_application", reference=application.reference)


@clerk_required
@require_POST
def intake_accept(request, reference):
    application = staff_selectors.application_for_clerk(request.user, reference)
    form = AcceptForm(request.POST)
    form.is_valid()
    _run(
        request,
        lambda: intake.application_accept(
            application=application,
            actor=request.user,
            conclude_instant=form.cleaned_data.get("conclude_instant", False),
        ),
        _("Application %(reference)s accepted.") % {"reference": application.reference},
        not_allowed=_("The application has already been handled by someone else; please refresh."),
    )
    return _intake_redirect(application)


@clerk_required
@require_POST
def intake_return(request, reference):
    application = staff_selectors.application_for_clerk(request.user, reference)
    required = selectors.required_materials(application)
    form = ReturnForm(request.POST, materials=[entry.material for entry in required])
    if not form.is_valid():
        _form_errors(request, form)
        return _intake_redirect(application)
    _run(
        request,
        lambda: intake.application_return(
            application=application,
            actor=request.user,
            material_ids=form.cleaned_data["materials"],
            note=form.cleaned_data["note"],
        ),
        _("Application %(reference)s returned with the complete list.")
        % {"reference": application.reference},
        not_allowed=_("The application has already been handled by someone else; please refresh."),
    )
    return _intake_redirect(application)


@clerk_required
@require_POST
def intake_refuse(request, reference):
    application = staff_selectors.application_for_clerk(request.user, reference)
    form = ReasonBasisForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _intake_redirect(application)
    _run(
        request,
        lambda: intake.application_refuse(
            application=application,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            legal_basis=form.cleaned_data["legal_basis"],
        ),
        _("Application %(reference)s refused.") % {"reference": application.reference},
        not_allowed=_("The application has already been handled by someone else; please refresh."),
    )
    return _intake_redirect(application)


@clerk_required
@require_POST
def intake_visit(request, reference):
    application = staff_selectors.application_for_clerk(request.user, reference)
    form = VisitForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _intake_redirect(application)
    _run(
        request,
        lambda: intake.visit_record(
            application=application, actor=request.user, purpose=form.cleaned_data["purpose"]
        ),
        _("Visit recorded."),
    )
    return _intake_redirect(application)


# -- in-person intake (现场办理) -----------------------------------------------------------------


def _intake_services(clerk):
    """What a clerk may take in person: published bundles an individual applies for and
    published single items, of the clerk's windows."""
    window_ids = clerk.windows.values("pk")
    bundles = published_bundles().filter(
        window_id__in=window_ids, applicant__in=intake.WINDOW_INTAKE_APPLICANTS
    )
    items = published_items().filter(window_id__in=window_ids)
    return list(bundles.order_by("code")), list(items.order_by("code"))


class WindowIntakeStartForm(forms.Form):
    resident_id = forms.CharField(
        label=gettext_lazy("Resident ID number"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 18}),
    )
    real_name = forms.CharField(
        label=gettext_lazy("Real name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off", "maxlength": 13}),
    )
    service = forms.ChoiceField(label=gettext_lazy("Service"))
    start_key = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, bundles, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.subjects = {f"bundle:{b.code}": b for b in bundles} | {
            f"item:{i.code}": i for i in items
        }
        self.fields["service"].choices = [
            ("", "—"),
            (gettext_lazy("Bundles"), [(f"bundle:{b.code}", b.name) for b in bundles]),
            (gettext_lazy("Single items"), [(f"item:{i.code}", i.name) for i in items]),
        ]

    # The identity validators, so every field error shows at once next to its field; the
    # service checks the same again.
    def clean_resident_id(self):
        return normalize_resident_id(self.cleaned_data["resident_id"])

    def clean_real_name(self):
        return self.cleaned_data["real_name"].strip()

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])


def _add_service_errors(form, error: ValidationError) -> None:
    """A service's ValidationError next to the fields it names; the rest above the form."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


@clerk_required
def intake_new(request):
    bundles, items = _intake_services(request.user)
    form = WindowIntakeStartForm(
        request.POST or None,
        bundles=bundles,
        items=items,
        initial={"start_key": uuid.uuid4()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        subject = form.subjects[data["service"]]
        kind = "bundle" if data["service"].startswith("bundle:") else "item"
        try:
            application = intake.window_intake_start(
                clerk=request.user,
                resident_id=data["resident_id"],
                real_name=data["real_name"],
                phone=data["phone"],
                start_key=data["start_key"],
                **{kind: subject},
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            return redirect("staff:intake_in_person", reference=application.reference)
    return render(request, "staff/intake_new.html", {"form": form})


def _in_person_application(request, reference):
    application = staff_selectors.application_for_clerk(request.user, reference)
    if application.channel != Application.Channel.WINDOW:
        raise Http404
    return application


@clerk_required
def intake_in_person(request, reference):
    """One page, in steps on the same URL: the situation questions while any is unanswered
    (or asked for again), then the form with the materials seen, and submit + accept."""
    application = _in_person_application(request, reference)
    if application.state not in (ApplicationState.DRAFT, ApplicationState.RETURNED):
        return _intake_redirect(application)
    questions = list(application.bundle.questions.all()) if application.bundle_id else []
    unanswered = {q.code for q in questions} - set(application.answers or {})
    step = request.POST.get("step") if request.method == "POST" else request.GET.get("step")
    if questions and (unanswered or step == "questions"):
        return _in_person_questions(request, application, questions)
    return _in_person_form(request, application)


def _in_person_context(application, step, **context):
    return {
        "application": application,
        "step": step,
        "questions_count": application.bundle.questions.count() if application.bundle_id else 0,
        **context,
    }


def _in_person_questions(request, application, questions):
    initial = {code: ("yes" if v else "no") for code, v in (application.answers or {}).items()}
    posted = request.method == "POST" and request.POST.get("step") == "questions"
    form = QuestionnaireForm(request.POST if posted else None, questions=questions, initial=initial)
    if (
        posted
        and form.is_valid()
        and _run(
            request,
            lambda: services.application_answer_questions(
                application=application, actor=request.user, answers=form.answers()
            ),
            _("Answers saved."),
        )
    ):
        return redirect("staff:intake_in_person", reference=application.reference)
    return render(
        request,
        "staff/intake_in_person.html",
        _in_person_context(
            application,
            "questions",
            form=form,
            planned=selectors.planned_items(application) if application.answers else [],
        ),
    )


def _in_person_save(request, application, form, required) -> tuple[bool, dict[str, list[str]]]:
    """Store what the clerk entered: the form, then each material (a scan, seen at the window,
    or a signed commitment). Everything valid is kept, so nothing typed is lost; True when all
    of it was valid."""
    ok = form.is_valid()
    if ok:
        try:
            services.application_save_form(
                application=application, actor=request.user, data=form.raw_answers()
            )
            services.application_choose_delivery(
                application=application,
                actor=request.user,
                delivery=form.cleaned_data["delivery"],
                address=form.cleaned_data["delivery_address"],
            )
        except ValidationError as error:
            _add_service_errors(form, error)
            ok = False
    seen = set(request.POST.getlist("seen"))
    material_errors: dict[str, list[str]] = {}
    for entry in required:
        material = entry.material
        if material.shared_data:
            continue
        code = material.code
        scan = request.FILES.get(f"scan-{code}")
        signed_name = request.POST.get(f"commit-{code}", "").strip()
        try:
            if scan:
                services.material_upload(
                    application=application, actor=request.user, material=material, upload=scan
                )
            if code in seen:
                services.material_seen_at_window(
                    application=application, actor=request.user, material=material
                )
            elif signed_name and material.commitment_allowed:
                if not request.POST.get(f"agree-{code}"):
                    raise ValidationError(
                        _("The applicant must read the notice and agree to the commitment.")
                    )
                services.material_commit(
                    application=application,
                    actor=request.user,
                    material=material,
                    signed_name=signed_name,
                )
        except ValidationError as error:
            material_errors[code] = error.messages
    return ok and not material_errors, material_errors


def _in_person_form(request, application):
    form_fields = selectors.required_form_fields(application)
    initial = {
        # At the window the results are picked up in the hall unless the applicant says otherwise.
        "delivery": application.delivery if application.form_data else Application.Delivery.PICKUP,
        "delivery_address": application.delivery_address,
        **(application.form_data or {}),
    }
    posted = request.method == "POST" and request.POST.get("step") == "form"
    form = ApplicationForm(
        request.POST if posted else None, form_fields=form_fields, initial=initial
    )
    required = selectors.required_materials(application)
    material_errors: dict[str, list[str]] = {}
    problems: list[str] = []
    conclude_instant = bool(posted and request.POST.get("conclude_instant"))
    if posted:
        ok, material_errors = _in_person_save(request, application, form, required)
        if ok:
            try:
                intake.window_intake_complete(
                    application=application,
                    actor=request.user,
                    conclude_instant=conclude_instant,
                )
            except ValidationError as error:
                problems = error.messages
            except (PermissionDenied, TransitionNotAllowed, ConcurrentTransition):
                messages.error(
                    request, _("This was already handled by someone else; please refresh.")
                )
                return _intake_redirect(application)
            else:
                messages.success(
                    request,
                    _(
                        "Application %(reference)s submitted and accepted. Give the applicant "
                        "this reference number; it is also sent to them."
                    )
                    % {"reference": application.reference},
                )
                return _intake_redirect(application)
        # Show the page again with what is stored now and everything typed.
        application = _in_person_application(request, application.reference)
        required = selectors.required_materials(application)
        problems = problems or services.missing_for_submission(application)
    seen = set(request.POST.getlist("seen")) if posted else set()
    for entry in required:
        code = entry.material.code
        entry.seen = code in seen or bool(
            entry.provided and entry.provided.provision == ApplicationMaterial.Provision.AT_WINDOW
        )
        entry.signed_name = request.POST.get(f"commit-{code}", "") if posted else ""
        entry.errors = material_errors.get(code, [])
        entry.notice = (
            services.commitment_notice(entry.material) if entry.material.commitment_allowed else ""
        )
    return render(
        request,
        "staff/intake_in_person.html",
        _in_person_context(
            application,
            "form",
            form=form,
            planned=selectors.planned_items(application),
            required=required,
            problems=problems,
            conclude_instant=conclude_instant,
        ),
    )


# -- back office -------------------------------------------------------------------------------


@reviewer_required
def case_queue(request):
    now = timezone.now()
    return render(
        request,
        "staff/case_queue.html",
        {"cases": staff_selectors.review_queue(request.user, now=now), "now": now},
    )


@reviewer_required
def case_detail(request, case_id):
    now = timezone.now()
    case = staff_selectors.case_for_reviewer(request.user, case_id, now=now)
    application = case.application
    return render(
        request,
        "staff/case_detail.html",
        {
            "case": case,
            "application": application,
            "now": now,
            "answers": _form_answers(application),
            "questions": list(application.bundle.questions.all()) if application.bundle_id else [],
            "required": selectors.required_materials(application),
            "timeline": staff_selectors.case_timeline(case),
            "open_requests": [r for r in case.department_requests.all() if not r.replied_at],
            "deadline_notes": [line for line in case.deadline_notes.splitlines() if line.strip()],
            "can_extend": staff_selectors.extension_requestable(case),
            "deny_form": ReasonBasisForm(prefix="deny"),
            "pause_form": PauseForm(prefix="pause"),
            "statutory_form": ReasonForm(prefix="statutory"),
            "extension_form": ReasonForm(prefix="extension"),
            "department_form": DepartmentRequestForm(prefix="department"),
            "reply_form": DepartmentReplyForm(case=case, prefix="reply"),
        },
    )


def _case_action(case, request, action):
    """(the service call, the success message) for one action posted from the case page, or
    None when its form is invalid (its errors are then shown as messages)."""
    user, post = request.user, request.POST
    if action == "start-review":
        return lambda: review.case_start_review(case=case, actor=user), _("Review started.")
    if action == "approve":
        return lambda: review.case_approve(case=case, actor=user), _("Approved.")
    if action == "resume":
        return lambda: review.case_resume(case=case, actor=user), _("Clock resumed.")
    form_class, prefix = {
        "deny": (ReasonBasisForm, "deny"),
        "pause": (PauseForm, "pause"),
        "statutory-mode": (ReasonForm, "statutory"),
        "extension": (ReasonForm, "extension"),
        "department-request": (DepartmentRequestForm, "department"),
        "department-reply": (DepartmentReplyForm, "reply"),
    }[action]
    extra = {"case": case} if form_class is DepartmentReplyForm else {}
    form = form_class(post, prefix=prefix, **extra)
    if not form.is_valid():
        _form_errors(request, form)
        return None
    data = form.cleaned_data
    calls = {
        "deny": lambda: review.case_deny(
            case=case, actor=user, reason=data["reason"], legal_basis=data["legal_basis"]
        ),
        "pause": lambda: review.case_pause(
            case=case, actor=user, kind=data["kind"], reason=data["reason"]
        ),
        "statutory-mode": lambda: review.case_statutory_mode(
            case=case, actor=user, reason=data["reason"]
        ),
        "extension": lambda: review.extension_request(case=case, actor=user, reason=data["reason"]),
        "department-request": lambda: review.department_request_send(
            case=case, actor=user, department=data["department"], question=data["question"]
        ),
        "department-reply": lambda: review.department_reply_record(
            request=data["request"], actor=user, reply=data["reply"]
        ),
    }
    successes = {
        "deny": _("Denied."),
        "pause": _("Clock paused."),
        "statutory-mode": _("The case now runs on the statutory limit."),
        "extension": _("Extension requested from the unit head."),
        "department-request": _("Request sent to the department."),
        "department-reply": _("Reply recorded."),
    }
    return calls[action], successes[action]


CASE_ACTIONS = (
    "start-review",
    "approve",
    "deny",
    "pause",
    "resume",
    "statutory-mode",
    "extension",
    "department-request",
    "department-reply",
)


@reviewer_required
@require_POST
def case_action(request, case_id, action):
    if action not in CASE_ACTIONS:
        raise Http404
    case = staff_selectors.case_for_reviewer(request.user, case_id)
    parsed = _case_action(case, request, action)
    if parsed is not None:
        call, success = parsed
        _run(request, call, success)
    return redirect("staff:case_detail", case_id=case.pk)


# -- the unit head -----------------------------------------------------------------------------


def _unit_head(request):
    if not request.user.is_unit_head:
        raise Http404


@reviewer_required
def extension_list(request):
    _unit_head(request)
    return render(
        request,
        "staff/extensions.html",
        {
            "requests": staff_selectors.pending_extensions(request.user),
            "form": ExtensionDecisionForm(),
        },
    )


@reviewer_required
@require_POST
def extension_decide(request, request_id):
    _unit_head(request)
    extension = staff_selectors.extension_for_unit_head(request.user, request_id)
    form = ExtensionDecisionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("staff:extensions")
    approve = form.cleaned_data["decision"] == "approve"
    _run(
        request,
        lambda: review.extension_decide(
            request=extension, actor=request.user, approve=approve, note=form.cleaned_data["note"]
        ),
        _("Extension approved.") if approve else _("Extension rejected."),
    )
    return redirect("staff:extensions")
