"""The outbox's dispatch against a real HTTP SMS gateway: retries with backoff, exactly one
delivery, dead letters after the cap or a refusal, no lock held while the gateway talks."""

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.db.utils import OperationalError

from kuaiban.notifications.delivery import BACKOFF_CAP, LEASE, backoff, notifications_dispatch
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notify
from tests.factories import UserFactory

from .gateways import (
    TOKEN,
    Answer,
    ScriptedGateway,
    WorkerKilled,
    failing_then_accepting,
)

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 24, 10, 0, tzinfo=SH)
SMS = Notification.Channel.SMS
# Further than any backoff: the row is due again.
PAST_ANY_BACKOFF = BACKOFF_CAP + timedelta(minutes=1)


def sms_to(user, text="您的申请已受理") -> Notification:
    (row,) = notify(recipient=user, subject="【快办】", body=text, channels=[SMS])
    return row


def written_sms(user, text: str) -> Notification:
    """A pending row written directly (committed tests: notify() would queue its task)."""
    return Notification.objects.create(recipient=user, channel=SMS, subject="【快办】", body=text)


def dispatch_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return notifications_dispatch()


def stored(row: Notification) -> Notification:
    row.refresh_from_db()
    return row


@pytest.mark.django_db
def test_a_gateway_failing_three_times_then_accepting_delivers_exactly_once(settings):
    citizen = UserFactory(citizen=True)
    with ScriptedGateway(failing_then_accepting(3)) as gateway:
        gateway.configure(settings)
        with time_machine.travel(START, tick=False):
            row = sms_to(citizen)
        moment = START
        assert dispatch_at(moment) == 0
        assert stored(row).attempts == 1 and row.status == "pending"
        assert "HTTP 500" in row.last_error
        # Before its backoff has passed the row is left alone…
        assert dispatch_at(moment + timedelta(seconds=30)) == 0
        assert len(gateway.received) == 1
        # …after it, it is tried again: twice more failing, then accepted.
        for _failure in range(2):
            moment += PAST_ANY_BACKOFF
            assert dispatch_at(moment) == 0
        moment += PAST_ANY_BACKOFF
        assert dispatch_at(moment) == 1
        # Later runs find nothing to send.
        assert dispatch_at(moment + PAST_ANY_BACKOFF) == 0

    posts = gateway.received
    assert [p.status for p in posts] == [500, 500, 500, 200]
    assert {p.message_id for p in posts} == {row.pk}  # the same idempotency key every time
    assert {p.to for p in posts} == {citizen.phone}
    assert posts[0].text == "【快办】：您的申请已受理"
    assert {p.authorization for p in posts} == {f"Bearer {TOKEN}"}
    assert posts[0].content_type.startswith("application/json")
    assert (stored(row).status, row.attempts, row.last_error) == ("sent", 4, "")
    assert row.sent_at == moment


@pytest.mark.django_db
def test_backoff_doubles_from_a_minute_with_jitter_and_stops_growing_at_an_hour():
    for failures, full in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (12, 60)]:
        waits = {backoff(failures) for _ in range(50)}
        assert all(timedelta(minutes=full) * 0.8 <= w <= timedelta(minutes=full) for w in waits)
        assert len(waits) > 1  # jittered: rows failing together come back spread out


@pytest.mark.django_db
def test_a_gateway_always_failing_is_dead_lettered_after_the_cap_and_others_go_out_meanwhile(
    settings,
):
    assert settings.KUAIBAN_NOTIFY_MAX_ATTEMPTS == 8
    unlucky, others = UserFactory(citizen=True), UserFactory(citizen=True)

    def answer(request):
        return Answer(500, "boom") if request.to == unlucky.phone else Answer(200, "ok")

    with ScriptedGateway(answer) as gateway:
        gateway.configure(settings)
        with time_machine.travel(START, tick=False):
            stuck = sms_to(unlucky)
        moment = START
        delivered = []
        for attempt in range(1, 9):
            # Someone else's message written after the failing one goes out in the same run.
            with time_machine.travel(moment, tick=False):
                later = sms_to(others, f"第{attempt}条")
            assert dispatch_at(moment) == 1
            assert stored(later).status == "sent" and later.sent_at == moment
            delivered.append(later.pk)
            assert stored(stuck).attempts == attempt
            moment += PAST_ANY_BACKOFF
        # Dead after the 8th failure: never tried again, however long we wait.
        assert stored(stuck).status == "dead"
        assert "gave up after 8 attempts" in stuck.last_error and "HTTP 500" in stuck.last_error
        assert dispatch_at(moment + timedelta(days=2)) == 0

    assert len(gateway.posts_for(stuck.pk)) == 8
    assert all(len(gateway.posts_for(pk)) == 1 for pk in delivered)


@pytest.mark.django_db
def test_with_the_gateway_down_a_run_stops_after_three_failures_in_a_row(settings):
    """Ten messages and a gateway answering 503: three tries, not ten timeouts; the others keep
    their attempts for later, and mail still goes out in the same run."""
    citizen = UserFactory(citizen=True)
    with time_machine.travel(START, tick=False):
        texts = [sms_to(citizen, f"第{i}条") for i in range(10)]
        (email,) = notify(recipient=citizen, subject="已受理", body="…", channels=["email"])
    with ScriptedGateway(lambda request: Answer(503, "maintenance")) as gateway:
        gateway.configure(settings)
        assert dispatch_at(START) == 1
    assert len(gateway.received) == 3
    assert sorted(stored(row).attempts for row in texts) == [0] * 7 + [1] * 3
    assert all(row.claimed_until is None and row.status == "pending" for row in texts)
    assert stored(email).status == "sent" and len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_refusal_4xx_is_dead_at_once_and_says_so_without_the_full_number(settings):
    citizen = UserFactory(citizen=True)
    refusal = Answer(400, f"invalid recipient {citizen.phone}")
    with ScriptedGateway(lambda request: refusal) as gateway:
        gateway.configure(settings)
        row = sms_to(citizen)
        assert notifications_dispatch() == 0
        assert dispatch_at(datetime.now(SH) + timedelta(days=1)) == 0
    assert len(gateway.received) == 1
    assert (stored(row).status, row.attempts) == ("dead", 1)
    assert "refused the message for good (HTTP 400)" in row.last_error
    assert "not retried" in row.last_error
    assert citizen.phone not in row.last_error
    assert citizen.phone[-4:] in row.last_error  # masked, still recognisable


@pytest.mark.django_db
def test_a_timeout_is_temporary_and_retried(settings):
    settings.KUAIBAN_SMS_TIMEOUT = 0.3
    citizen = UserFactory(citizen=True)
    slow_then_fine = iter([Answer(200, "too late", delay=1.0), Answer(200, "ok")])
    with ScriptedGateway(lambda request: next(slow_then_fine)) as gateway:
        gateway.configure(settings)
        with time_machine.travel(START, tick=False):
            row = sms_to(citizen)
        assert dispatch_at(START) == 0
        assert (stored(row).status, row.attempts) == ("pending", 1)
        assert "unreachable" in row.last_error and "timed out" in row.last_error
        assert dispatch_at(START + PAST_ANY_BACKOFF) == 1
    assert stored(row).status == "sent"


@pytest.mark.django_db
def test_an_unconfigured_gateway_keeps_messages_pending_with_the_reason(settings):
    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notifications.sms.HttpSMSBackend"
    settings.KUAIBAN_SMS_URL = ""
    row = sms_to(UserFactory(citizen=True))
    assert notifications_dispatch() == 0
    assert stored(row).status == "pending" and "KUAIBAN_SMS_URL" in row.last_error


@pytest.mark.django_db
def test_a_crashed_dispatchers_claim_expires_and_the_row_is_sent_later(settings):
    settings.KUAIBAN_SMS_BACKEND = "tests.notifications.gateways.DyingSMSBackend"
    with time_machine.travel(START, tick=False):
        row = sms_to(UserFactory(citizen=True))
        with pytest.raises(WorkerKilled):
            notifications_dispatch()
    with ScriptedGateway() as gateway:
        gateway.configure(settings)
        # Still claimed by the dead dispatcher: nobody sends it…
        assert dispatch_at(START + LEASE - timedelta(seconds=1)) == 0
        # …until the claim expires.
        assert dispatch_at(START + LEASE + timedelta(seconds=1)) == 1
    assert [p.message_id for p in gateway.received] == [row.pk]
    assert (stored(row).status, row.attempts) == ("sent", 1)


@pytest.mark.django_db
def test_in_app_messages_are_delivered_by_being_written():
    citizen = UserFactory(citizen=True)
    (row,) = notify(recipient=citizen, subject="提醒", body="请补正材料", channels=["in_app"])
    assert (stored(row).status, row.sent_at) == ("sent", row.created_at)
    assert notifications_dispatch() == 0


@pytest.mark.django_db
def test_a_failed_mail_server_keeps_the_message_for_a_later_dispatch(settings):
    settings.EMAIL_BACKEND = "tests.notifications.gateways.BrokenEmailBackend"
    user = UserFactory(citizen=True)
    with time_machine.travel(START, tick=False):
        (row,) = notify(recipient=user, subject="已受理", body="…", channels=["email"])
        assert notifications_dispatch() == 0
    assert stored(row).sent_at is None and row.attempts == 1 and "down" in row.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert dispatch_at(START + PAST_ANY_BACKOFF) == 1
    assert dispatch_at(START + 2 * PAST_ANY_BACKOFF) == 0  # exactly once
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]


# -- concurrency: rows really committed, several connections ------------------------------------


def test_two_dispatchers_at_once_send_each_row_once(committed_db, settings):
    citizens = [UserFactory(citizen=True) for _ in range(6)]
    rows = [written_sms(citizens[i % 6], f"第{i}条") for i in range(60)]
    with ScriptedGateway(lambda request: Answer(200, "ok", delay=0.01)) as gateway:
        gateway.configure(settings)
        start = threading.Barrier(2)
        counts: list[int] = []

        def dispatcher():
            try:
                start.wait()
                counts.append(notifications_dispatch())
            finally:
                connections.close_all()

        threads = [threading.Thread(target=dispatcher) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(p.message_id for p in gateway.received) == sorted(r.pk for r in rows)
    assert sum(counts) == 60 and min(counts) > 0  # both took part, none sent a row twice
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_no_row_lock_is_held_while_the_gateway_is_called(committed_db, settings):
    row = written_sms(UserFactory(citizen=True), "您的申请已受理")
    lock_checks: list[str] = []

    def answer(request):
        # From the gateway's thread, on its own connection: could someone lock the row now?
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM notifications_notification WHERE id = %s FOR UPDATE NOWAIT",
                    [request.message_id],
                )
            lock_checks.append("free")
        except OperationalError as error:
            lock_checks.append(f"locked: {error}")
        return Answer(200, "ok")

    with ScriptedGateway(answer) as gateway:
        gateway.configure(settings)
        assert notifications_dispatch() == 1
    assert lock_checks == ["free"]
    assert stored(row).status == "sent"


def test_the_gateway_call_happens_outside_any_transaction(committed_db, settings):
    """A slow gateway holds nothing: another session can change the row meanwhile (here: mark
    it read, as the applicant's inbox does) without waiting."""
    row = written_sms(UserFactory(citizen=True), "您的申请已受理")
    waited: list[float] = []

    def answer(request):
        started = time.monotonic()
        Notification.objects.filter(pk=request.message_id).update(read_at=START)
        waited.append(time.monotonic() - started)
        return Answer(200, "ok")

    with ScriptedGateway(answer) as gateway:
        gateway.configure(settings)
        assert notifications_dispatch() == 1
    assert waited and waited[0] < 1.0
    assert stored(row).read_at == START and row.status == "sent"
