"""A slow or failing source never blocks a submission: per-source timeouts, the pending record
retried by beat with backoff, the circuit breaker (kuaiban/shareddata/breaker.py), and the
administrators' status page."""

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bundles.services import submission
from kuaiban.cases.models import ApplicationMaterial, ApplicationState
from kuaiban.celery import app
from kuaiban.notifications.models import Notification
from kuaiban.shareddata import providers
from kuaiban.shareddata.kinds import DataKind
from kuaiban.shareddata.models import DataSourceHealth, FetchStatus, SharedDataRecord
from kuaiban.shareddata.providers import Subject, lookup
from kuaiban.shareddata.services import shared_data_retry
from tests.builders import (
    accepted,
    case_of,
    clerk_of,
    on_record,
    ready_application,
    reviewer_of,
)
from tests.factories import UserFactory, generated_resident_id

pytestmark = pytest.mark.django_db


class Source(BaseHTTPRequestHandler):
    """A tiny stand-in for a department's endpoint: sleeps `delay` seconds, then answers."""

    delay = 0.0
    answer: dict = {"result": "no_record"}
    calls = 0

    def do_POST(self):
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        body = json.dumps(self.answer).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the portal gave up waiting
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def source():
    """A local HTTP source in a thread; yields (its URL, its handler class to configure)."""
    handler = type("TestSource", (Source,), {"delay": 0.0, "calls": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens any more


def http_source(settings, kind: str, url: str, timeout: float = 0.3) -> None:
    settings.KUAIBAN_SHARED_DATA_SOURCES = {
        kind: {"provider": "http", "url": url, "token": "t", "timeout": timeout}
    }


def submit_with_consent(application, actor):
    submission.shared_data_fetch(application=application, actor=actor, consented=True)
    return submission.application_submit(application=application, actor=actor)


def test_rule_shared_unavailable_a_refused_connection_does_not_block_and_the_retry_finds_it(
    settings, citizen, client
):
    """Rule SHARED-UNAVAILABLE: the source refuses the connection; the submission goes through,
    the material stands as shared data with its record pending; beat's retry (once the backoff
    has passed and the source is back) finds it."""
    on_record(citizen)
    http_source(settings, DataKind.SOCIAL_INSURANCE, closed_port_url())
    application = ready_application(citizen, "B07")

    submit_with_consent(application, citizen)

    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    record = SharedDataRecord.objects.get(application=application, material__code="M-BANK")
    assert record.status == FetchStatus.UNAVAILABLE
    assert record.next_attempt_at > timezone.now()
    assert application.materials.get(material__code="M-BANK").provision == "shared"
    accepted(application, clerk_of("BUNDLE"))
    client.force_login(reviewer_of("SBZX"))
    page = client.get(f"/staff/cases/{case_of(application, 'SI-013').pk}/").content.decode()
    assert 'data-testid="shared-pending"' in page

    assert shared_data_retry() == 0  # the backoff has not passed: not asked again yet
    settings.KUAIBAN_SHARED_DATA_SOURCES = {}  # the source is back (the LOCAL one here)
    assert shared_data_retry(now=timezone.now() + timedelta(hours=1)) == 1

    record.refresh_from_db()
    assert record.status == FetchStatus.FOUND
    assert record.attempts == 2 and record.fetched_at and record.next_attempt_at is None


def test_rule_shared_unavailable_a_source_slower_than_its_timeout_does_not_block(
    settings, citizen, client, source
):
    """The source sleeps past its timeout: the submission waits no longer than the timeout;
    later the retry hears "no record": the staff see "ask the applicant" and the applicant is
    told through the outbox."""
    url, handler = source
    handler.delay = 2.0
    on_record(citizen)
    http_source(settings, DataKind.SOCIAL_INSURANCE, url, timeout=0.3)
    application = ready_application(citizen, "B07")

    started = time.monotonic()
    submit_with_consent(application, citizen)
    assert time.monotonic() - started < 1.5

    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    record = SharedDataRecord.objects.get(application=application, material__code="M-BANK")
    assert record.status == FetchStatus.UNAVAILABLE
    assert record.last_error

    handler.delay = 0.0
    handler.answer = {"result": "no_record"}
    before = Notification.objects.filter(recipient=citizen).count()
    assert shared_data_retry(now=timezone.now() + timedelta(hours=1)) == 1

    record.refresh_from_db()
    assert record.status == FetchStatus.NO_RECORD and record.no_record_notified_at
    assert Notification.objects.filter(recipient=citizen).count() > before
    # Still provided as shared: the staff ask the applicant for it.
    provision = application.materials.get(material__code="M-BANK").provision
    assert provision == ApplicationMaterial.Provision.SHARED
    clerk = clerk_of("BUNDLE")
    client.force_login(clerk)
    page = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'data-testid="shared-no-record"' in page


def test_the_http_contract_found_answer_is_recorded(settings, citizen, source):
    url, handler = source
    handler.answer = {"result": "found", "reference": "SB-42", "facts": {"months_paid": 160}}
    http_source(settings, DataKind.SOCIAL_INSURANCE, url)
    answer = lookup(DataKind.SOCIAL_INSURANCE, Subject(number=citizen.resident_id), "M-BANK")
    assert (answer.status, answer.reference, answer.facts) == (
        FetchStatus.FOUND,
        "SB-42",
        {"months_paid": "160"},
    )
    handler.answer = {"result": "maybe"}
    outside = lookup(DataKind.SOCIAL_INSURANCE, Subject(number=citizen.resident_id))
    assert outside.status == FetchStatus.UNAVAILABLE


def test_rule_shared_breaker_opens_after_n_failures_and_closes_after_the_cooldown(settings, source):
    """Rule SHARED-BREAKER: after N consecutive failures the source is not called during the
    cool-down (answered unavailable at once); after it a call goes through, and its success
    closes the circuit."""
    url, handler = source
    settings.KUAIBAN_SHARED_DATA_BREAKER_FAILURES = 2
    settings.KUAIBAN_SHARED_DATA_BREAKER_COOLDOWN = 60
    http_source(settings, DataKind.DEATH, url, timeout=0.2)
    handler.delay = 0.5
    subject = Subject(number=generated_resident_id())

    assert lookup(DataKind.DEATH, subject).failed
    assert lookup(DataKind.DEATH, subject).failed
    health = DataSourceHealth.objects.get(kind=DataKind.DEATH)
    assert health.consecutive_failures == 2 and health.open_until > timezone.now()
    calls = handler.calls
    skipped = lookup(DataKind.DEATH, subject)
    assert skipped.failed and skipped.error == "circuit open"
    assert handler.calls == calls  # not called

    handler.delay = 0.0
    handler.answer = {"result": "no_record"}
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        answer = lookup(DataKind.DEATH, subject)
    assert answer.status == FetchStatus.NO_RECORD
    assert handler.calls == calls + 1
    health.refresh_from_db()
    assert health.consecutive_failures == 0 and health.open_until is None
    assert health.last_success_at and health.last_failure_at


def test_rule_shared_breaker_a_healthy_sources_successes_write_its_row_once_a_minute(
    settings, source
):
    """Rule SHARED-BREAKER: a success is recorded when it changes the circuit (failures to
    forget) or the last one recorded is over a minute old; in between, a healthy source asked
    by every submission is not rewritten (nor locked) by each of them."""
    url, handler = source
    http_source(settings, DataKind.DEATH, url)
    handler.delay, handler.answer = 0.0, {"result": "no_record"}
    subject = Subject(number=generated_resident_id())
    table = DataSourceHealth._meta.db_table

    assert lookup(DataKind.DEATH, subject).status == FetchStatus.NO_RECORD
    first = DataSourceHealth.objects.get(kind=DataKind.DEATH).last_success_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        assert lookup(DataKind.DEATH, subject).status == FetchStatus.NO_RECORD
    written = [q["sql"] for q in queries if table in q["sql"] and "SELECT" not in q["sql"]]
    assert written == []
    assert DataSourceHealth.objects.get(kind=DataKind.DEATH).last_success_at == first

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        lookup(DataKind.DEATH, subject)
    later = DataSourceHealth.objects.get(kind=DataKind.DEATH).last_success_at
    assert later > first + timedelta(seconds=60)

    # A failure in between is forgotten by the next success, at once.
    DataSourceHealth.objects.filter(kind=DataKind.DEATH).update(consecutive_failures=1)
    lookup(DataKind.DEATH, subject)
    assert DataSourceHealth.objects.get(kind=DataKind.DEATH).consecutive_failures == 0


def test_one_failing_source_is_asked_once_per_submission(settings, citizen, monkeypatch):
    """A source that failed is not asked again for the submission's other materials."""
    calls = []

    def failing(kind, subject, material_code):
        calls.append(material_code)
        return providers.Answer(FetchStatus.UNAVAILABLE, error="down")

    monkeypatch.setattr(providers, "_http", failing)
    settings.KUAIBAN_SHARED_DATA_PROVIDER = "http"
    application = ready_application(citizen, "B07")
    submit_with_consent(application, citizen)
    assert len(calls) == 2  # identity once, social insurance once
    assert set(
        SharedDataRecord.objects.filter(application=application).values_list("status", flat=True)
    ) == {FetchStatus.UNAVAILABLE}


def test_the_retry_is_on_beats_schedule():
    entry = app.conf.beat_schedule["retry-shared-data"]
    assert entry["task"] == "shareddata.retry_pending"
    assert entry["schedule"] <= 300
    app.loader.import_default_modules()  # as `run_timers` and the worker do
    assert app.tasks["shareddata.retry_pending"].apply().result == 0


def test_the_retry_backs_off_and_gives_up_after_the_last_attempt(settings, citizen):
    settings.KUAIBAN_SHARED_DATA_MAX_ATTEMPTS = 3
    settings.KUAIBAN_SHARED_DATA_BREAKER_FAILURES = 100
    http_source(settings, DataKind.SOCIAL_INSURANCE, closed_port_url())
    on_record(citizen)
    application = ready_application(citizen, "B07")
    submit_with_consent(application, citizen)
    record = SharedDataRecord.objects.get(application=application, material__code="M-BANK")
    first_wait = record.next_attempt_at - timezone.now()
    now = record.next_attempt_at + timedelta(seconds=1)
    shared_data_retry(now=now)
    record.refresh_from_db()
    assert record.attempts == 2
    assert record.next_attempt_at - now > first_wait  # backed off
    shared_data_retry(now=record.next_attempt_at + timedelta(seconds=1))
    record.refresh_from_db()
    assert record.attempts == 3 and record.next_attempt_at is None  # given up: on the page
    assert record.status == FetchStatus.UNAVAILABLE


# -- the status page -------------------------------------------------------------------------


def test_rule_shared_status_page_administrators_see_each_source_and_its_backlog(
    settings, client, citizen
):
    """Rule SHARED-STATUS: /staff/integrations/ lists each source with its provider, circuit,
    last success and failure and its backlog of pending records; others get 404."""
    http_source(settings, DataKind.SOCIAL_INSURANCE, closed_port_url())
    on_record(citizen)
    application = ready_application(citizen, "B07")
    submit_with_consent(application, citizen)
    admin = UserFactory(role="administrator", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get("/staff/integrations/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-section="shared-data"' in page
    assert 'data-kind="social_insurance" data-circuit="closed" data-backlog="1"' in page
    assert 'data-kind="identity" data-circuit="closed" data-backlog="0"' in page
    client.force_login(reviewer_of("SBZX"))
    assert client.get("/staff/integrations/").status_code == 404
