"""The acceptance evaluation (考评验收) as steps, each in one transaction with its event: 局行风办
opens an evaluation of a bundle or speed-up item for a period, records on-site inspections
(a checklist per hall and window) and service experiences, and turns what it found into
improvement opinions (findings) for a responsible unit with a rectification date on the
working calendar (RULE TASK-DUE); the unit closes a finding with what it did and evidence. The
overdue flag is the sweep's (`speedup.services.campaign_sweep`)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role, User
from kuaiban.cases import uploads
from kuaiban.catalog.models import Bundle, ServiceHall, SpeedUpEntry, Unit, Window
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notify
from kuaiban.workdays.calendar import calendar_from_db

from .clock import task_plan
from .models import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    ChecklistItem,
    Evaluation,
    Finding,
    FindingState,
    OnSiteInspection,
    ServiceExperience,
)
from .services import require_office


def _event(evaluation: Evaluation, action: str, actor, finding=None, note: str = "") -> None:
    CampaignEvent.objects.create(
        campaign_id=evaluation.campaign_id, finding=finding, action=action, actor=actor, note=note
    )


@transaction.atomic
def evaluation_open(
    *,
    campaign: Campaign,
    actor,
    period_start: date,
    period_end: date,
    bundle: Bundle | None = None,
    speedup: SpeedUpEntry | None = None,
) -> Evaluation:
    require_office(actor)
    if (bundle is None) == (speedup is None):
        raise ValidationError(_("Choose a bundle or a speed-up item."))
    if period_end < period_start:
        raise ValidationError(_("The period ends before it starts."))
    evaluation = Evaluation.objects.create(
        campaign=campaign,
        bundle=bundle,
        speedup=speedup,
        period_start=period_start,
        period_end=period_end,
        opened_by=actor,
    )
    _event(evaluation, CampaignAction.EVALUATION, actor, note=str(evaluation.subject))
    return evaluation


@transaction.atomic
def inspection_record(
    *, evaluation: Evaluation, actor, hall: ServiceHall, window: Window | None, met, note: str
) -> OnSiteInspection:
    """`met`: the codes of the checklist points found met; the others are recorded as not."""
    require_office(actor)
    codes = list(ChecklistItem.objects.values_list("code", flat=True))
    met = set(met)
    return OnSiteInspection.objects.create(
        evaluation=evaluation,
        hall=hall,
        window=window,
        answers={code: code in met for code in codes},
        note=note.strip(),
        by=actor,
    )


@transaction.atomic
def experience_record(
    *,
    evaluation: Evaluation,
    actor,
    channel: str,
    steps: str,
    minutes_taken: int,
    visits: int,
    problems: str = "",
) -> ServiceExperience:
    require_office(actor)
    if not steps.strip():
        raise ValidationError(_("Describe the steps taken."))
    return ServiceExperience.objects.create(
        evaluation=evaluation,
        channel=channel,
        steps=steps.strip(),
        minutes_taken=minutes_taken,
        visits=visits,
        problems=problems.strip(),
        by=actor,
    )


def _unit_members(unit_id: int):
    return User.objects.filter(role=Role.REVIEWER, unit_id=unit_id, is_active=True)


@transaction.atomic
def finding_record(
    *, evaluation: Evaluation, actor, source: str, text: str, unit: Unit, rectify_by: date
) -> Finding:
    """An improvement opinion for `unit`, due at the close of `rectify_by` (a day off moves it
    to the next working day); the unit's reviewers are told."""
    require_office(actor)
    if not text.strip():
        raise ValidationError(_("Say what must change."))
    if rectify_by < timezone.localdate():
        raise ValidationError(_("The rectification date has already passed."))
    plan = task_plan(calendar_from_db(), rectify_by, 0)
    finding = Finding.objects.create(
        evaluation=evaluation,
        source=source,
        text=text.strip(),
        unit=unit,
        rectify_by=rectify_by,
        due_at=plan.due_at,
        next_flag_at=plan.due_at,
        opened_by=actor,
    )
    _event(evaluation, CampaignAction.FINDING, actor, finding, finding.text)
    subject = _("Improvement opinion to rectify by %(day)s") % {"day": rectify_by.isoformat()}
    link = reverse("staff:finding", kwargs={"finding_id": finding.pk})
    for member in _unit_members(unit.pk):
        notify(
            recipient=member,
            subject=subject,
            body=finding.text,
            link=link,
            channels=[Notification.Channel.IN_APP],
        )
    return finding


@transaction.atomic
def finding_close(*, finding: Finding, actor, rectification: str, upload) -> Finding:
    """The unit says what it did and shows it (a document kept encrypted like the uploads)."""
    finding = (
        Finding.objects.select_for_update(of=("self",))
        .select_related("evaluation")
        .get(pk=finding.pk)
    )
    if getattr(actor, "role", None) != Role.REVIEWER or actor.unit_id != finding.unit_id:
        raise PermissionDenied
    if finding.state != FindingState.OPEN:
        raise ValidationError(_("This finding has already been rectified."))
    problems = []
    if not rectification.strip():
        problems.append(_("Say what was done."))
    if upload is None:
        problems.append(_("Upload the evidence of the rectification."))
    if problems:
        raise ValidationError(problems)
    stored = uploads.store(owner=actor, material=None, upload=upload)
    finding.state, finding.closed_at, finding.closed_by = FindingState.CLOSED, timezone.now(), actor
    finding.rectification, finding.evidence, finding.next_flag_at = (
        rectification.strip(),
        stored,
        None,
    )
    finding.save()
    _event(finding.evaluation, CampaignAction.RECTIFIED, actor, finding, finding.rectification)
    return finding
