"""Reads for the staff screens: the window clerk's intake queue and the back office's cases.

Every list here runs a constant number of SQL queries whatever the number of rows: the related
rows come with `select_related` / `prefetch_related`, and the per-row values (how long an
application has waited, how much time a case has left, its clock colour) are computed in Python
from columns already loaded. Staff see only their own windows' applications and their own unit's
cases; anything else is a 404, as if it did not exist.
"""

from datetime import datetime, timedelta

from django.db.models import F, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.catalog.models import Unit

from .models import (
    OPEN_CASE_STATES,
    Application,
    ApplicationMaterial,
    ApplicationState,
    CaseEvent,
    CasePause,
    CaseState,
    Commitment,
    DepartmentRequest,
    ExtensionRequest,
    ItemCase,
    ReturnNotice,
)

# -- the clock colour ----------------------------------------------------------------------------

FINE, PAST50, PAST75, OVERDUE, PAUSED = "fine", "past50", "past75", "overdue", "paused"

CLOCK_LABELS = {
    FINE: _("On time"),
    PAST50: _("Past 50%"),
    PAST75: _("Past 75%"),
    OVERDUE: _("Overdue"),
    PAUSED: _("Clock paused"),
}


def clock_colour(case, now: datetime) -> str:
    """The colour of a case's clock at `now`. Pure: reads only the case's stored clock fields.

    paused (the clock is stopped) › overdue (the committed due time has passed) › past75 ›
    past50 › fine (less than half of the committed time used).
    """
    if case.state == CaseState.PAUSED:
        return PAUSED
    if case.committed_due_at is not None and now >= case.committed_due_at:
        return OVERDUE
    if case.warn_75_at is not None and now >= case.warn_75_at:
        return PAST75
    if case.warn_50_at is not None and now >= case.warn_50_at:
        return PAST50
    return FINE


def time_left(case, now: datetime) -> timedelta | None:
    """Wall-clock time until the committed due time (negative when overdue). A paused case keeps
    what it had left when it was paused: resuming moves the due time by the paused time."""
    if case.committed_due_at is None:
        return None
    reference = case.paused_since if case.state == CaseState.PAUSED and case.paused_since else now
    return case.committed_due_at - reference


# -- window intake -----------------------------------------------------------------------------


def _in_windows(window_ids) -> Q:
    """Applications whose intake window (the bundle's, or the single item's) is in `window_ids`."""
    return Q(bundle__window_id__in=window_ids) | Q(item__window_id__in=window_ids)


def _clerk_window_ids(clerk):
    # A subquery, not a list: no extra query.
    return clerk.windows.values("pk")


def intake_queue(clerk, *, now: datetime | None = None) -> list[Application]:
    """Submitted applications waiting at the clerk's windows, oldest first; each with `waited`
    (a timedelta since submission)."""
    now = now or timezone.now()
    applications = list(
        Application.objects.filter(_in_windows(_clerk_window_ids(clerk)))
        .filter(state=ApplicationState.SUBMITTED)
        .select_related("applicant", "bundle", "item")
        .order_by(F("submitted_at").asc(nulls_last=True), "id")
    )
    for application in applications:
        application.waited = now - application.submitted_at if application.submitted_at else None
    return applications


def application_for_clerk(clerk, reference: str) -> Application:
    """An application of one of the clerk's windows, with what the intake page shows; else 404."""
    return get_object_or_404(
        Application.objects.filter(_in_windows(_clerk_window_ids(clerk)))
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
        ),
        reference=reference,
    )


# -- back office -------------------------------------------------------------------------------


def review_queue(reviewer, *, now: datetime | None = None) -> list[ItemCase]:
    """The reviewer's unit's open cases, the nearest committed due time first (none last); each
    with `clock` (its colour), `clock_label` and `time_left`."""
    now = now or timezone.now()
    if reviewer.unit_id is None:
        return []
    cases = list(
        ItemCase.objects.filter(unit_id=reviewer.unit_id, state__in=OPEN_CASE_STATES)
        .select_related("item", "application")
        .order_by(F("committed_due_at").asc(nulls_last=True), "id")
    )
    for case in cases:
        _annotate_clock(case, now)
    return cases


def _annotate_clock(case: ItemCase, now: datetime) -> None:
    case.clock = clock_colour(case, now)
    case.clock_label = CLOCK_LABELS[case.clock]
    case.time_left = time_left(case, now)


def case_for_reviewer(reviewer, case_id: int, *, now: datetime | None = None) -> ItemCase:
    """One case of the reviewer's unit with everything its page shows; any other case is 404."""
    case = get_object_or_404(
        ItemCase.objects.select_related(
            "item",
            "unit",
            "reviewer",
            "statutory_mode_by",
            "application__applicant",
            "application__bundle",
            "application__item",
            "application__hall",
        ).prefetch_related(
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
        ),
        pk=case_id,
        unit_id=reviewer.unit_id,
    )
    _annotate_clock(case, now or timezone.now())
    return case


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


def pending_extensions(unit_head) -> QuerySet[ExtensionRequest]:
    """Extension requests of the head's unit still to be decided, oldest first."""
    if not unit_head.is_unit_head or unit_head.unit_id is None:
        return ExtensionRequest.objects.none()
    return (
        ExtensionRequest.objects.filter(
            status=ExtensionRequest.Status.REQUESTED, item_case__unit_id=unit_head.unit_id
        )
        .select_related(
            "requested_by",
            "item_case__item",
            "item_case__application",
        )
        .order_by("requested_at", "id")
    )


def extension_for_unit_head(unit_head, request_id: int) -> ExtensionRequest:
    """An extension request of the head's unit, decided or not (a second decision is refused by
    the service with a message); anyone else's is 404."""
    if not unit_head.is_unit_head or unit_head.unit_id is None:
        raise Http404
    return get_object_or_404(
        ExtensionRequest.objects.select_related("item_case"),
        pk=request_id,
        item_case__unit_id=unit_head.unit_id,
    )
