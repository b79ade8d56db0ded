"""Reads of shared data: an application's records by material, the facts as staff see them
(personal numbers masked), and where each source stands (the administrators' status page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.identity import mask_account, mask_resident_id

from . import breaker
from .kinds import DataKind
from .models import DataSourceHealth, FetchStatus, SharedDataRecord
from .providers import provider_name

FACT_LABELS = {
    "name": _("Name"),
    "id_number": _("ID number"),
    "birth_date": _("Date of birth"),
    "sex": _("Sex"),
    "credit_code": _("Unified social credit code"),
    "representative": _("Legal representative"),
    "application": _("Application"),
    "item": _("Item"),
    "stage": _("Stage"),
    "decided_at": _("Decided"),
    "date_of_death": _("Date of death"),
    "place_of_death": _("Place of death"),
    "insured_since": _("Insured since"),
    "months_paid": _("Months of contributions"),
    "bank": _("Bank"),
    "account": _("Account"),
    "age": _("Age"),
}
SEX_LABELS = {"male": _("Male"), "female": _("Female")}
# Facts that are personal numbers: masked wherever staff see them.
MASKED = {"id_number": mask_resident_id, "account": mask_account}


def records_by_material(application_id: int) -> dict[int, SharedDataRecord]:
    """The application's shared-data records by material id (one query)."""
    return {
        r.material_id: r for r in SharedDataRecord.objects.filter(application_id=application_id)
    }


def facts_shown(record: SharedDataRecord) -> list[tuple[str, str]]:
    """(label, value) of the facts a source returned, personal numbers masked."""
    return masked_facts(record.facts or {})


def masked_facts(facts: dict) -> list[tuple[str, str]]:
    """(label, value) of facts, personal numbers masked (a record's, a proposal's)."""
    shown = []
    for key, value in facts.items():
        text = str(value)
        if key in MASKED:
            text = MASKED[key](text)
        elif key == "sex":
            text = str(SEX_LABELS.get(text, text))
        shown.append((str(FACT_LABELS.get(key, key)), text))
    return shown


@dataclass(frozen=True)
class SourceStatus:
    kind: str
    label: str
    provider: str
    circuit_open: bool
    open_until: datetime | None
    consecutive_failures: int
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str
    backlog: int  # pending records still to be fetched again
    given_up: int  # pending records past the last attempt


def source_statuses(now: datetime | None = None) -> list[SourceStatus]:
    """Each source: its provider, circuit, last success and failure, and backlog (two queries)."""
    now = now or timezone.now()
    health = {h.kind: h for h in DataSourceHealth.objects.all()}
    pending = {
        row["kind"]: row
        for row in SharedDataRecord.objects.filter(status=FetchStatus.UNAVAILABLE)
        .values("kind")
        .annotate(
            backlog=Count("pk"),
            given_up=Count("pk", filter=Q(next_attempt_at__isnull=True)),
        )
    }
    statuses = []
    for kind, label in DataKind.choices:
        h = health.get(kind)
        counts = pending.get(kind, {})
        statuses.append(
            SourceStatus(
                kind=kind,
                label=str(label),
                provider=provider_name(kind),
                circuit_open=breaker.is_open(h, now),
                open_until=h.open_until if h else None,
                consecutive_failures=h.consecutive_failures if h else 0,
                last_success_at=h.last_success_at if h else None,
                last_failure_at=h.last_failure_at if h else None,
                last_error=h.last_error if h else "",
                backlog=counts.get("backlog", 0),
                given_up=counts.get("given_up", 0),
            )
        )
    return statuses
