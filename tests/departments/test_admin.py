"""The departments' admin: read-mostly lists, a revoke action, dead webhooks retried."""

import pytest

from kuaiban.accounts.models import Role
from kuaiban.departments.models import DepartmentClient, WebhookDelivery
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(
        UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True, username="root")
    )
    return client


def test_an_administrator_sees_the_clients_and_revokes_one(admin_client, issue):
    """Rule: clients are listed read-only (no secret shown) and revoked by an action."""
    issued = issue("EXT-YB", webhook_url="https://yb.example/hook")
    listing = admin_client.get("/admin/departments/departmentclient/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert issued.client.client_id in body and issued.credential.split(".")[1] not in body
    page = admin_client.get(f"/admin/departments/departmentclient/{issued.client.pk}/change/")
    assert page.status_code == 200 and issued.webhook_secret not in page.content.decode()
    admin_client.post(
        "/admin/departments/departmentclient/",
        {"action": "revoke", "_selected_action": [issued.client.pk]},
    )
    assert DepartmentClient.objects.get(pk=issued.client.pk).revoked_at is not None


def test_an_administrator_retries_a_dead_webhook(admin_client, issue):
    """Rule: a dead delivery is put back in the queue by the admin's retry action."""
    client = issue("EXT-YB", webhook_url="https://yb.example/hook").client
    row = WebhookDelivery.objects.create(
        client=client, event="case.workable", payload={}, idempotency_key="k1", status="dead"
    )
    assert admin_client.get("/admin/departments/webhookdelivery/").status_code == 200
    admin_client.post(
        "/admin/departments/webhookdelivery/",
        {"action": "retry", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)
