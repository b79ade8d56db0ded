"""The applicant hears of every submission and state change, after commit and only then."""

import pytest
from django.core import mail

from bundles.services import submission
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notifications_dispatch
from kuaiban.notifications.sms import MemorySMSBackend
from tests.builders import ready_application
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sms(settings):
    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notifications.sms.MemorySMSBackend"
    MemorySMSBackend.outbox.clear()


def test_submission_sends_email_and_sms_after_commit(django_capture_on_commit_callbacks):
    user = UserFactory(citizen=True)
    application = ready_application(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission.application_submit(application=application, actor=user)
    # Nothing leaves before the transaction commits…
    assert mail.outbox == [] and MemorySMSBackend.outbox == []
    for callback in callbacks:
        callback()
    # …then one email and one SMS, each naming the reference number.
    assert len(mail.outbox) == 1 and application.reference in mail.outbox[0].subject
    assert len(MemorySMSBackend.outbox) == 1
    phone, text = MemorySMSBackend.outbox[0]
    assert phone == user.phone and application.reference in text
    assert Notification.objects.filter(recipient=user, sent_at__isnull=True).count() == 0


def test_a_rolled_back_submission_sends_nothing(monkeypatch, django_capture_on_commit_callbacks):
    user = UserFactory(citizen=True)
    application = ready_application(user)
    monkeypatch.setattr(submission, "fan_out", lambda *a, **k: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ZeroDivisionError):
        submission.application_submit(application=application, actor=user)
    assert mail.outbox == [] and MemorySMSBackend.outbox == []
    assert not Notification.objects.exists()


def test_a_failed_gateway_keeps_the_message_for_the_next_dispatch(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.cases.test_notifications.BrokenEmailBackend"
    user = UserFactory(citizen=True)
    application = ready_application(user)
    with django_capture_on_commit_callbacks(execute=True):
        submission.application_submit(application=application, actor=user)
    unsent = Notification.objects.get(recipient=user, channel="email")
    assert unsent.sent_at is None and unsent.attempts == 1 and "down" in unsent.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_dispatch() == 1
    assert notifications_dispatch() == 0  # exactly once
    assert len(mail.outbox) == 1


class BrokenEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("mail server down")
