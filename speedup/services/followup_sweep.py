"""The follow-ups' sweep: the same engine as the cases' (one beat task a minute, a partial index
on the next flag, each flag once), over the follow-ups' clocks. Follow-ups are few (bad reviews,
missed deadlines), so a batch is marked in Python under row locks; concurrent sweeps skip what
another holds, and a second run finds nothing more to fire."""

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.notifications.models import Notification
from kuaiban.ratings.models import FollowUp, FollowUpEvent, FollowUpState

logger = logging.getLogger(__name__)
BATCH = 500
RUNNING = (FollowUpState.OPEN, FollowUpState.VERIFIED)


@dataclass(frozen=True)
class FollowUpThreshold:
    kind: str
    at: str
    fired: str


FOLLOW_UP_THRESHOLDS = (
    FollowUpThreshold("warn_50", "warn_50_at", "flag_50_at"),
    FollowUpThreshold("warn_75", "warn_75_at", "flag_75_at"),
    FollowUpThreshold("overdue", "answer_due_at", "overdue_at"),
    FollowUpThreshold("escalated", "escalate_at", "escalated_at"),
)
# Overdue answers and escalations are the supervision office's business too.
OFFICE_KINDS = ("overdue", "escalated")


def _labels() -> dict[str, str]:
    return {
        # xgettext:no-python-format
        "warn_50": _("Follow-up: 50% of the answer time passed"),
        # xgettext:no-python-format
        "warn_75": _("Follow-up: 75% of the answer time passed"),
        "overdue": _("Follow-up not answered in time"),
        "escalated": _("Follow-up escalated to the supervision office"),
    }


def followups_sweep(*, now=None, batch: int = BATCH) -> dict[str, int]:
    """Fire every follow-up threshold that has passed; how many of each kind fired."""
    now = now or timezone.now()
    marked = {t.kind: 0 for t in FOLLOW_UP_THRESHOLDS}
    while True:
        with transaction.atomic():
            rows = list(
                FollowUp.objects.select_for_update(skip_locked=True)
                .filter(next_flag_at__lte=now, state__in=RUNNING)
                .order_by("next_flag_at")[:batch]
            )
            fired: dict[str, list[FollowUp]] = {t.kind: [] for t in FOLLOW_UP_THRESHOLDS}
            events = []
            for follow_up in rows:
                for t in FOLLOW_UP_THRESHOLDS:
                    if getattr(follow_up, t.fired) is None and getattr(follow_up, t.at) <= now:
                        setattr(follow_up, t.fired, now)
                        fired[t.kind].append(follow_up)
                        events.append(FollowUpEvent(follow_up=follow_up, at=now, action=t.kind))
                pending = [
                    getattr(follow_up, t.at)
                    for t in FOLLOW_UP_THRESHOLDS
                    if getattr(follow_up, t.fired) is None
                ]
                follow_up.next_flag_at = min(pending, default=None)
            FollowUp.objects.bulk_update(
                rows, [*(t.fired for t in FOLLOW_UP_THRESHOLDS), "next_flag_at"]
            )
            FollowUpEvent.objects.bulk_create(events)
            _queue_notifications(fired, now)
            for kind, follow_ups in fired.items():
                marked[kind] += len(follow_ups)
        if len(rows) < batch:
            break
    if any(marked.values()):
        logger.info("follow-up sweep marked %s", marked)
    return marked


def _queue_notifications(fired: dict[str, list[FollowUp]], now) -> None:
    """One in-app message per recipient and kind per sweep: the unit's reviewers hear of their
    follow-ups; the city's supervisors of overdue answers and escalations."""
    if not any(fired.values()):
        return
    User = get_user_model()
    units = {f.unit_id for follow_ups in fired.values() for f in follow_ups}
    reviewers: dict[int | None, list] = {}
    for user in User.objects.filter(role=Role.REVIEWER, unit_id__in=units, is_active=True):
        reviewers.setdefault(user.unit_id, []).append(user)
    office = list(User.objects.filter(role=Role.SUPERVISOR, district=None, is_active=True))
    labels = _labels()
    rows = []

    def message(user, kind: str, count: int, link: str) -> None:
        rows.append(
            Notification(
                recipient=user,
                channel=Notification.Channel.IN_APP,
                subject=_("%(flag)s: %(count)d") % {"flag": labels[kind], "count": count},
                body=labels[kind],
                link=link,
                created_at=now,
                status=Notification.Status.SENT,
                sent_at=now,
            )
        )

    for kind, follow_ups in fired.items():
        by_unit: dict[int, int] = {}
        for follow_up in follow_ups:
            by_unit[follow_up.unit_id] = by_unit.get(follow_up.unit_id, 0) + 1
        for unit_id, count in by_unit.items():
            for user in reviewers.get(unit_id, []):
                message(user, kind, count, reverse("staff:follow_ups"))
        if kind in OFFICE_KINDS and follow_ups:
            for user in office:
                message(user, kind, len(follow_ups), reverse("supervision:follow_ups"))
    Notification.objects.bulk_create(rows)
