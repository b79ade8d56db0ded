"""Reads for the staff desk: the window clerk's intake queue and applications, the back
office's cases, the unit head's extension requests.

Every list here runs a constant number of SQL queries whatever the number of rows: the related
rows come with `select_related` / `prefetch_related`, and the per-row values (how long an
application has waited, how much time a case has left, its clock colour) are computed in Python
from columns already loaded. Staff see only their own windows' applications and their own unit's
cases: a look-up of anything else returns None, and the view answers 404, as if it did not exist.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from bundles.fitting import fitting_for, persons_shown
from bundles.selectors import required_form_fields
from bundles.services.window import WINDOW_INTAKE_APPLICANTS
from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import normalize_resident_id
from kuaiban.accounts.models import Role
from kuaiban.cases.clocks import ClockReading, OfficeTimeLeft, office_time_left, read_clock
from kuaiban.cases.models import (
    OPEN_CASE_STATES,
    Application,
    ApplicationMaterial,
    ApplicationState,
    CaseEvent,
    CasePause,
    CaseState,
    Commitment,
    DepartmentRequest,
    EventAction,
    ExtensionRequest,
    ItemCase,
    ReturnNotice,
)
from kuaiban.catalog.models import Unit
from kuaiban.catalog.selectors import published_bundles, published_items
from kuaiban.ratings.models import FollowUp, FollowUpState
from kuaiban.workdays.calendar import calendar_from_db

# -- window intake -----------------------------------------------------------------------------


def intake_queue(clerk, *, query: str = "") -> QuerySet[Application]:
    """Submitted applications waiting at the clerk's windows, in the order they were first
    submitted: one returned and resubmitted keeps its place (the applicant already waited);
    optionally one reference or the applications of one ID number."""
    first_submitted = Min(
        "events__at", filter=Q(events__action=EventAction.SUBMIT, events__item_case__isnull=True)
    )
    applications = (
        Application.objects.filter(Application.taken_in_by(clerk))
        .filter(state=ApplicationState.SUBMITTED)
        .select_related("applicant", "bundle", "item")
        .annotate(first_submitted_at=first_submitted)
        .order_by(F("first_submitted_at").asc(nulls_last=True), "id")
    )
    if query.strip():
        applications = applications.filter(_application_search(query))
    return applications


def application_for_clerk(clerk, reference: str) -> Application | None:
    """An application of one of the clerk's windows, with what the intake page shows (an online
    draft is not shown: it is the applicant's until submitted)."""
    return (
        Application.objects.filter(Application.taken_in_by(clerk))
        .filter(Application.seen_at_windows())
        .select_related("applicant", "bundle", "item", "hall")
        .prefetch_related(
            Prefetch(
                "cases",
                queryset=ItemCase.objects.select_related("item", "unit").order_by("stage", "id"),
            ),
            Prefetch(
                "materials",
                queryset=ApplicationMaterial.objects.select_related("material", "file"),
            ),
            Prefetch("commitments", queryset=Commitment.objects.select_related("material")),
            Prefetch(
                "return_notices",
                queryset=ReturnNotice.objects.select_related("created_by").prefetch_related(
                    "materials"
                ),
            ),
        )
        .filter(reference=reference)
        .first()
    )


def acceptance_of(application: Application) -> CaseEvent | None:
    """The application's latest acceptance at the window (None before it was accepted)."""
    return (
        CaseEvent.objects.filter(
            application=application, item_case__isnull=True, action=EventAction.ACCEPT
        )
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )


def intake_services(clerk) -> tuple[list, list]:
    """What a clerk may take in person: published bundles an individual applies for and
    published single items, of the clerk's windows."""
    window_ids = clerk.windows.values("pk")
    bundles = published_bundles().filter(
        window_id__in=window_ids, applicant__in=WINDOW_INTAKE_APPLICANTS
    )
    items = published_items().filter(window_id__in=window_ids)
    return list(bundles.order_by("code")), list(items.order_by("code"))


# -- back office -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseOnDesk:
    """A case in a reviewer's queue with how its clock reads now, and the office time left."""

    case: ItemCase
    clock: ClockReading
    left: OfficeTimeLeft | None = None


# The queue's views of the unit's open cases (`?show=`), each a filter at `now`.
QUEUE_VIEWS: dict[str, Callable[[object, datetime], Q]] = {
    "all": lambda user, now: Q(),
    "mine": lambda user, now: Q(reviewer=user),
    "overdue": lambda user, now: Q(committed_due_at__lte=now) & ~Q(state=CaseState.PAUSED),
    "paused": lambda user, now: Q(state=CaseState.PAUSED),
    "department": lambda user, now: Q(state=CaseState.AWAITING_DEPARTMENT),
}
QUEUE_PAGE = 50


def _unit_open_cases(reviewer) -> QuerySet[ItemCase]:
    return ItemCase.objects.filter(unit_id=reviewer.unit_id, state__in=OPEN_CASE_STATES)


def queue_counts(reviewer, *, now: datetime) -> dict[str, int]:
    """How many of the unit's open cases each view of the queue holds (one query)."""
    if reviewer.unit_id is None:
        return dict.fromkeys(QUEUE_VIEWS, 0)
    return _unit_open_cases(reviewer).aggregate(
        **{name: Count("pk", filter=view(reviewer, now)) for name, view in QUEUE_VIEWS.items()}
    )


def _application_search(query: str, prefix: str = "") -> Q:
    """A reference number, or an applicant's resident ID (found by its keyed hash, never by
    decrypting every row); `prefix` reaches the application from another model."""
    query = query.strip().upper()
    q = Q(**{f"{prefix}reference": query})
    try:
        number = normalize_resident_id(query)
    except ValidationError:
        return q
    return q | Q(**{f"{prefix}applicant__resident_id_hash": keyed_hash(number)})


def review_queue(
    reviewer, *, now: datetime | None = None, show: str = "all", query: str = ""
) -> QuerySet[ItemCase]:
    """The reviewer's unit's open cases in one view of the queue, optionally searched, the
    nearest committed due time first (none last). Read each page's clocks with `on_desk`."""
    now = now or timezone.now()
    if reviewer.unit_id is None:
        return ItemCase.objects.none()
    cases = _unit_open_cases(reviewer).filter(
        QUEUE_VIEWS.get(show, QUEUE_VIEWS["all"])(reviewer, now)
    )
    if query.strip():
        cases = cases.filter(_application_search(query, "application__"))
    return cases.select_related("item", "application").order_by(
        F("committed_due_at").asc(nulls_last=True), "id"
    )


def on_desk(cases, now: datetime) -> list[CaseOnDesk]:
    """Each case with its clock read at `now` and the office time it has left."""
    calendar = calendar_from_db()
    return [
        CaseOnDesk(case, read_clock(case, now), office_time_left(case, now, calendar))
        for case in cases
    ]


def case_for_reviewer(reviewer, case_id: int) -> ItemCase | None:
    """One case of the reviewer's unit with everything its page shows (None for any other)."""
    return (
        ItemCase.objects.select_related(
            "item",
            "unit",
            "reviewer",
            "statutory_mode_by",
            "application__applicant",
            "application__bundle",
            "application__item",
            "application__hall",
        )
        .prefetch_related(
            Prefetch("pauses", queryset=CasePause.objects.select_related("started_by", "ended_by")),
            Prefetch(
                "extensions",
                queryset=ExtensionRequest.objects.select_related("requested_by", "decided_by"),
            ),
            Prefetch(
                "department_requests",
                queryset=DepartmentRequest.objects.select_related("department", "sent_by"),
            ),
            Prefetch(
                "application__materials",
                queryset=ApplicationMaterial.objects.select_related("material", "file"),
            ),
            Prefetch(
                "application__cases",
                queryset=ItemCase.objects.select_related("item", "unit").order_by("stage", "id"),
            ),
        )
        .filter(pk=case_id, unit_id=reviewer.unit_id)
        .first()
    )


def extension_requestable(case: ItemCase) -> bool:
    """Whether the case page offers "request an extension": the law allows one for the item and
    none is pending or approved (uses the prefetched extensions)."""
    return case.item.extension_allowed and all(
        e.status == ExtensionRequest.Status.REJECTED for e in case.extensions.all()
    )


def case_timeline(case: ItemCase) -> QuerySet[CaseEvent]:
    """The case's own events and its application's (accepted, returned, visits …), in order."""
    return (
        CaseEvent.objects.filter(application_id=case.application_id)
        .filter(Q(item_case_id=case.pk) | Q(item_case__isnull=True))
        .select_related("actor")
        .order_by("at", "id")
    )


def external_departments() -> QuerySet[Unit]:
    """The departments a case may ask (医保, 公安 …)."""
    return Unit.objects.filter(kind=Unit.Kind.EXTERNAL).order_by("code")


def _extensions_decided_by(user) -> QuerySet[ExtensionRequest]:
    """The extension requests `user` decides: a head their unit's, the city's supervision office
    (局行风办) every unit's (the requests a head cannot decide included)."""
    if not user.decides_extensions:
        return ExtensionRequest.objects.none()
    if user.role == Role.REVIEWER:
        return ExtensionRequest.objects.filter(item_case__unit_id=user.unit_id)
    return ExtensionRequest.objects.all()


def pending_extensions(user) -> QuerySet[ExtensionRequest]:
    """Extension requests still to be decided that `user` sees, oldest first (their own among
    them, shown as waiting for someone else)."""
    return (
        _extensions_decided_by(user)
        .filter(status=ExtensionRequest.Status.REQUESTED)
        .select_related(
            "requested_by",
            "item_case__item",
            "item_case__unit",
            "item_case__application",
        )
        .order_by("requested_at", "id")
    )


def extension_for_decider(user, request_id: int) -> ExtensionRequest | None:
    """An extension request `user` may decide, decided or not (a second decision, or one's own
    request, is refused by the service with a message); None for anyone else's."""
    return _extensions_decided_by(user).select_related("item_case").filter(pk=request_id).first()


# -- shared by the pages ---------------------------------------------------------------------


def form_answers(application: Application) -> list[tuple]:
    """The one form's fields with the applicant's values (the template masks personal ones), in
    the words the applicant was asked them (a citizen's own application: 姓名, not 退休职工姓名)."""
    form_data = application.form_data or {}
    form_fields = required_form_fields(application)
    asked = fitting_for(application, form_fields).as_asked(form_fields, form_data)
    return [(f, form_data.get(f.code, "")) for f in asked]


def form_persons(application: Application) -> list[list[tuple]]:
    """The table of persons of an application for several employees (empty otherwise)."""
    fitting = fitting_for(application, required_form_fields(application))
    return persons_shown(fitting, application.form_data or {})


# -- follow-ups (好差评) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUp
    due_at: datetime  # the next step's due time: verify, then answer
    colour: str  # as a case's clock: fine, past50, past75, overdue


def _follow_up_colour(follow_up: FollowUp, now: datetime) -> str:
    if now >= follow_up.answer_due_at:
        return "overdue"
    if now >= follow_up.warn_75_at:
        return "past75"
    if now >= follow_up.warn_50_at:
        return "past50"
    return "fine"


def follow_ups_of_unit(reviewer, *, now: datetime | None = None) -> list[FollowUpRow]:
    """The unit's follow-ups still to verify or answer, the most urgent first (two queries)."""
    now = now or timezone.now()
    rows = []
    for follow_up in (
        FollowUp.objects.filter(
            unit_id=reviewer.unit_id, state__in=(FollowUpState.OPEN, FollowUpState.VERIFIED)
        )
        .select_related("item_case__item", "rating", "application__bundle", "application__item")
        .order_by("answer_due_at", "id")
    ):
        due = (
            follow_up.verify_due_at
            if follow_up.state == FollowUpState.OPEN
            else follow_up.answer_due_at
        )
        rows.append(FollowUpRow(follow_up, due, _follow_up_colour(follow_up, now)))
    return rows


def follow_up_for_reviewer(reviewer, follow_up_id: int) -> FollowUp | None:
    """One of the unit's follow-ups, with its rating and steps; None for any other."""
    return (
        FollowUp.objects.filter(pk=follow_up_id, unit_id=reviewer.unit_id)
        .select_related("item_case__item", "rating", "application__bundle", "application__item")
        .prefetch_related("events__actor")
        .first()
    )
