"""The follow-ups' sweep: the same engine as the cases' (one beat task a minute, a partial index
on the next flag, each flag once), over the follow-ups' clocks (`ratings.followups.THRESHOLDS`,
and an appeal's decision time while it waits). Follow-ups are few (bad reviews, missed
deadlines), so a batch is marked in Python under row locks; concurrent sweeps skip what another
holds, and a second run finds nothing more to fire."""

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.ratings.followups import (
    APPEAL_THRESHOLD,
    THRESHOLDS,
    refresh_next_flag,
    thresholds_of,
)
from kuaiban.ratings.models import FollowUp, FollowUpAction, FollowUpEvent, FollowUpState

from .unit_messages import unit_and_office_messages

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
    """One in-app message per recipient and kind per sweep (`unit_messages`)."""
    unit_and_office_messages(
        fired,
        _subjects(),
        now,
        unit_kinds=UNIT_KINDS,
        office_kinds=OFFICE_KINDS,
        unit_link=reverse("staff:follow_ups"),
        office_link=reverse("supervision:follow_ups"),
    )
