"""Real-name checks behind a small interface: a person's name against their resident ID number
(the population-data source, 人口库) and an organisation's unified social credit code against its
name and legal representative (the market-registration source, 市场主体登记库).

    verify_identity(name, number) -> Verdict.VERIFIED | MISMATCH | UNAVAILABLE
    verify_enterprise(code, name, representative) -> the same

The provider is chosen by ``KUAIBAN_IDENTITY_SOURCE`` (and ``KUAIBAN_ENTERPRISE_SOURCE``):

- ``local`` (demo and tests): the ReferenceIdentity / ReferenceEnterprise tables, filled with
  generated records by ``setup_demo`` and by the tests (`load_reference_identities`).
- ``http``: the provincial platform, over the contract below.

The HTTP contract
-----------------
Settings: ``KUAIBAN_IDENTITY_URL`` / ``KUAIBAN_ENTERPRISE_URL`` (the endpoints),
``KUAIBAN_IDENTITY_TOKEN`` (a bearer token, for both), ``KUAIBAN_IDENTITY_TIMEOUT`` (seconds
allowed to connect and to each read of the answer; default 5).

One request per check::

    POST <KUAIBAN_IDENTITY_URL>
    Authorization: Bearer <KUAIBAN_IDENTITY_TOKEN>
    Content-Type: application/json; charset=utf-8

    {"name": "张三", "id_number": "32100219900101001X"}

    POST <KUAIBAN_ENTERPRISE_URL>
    {"credit_code": "91321000…", "name": "…有限公司", "representative": "张三"}

The answer: 200 with ``{"result": "match"}`` (VERIFIED) or ``{"result": "mismatch"}`` (MISMATCH:
the number is unknown, or the name or representative differs; the platform does not say which).
Anything else (another status, a body that is not this JSON, a timeout, a refused connection) is
UNAVAILABLE: the account stays unverified and the person is asked to try again later. The
portal never logs the name or the number.
"""

from __future__ import annotations

import enum
import logging

from django.conf import settings

from kuaiban.http_json import post_json

from .crypto import keyed_hash
from .models import ReferenceEnterprise, ReferenceIdentity

logger = logging.getLogger("kuaiban.identity")

LOCAL = "local"
HTTP = "http"


class Verdict(enum.StrEnum):
    VERIFIED = "verified"
    MISMATCH = "mismatch"
    UNAVAILABLE = "unavailable"


def _same(a: str, b: str) -> bool:
    return " ".join((a or "").split()) == " ".join((b or "").split())


def verify_identity(name: str, number: str) -> Verdict:
    """Does the population-data source hold this (normalised) ID number under this name?"""
    if settings.KUAIBAN_IDENTITY_SOURCE == HTTP:
        return _http(settings.KUAIBAN_IDENTITY_URL, {"name": name, "id_number": number}, "identity")
    record = ReferenceIdentity.objects.filter(number_hash=keyed_hash(number)).first()
    return Verdict.VERIFIED if record and _same(record.name, name) else Verdict.MISMATCH


def verify_enterprise(code: str, name: str, representative: str) -> Verdict:
    """Is this credit code registered under this name, with this legal representative?"""
    if settings.KUAIBAN_ENTERPRISE_SOURCE == HTTP:
        return _http(
            settings.KUAIBAN_ENTERPRISE_URL,
            {"credit_code": code, "name": name, "representative": representative},
            "enterprise",
        )
    record = ReferenceEnterprise.objects.filter(credit_code=code).first()
    if record and _same(record.name, name) and _same(record.representative, representative):
        return Verdict.VERIFIED
    return Verdict.MISMATCH


def source_name(kind: str = "identity") -> str:
    """What is recorded as the verifying source on the account."""
    setting = (
        settings.KUAIBAN_IDENTITY_SOURCE
        if kind == "identity"
        else settings.KUAIBAN_ENTERPRISE_SOURCE
    )
    return f"{kind}:{setting}"


def _http(url: str, payload: dict, kind: str) -> Verdict:
    reply = post_json(
        url,
        payload,
        token=settings.KUAIBAN_IDENTITY_TOKEN,
        timeout=settings.KUAIBAN_IDENTITY_TIMEOUT,
        max_bytes=4096,
    )
    if reply.body is None:
        logger.warning("%s source unavailable: %s", kind, reply.failure)
        return Verdict.UNAVAILABLE
    result = reply.body.get("result")
    if result == "match":
        return Verdict.VERIFIED
    if result == "mismatch":
        return Verdict.MISMATCH
    logger.warning("%s source gave an answer outside the contract", kind)
    return Verdict.UNAVAILABLE
