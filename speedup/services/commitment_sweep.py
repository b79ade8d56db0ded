"""The commitment verifications' sweep (告知承诺制 post-hoc checks), on the same beat as the cases'
and the follow-ups' clocks: a partial index on the next flag, each threshold (50%, 75%, overdue;
`commitments.services.THRESHOLDS`) fired once with its event, one in-app message per unit
reviewer and kind per run, overdue ones also to the city's supervision office. Checks are few,
so a batch is marked in Python under row locks; concurrent sweeps skip what another holds."""

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.commitments.models import (
    CheckAction,
    CheckEvent,
    CheckState,
    CommitmentCheck,
    HearingNotice,
    HearingState,
)
from kuaiban.commitments.services import THRESHOLDS, notify_heads, refresh_next_flag

from .unit_messages import unit_and_office_messages

logger = logging.getLogger(__name__)
BATCH = 500


def _subjects() -> dict[str, str]:
    return {
        # xgettext:no-python-format
        CheckAction.WARN_50: _("Commitment verification: 50% of the time passed"),
        # xgettext:no-python-format
        CheckAction.WARN_75: _("Commitment verification: 75% of the time passed"),
        CheckAction.OVERDUE: _("Commitment verification overdue"),
    }


def commitment_checks_sweep(*, now=None, batch: int = BATCH) -> dict[str, int]:
    """Fire every verification threshold that has passed; how many of each kind fired."""
    now = now or timezone.now()
    marked = {str(t.action): 0 for t in THRESHOLDS}
    while True:
        with transaction.atomic():
            rows = list(
                CommitmentCheck.objects.select_for_update(skip_locked=True)
                .filter(next_flag_at__lte=now, state=CheckState.OPEN)
                .order_by("next_flag_at")[:batch]
            )
            fired: dict[str, list[CommitmentCheck]] = {str(t.action): [] for t in THRESHOLDS}
            events = []
            for check in rows:
                for t in THRESHOLDS:
                    moment = getattr(check, t.at)
                    if getattr(check, t.fired) is None and moment <= now:
                        setattr(check, t.fired, now)
                        fired[str(t.action)].append(check)
                        events.append(CheckEvent(check_row=check, at=now, action=t.action))
                refresh_next_flag(check)
            CommitmentCheck.objects.bulk_update(
                rows, [*(t.fired for t in THRESHOLDS), "next_flag_at"]
            )
            CheckEvent.objects.bulk_create(events)
            _queue_notifications(fired, now)
            for kind, checks in fired.items():
                marked[kind] += len(checks)
        if len(rows) < batch:
            break
    marked[str(CheckAction.HEARING_LAPSED)] = hearings_lapse(now=now)
    if any(marked.values()):
        logger.info("commitment verification sweep marked %s", marked)
    return marked


def hearings_lapse(*, now) -> int:
    """Hearing notices whose time to answer is over without a statement: the unit head is told,
    once each (then they decide). Few rows: one transaction."""
    with transaction.atomic():
        hearings = list(
            HearingNotice.objects.select_for_update(skip_locked=True)
            .filter(state=HearingState.SENT, lapsed_at__isnull=True, respond_by__lt=now)
            .select_related("check_row__application")
        )
        for hearing in hearings:
            hearing.lapsed_at = now
            CheckEvent.objects.create(
                check_row=hearing.check_row, at=now, action=CheckAction.HEARING_LAPSED
            )
            notify_heads(
                hearing.check_row,
                _("Application %(reference)s: no statement in time, to decide")
                % {"reference": hearing.check_row.application.reference},
            )
        HearingNotice.objects.bulk_update(hearings, ["lapsed_at"])
    return len(hearings)


def _queue_notifications(fired: dict[str, list[CommitmentCheck]], now) -> None:
    """One in-app message per recipient and kind per sweep (`unit_messages`)."""
    unit_and_office_messages(
        fired,
        _subjects(),
        now,
        unit_kinds=tuple(fired),
        office_kinds=(CheckAction.OVERDUE,),
        unit_link=reverse("staff:commitment_checks"),
        office_link=reverse("supervision:commitment_checks"),
    )
