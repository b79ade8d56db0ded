"""Administrators find dead letters in the admin and put them back in the queue; a mobile
number is never shown in full."""

import logging

import pytest
from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry

from kuaiban.notifications.delivery import notifications_dispatch
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notify
from tests.factories import UserFactory

from .gateways import Answer, ScriptedGateway

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/notifications/notification/"


@pytest.fixture
def dead_sms(settings):
    """An SMS the gateway refused, echoing the number in its answer."""
    citizen = UserFactory(citizen=True)
    (row,) = notify(recipient=citizen, subject="补正通知", body="请补正材料", channels=["sms"])
    refusal = Answer(403, f"number {citizen.phone} is blacklisted")
    with ScriptedGateway(lambda request: refusal) as gateway:
        gateway.configure(settings)
        notifications_dispatch()
    row.refresh_from_db()
    assert row.status == "dead"
    return row


def test_the_dead_letters_are_listed_with_their_error_and_the_number_masked(admin_client, dead_sms):
    delivered = UserFactory(citizen=True)
    notify(recipient=delivered, subject="已办结通知", body="…", channels=["in_app"])
    phone = dead_sms.recipient.phone

    page = admin_client.get(CHANGELIST, {"status__exact": "dead"}).content.decode()
    assert "补正通知" in page and "已办结通知" not in page
    assert "HTTP 403" in page and "not retried" in page
    assert dead_sms.recipient.masked_phone in page
    assert phone not in page
    detail = admin_client.get(f"{CHANGELIST}{dead_sms.pk}/change/").content.decode()
    assert "补正通知" in detail and phone not in detail

    by_channel = admin_client.get(CHANGELIST, {"channel__exact": "in_app"}).content.decode()
    assert "已办结通知" in by_channel and "补正通知" not in by_channel


def test_retry_puts_dead_rows_back_in_the_queue_and_records_who_did_it(
    admin_client, admin_user, dead_sms, settings, caplog
):
    (sent,) = notify(recipient=UserFactory(), subject="已送达", body="…", channels=["in_app"])
    with caplog.at_level(logging.INFO, logger="kuaiban.notifications"):
        response = admin_client.post(
            CHANGELIST,
            {"action": "retry", "_selected_action": [dead_sms.pk, sent.pk]},
            follow=True,
        )
    (message,) = response.context["messages"]
    assert message.level == messages.INFO and "1" in message.message

    dead_sms.refresh_from_db()
    assert (dead_sms.status, dead_sms.attempts) == ("pending", 0)
    sent.refresh_from_db()
    assert sent.status == "sent"  # only dead rows are touched
    (entry,) = LogEntry.objects.filter(object_id=str(dead_sms.pk))
    assert (entry.user, entry.action_flag) == (admin_user, CHANGE)
    assert "1" in entry.change_message and "HTTP 403" in entry.change_message
    assert not LogEntry.objects.filter(object_id=str(sent.pk)).exists()
    assert f"by {admin_user.username}" in caplog.text

    # The cause fixed, the next dispatch delivers it.
    with ScriptedGateway() as gateway:
        gateway.configure(settings)
        assert notifications_dispatch() == 1
    assert [p.message_id for p in gateway.received] == [dead_sms.pk]


def test_retrying_rows_that_are_not_dead_says_so(admin_client):
    (pending,) = notify(recipient=UserFactory(), subject="待发送", body="…", channels=["email"])
    response = admin_client.post(
        CHANGELIST, {"action": "retry", "_selected_action": [pending.pk]}, follow=True
    )
    (message,) = response.context["messages"]
    assert message.level == messages.WARNING
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == ("pending", 0)
    assert not LogEntry.objects.exists()


def test_notifications_cannot_be_added_or_deleted_in_the_admin(admin_client, dead_sms):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.get(f"{CHANGELIST}{dead_sms.pk}/delete/").status_code == 403
    assert Notification.objects.filter(pk=dead_sms.pk).exists()
