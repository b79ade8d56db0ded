"""Reads of 好差评: what an applicant may still rate, their ratings and answers, the ratings the
figures count, and where the follow-ups stand."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.cases.models import Application, ApplicationState, CaseState, ItemCase

from .models import (
    ONLINE_DIMENSIONS,
    WINDOW_DIMENSIONS,
    Dimension,
    FollowUp,
    FollowUpState,
    Rating,
    RatingPolicy,
)


def dimensions_for(application: Application) -> tuple[Dimension, ...]:
    """The national template's dimensions for how the service was given: online or at a window."""
    if application.channel == Application.Channel.WINDOW:
        return WINDOW_DIMENSIONS
    return ONLINE_DIMENSIONS


def rating_open_until(concluded_at: datetime, policy: RatingPolicy) -> datetime:
    """The rule "a late rating is allowed for a period": until `rating_days` calendar days after
    the conclusion; later the case counts as not rated."""
    return concluded_at + timedelta(days=policy.rating_days)


@dataclass(frozen=True)
class Target:
    """Something the applicant may still rate: one concluded item case, or (item_case None) the
    application as a whole."""

    application: Application
    item_case: ItemCase | None
    open_until: datetime

    @property
    def key(self) -> str:
        return str(self.item_case.pk) if self.item_case else "all"

    @property
    def label(self) -> str:
        if self.item_case is not None:
            return self.item_case.item.name
        return _("The whole application: %(name)s") % {"name": self.application.subject.name}


def rating_targets(application: Application, *, now: datetime | None = None) -> list[Target]:
    """What can still be rated: a concluded application's concluded item cases not yet rated,
    and, for a bundle, the application as a whole. Empty once the period has passed."""
    now = now or timezone.now()
    if application.state != ApplicationState.CONCLUDED or application.concluded_at is None:
        return []
    open_until = rating_open_until(application.concluded_at, RatingPolicy.current())
    if now > open_until:
        return []
    rated = set(Rating.objects.filter(application=application).values_list("item_case", flat=True))
    targets = []
    if application.bundle_id and None not in rated:
        targets.append(Target(application, None, open_until))
    for case in application.cases.filter(state=CaseState.CONCLUDED).select_related("item"):
        if case.pk not in rated:
            targets.append(Target(application, case, open_until))
    return targets


def rating_list(application: Application) -> list[Rating]:
    """The application's ratings, for its applicant: what was rated, when, and how."""
    return list(
        Rating.objects.filter(application=application)
        .select_related("item_case__item")
        .order_by("rated_at", "id")
    )


def answered_follow_ups(application: Application) -> list[FollowUp]:
    """The units' answers the applicant reads (on the status and rating pages)."""
    return list(
        FollowUp.objects.filter(application=application, state=FollowUpState.ANSWERED)
        .select_related("rating", "item_case__item")
        .order_by("answered_at", "id")
    )


def counted_ratings():
    """The ratings the figures count: all of them but those whose follow-up closed with an
    upheld appeal (申诉复核). Those stay stored and visible; they no longer count against the
    unit."""
    return Rating.objects.exclude(follow_up__state=FollowUpState.APPEAL_UPHELD)


@dataclass(frozen=True)
class FollowUpCounts:
    """Where the follow-ups stand now: open (to verify or answer), past their answer time,
    escalated to the supervision office, appeals waiting for its decision."""

    open: int
    overdue: int
    escalated: int
    appealed: int


def follow_up_counts(*, district_id: int | None = None, now: datetime | None = None):
    """One aggregate over the follow-ups not yet answered or closed (few: bad reviews and missed
    deadlines still in hand), for the supervisors' pages and the leaders' report."""
    now = now or timezone.now()
    running = Q(state__in=(FollowUpState.OPEN, FollowUpState.VERIFIED))
    rows = FollowUp.objects.filter(
        state__in=(FollowUpState.OPEN, FollowUpState.VERIFIED, FollowUpState.APPEALED)
    )
    if district_id:
        rows = rows.filter(application__hall__district_id=district_id)
    counts = rows.aggregate(
        open=Count("pk", filter=running),
        overdue=Count("pk", filter=running & Q(answer_due_at__lt=now)),
        escalated=Count("pk", filter=running & Q(escalated_at__isnull=False)),
        appealed=Count("pk", filter=Q(state=FollowUpState.APPEALED)),
    )
    return FollowUpCounts(**counts)
