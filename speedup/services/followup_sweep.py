"""The follow-ups' sweep: the same engine as the cases' (one beat task a minute, a partial index
on the next flag, each flag once), over the follow-ups' clocks (`ratings.followups.THRESHOLDS`,
and an appeal's decision time while it waits). Follow-ups are few (bad reviews, missed
deadlines), so a batch is marked in Python under row locks; concurrent sweeps skip what another
holds, and a second run finds nothing more to fire."""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.notifications.models import Notification
from kuaiban.ratings.followups import (
    APPEAL_THRESHOLD,
    THRESHOLDS,
    refresh_next_flag,
    thresholds_of,
)
from kuaiban.ratings.models import FollowUp, FollowUpAction, FollowUpEvent, FollowUpState

logger = logging.getLogger(__name__)
BATCH = 500
WATCHED = (FollowUpState.OPEN, FollowUpState.VERIFIED, FollowUpState.APPEALED)
ALL_THRESHOLDS = (*THRESHOLDS, APPEAL_THRESHOLD)
# Overdue answers, escalations and undecided appeals are the supervision office's business; the
# unit hears of its own clock's flags.
OFFICE_KINDS = (FollowUpAction.OVERDUE, FollowUpAction.ESCALATED, FollowUpAction.APPEAL_OVERDUE)
UNIT_KINDS = (
    FollowUpAction.WARN_50,
    FollowUpAction.WARN_75,
    FollowUpAction.OVERDUE,
    FollowUpAction.ESCALATED,
)


def _subjects() -> dict[str, str]:
    return {
        # xgettext:no-python-format
        FollowUpAction.WARN_50: _("Follow-up: 50% of the answer time passed"),
        # xgettext:no-python-format
        FollowUpAction.WARN_75: _("Follow-up: 75% of the answer time passed"),
        FollowUpAction.OVERDUE: _("Follow-up not answered in time"),
        FollowUpAction.ESCALATED: _("Follow-up escalated to the supervision office"),
        FollowUpAction.APPEAL_OVERDUE: _("Appeal not decided in time"),
    }


def followups_sweep(*, now=None, batch: int = BATCH) -> dict[str, int]:
    """Fire every follow-up threshold that has passed; how many of each kind fired."""
    now = now or timezone.now()
    marked = {str(t.action): 0 for t in ALL_THRESHOLDS}
    while True:
        with transaction.atomic():
            rows = list(
                FollowUp.objects.select_for_update(skip_locked=True)
                .filter(next_flag_at__lte=now, state__in=WATCHED)
                .order_by("next_flag_at")[:batch]
            )
            fired: dict[str, list[FollowUp]] = {str(t.action): [] for t in ALL_THRESHOLDS}
            events = []
            for follow_up in rows:
                for t in thresholds_of(follow_up):
                    moment = getattr(follow_up, t.at)
                    if getattr(follow_up, t.fired) is None and moment and moment <= now:
                        setattr(follow_up, t.fired, now)
                        fired[str(t.action)].append(follow_up)
                        events.append(FollowUpEvent(follow_up=follow_up, at=now, action=t.action))
                refresh_next_flag(follow_up)
            FollowUp.objects.bulk_update(rows, [*(t.fired for t in ALL_THRESHOLDS), "next_flag_at"])
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
    follow-ups; the city's supervision office of overdue answers, escalations and appeals."""
    if not any(fired.values()):
        return
    User = get_user_model()
    units = {f.unit_id for follow_ups in fired.values() for f in follow_ups}
    reviewers: dict[int | None, list] = {}
    for user in User.objects.filter(role=Role.REVIEWER, unit_id__in=units, is_active=True):
        reviewers.setdefault(user.unit_id, []).append(user)
    office = list(User.objects.filter(role=Role.SUPERVISOR, district=None, is_active=True))
    subjects = _subjects()
    rows = []

    def message(user, kind: str, count: int, link: str) -> None:
        rows.append(
            Notification(
                recipient=user,
                channel=Notification.Channel.IN_APP,
                subject=_("%(flag)s: %(count)d") % {"flag": subjects[kind], "count": count},
                body=subjects[kind],
                link=link,
                created_at=now,
                status=Notification.Status.SENT,
                sent_at=now,
            )
        )

    for kind, follow_ups in fired.items():
        if not follow_ups:
            continue
        if kind in UNIT_KINDS:
            by_unit: dict[int, int] = {}
            for follow_up in follow_ups:
                by_unit[follow_up.unit_id] = by_unit.get(follow_up.unit_id, 0) + 1
            for unit_id, count in by_unit.items():
                for user in reviewers.get(unit_id, []):
                    message(user, kind, count, reverse("staff:follow_ups"))
        if kind in OFFICE_KINDS:
            for user in office:
                message(user, kind, len(follow_ups), reverse("supervision:follow_ups"))
    Notification.objects.bulk_create(rows)
