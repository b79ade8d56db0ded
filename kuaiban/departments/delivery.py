"""Sending the departments' webhooks (the contract: `webhooks.py`): claim due rows with
`kuaiban.outbox`, POST each holding no lock, record the outcome under the claim."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterable

import requests
from django.conf import settings
from django.utils import timezone

from kuaiban import outbox

from .models import WebhookDelivery

logger = logging.getLogger(__name__)

BATCH = 20
# Rows one run handles at most; a run that delivered this many wakes another (tasks.py).
LIMIT = 200
# A signature older than this is refused by `verify_signature` (a replayed request).
SIGNATURE_TOLERANCE_SECONDS = 300


def webhooks_dispatch(*, ids: Iterable[int] | None = None, limit: int = LIMIT) -> int:
    """POST due webhooks (only the given ones, if any), oldest due first; how many were
    delivered. Failures are recorded on their rows, never raised."""
    wanted = list(ids) if ids is not None else None

    def due_rows():
        rows = outbox.due(WebhookDelivery)
        return rows if wanted is None else rows.filter(pk__in=wanted)

    return outbox.dispatch(due_rows, _attempt, limit=limit, batch=BATCH, related=["client"])


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, header: str, body: bytes, *, now: float | None = None) -> bool:
    """The receiver's check of `X-Kuaiban-Signature` (`t=<unix seconds>,v1=<hex>`)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), parts.get("v1", ""))


class _Refused(Exception):
    pass


def _post(delivery: WebhookDelivery) -> None:
    client = delivery.client
    if client.revoked_at is not None or not client.webhook_url:
        raise _Refused("the client was revoked or has no webhook URL")
    body = body_of(delivery)
    timestamp = int(time.time())
    response = requests.post(
        client.webhook_url,
        data=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": delivery.idempotency_key,
            "X-Kuaiban-Event": delivery.event,
            "X-Kuaiban-Signature": (
                f"t={timestamp},v1={signature(client.webhook_secret, timestamp, body)}"
            ),
        },
        timeout=settings.KUAIBAN_WEBHOOK_TIMEOUT,
        allow_redirects=False,
    )
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"HTTP {response.status_code}")


def _attempt(delivery: WebhookDelivery, token: uuid.UUID) -> int:
    try:
        _post(delivery)
    except Exception as error:  # any failure may pass, but a revoked client's
        outbox.record_failure(
            delivery,
            token,
            str(error) or type(error).__name__,
            permanent=isinstance(error, _Refused),
            max_attempts=settings.KUAIBAN_WEBHOOK_MAX_ATTEMPTS,
            what=f"webhook {delivery.pk} ({delivery.event})",
            log=logger,
        )
        return 0
    outbox.record_success(
        delivery, token, delivered_at=timezone.now(), what=f"webhook {delivery.pk}", log=logger
    )
    return 1
