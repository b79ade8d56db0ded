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


def test_the_status_section_renders_each_clients_backlog(issue):
    """Rule: the integrations page's partial shows per client the pending backlog, the dead
    count and the newest error (kuaiban.departments.selectors.department_status)."""
    from django.template.loader import render_to_string

    from kuaiban.departments.selectors import department_status

    client = issue("EXT-YB", webhook_url="https://yb.example/hook").client
    issue("EXT-GJJ")
    WebhookDelivery.objects.create(
        client=client, event="case.workable", payload={}, idempotency_key="k1"
    )
    WebhookDelivery.objects.create(
        client=client,
        event="case.workable",
        payload={},
        idempotency_key="k2",
        status="dead",
        last_error="HTTP 503",
    )
    rows = {row.client.unit.code: row for row in department_status()}
    assert (rows["EXT-YB"].pending, rows["EXT-YB"].dead) == (1, 1)
    assert rows["EXT-YB"].last_error == "HTTP 503"
    assert (rows["EXT-GJJ"].pending, rows["EXT-GJJ"].dead, rows["EXT-GJJ"].last_error) == (0, 0, "")
    html = render_to_string(
        "departments/_status_section.html", {"department_status": department_status()}
    )
    assert client.client_id in html and "HTTP 503" in html


def test_the_integrations_page_shows_the_departments_beside_the_sources(issue, client):
    """/staff/integrations/: the departments' section (each client's backlog) follows the
    shared-data sources' on the administrators' page."""
    from tests.factories import UserFactory

    client_row = issue("EXT-YB", webhook_url="https://yb.example/hook").client
    WebhookDelivery.objects.create(
        client=client_row, event="case.workable", payload={}, idempotency_key="k1"
    )
    client.force_login(UserFactory(role="administrator", is_staff=True, is_superuser=True))
    page = client.get("/staff/integrations/").content.decode()
    assert 'data-section="shared-data"' in page and 'data-section="departments"' in page
    assert client_row.client_id in page
