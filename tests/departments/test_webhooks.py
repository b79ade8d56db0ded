"""The departments' webhooks: outbox rows written with the change, POSTed signed after commit,
retried with backoff, delivered once per idempotency key (see kuaiban/departments/webhooks.py)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from bundles.services import handling
from kuaiban.catalog.models import Unit
from kuaiban.departments import webhooks
from kuaiban.departments.delivery import verify_signature, webhooks_dispatch
from kuaiban.departments.models import WebhookDelivery
from kuaiban.departments.selectors import department_status
from kuaiban.departments.webhooks import webhooks_retry
from tests.builders import reviewer_of

from .conftest import b03_at_the_department

pytestmark = pytest.mark.django_db


class Receiver:
    """A department's webhook endpoint on this machine: answers each request with the next of
    `answers` (a status, or ("slow", status): processed, then answered after the portal's
    timeout), checks the signature, and processes each idempotency key once."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.secret = ""
        self.seen: list[str] = []  # every request's Idempotency-Key
        self.processed: list[dict] = []  # the events acted on, once per key
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not verify_signature(receiver.secret, self.headers["X-Kuaiban-Signature"], body):
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                key = self.headers["Idempotency-Key"]
                payload = json.loads(body)
                assert payload["id"] == key and payload["event"] == self.headers["X-Kuaiban-Event"]
                receiver.seen.append(key)
                answer = receiver.answers.pop(0) if receiver.answers else 200
                slow = isinstance(answer, tuple)
                status = answer[1] if slow else answer
                if status == 200 and key not in {p["id"] for p in receiver.processed}:
                    receiver.processed.append(payload)
                if slow:
                    time.sleep(1.0)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def due_now():
    """The backoff has passed (instead of waiting a minute)."""
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def test_a_stage_opening_writes_the_event_for_the_departments_client(issue):
    """Rule: an item case of the department's unit becoming workable (its stage opened after the
    first was approved) writes one case.workable row for the department's live client with a
    webhook; nothing for departments without a webhook (they poll)."""
    yb = issue("EXT-YB", webhook_url="https://yb.example/hook")
    issue("EXT-GJJ")  # polls: no rows
    application = b03_at_the_department()
    (row,) = WebhookDelivery.objects.all()
    ex = application.cases.get(item__code="EX-002")
    assert (row.client_id, row.event, row.status) == (
        yb.client.pk,
        webhooks.CASE_WORKABLE,
        "pending",
    )
    assert row.payload["data"]["case"]["id"] == ex.pk and row.payload["unit"] == "EXT-YB"
    assert row.idempotency_key == row.payload["id"]


def test_the_delivery_row_is_written_in_the_changes_transaction(issue):
    """Rule: the outbox row is written in the same transaction as the change: when the change
    is rolled back, so is the row (nothing is sent for a request that was never sent)."""
    issue("EXT-YB", webhook_url="https://yb.example/hook")
    application = b03_at_the_department()
    si = application.cases.get(item__code="SI-004")
    reviewer = reviewer_of(si.unit.code)
    handling.case_start_review(case=si, actor=reviewer)
    before = WebhookDelivery.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        request = handling.department_request_send(
            case=si, actor=reviewer, department=Unit.objects.get(code="EXT-YB"), question="核实"
        )
        assert WebhookDelivery.objects.filter(
            event=webhooks.REQUEST_SENT, payload__data__request__id=request.pk
        ).exists()
        raise RuntimeError("the change fails after the row was written")
    assert WebhookDelivery.objects.count() == before


def test_a_failed_webhook_is_retried_and_delivered_once(issue, settings):
    """Rule: a 2xx is delivery; anything else is retried after a backoff with the same
    Idempotency-Key and a valid signature, and the receiver acts on the event once."""
    settings.KUAIBAN_WEBHOOK_MAX_ATTEMPTS = 5
    with Receiver([500, 200]) as receiver:
        yb = issue("EXT-YB", webhook_url=receiver.url)
        receiver.secret = yb.webhook_secret
        b03_at_the_department()
        assert webhooks_dispatch() == 0
        row = WebhookDelivery.objects.get()
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at > timezone.now() and "500" in row.last_error
        assert webhooks_dispatch() == 0  # not yet due: nothing is sent
        due_now()
        assert webhooks_dispatch() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert row.delivered_at is not None
    assert receiver.seen == [row.idempotency_key] * 2
    assert [p["id"] for p in receiver.processed] == [row.idempotency_key]
    assert receiver.bad_signatures == 0
    (status,) = department_status()
    assert (status.pending, status.dead, status.last_delivered_at) == (0, 0, row.delivered_at)


def test_a_receiver_that_answered_too_late_gets_the_same_key_and_processes_once(issue, settings):
    """Rule: the receiver processed the event but the portal timed out waiting: the retry
    carries the same Idempotency-Key, so the receiver does not act twice."""
    settings.KUAIBAN_WEBHOOK_TIMEOUT = 0.3
    with Receiver([("slow", 200), 200]) as receiver:
        yb = issue("EXT-YB", webhook_url=receiver.url)
        receiver.secret = yb.webhook_secret
        b03_at_the_department()
        assert webhooks_dispatch() == 0  # timed out
        due_now()
        assert webhooks_dispatch() == 1
    row = WebhookDelivery.objects.get()
    assert row.status == "sent"
    assert receiver.seen == [row.idempotency_key] * 2
    assert len(receiver.processed) == 1


def test_a_webhook_is_dead_after_its_attempts_and_an_administrator_retries_it(issue, settings):
    """Rule: after KUAIBAN_WEBHOOK_MAX_ATTEMPTS failures the row is dead (counted in the
    status); a retry puts it back with a fresh set of attempts."""
    settings.KUAIBAN_WEBHOOK_MAX_ATTEMPTS = 2
    with Receiver([500, 500, 200]) as receiver:
        yb = issue("EXT-YB", webhook_url=receiver.url)
        receiver.secret = yb.webhook_secret
        b03_at_the_department()
        webhooks_dispatch()
        due_now()
        webhooks_dispatch()
        row = WebhookDelivery.objects.get()
        assert (row.status, row.attempts) == ("dead", 2)
        (status,) = department_status()
        assert (status.dead, status.pending) == (1, 0) and "500" in status.last_error
        assert webhooks_retry(ids=[row.pk]) == 1
        assert webhooks_dispatch() == 1
    row.refresh_from_db()
    assert row.status == "sent"


def test_a_revoked_clients_pending_webhooks_are_not_sent(issue):
    """Rule: revoking a client stops its webhooks too (pending rows are dead, not sent)."""
    from kuaiban.departments.services import client_revoke

    yb = issue("EXT-YB", webhook_url="http://127.0.0.1:9/never")
    b03_at_the_department()
    client_revoke(client=yb.client)
    assert webhooks_dispatch() == 0
    assert WebhookDelivery.objects.get().status == "dead"


def test_the_sweep_flags_a_departments_case_and_tells_it_by_webhook(issue):
    """Rule: a department's item case runs on a clock like a unit's: the deadline sweep flags
    it past its committed time, and the department hears of the flag by webhook (its service
    account gets no in-app message)."""
    from datetime import timedelta

    from kuaiban.notifications.models import Notification
    from speedup.models import CaseFlag
    from speedup.services.sweep import deadlines_sweep

    yb = issue("EXT-YB", webhook_url="https://yb.example/hook")
    application = b03_at_the_department()
    ex = application.cases.get(item__code="EX-002")
    assert ex.committed_due_at is not None
    deadlines_sweep(now=ex.committed_due_at + timedelta(minutes=1))
    flags = set(CaseFlag.objects.filter(item_case=ex).values_list("kind", flat=True))
    assert "overdue" in flags
    sent = WebhookDelivery.objects.filter(client=yb.client, event=webhooks.CASE_FLAGGED)
    assert {row.payload["data"]["flag"] for row in sent} == flags
    assert {row.payload["data"]["case"]["id"] for row in sent} == {ex.pk}
    assert not Notification.objects.filter(recipient=yb.client.service_account).exists()
