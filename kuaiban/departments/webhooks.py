"""Webhooks to the departments, through an outbox.

**When.** A `WebhookDelivery` row is written in the same transaction as the change it reports,
for each live client of the department concerned that has a webhook URL (a department without
one polls `GET /api/v1/cases/` and `GET /api/v1/department/requests/`):

- `case.workable`: an item case of the department's unit can be worked on (accepted at intake,
  online or at the window, or a later stage opened after the earlier one was approved);
- `department_request.sent`: a reviewer of the bureau sent the department a request;
- `case.flagged`: the deadline sweep flagged one of its cases (`warning_50`, `warning_75`,
  `overdue`);
- `case.closed`: an application holding one of its open cases was withdrawn or concluded.

Each change costs a constant number of statements (one read of the clients, one insert),
whatever the number of cases.

**How.** After commit a Celery task POSTs the rows; beat's dispatch (every minute) sends what
the task did not and the retries. The body is JSON (UTF-8)::

    {"id": "<idempotency key>", "event": "case.workable", "occurred_at": "<ISO 8601>",
     "unit": "EXT-YB", "data": {...}}

`unit` is the department's code. `data` is, for the case events, the case: `{"case": {"id",
"reference", "item", "stage", "state", "accepted_at", "committed_due_at",
"statutory_due_at"}}` (`case.flagged`
adds `"flag"`); for `department_request.sent` `{"request": {"id", "case", "reference",
"question", "sent_at", "due_at"}}`; for `case.closed` `{"case": {...}, "outcome":
"withdrawn" | "concluded"}`. No personal data travels: the department reads the case through
the API.

Headers:

- `Idempotency-Key`: the event's key, the same on every retry: process an event once per key;
- `X-Kuaiban-Event`: the event type;
- `X-Kuaiban-Signature: t=<unix seconds>,v1=<hex>`: HMAC-SHA256, keyed with the client's
  webhook signing secret (shown once when the client is issued or rotated), over
  `"<t>.<body>"` (the body's exact bytes). Check it and refuse a `t` older than five minutes
  (`kuaiban.departments.delivery.verify_signature` does both).

**Retries.** Any 2xx answer is delivery. Anything else (another status, a timeout, a refused
connection) is retried with exponential backoff (1 min, 2, 4 … at most an hour, with jitter);
after `KUAIBAN_WEBHOOK_MAX_ATTEMPTS` failures the row is dead, shown in the admin, where an
administrator retries it. A receiver that processed an event but answered too late gets it
again with the same key: deduplicate by `Idempotency-Key`. Events may arrive out of order; the
case's state in the API is the truth.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kuaiban import broker, outbox
from kuaiban.cases.models import Application, DepartmentRequest, ItemCase
from kuaiban.catalog.models import Unit

from .models import DepartmentClient, WebhookDelivery
from .tasks import dispatch_webhooks

logger = logging.getLogger(__name__)

CASE_WORKABLE = "case.workable"
REQUEST_SENT = "department_request.sent"
CASE_FLAGGED = "case.flagged"
CASE_CLOSED = "case.closed"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def case_facts(case: ItemCase) -> dict:
    return {
        "id": case.pk,
        "reference": case.application.reference,
        "item": case.item.code,
        "stage": case.stage,
        "state": case.state,
        "accepted_at": _iso(case.accepted_at),
        "committed_due_at": _iso(case.committed_due_at),
        "statutory_due_at": _iso(case.statutory_due_at),
    }


def _write(events: Sequence[tuple[int, str, str, dict]]) -> list[WebhookDelivery]:
    """`events`: (unit id, event type, what it is about, data). One row per event and live
    client of that unit with a webhook, in two statements; delivered after commit."""
    if not events:
        return []
    clients: dict[int, list[DepartmentClient]] = {}
    for client in (
        DepartmentClient.objects.select_related("unit")
        .filter(unit_id__in={unit_id for unit_id, *_rest in events}, revoked_at__isnull=True)
        .exclude(webhook_url="")
    ):
        clients.setdefault(client.unit_id, []).append(client)  # type: ignore[arg-type]
    if not clients:
        return []
    now = timezone.now()
    rows = [
        WebhookDelivery(
            client=client,
            event=event,
            idempotency_key=(key := f"kb-{client.client_id}-{event}-{about}"),
            payload={
                "id": key,
                "event": event,
                "occurred_at": now.isoformat(),
                "unit": client.unit.code,  # type: ignore[union-attr]
                "data": data,
            },
            created_at=now,
            next_attempt_at=now,
        )
        for unit_id, event, about, data in events
        for client in clients.get(unit_id, [])
    ]
    # An event already written (its key taken) is not written twice, and never fails the change.
    written = WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(webhooks_enqueue)
    return written


def cases_workable(cases: Iterable[ItemCase]) -> list[WebhookDelivery]:
    """The cases were accepted or their stage opened (inside that transaction)."""
    return _write(
        [(case.unit_id, CASE_WORKABLE, str(case.pk), {"case": case_facts(case)}) for case in cases]
    )


def request_sent(request: DepartmentRequest) -> list[WebhookDelivery]:
    case = request.item_case
    return _write(
        [
            (
                request.department_id,
                REQUEST_SENT,
                str(request.pk),
                {
                    "request": {
                        "id": request.pk,
                        "case": case.pk,
                        "reference": case.application.reference,
                        "question": request.question,
                        "sent_at": _iso(request.sent_at),
                        "due_at": _iso(request.due_at),
                    }
                },
            )
        ]
    )


def cases_flagged(
    flagged: Iterable[tuple[int, str]], case_units: Mapping[int, int] | None = None
) -> list[WebhookDelivery]:
    """`flagged`: (case id, flag kind) pairs the sweep just fired; only cases of external units
    with a live webhook client are read (one query). With `case_units` (case id → unit id, which
    the sweep has) the cases are first narrowed to those units: thousands of flagged cases of the
    bureau's own units cost one small query, not a lookup of every id."""
    kinds: dict[int, list[str]] = {}
    for case_id, kind in flagged:
        kinds.setdefault(case_id, []).append(kind)
    with_clients = DepartmentClient.objects.filter(revoked_at__isnull=True).exclude(webhook_url="")
    if kinds and case_units is not None:
        hooked = set(with_clients.values_list("unit_id", flat=True))
        kinds = {pk: kind for pk, kind in kinds.items() if case_units.get(pk) in hooked}
    if not kinds:
        return []
    cases = ItemCase.objects.filter(
        pk__in=list(kinds), unit_id__in=with_clients.values("unit_id")
    ).select_related("application", "item")
    return _write(
        [
            (
                case.unit_id,
                CASE_FLAGGED,
                f"{case.pk}-{kind}",
                {"case": case_facts(case), "flag": kind},
            )
            for case in cases
            for kind in kinds[case.pk]
        ]
    )


def application_closed(application: Application, outcome: str) -> list[WebhookDelivery]:
    """The application was withdrawn or concluded: its cases' departments hear of it."""
    cases = application.cases.select_related("application", "item").filter(
        unit__kind=Unit.Kind.EXTERNAL
    )
    return _write(
        [
            (
                case.unit_id,
                CASE_CLOSED,
                str(case.pk),
                {"case": case_facts(case), "outcome": outcome},
            )
            for case in cases
        ]
    )


# -- delivery ----------------------------------------------------------------------------------


def webhooks_enqueue() -> bool:
    """Wake a worker to send what is due (one run for a burst of commits; beat's dispatch finds
    the rows anyway)."""
    return broker.ring(dispatch_webhooks)


def webhooks_retry(*, ids: Iterable[int]) -> int:
    """Dead deliveries back in the queue with a fresh set of attempts; how many were dead."""
    pks = list(
        WebhookDelivery.objects.filter(pk__in=list(ids), status=outbox.DEAD).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        retried = outbox.put_back(WebhookDelivery, pks)
        if retried:
            transaction.on_commit(webhooks_enqueue)
    return retried
