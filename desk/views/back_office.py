"""The back office (后台并联办理): a reviewer's queue of the unit's cases, coloured by their
clocks, and one case's page with its actions (review, decide, pause and resume, statutory
limit, extension request, another department). Another unit's case is 404."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bundles.selectors import required_materials
from bundles.services import handling
from kuaiban.accounts.decorators import reviewer_required
from kuaiban.cases.access import access_record
from kuaiban.cases.clocks import office_time_left, read_clock
from kuaiban.cases.models import AccessKind
from kuaiban.proactive.selectors import proposal_shown
from kuaiban.web import form_errors_as_messages, or_404

from .. import selectors
from ..actions import run_service
from ..forms import (
    DepartmentReplyForm,
    DepartmentRequestForm,
    OnSiteCheckForm,
    PauseForm,
    ReasonBasisForm,
    ReasonForm,
)

QUEUE_VIEW_LABELS = {
    "all": gettext_lazy("All open"),
    "mine": gettext_lazy("Mine"),
    "overdue": gettext_lazy("Overdue"),
    "paused": gettext_lazy("Paused"),
    "department": gettext_lazy("Awaiting a department"),
}


@reviewer_required
def case_queue(request):
    """The unit's open cases: a view (mine, overdue, paused, awaiting a department), a search
    by reference or ID number, 50 a page, each with the office time it has left."""
    now = timezone.now()
    show = request.GET.get("show", "all")
    show = show if show in selectors.QUEUE_VIEWS else "all"
    query = request.GET.get("q", "")[:40]
    cases = selectors.review_queue(request.user, now=now, show=show, query=query)
    page = Paginator(cases, selectors.QUEUE_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "desk/case_queue.html",
        {
            "cases": selectors.on_desk(page.object_list, now),
            "page": page,
            "page_query": urlencode({"show": show, "q": query}),
            "show": show,
            "query": query,
            "views": [
                (name, QUEUE_VIEW_LABELS[name], count)
                for name, count in selectors.queue_counts(request.user, now=now).items()
            ],
            "now": now,
        },
    )


@reviewer_required
def case_detail(request, case_id):
    now = timezone.now()
    case = or_404(selectors.case_for_reviewer(request.user, case_id))
    application = case.application
    access_record(request, AccessKind.CASE_PAGE, object_id=case.pk, reference=application.reference)
    return render(
        request,
        "desk/case_detail.html",
        {
            "case": case,
            "clock": read_clock(case, now),
            "left": office_time_left(case, now),
            "available": case.available_transitions(),
            "application": application,
            "now": now,
            "answers": selectors.form_answers(application),
            "persons": selectors.form_persons(application),
            "questions": list(application.situation_questions()),
            "required": required_materials(application),
            "timeline": selectors.case_timeline(case),
            "open_requests": [r for r in case.department_requests.all() if not r.replied_at],
            "deadline_notes": [line for line in case.deadline_notes.splitlines() if line.strip()],
            "can_extend": selectors.extension_requestable(case),
            "deny_form": ReasonBasisForm(prefix="deny"),
            "pause_form": PauseForm(prefix="pause"),
            "statutory_form": ReasonForm(prefix="statutory"),
            "on_site_form": OnSiteCheckForm(prefix="on_site"),
            "extension_form": ReasonForm(prefix="extension"),
            "department_form": DepartmentRequestForm(prefix="department"),
            "reply_form": DepartmentReplyForm(case=case, prefix="reply"),
            "proposal": proposal_shown(application.pk, now),
        },
    )


# Actions without a form: (the service, the success message).
PLAIN_ACTIONS: dict[str, tuple[Callable[..., object], Promise]] = {
    "start-review": (handling.case_start_review, gettext_lazy("Review started.")),
    "approve": (handling.case_approve, gettext_lazy("Approved.")),
    "resume": (handling.case_resume, gettext_lazy("Clock resumed.")),
}


def _with_form(case, request, action):
    """(the service call, the success message) for an action posted with a form, or None when
    its form is invalid (its errors are then shown as messages)."""
    form_class, prefix = {
        "deny": (ReasonBasisForm, "deny"),
        "pause": (PauseForm, "pause"),
        "statutory-mode": (ReasonForm, "statutory"),
        "on-site-check": (OnSiteCheckForm, "on_site"),
        "extension": (ReasonForm, "extension"),
        "department-request": (DepartmentRequestForm, "department"),
        "department-reply": (DepartmentReplyForm, "reply"),
    }[action]
    extra = {"case": case} if form_class is DepartmentReplyForm else {}
    form = form_class(request.POST, prefix=prefix, **extra)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return None
    user, data = request.user, form.cleaned_data
    calls = {
        "deny": (
            lambda: handling.case_deny(
                case=case, actor=user, reason=data["reason"], legal_basis=data["legal_basis"]
            ),
            _("Denied."),
        ),
        "pause": (
            lambda: handling.case_pause(
                case=case, actor=user, kind=data["kind"], reason=data["reason"]
            ),
            _("Clock paused."),
        ),
        "statutory-mode": (
            lambda: handling.case_statutory_mode(case=case, actor=user, reason=data["reason"]),
            _("The case now runs on the statutory limit."),
        ),
        "on-site-check": (
            lambda: handling.case_on_site_check(case=case, actor=user, note=data["note"]),
            _("On-site check recorded; it counts as the applicant's visit."),
        ),
        "extension": (
            lambda: handling.extension_request(case=case, actor=user, reason=data["reason"]),
            _("Extension requested from the unit head."),
        ),
        "department-request": (
            lambda: handling.department_request_send(
                case=case, actor=user, department=data["department"], question=data["question"]
            ),
            _("Request sent to the department."),
        ),
        "department-reply": (
            lambda: handling.department_reply_record(
                request=data["request"], actor=user, reply=data["reply"]
            ),
            _("Reply recorded."),
        ),
    }
    return calls[action]


FORM_ACTIONS = (
    "deny",
    "pause",
    "statutory-mode",
    "on-site-check",
    "extension",
    "department-request",
    "department-reply",
)


@reviewer_required
@require_POST
def case_action(request, case_id, action):
    if action not in PLAIN_ACTIONS and action not in FORM_ACTIONS:
        raise Http404
    case = or_404(selectors.case_for_reviewer(request.user, case_id))
    if action in PLAIN_ACTIONS:
        service, success = PLAIN_ACTIONS[action]
        run_service(request, lambda: service(case=case, actor=request.user), success)
    elif parsed := _with_form(case, request, action):
        call, success = parsed
        run_service(request, call, success)
    return redirect("staff:case_detail", case_id=case.pk)
