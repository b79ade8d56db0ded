"""The deadline sweep: set-based, idempotent, safe to run twice at once.

Each run marks, with one conditional UPDATE per threshold kind, the running clocks whose
threshold has passed and whose flag has not fired (`... WHERE overdue_at IS NULL`), then writes
one flag row and one event per mark and queues notifications, all in one transaction. A second
sweep racing the first blocks on the row locks and then finds nothing left to mark; a case
concluded before the UPDATE is not in a running state and is never flagged.
"""

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, F, When
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.cases.models import RUNNING_CLOCK_STATES, CaseEvent, ItemCase
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notifications_dispatch

from .models import CaseFlag, FlagKind

logger = logging.getLogger(__name__)

# flag kind → (threshold field, fired field)
SWEEP_ORDER = (
    (FlagKind.WARN_50, "warn_50_at", "flag_50_at"),
    (FlagKind.WARN_75, "warn_75_at", "flag_75_at"),
    (FlagKind.OVERDUE, "committed_due_at", "overdue_at"),
    (FlagKind.BREACH, "statutory_due_at", "breach_at"),
)
# Supervisors hear of breaches of the commitment and of the law; reviewers hear of everything.
SUPERVISOR_KINDS = (FlagKind.OVERDUE, FlagKind.BREACH)
BATCH = 5000


def next_flag_expression():
    """SQL for the earliest unfired threshold (thresholds come due in SWEEP_ORDER)."""
    return Case(
        *[
            When(**{f"{fired}__isnull": True, f"{threshold}__isnull": False}, then=F(threshold))
            for _kind, threshold, fired in SWEEP_ORDER
        ],
        default=None,
    )


@dataclass
class SweepResult:
    marked: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.marked.values())


def deadlines_sweep(*, now=None, batch: int = BATCH) -> SweepResult:
    """Fire every threshold that has passed. Returns how many flags of each kind fired."""
    now = now or timezone.now()
    marked = {kind.value: 0 for kind, _t, _f in SWEEP_ORDER}
    while True:
        with transaction.atomic():
            due_ids = list(
                ItemCase.objects.filter(next_flag_at__lte=now, state__in=RUNNING_CLOCK_STATES)
                .order_by("next_flag_at")
                .values_list("pk", flat=True)[:batch]
            )
            if not due_ids:
                break
            fired = _mark(due_ids, now)
            for kind, ids in fired.items():
                marked[kind] += len(ids)
            # Move every touched clock's index key to its next unfired threshold.
            ItemCase.objects.filter(pk__in=due_ids).update(next_flag_at=next_flag_expression())
            _record(fired, now)
        if len(due_ids) < batch:
            break
    if any(marked.values()):
        logger.info("deadline sweep marked %s", marked)
    return SweepResult(marked)


def _mark(ids: list[int], now) -> dict[str, list[int]]:
    """Conditional updates: a flag that already fired (or a clock that stopped) is not marked."""
    fired = {}
    for kind, threshold, fired_field in SWEEP_ORDER:
        rows = ItemCase.objects.filter(
            pk__in=ids,
            state__in=RUNNING_CLOCK_STATES,
            **{f"{fired_field}__isnull": True, f"{threshold}__lte": now},
        )
        # Lock, then update only what is still unmarked: PostgreSQL re-checks the WHERE after
        # waiting for a concurrent sweep, so each flag is set once.
        locked = list(rows.order_by("pk").select_for_update().values_list("pk", flat=True))
        if locked:
            ItemCase.objects.filter(pk__in=locked, **{f"{fired_field}__isnull": True}).update(
                **{fired_field: now}
            )
        fired[kind.value] = locked
    return fired


def _record(fired: dict[str, list[int]], now) -> None:
    all_ids = [pk for ids in fired.values() for pk in ids]
    if not all_ids:
        return
    cases = {
        case.pk: case
        for case in ItemCase.objects.filter(pk__in=all_ids).select_related("application", "item")
    }
    thresholds = {kind.value: threshold for kind, threshold, _f in SWEEP_ORDER}
    flags, events = [], []
    for kind, ids in fired.items():
        for pk in ids:
            case = cases[pk]
            flags.append(
                CaseFlag(
                    item_case=case,
                    kind=kind,
                    threshold_at=getattr(case, thresholds[kind]),
                    flagged_at=now,
                )
            )
            events.append(
                CaseEvent(
                    application=case.application,
                    item_case=case,
                    action="flag",
                    at=now,
                    reason=FlagKind(kind).label,
                    data={"kind": kind},
                )
            )
    CaseFlag.objects.bulk_create(flags, ignore_conflicts=True)
    CaseEvent.objects.bulk_create(events)
    _queue_notifications(fired, cases, now)


def _queue_notifications(fired, cases, now) -> None:
    User = get_user_model()
    unit_ids = {case.unit_id for case in cases.values()}
    reviewers: dict[int, list] = {}
    for user in User.objects.filter(role=Role.REVIEWER, unit_id__in=unit_ids, is_active=True):
        reviewers.setdefault(user.unit_id, []).append(user)
    supervisors = list(User.objects.filter(role=Role.SUPERVISOR, is_active=True))
    rows = []
    for kind, ids in fired.items():
        label = FlagKind(kind).label
        for pk in ids:
            case = cases[pk]
            subject = _("%(flag)s: %(item)s (%(reference)s)") % {
                "flag": label,
                "item": case.item.name_zh,
                "reference": case.application.reference,
            }
            body = _("Committed due %(due)s.") % {
                "due": timezone.localtime(case.committed_due_at).strftime("%Y-%m-%d %H:%M")
                if case.committed_due_at
                else "—"
            }
            link = f"/staff/cases/{case.pk}/"
            recipients = list(reviewers.get(case.unit_id, []))
            if kind in SUPERVISOR_KINDS:
                recipients += supervisors
            for user in recipients:
                rows.append(
                    Notification(
                        recipient=user,
                        channel=Notification.Channel.IN_APP,
                        subject=subject,
                        body=body,
                        link=link,
                        created_at=now,
                        sent_at=now,
                    )
                )
                if kind in SUPERVISOR_KINDS and user.email:
                    rows.append(
                        Notification(
                            recipient=user,
                            channel=Notification.Channel.EMAIL,
                            subject=subject,
                            body=body,
                            link=link,
                            created_at=now,
                        )
                    )
    Notification.objects.bulk_create(rows, batch_size=2000)
    if any(r.channel == Notification.Channel.EMAIL for r in rows):
        transaction.on_commit(lambda: notifications_dispatch())
