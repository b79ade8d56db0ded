"""Reads of the pre-check: an application's findings with the clerk's latest verdict, and the
supervisors' figures per rule for a period (how often it fired, how often the clerk agreed, the
return rate of applications with and without its finding)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from kuaiban.cases.models import Application, CaseEvent, EventAction

from .models import PrecheckFinding, PrecheckRule, PrecheckVerdict


def _latest_verdict():
    latest = PrecheckVerdict.objects.filter(finding=OuterRef("pk")).order_by("-at", "-pk")
    return latest


def findings_of(application: Application) -> QuerySet[PrecheckFinding]:
    """The application's findings, oldest first, each with `verdict` (True agreed, False
    disagreed, None not yet), `verdict_by` and `verdict_at` of the clerk's latest verdict."""
    latest = _latest_verdict()
    return (
        PrecheckFinding.objects.filter(application=application)
        .select_related("rule")
        .annotate(
            verdict=Subquery(latest.values("agreed")[:1]),
            verdict_by=Subquery(latest.values("by__username")[:1]),
            verdict_at=Subquery(latest.values("at")[:1]),
        )
        .order_by("created_at", "pk")
    )


@dataclass
class RuleFigures:
    rule: PrecheckRule
    fired: int  # findings of the rule stored in the period
    reviewed: int  # of them, with a verdict of the clerk
    agreed: int  # of them, the clerk's latest verdict: agree
    with_finding: int  # applications submitted in the period with a finding of the rule
    with_returned: int  # of them, returned at least once
    without_finding: int  # the other applications submitted in the period it applies to
    without_returned: int

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def agreed_share(self) -> float | None:
        return self._share(self.agreed, self.reviewed)

    @property
    def return_rate_with(self) -> float | None:
        return self._share(self.with_returned, self.with_finding)

    @property
    def return_rate_without(self) -> float | None:
        return self._share(self.without_returned, self.without_finding)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    since = timezone.make_aware(datetime.combine(start, time.min))
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    return since, until


def precheck_figures(start: date, end: date) -> list[RuleFigures]:
    """Per rule, for the findings stored and the applications submitted from `start` to `end`
    (inclusive, local days): fired, reviewed and agreed (the latest verdict), and the return
    rate of the applications with its finding against those it applies to without one
    (returned = a RETURN event at any time). Two grouped queries and one per rule for the
    applications (the rules are few)."""
    since, until = _bounds(start, end)
    findings = (
        PrecheckFinding.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(agreed_latest=Subquery(_latest_verdict().values("agreed")[:1]))
        .values("rule_id")
        .annotate(
            fired=Count("pk"),
            reviewed=Count("pk", filter=Q(agreed_latest__isnull=False)),
            agreed=Count("pk", filter=Q(agreed_latest=True)),
        )
    )
    by_rule = {row["rule_id"]: row for row in findings}
    returned = Exists(
        CaseEvent.objects.filter(application=OuterRef("pk"), action=EventAction.RETURN)
    )
    submitted = Application.objects.filter(submitted_at__gte=since, submitted_at__lt=until)
    rows = []
    for rule in PrecheckRule.objects.select_related("bundle", "item").order_by("code"):
        scope = submitted.filter(bundle_id=rule.bundle_id) if rule.bundle_id else submitted
        if rule.item_id:
            scope = scope.filter(Q(item_id=rule.item_id) | Q(cases__item_id=rule.item_id))
        fired_on = Exists(
            PrecheckFinding.objects.filter(
                application=OuterRef("pk"), rule=rule, created_at__gte=since, created_at__lt=until
            )
        )
        counts = (
            scope.annotate(fired=fired_on, was_returned=returned)
            .distinct()
            .aggregate(
                with_finding=Count("pk", filter=Q(fired=True), distinct=True),
                with_returned=Count("pk", filter=Q(fired=True, was_returned=True), distinct=True),
                without_finding=Count("pk", filter=Q(fired=False), distinct=True),
                without_returned=Count(
                    "pk", filter=Q(fired=False, was_returned=True), distinct=True
                ),
            )
        )
        own = by_rule.get(rule.pk, {})
        rows.append(
            RuleFigures(
                rule=rule,
                fired=own.get("fired", 0),
                reviewed=own.get("reviewed", 0),
                agreed=own.get("agreed", 0),
                **counts,
            )
        )
    return rows
