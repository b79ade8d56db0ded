"""The campaign tasks' sweep (考评验收's own deadlines), on the same beat as the other clocks: the
reminder before a unit's filing is due and the overdue flag after it, each fired once with its
event (`campaigns.services.THRESHOLDS`); one in-app message per unit reviewer and kind per run,
overdue ones also to the city's supervision office. Tasks are few (units × tasks), so a batch
is marked in Python under row locks; concurrent sweeps skip what another holds."""

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.campaigns.models import (
    CampaignAction,
    CampaignEvent,
    Finding,
    FindingState,
    UnitTask,
)
from kuaiban.campaigns.services import RUNNING, THRESHOLDS, refresh_next_flag

from .unit_messages import unit_and_office_messages

logger = logging.getLogger(__name__)
BATCH = 500


def campaign_tasks_sweep(*, now=None, batch: int = BATCH) -> dict[str, int]:
    """Fire every campaign-task threshold that has passed; how many of each kind fired."""
    now = now or timezone.now()
    marked = {str(t.action): 0 for t in THRESHOLDS}
    while True:
        with transaction.atomic():
            rows = list(
                UnitTask.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(next_flag_at__lte=now, state__in=RUNNING)
                .select_related("task__phase")
                .order_by("next_flag_at")[:batch]
            )
            fired: dict[str, list[UnitTask]] = {str(t.action): [] for t in THRESHOLDS}
            events = []
            for row in rows:
                for t in THRESHOLDS:
                    if getattr(row, t.fired) is None and getattr(row, t.at) <= now:
                        setattr(row, t.fired, now)
                        if t.action == CampaignAction.REMIND and row.due_at <= now:
                            continue  # already due: the overdue flag says it, not a reminder
                        fired[str(t.action)].append(row)
                        events.append(
                            CampaignEvent(
                                campaign_id=row.task.phase.campaign_id,
                                unit_task=row,
                                at=now,
                                action=t.action,
                            )
                        )
                refresh_next_flag(row)
            UnitTask.objects.bulk_update(rows, [*(t.fired for t in THRESHOLDS), "next_flag_at"])
            CampaignEvent.objects.bulk_create(events)
            unit_and_office_messages(
                fired,
                {
                    CampaignAction.REMIND: _("Campaign filing due soon"),
                    CampaignAction.OVERDUE: _("Campaign filing overdue"),
                },
                now,
                unit_kinds=tuple(fired),
                office_kinds=(CampaignAction.OVERDUE,),
                unit_link=reverse("staff:campaign_tasks"),
                office_link=reverse("supervision:campaigns"),
            )
            for kind, done in fired.items():
                marked[kind] += len(done)
        if len(rows) < batch:
            break
    marked[str(CampaignAction.FINDING_OVERDUE)] = findings_sweep(now=now)
    if any(marked.values()):
        logger.info("campaign task sweep marked %s", marked)
    return marked


def findings_sweep(*, now) -> int:
    """Improvement opinions past their rectification time, flagged once (few rows: one
    transaction); the unit's reviewers and the supervision office are told."""
    with transaction.atomic():
        rows = list(
            Finding.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(next_flag_at__lte=now, state=FindingState.OPEN)
            .select_related("evaluation")
        )
        for row in rows:
            row.overdue_at, row.next_flag_at = now, None
        Finding.objects.bulk_update(rows, ["overdue_at", "next_flag_at"])
        CampaignEvent.objects.bulk_create(
            CampaignEvent(
                campaign_id=row.evaluation.campaign_id,
                finding=row,
                at=now,
                action=CampaignAction.FINDING_OVERDUE,
            )
            for row in rows
        )
        kind = str(CampaignAction.FINDING_OVERDUE)
        unit_and_office_messages(
            {kind: rows},
            {kind: _("Improvement opinion not rectified in time")},
            now,
            unit_kinds=(kind,),
            office_kinds=(kind,),
            unit_link=reverse("staff:findings"),
            office_link=reverse("supervision:evaluations"),
        )
    return len(rows)
