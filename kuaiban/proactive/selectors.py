"""Reads of the proactive services: the invitation funnel per rule for a period (invited →
started → submitted), counted over the invitations sent in the period. Submitted = the
application the invitation started has been submitted (at any time since)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from kuaiban.cases.models import EventAction
from kuaiban.shareddata.selectors import masked_facts

from .models import EntitlementRule, InvitationRule, Proposal


@dataclass
class FunnelRow:
    rule: InvitationRule
    invited: int
    started: int
    submitted: int

    @property
    def started_share(self) -> float | None:
        return self.started / self.invited if self.invited else None

    @property
    def submitted_share(self) -> float | None:
        return self.submitted / self.invited if self.invited else None


def invitation_funnel(start: date, end: date) -> list[FunnelRow]:
    """Per rule: invitations sent from `start` to `end` (inclusive, local days), how many of
    them the person started and submitted (at any time since). One grouped query."""
    since = timezone.make_aware(datetime.combine(start, time.min))
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    period = Q(invitations__sent_at__gte=since, invitations__sent_at__lt=until)
    rules = InvitationRule.objects.select_related("bundle").annotate(
        n_invited=Count("invitations", filter=period),
        n_started=Count("invitations", filter=period & Q(invitations__started_at__isnull=False)),
        n_submitted=Count(
            "invitations", filter=period & Q(invitations__application__submitted_at__isnull=False)
        ),
    )
    return [FunnelRow(r, r.n_invited, r.n_started, r.n_submitted) for r in rules.order_by("code")]


@dataclass
class ProposalRow:
    """免申即享 per rule: proposals made in the period, and what became of them (so far)."""

    rule: EntitlementRule
    proposed: int
    objected: int
    approved: int
    denied: int


def proposal_figures(start: date, end: date) -> list[ProposalRow]:
    """Per entitlement rule: proposals made from `start` to `end` (inclusive, local days), how
    many the person objected to, and how many the unit approved or denied (at any time since; a
    single item's case). One grouped query."""
    since = timezone.make_aware(datetime.combine(start, time.min))
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    period = Q(proposals__proposed_at__gte=since, proposals__proposed_at__lt=until)
    # The decision is the case's approve or deny event (a concluded case was either).
    decided = "proposals__application__events__action"
    rules = EntitlementRule.objects.select_related("item").annotate(
        n_proposed=Count("proposals", filter=period, distinct=True),
        n_objected=Count(
            "proposals", filter=period & Q(proposals__objected_at__isnull=False), distinct=True
        ),
        n_approved=Count(
            "proposals",
            filter=period & Q(**{decided: EventAction.APPROVE}),
            distinct=True,
        ),
        n_denied=Count(
            "proposals", filter=period & Q(**{decided: EventAction.DENY}), distinct=True
        ),
    )
    return [
        ProposalRow(r, r.n_proposed, r.n_objected, r.n_approved, r.n_denied)
        for r in rules.order_by("code")
    ]


@dataclass
class ProposalShown:
    """A 免申即享 proposal as its person and the unit see it: the rule, the facts it rests on
    (personal numbers masked), and whether the person may still object."""

    proposal: Proposal
    facts: list[tuple[str, str]]
    may_object: bool


def proposal_shown(application_id: int, now: datetime | None = None) -> ProposalShown | None:
    """The proposal behind an application (None: the person applied themselves)."""
    proposal = (
        Proposal.objects.select_related("rule", "application")
        .filter(application_id=application_id)
        .first()
    )
    if proposal is None:
        return None
    now = now or timezone.now()
    may_object = (
        proposal.objected_at is None
        and now <= proposal.objection_due
        and "withdraw" in proposal.application.available_transitions()
    )
    return ProposalShown(proposal, masked_facts(proposal.facts or {}), may_object)
