"""The data-source adapters: one per kind (`kinds.DataKind`), each with a LOCAL provider (the demo
and the tests) and, but for an earlier filing in this portal, an HTTP provider.

    lookup(kind, subject) -> Answer(status=found | no_record | unavailable, facts, reference)

Every call goes through the source's circuit breaker (`breaker.py`): an open circuit answers
`unavailable` at once, without calling.

The providers
-------------
- ``identity`` (人口库): LOCAL reads ``accounts.ReferenceIdentity`` (the table real-name
  verification reads) by the keyed hash of the ID number. Facts: name, ID number, birth date,
  sex (the last two read from the number).
- ``business_licence`` (市场监管): LOCAL reads ``accounts.ReferenceEnterprise`` by credit code.
  Facts: name, credit code, legal representative.
- ``death`` (民政) and ``social_insurance`` (参保缴费记录): LOCAL reads ``ReferenceRecord`` of
  that kind by the keyed hash of the ID number. Facts: whatever the generated record holds (a
  death: date and place of death; an insurance history: insured since, months paid, the social
  security card's bank and account).
- ``education`` (学历信息, 教育部门/学信网): LOCAL reads ``ReferenceRecord`` of that kind likewise.
  Facts: school, major, degree, graduation_date (ISO date).
- ``portal_filing``: this portal's own tables, the only provider. Found: the applicant's own
  decided (approved or concluded) case of one of the items the material names
  (``Material.data_source_key``), or an earlier stage of this very application that includes
  such an item (its case decides it before the stage needing the material opens, 一件事's
  first stage).

The subject is the applicant's ID number (credit code for ``business_licence``) unless
``Material.data_source_key`` names a form field, whose answer is then looked up (the deceased's
ID number). Without a subject nothing is fetched: the material stays recorded as shared data.

Settings: ``KUAIBAN_SHARED_DATA_PROVIDER`` (``local``, ``http`` or ``off``: nothing fetched, the
material recorded as shared data as before; every kind; production allows only ``http`` and
``off``, its default), per kind
``KUAIBAN_SHARED_DATA_SOURCES[kind]`` = {"provider", "url", "token", "timeout"} (from the
environment: ``KUAIBAN_SHARED_DATA_<KIND>_PROVIDER``, ``…_URL``, ``…_TOKEN``, ``…_TIMEOUT``),
``KUAIBAN_SHARED_DATA_TIMEOUT`` (seconds to connect and for each read; default 3).

The HTTP contract
-----------------
One request per material::

    POST <the kind's URL>
    Authorization: Bearer <the kind's token>
    Content-Type: application/json; charset=utf-8

    {"kind": "identity", "subject": "32100219900101001X", "material": "M-ID"}

The answer: 200 with ``{"result": "found", "reference": "<the source's record number>",
"facts": {<strings by name>}}`` or ``{"result": "no_record"}``. Anything else (another status, a
body outside this JSON, a timeout, a refused connection) is ``unavailable``: the submission goes
on, the material stands as shared data and the record is fetched again later. The portal never
logs the subject.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import birth_date_of, sex_of
from kuaiban.accounts.models import ReferenceEnterprise, ReferenceIdentity
from kuaiban.cases.models import Application, CaseState, ItemCase
from kuaiban.catalog.models import BundleItem, Material
from kuaiban.http_json import post_json

from . import breaker
from .kinds import DataKind
from .models import FetchStatus, ReferenceRecord

logger = logging.getLogger("kuaiban.shareddata")

LOCAL = "local"
HTTP = "http"
OFF = "off"  # nothing fetched for the kind (production's default until its endpoint is set)
ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Subject:
    """What a source is asked about: a number (ID number or credit code), and for an earlier
    filing in this portal the application and the items that hold the record."""

    number: str = ""
    application: Application | None = None
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    status: str
    facts: dict = field(default_factory=dict)
    reference: str = ""
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FetchStatus.UNAVAILABLE


def subject_for(application: Application, material: Material, answers: dict | None = None):
    """The subject of the material's record for this application (None: nothing to ask)."""
    kind = material.data_source
    if kind == DataKind.PORTAL_FILING:
        items = tuple(material.portal_filing_items())
        return Subject(application=application, items=items) if items else None
    key = material.data_source_key.strip()
    if key:
        data = answers if answers is not None else (application.form_data or {})
        number = str(data.get(key) or "").strip().upper()
    elif kind == DataKind.BUSINESS_LICENCE:
        number = application.applicant.credit_code or ""
    else:
        number = (application.applicant.resident_id or "").upper()
    return Subject(number=number) if number else None


def provider_name(kind: str) -> str:
    """`local`, `http` or `off` for the kind (an earlier filing in this portal is always
    local: it reads this portal's own tables)."""
    if kind == DataKind.PORTAL_FILING:
        return LOCAL
    own = settings.KUAIBAN_SHARED_DATA_SOURCES.get(kind, {}).get("provider")
    return own or settings.KUAIBAN_SHARED_DATA_PROVIDER


def lookup(kind: str, subject: Subject, material_code: str = "") -> Answer:
    """Ask the kind's provider, through its circuit breaker."""
    health = breaker.state(kind)
    if breaker.is_open(health, timezone.now()):
        return Answer(FetchStatus.UNAVAILABLE, error="circuit open")
    try:
        if provider_name(kind) == HTTP:
            answer = _http(kind, subject, material_code)
        else:
            answer = LOCAL_PROVIDERS[kind](subject)
    except Exception as error:  # a broken adapter counts as a failing source, never a 500
        logger.exception("%s source failed", kind)
        answer = Answer(FetchStatus.UNAVAILABLE, error=type(error).__name__)
    if answer.failed:
        breaker.failed(kind, answer.error)
    else:
        # A row absent before the call is created by the first success.
        breaker.succeeded(kind, health)
    return answer


# -- LOCAL ---------------------------------------------------------------------------------------


def _birth_and_sex(number: str) -> dict:
    try:
        born = birth_date_of(number)
    except ValueError:
        return {}
    return {"birth_date": born.isoformat(), "sex": sex_of(number)}


def _identity(subject: Subject) -> Answer:
    hashed = keyed_hash(subject.number)
    record = ReferenceIdentity.objects.filter(number_hash=hashed).first()
    if record is None:
        return Answer(FetchStatus.NO_RECORD)
    facts = {"name": record.name, "id_number": subject.number, **_birth_and_sex(subject.number)}
    return Answer(FetchStatus.FOUND, facts, reference=f"POP-{hashed[:12].upper()}")


def _business_licence(subject: Subject) -> Answer:
    record = ReferenceEnterprise.objects.filter(credit_code=subject.number).first()
    if record is None:
        return Answer(FetchStatus.NO_RECORD)
    facts = {
        "name": record.name,
        "credit_code": record.credit_code,
        "representative": record.representative,
    }
    return Answer(FetchStatus.FOUND, facts, reference=record.credit_code)


def _reference_record(kind: str):
    def find(subject: Subject) -> Answer:
        record = ReferenceRecord.objects.filter(
            kind=kind, subject_hash=keyed_hash(subject.number)
        ).first()
        if record is None:
            return Answer(FetchStatus.NO_RECORD)
        return Answer(FetchStatus.FOUND, dict(record.facts), reference=record.reference)

    return find


DECIDED_FOR = (CaseState.APPROVED, CaseState.CONCLUDED)


def _portal_filing(subject: Subject) -> Answer:
    application = subject.application
    if application is None:
        return Answer(FetchStatus.NO_RECORD)
    earlier = (
        ItemCase.objects.filter(
            application__applicant_id=application.applicant_id,
            item__code__in=subject.items,
            state__in=DECIDED_FOR,
        )
        .exclude(application_id=application.pk)
        .select_related("application", "item")
        .order_by("-decided_at", "-pk")
        .first()
    )
    if earlier is not None:
        facts = {
            "application": earlier.application.reference,
            "item": earlier.item.name_zh,
            "decided_at": earlier.decided_at.date().isoformat() if earlier.decided_at else "",
        }
        return Answer(FetchStatus.FOUND, facts, reference=earlier.application.reference)
    if application.bundle_id:
        answers = application.answers or {}
        own = BundleItem.objects.filter(
            Q(bundle_id=application.bundle_id) & Q(item__code__in=subject.items)
        ).select_related("item", "condition")
        for bundle_item in own:
            if bundle_item.applies(answers):
                facts = {
                    "application": application.reference,
                    "item": bundle_item.item.name_zh,
                    "stage": str(bundle_item.stage),
                }
                return Answer(FetchStatus.FOUND, facts, reference=application.reference)
    return Answer(FetchStatus.NO_RECORD)


LOCAL_PROVIDERS: dict[str, Callable[[Subject], Answer]] = {
    DataKind.IDENTITY: _identity,
    DataKind.BUSINESS_LICENCE: _business_licence,
    DataKind.DEATH: _reference_record(DataKind.DEATH),
    DataKind.SOCIAL_INSURANCE: _reference_record(DataKind.SOCIAL_INSURANCE),
    DataKind.EDUCATION: _reference_record(DataKind.EDUCATION),
    DataKind.PORTAL_FILING: _portal_filing,
}


# -- HTTP ----------------------------------------------------------------------------------------


def _source_setting(kind: str, key: str, default=""):
    return settings.KUAIBAN_SHARED_DATA_SOURCES.get(kind, {}).get(key) or default


def _http(kind: str, subject: Subject, material_code: str) -> Answer:
    url = _source_setting(kind, "url")
    if not url:
        return Answer(FetchStatus.UNAVAILABLE, error="no URL configured")
    timeout = float(_source_setting(kind, "timeout", settings.KUAIBAN_SHARED_DATA_TIMEOUT))
    payload = {"kind": kind, "subject": subject.number, "material": material_code}
    token = _source_setting(kind, "token")
    reply = post_json(url, payload, token=token, timeout=timeout, max_bytes=ANSWER_BYTES)
    if reply.body is None:
        return _unavailable(kind, reply.failure)
    answer = reply.body
    result = answer.get("result")
    if result == "no_record":
        return Answer(FetchStatus.NO_RECORD)
    facts = answer.get("facts")
    if result == "found" and isinstance(facts, dict):
        clean = {str(k)[:40]: str(v)[:200] for k, v in list(facts.items())[:30]}
        return Answer(FetchStatus.FOUND, clean, reference=str(answer.get("reference", ""))[:100])
    return _unavailable(kind, "answer outside the contract")


def _unavailable(kind: str, error: str) -> Answer:
    logger.warning("%s source unavailable: %s", kind, error)
    return Answer(FetchStatus.UNAVAILABLE, error=error)
