"""After commit a service's notifications are queued for Celery, never sent in the request;
with the broker down the request still returns at once and beat's dispatch delivers later. A
burst of commits queues one run of the dispatch (the doorbell, `kuaiban.broker.ring`), and a
commit after that run started queues another: none is left unread."""

import json
import logging
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.core import mail
from django.test import override_settings

from bundles.services import submission
from kuaiban.celery import app
from kuaiban.notifications.models import Notification
from kuaiban.notifications.sms import MemorySMSBackend
from kuaiban.notifications.tasks import dispatch
from speedup.services.sweep import deadlines_sweep
from tests.builders import accepted_instant_case, at, ready_application
from tests.factories import UserFactory

from .gateways import TOKEN, ScriptedGateway
from .worker import celery_worker

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


def queued_task_names() -> list[str]:
    queue = redis.Redis.from_url(django_settings.REDIS_URL)
    return [json.loads(raw)["headers"]["task"] for raw in queue.lrange("celery", 0, -1)]


def needs_redis() -> None:
    assert django_settings.REDIS_URL, "run through scripts/test: PostgreSQL and Redis"


@pytest.mark.django_db
def test_with_the_broker_down_a_submission_returns_at_once_and_beat_delivers_later(
    settings, django_capture_on_commit_callbacks, caplog
):
    citizen = UserFactory(citizen=True)
    application = ready_application(citizen)
    with ScriptedGateway() as gateway:
        gateway.configure(settings)
        with override_settings(CELERY_BROKER_URL=DEAD_BROKER), caplog.at_level(logging.WARNING):
            started = time.monotonic()
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                submission.application_submit(application=application, actor=citizen)
            elapsed = time.monotonic() - started
        assert callbacks and elapsed < 2.0
        assert "not queued" in caplog.text  # the broker really was tried, and was down
        # Nothing left in the request: no gateway contacted, no mail, the rows wait.
        assert gateway.received == [] and mail.outbox == []
        waiting = Notification.objects.filter(recipient=citizen).exclude(channel="in_app")
        assert {(n.channel, n.status, n.attempts) for n in waiting} == {
            ("email", "pending", 0),
            ("sms", "pending", 0),
        }
        # The broker is back: beat's periodic dispatch delivers them.
        assert dispatch.apply().result == 2
    assert [p.to for p in gateway.received] == [citizen.phone]
    assert application.reference in gateway.received[0].text
    assert len(mail.outbox) == 1 and application.reference in mail.outbox[0].subject


@pytest.mark.django_db
def test_with_the_broker_up_the_delivery_task_is_queued_and_nothing_is_sent_inline(
    settings, django_capture_on_commit_callbacks
):
    needs_redis()
    app.control.purge()
    citizen = UserFactory(citizen=True)
    application = ready_application(citizen)
    with ScriptedGateway() as gateway:
        gateway.configure(settings)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            submission.application_submit(application=application, actor=citizen)
        assert queued_task_names() == []  # nothing before the commit…
        for callback in callbacks:
            callback()
    assert queued_task_names() == ["notifications.dispatch"]  # …one task after it
    assert gateway.received == [] and mail.outbox == []
    app.control.purge()


@pytest.mark.django_db
def test_the_sweeps_mail_to_supervisors_is_queued_not_sent_inline(
    clerk_of, django_capture_on_commit_callbacks
):
    needs_redis()
    supervisor = UserFactory(supervisor=True, email="supervisor@example.invalid")
    case = accepted_instant_case()
    app.control.purge()
    with django_capture_on_commit_callbacks(execute=True):
        deadlines_sweep(now=at(2026, 11, 24, 10, 31))
    assert queued_task_names() == ["notifications.dispatch"] and mail.outbox == []
    app.control.purge()
    # Beat's dispatch sends what the task would have.
    assert dispatch.apply().result >= 1
    (to_supervisor,) = [m for m in mail.outbox if m.to == [supervisor.email]]
    assert case.application.reference in to_supervisor.body


def test_a_worker_delivers_what_a_committed_service_queued(committed_db, tmp_path):
    """The whole path with real parts: the service commits, the task goes through Redis, a
    Celery worker (without beat) sends the SMS to the HTTP gateway and the e-mail."""
    needs_redis()
    app.control.purge()
    citizen = UserFactory(citizen=True)
    application = ready_application(citizen)
    with ScriptedGateway() as gateway:
        environment = {
            "KUAIBAN_SMS_BACKEND": "kuaiban.notifications.sms.HttpSMSBackend",
            "KUAIBAN_SMS_URL": gateway.url,
            "KUAIBAN_SMS_TOKEN": TOKEN,
        }
        with celery_worker(**environment) as worker:
            submission.application_submit(application=application, actor=citizen)
            outgoing = Notification.objects.filter(recipient=citizen).exclude(channel="in_app")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and outgoing.exclude(status="sent").exists():
                time.sleep(0.3)
    assert set(outgoing.values_list("channel", "status", "attempts")) == {
        ("email", "sent", 1),
        ("sms", "sent", 1),
    }, worker.output[-3000:]
    assert "notifications.dispatch" in worker.output
    sms = outgoing.get(channel="sms")
    assert [(p.message_id, p.status) for p in gateway.received] == [(sms.pk, 200)]


# -- the doorbell: one run for a burst -----------------------------------------------------------


def _submitted(count: int) -> list:
    """`count` submissions, each committed (its on-commit wake-up run) in turn."""
    applications = []
    for _ in range(count):
        citizen = UserFactory(citizen=True)
        application = ready_application(citizen)
        submission.application_submit(application=application, actor=citizen)
        applications.append(application)
    return applications


@pytest.mark.django_db
def test_a_burst_of_submissions_queues_one_run_and_a_commit_after_it_started_queues_another(
    settings, django_capture_on_commit_callbacks
):
    needs_redis()
    app.control.purge()
    with ScriptedGateway() as gateway:
        gateway.configure(settings)
        with django_capture_on_commit_callbacks(execute=True):
            _submitted(3)
        assert queued_task_names() == ["notifications.dispatch"]  # one for three commits
        # The run starts (as a worker would take it from the queue) and sends all six.
        app.control.purge()
        assert dispatch.apply().result == 6
        # A commit after the run started rings again: another run is queued for it.
        with django_capture_on_commit_callbacks(execute=True):
            (late,) = _submitted(1)
        assert queued_task_names() == ["notifications.dispatch"]
        app.control.purge()
        assert dispatch.apply().result == 2
    assert len(gateway.received) == 4 and late.reference in gateway.received[-1].text
    assert not Notification.objects.exclude(status="sent").exists()
    app.control.purge()


@pytest.mark.django_db
def test_a_run_that_reached_its_limit_queues_another_for_the_rest(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    needs_redis()
    from kuaiban.notifications import tasks

    monkeypatch.setattr(tasks, "LIMIT", 4)
    app.control.purge()
    with ScriptedGateway() as gateway:
        gateway.configure(settings)
        with django_capture_on_commit_callbacks(execute=True):
            _submitted(3)  # six rows due, a run handles four
        app.control.purge()
        assert dispatch.apply().result == 4
        assert queued_task_names() == ["notifications.dispatch"]  # the rest is not left to beat
        app.control.purge()
        assert dispatch.apply().result == 2
        assert queued_task_names() == []  # a run short of its limit rings no more
    assert not Notification.objects.exclude(status="sent").exists()


@pytest.mark.django_db
def test_a_ring_that_could_not_reach_the_broker_does_not_silence_the_next_commit(
    settings, django_capture_on_commit_callbacks, caplog
):
    needs_redis()
    app.control.purge()
    with ScriptedGateway() as gateway:
        gateway.configure(settings)
        with override_settings(CELERY_BROKER_URL=DEAD_BROKER), caplog.at_level(logging.WARNING):
            with django_capture_on_commit_callbacks(execute=True):
                _submitted(1)
            assert "not queued" in caplog.text
        # The broker is back (the cache never went away): the next commit queues a run.
        with django_capture_on_commit_callbacks(execute=True):
            _submitted(1)
        assert queued_task_names() == ["notifications.dispatch"]
        app.control.purge()
        assert dispatch.apply().result == 4  # both submissions' e-mail and SMS
    app.control.purge()


# -- the embedded default: no broker, tasks run in-process -------------------------------------


@pytest.fixture
def memory_sms(settings):
    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notifications.sms.MemorySMSBackend"
    MemorySMSBackend.outbox.clear()
    yield MemorySMSBackend.outbox
    MemorySMSBackend.outbox.clear()


@pytest.mark.django_db
def test_without_a_broker_the_submission_sends_email_and_sms_after_commit(
    eager, memory_sms, django_capture_on_commit_callbacks
):
    user = UserFactory(citizen=True)
    application = ready_application(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission.application_submit(application=application, actor=user)
    # Nothing leaves before the transaction commits…
    assert mail.outbox == [] and memory_sms == []
    for callback in callbacks:
        callback()
    # …then one email and one SMS, each naming the reference number.
    assert len(mail.outbox) == 1 and application.reference in mail.outbox[0].subject
    assert len(memory_sms) == 1
    sms = memory_sms[0]
    assert sms.phone == user.phone and application.reference in sms.text
    assert sms.message_id == Notification.objects.get(recipient=user, channel="sms").pk
    assert not Notification.objects.filter(recipient=user).exclude(status="sent").exists()


@pytest.mark.django_db
def test_a_rolled_back_submission_sends_nothing(
    eager, memory_sms, monkeypatch, django_capture_on_commit_callbacks
):
    user = UserFactory(citizen=True)
    application = ready_application(user)
    monkeypatch.setattr(submission, "fan_out", lambda *a, **k: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ZeroDivisionError):
        submission.application_submit(application=application, actor=user)
    assert mail.outbox == [] and memory_sms == []
    assert not Notification.objects.exists()
