"""Fetching shared data (数据多跑路、群众少跑腿): at submission, with the applicant's consent, and
again later by the retry task for the sources that were unavailable.

Rule SHARED-OUTSIDE-TX: every call to a source runs outside any transaction holding locks; the
caller (the submit view, the window's in-person page, the retry task) fetches first and submits
afterwards, and each record is written in its own short statement.
Rule SHARED-CONSENT: nothing is fetched without consent, recorded with its time and who gave it
(the applicant online, the clerk for the person at the window)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.cases.models import Application, ApplicationMaterial
from kuaiban.catalog.models import Material
from kuaiban.notifications.services import notify

from .kinds import DataKind
from .models import FetchStatus, ReferenceRecord, SharedDataRecord
from .providers import OFF, Answer, lookup, provider_name, subject_for

CONSENT_NEEDED = gettext_lazy(
    "Tick that you agree to the data being fetched from the sources listed, or provide the "
    "materials yourself."
)
# A claimed record is left alone by other runs for this long (the calls' timeouts are shorter).
CLAIM_SECONDS = 300


def answered(record: SharedDataRecord | None) -> bool:
    """A record that needs no further fetch (found, or the source said it has none)."""
    return record is not None and record.status in (FetchStatus.FOUND, FetchStatus.NO_RECORD)


def fetchable(materials: Iterable[Material]) -> list[Material]:
    """The shared-data materials with a source that is switched on (no query)."""
    return [
        m
        for m in materials
        if m.shared_data and m.data_source and provider_name(m.data_source) != OFF
    ]


def materials_to_fetch(application: Application, materials: Iterable[Material]) -> list[Material]:
    """Of the application's shared-data materials not provided otherwise, those with a source
    and no answer yet (one query for the records)."""
    candidates = fetchable(materials)
    if not candidates:
        return []
    records = {
        r.material_id: r
        for r in SharedDataRecord.objects.filter(application=application, material__in=candidates)
    }
    return [m for m in candidates if not answered(records.get(m.pk))]


def retry_delay(attempts: int) -> timedelta | None:
    """The backoff after `attempts` failed fetches (None: given up)."""
    if attempts >= settings.KUAIBAN_SHARED_DATA_MAX_ATTEMPTS:
        return None
    seconds = settings.KUAIBAN_SHARED_DATA_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 24 * 3600))


def fetch_for_application(
    application: Application,
    materials: Iterable[Material],
    *,
    actor,
    consented: bool,
    answers: dict | None = None,
) -> list[SharedDataRecord]:
    """Fetch each of `materials` (the application's shared-data materials not provided
    otherwise) that has a source and no answer yet, and record what the source said. Must be
    called outside a transaction (rule SHARED-OUTSIDE-TX). Raises ValidationError (code
    "consent") when something is to be fetched and the applicant did not consent. A source that
    fails once is not asked again in the same run (its other materials are pending too)."""
    to_fetch = materials_to_fetch(application, materials)
    if not to_fetch:
        return []
    if not consented:
        raise ValidationError(CONSENT_NEEDED, code="consent")
    now = timezone.now()
    failed_kinds: dict[str, Answer] = {}
    records = []
    for material in to_fetch:
        subject = subject_for(application, material, answers)
        if subject is None:
            continue  # nothing identifies the record: shared data as before, nothing fetched
        kind = material.data_source
        answer = failed_kinds.get(kind) or lookup(kind, subject, material.code)
        if answer.failed:
            failed_kinds[kind] = answer
        delay = retry_delay(1) if answer.failed else None
        record, _created = SharedDataRecord.objects.update_or_create(
            application=application,
            material=material,
            defaults={
                "kind": kind,
                "provider": provider_name(kind),
                "status": answer.status,
                "facts": answer.facts,
                "source_reference": answer.reference,
                "fetched_at": None if answer.failed else now,
                "attempts": 1,
                "next_attempt_at": now + delay if delay else None,
                "last_error": answer.error[:200],
                "consented_at": now,
                "consented_by": actor,
            },
        )
        records.append(record)
    return records


def shared_data_retry(*, now: datetime | None = None, limit: int = 100) -> int:
    """Beat's retry of the pending records whose backoff has passed: claim (a lease, SKIP LOCKED,
    committed), ask each source outside any transaction, then write each answer under its row
    lock. A record found later is found; one the source has no record of is marked so (the
    reviewer and the clerk see "ask the applicant") and the applicant is told through the outbox.
    Returns the number of records answered (found or no record)."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            SharedDataRecord.objects.select_for_update(skip_locked=True)
            .filter(status=FetchStatus.UNAVAILABLE, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        SharedDataRecord.objects.filter(pk__in=ids).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)
        )
    answered_count = 0
    failed_kinds: dict[str, Answer] = {}
    claimed = SharedDataRecord.objects.filter(pk__in=ids).select_related(
        "application__applicant", "material"
    )
    for record in claimed:
        subject = subject_for(record.application, record.material)
        if subject is None:
            answer = Answer(FetchStatus.UNAVAILABLE, error="no subject")
        else:
            answer = failed_kinds.get(record.kind) or lookup(
                record.kind, subject, record.material.code
            )
        if answer.failed:
            failed_kinds[record.kind] = answer
        if _record_answer(record.pk, answer, now):
            answered_count += 1
    return answered_count


@transaction.atomic
def _record_answer(record_id: int, answer: Answer, now: datetime) -> bool:
    record = (
        SharedDataRecord.objects.select_for_update()
        .select_related("application__applicant", "material")
        .filter(pk=record_id, status=FetchStatus.UNAVAILABLE)
        .first()
    )
    if record is None:
        return False
    record.attempts += 1
    record.last_error = answer.error[:200]
    if answer.failed:
        delay = retry_delay(record.attempts)
        record.next_attempt_at = now + delay if delay else None
        record.save()
        return False
    record.status = answer.status
    record.facts = answer.facts
    record.source_reference = answer.reference
    record.fetched_at = now
    record.next_attempt_at = None
    if answer.status == FetchStatus.NO_RECORD and _stands_as_shared(record):
        _tell_applicant(record)
        record.no_record_notified_at = now
    record.save()
    return True


def _stands_as_shared(record: SharedDataRecord) -> bool:
    """The material is still provided as shared data (not uploaded meanwhile)."""
    return ApplicationMaterial.objects.filter(
        application_id=record.application_id,
        material_id=record.material_id,
        provision=ApplicationMaterial.Provision.SHARED,
    ).exists()


def _tell_applicant(record: SharedDataRecord) -> None:
    application = record.application
    notify(
        recipient=application.applicant,
        phone=application.contact_phone,
        subject=_("Application %(reference)s: a material is needed")
        % {"reference": application.reference},
        body=_(
            "The source has no record of “%(material)s” for your application %(reference)s. "
            "The handling staff will ask you for it; you may have to provide it yourself."
        )
        % {"material": record.material.name, "reference": application.reference},
        link=reverse("applications:status", kwargs={"reference": application.reference}),
    )


def reference_records_load(kind: str, records: Iterable[tuple[str, str, dict]]) -> int:
    """Fill the LOCAL source of `kind` (death, social insurance, education) with generated
    records: (the subject's ID number, the record's reference, its facts). Idempotent."""
    if kind not in (DataKind.DEATH, DataKind.SOCIAL_INSURANCE, DataKind.EDUCATION):
        raise ValueError(kind)
    count = 0
    for number, reference, facts in records:
        ReferenceRecord.objects.update_or_create(
            kind=kind,
            subject_hash=keyed_hash(number.upper()),
            defaults={"reference": reference, "facts": facts},
        )
        count += 1
    return count
