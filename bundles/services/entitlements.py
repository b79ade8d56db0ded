"""免申即享 where the law allows: an entitlement rule proposes its item to each eligible person
without an application. The proposal is an application of channel PROACTIVE for that single
item, its form filled from the facts, submitted and accepted into the unit's queue in one
transaction (its clock starts at the proposal), with a `propose` event naming the rule and the
facts; written once per person and rule (`Proposal`'s unique constraint). The person is told
through the outbox with a link to the status page, where they may object within the rule's days:
the objection withdraws the application with their reason. The unit's reviewer decides as usual
(`handling.case_approve` / `case_deny`, which tell the person)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.cases import clocks
from kuaiban.cases.events import record_event, transition
from kuaiban.cases.models import Application, CaseState, EventAction
from kuaiban.cases.visits import visit_target_for
from kuaiban.departments import webhooks as department_webhooks
from kuaiban.notifications.services import notify
from kuaiban.proactive.entitlements import Eligible, entitlement_candidates
from kuaiban.proactive.models import EntitlementRule, Proposal, RuleStatus

from ..selectors import planned_items
from .applications import application_start_once, application_withdraw
from .guards import lock_application
from .submission import fan_out


def _answers(rule: EntitlementRule, facts: dict) -> dict[str, str]:
    """The form's answers from the rule's mapping {field code: fact name}; unknown ones left out."""
    mapping = rule.prefill if isinstance(rule.prefill, dict) else {}
    return {
        code: str(facts[name])
        for code, name in mapping.items()
        if facts.get(name) not in (None, "")
    }


def _notice(rule: EntitlementRule, eligible: Eligible, link: str) -> str:
    values = {
        "name": eligible.facts.get("name", ""),
        "item": rule.item.name_zh,
        "link": link,
        "days": rule.objection_days,
    }
    try:
        return rule.message_zh.format(**values)
    except (KeyError, IndexError, ValueError):
        return f"{rule.message_zh} {link}"


def _json_safe(facts: dict) -> dict:
    return {k: v if isinstance(v, int | str) else str(v) for k, v in facts.items()}


def entitlement_propose(rule: EntitlementRule, eligible: Eligible) -> Proposal | None:
    """Propose the rule's item to one eligible person (one savepoint): the application accepted
    with its clock started, the event, the proposal row and the notice. None when this rule had
    proposed to the person already (a second run, or a concurrent one)."""
    user = eligible.user
    now = timezone.now()
    try:
        with transaction.atomic():
            application, _created = application_start_once(
                applicant=user,
                item=rule.item,
                start_key=uuid.uuid5(
                    uuid.NAMESPACE_URL, f"entitlement:{rule.code}:{eligible.person_hash}"
                ),
                channel=Application.Channel.PROACTIVE,
            )
            application = lock_application(application)
            application.form_data = _answers(rule, eligible.facts)
            application.contact_phone = user.phone or ""
            # Nothing to bring and the result downloaded: no trip, if the item needs none.
            application.visit_target = visit_target_for(
                channel=application.channel,
                delivery=application.delivery,
                item_targets=[rule.item.visit_target],
            )
            application.save(update_fields=["form_data", "contact_phone", "visit_target"])
            proposal = Proposal(
                rule=rule,
                person_hash=eligible.person_hash,
                application=application,
                proposed_at=now,
                objection_due=now + timedelta(days=rule.objection_days),
            )
            proposal.facts = _json_safe(eligible.facts)
            proposal.save(force_insert=True)
            transition(application, "submit", actor=None, action=EventAction.SUBMIT)
            fan_out(application, None, planned_items(application))
            record_event(
                application=application,
                action=EventAction.PROPOSE,
                data={"rule": rule.code, "facts": sorted(eligible.facts)},
            )
            transition(application, "accept", actor=None, action=EventAction.ACCEPT)
            opened = []
            for case in application.cases.select_for_update().filter(state=CaseState.SUBMITTED):
                clocks.clock_start(case, received_at=now, accepted_at=now)
                transition(
                    case,
                    "accept",
                    actor=None,
                    action=EventAction.ACCEPT,
                    data={
                        "committed_due": case.committed_due_at and case.committed_due_at.isoformat()
                    },
                )
                opened.append(case)
            department_webhooks.cases_workable(opened)
    except IntegrityError:
        return None
    path = reverse("applications:status", kwargs={"reference": application.reference})
    notify(
        recipient=user,
        phone=application.contact_phone,
        subject=_("Proposed for you: %(item)s") % {"item": rule.item.name_zh},
        body=_notice(rule, eligible, settings.KUAIBAN_PUBLIC_URL + path),
        link=path,
        # A window-only record has no log-in to read in-app messages: an SMS only.
        channels=["sms"] if user.window_only else None,
    )
    return proposal


@transaction.atomic
def entitlements_propose(rule: EntitlementRule, today: date | None = None) -> int:
    """Propose the rule's item to everyone eligible today (only a rule that is on); returns how
    many proposals were made."""
    rule = EntitlementRule.objects.select_for_update().select_related("item").get(pk=rule.pk)
    if not rule.proposes or not rule.item.is_published:
        return 0  # a rule not on, or an item the bureau does not offer at the moment
    return sum(
        1 for found in entitlement_candidates(rule, today) if entitlement_propose(rule, found)
    )


def entitlements_run(today: date | None = None) -> dict[str, int]:
    """Beat's daily run: every entitlement rule that is on, each in its own transaction."""
    return {
        rule.code: entitlements_propose(rule, today)
        for rule in EntitlementRule.objects.filter(status=RuleStatus.ON)
    }


def proposal_of(application: Application) -> Proposal | None:
    return Proposal.objects.select_related("rule").filter(application=application).first()


@transaction.atomic
def proposal_object(*, application: Application, actor, reason: str) -> Application:
    """The person objects to a proposal within its days: the application (and its cases) is
    withdrawn with their reason, the objection recorded as an event."""
    application = lock_application(application)
    proposal = Proposal.objects.select_for_update().filter(application=application).first()
    if proposal is None or application.applicant_id != actor.pk:
        raise ValidationError(_("This application was not proposed to you."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why you object."))
    if proposal.objected_at is not None:
        return application
    if timezone.now() > proposal.objection_due:
        raise ValidationError(_("The time to object to this proposal has passed."))
    proposal.objected_at = timezone.now()
    proposal.save(update_fields=["objected_at"])
    record_event(
        application=application,
        action=EventAction.OBJECT,
        actor=actor,
        reason=reason,
        data={"rule": proposal.rule.code},
    )
    return application_withdraw(application=application, actor=actor, reason=reason)
