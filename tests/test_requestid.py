"""Request ids: every response carries one, and a client's is kept only when well formed."""

import re
import uuid

import pytest

from kuaiban.cases.models import CaseEvent
from tests.builders import draft
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"\A[0-9a-f]{32}\Z")


@pytest.mark.parametrize(
    "incoming",
    [
        "9f1c2e3d4b5a69788796a5b4c3d2e1f0",
        "83c2dba7-be30-47bb-9ed9-dc7883970f70",
        "0" * 16,
        "Root-1a2b3c4d5e6f7a8b",
    ],
)
def test_a_well_formed_request_id_is_kept(client, incoming):
    assert client.get("/", HTTP_X_REQUEST_ID=incoming).headers["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "x",
        "abc123",
        "../../etc/passwd-aaaaaaaa",
        "<script>alert(1)</script>",
        "a" * 65,
        "id with spaces inside",
        "-leading-dash-0123456789",
        "ok-looking-id-123\n",
        "идентификатор-1234567",
    ],
)
def test_rule_a_malformed_request_id_is_replaced(client, incoming):
    answered = client.get("/", HTTP_X_REQUEST_ID=incoming).headers["X-Request-ID"]
    assert answered != incoming and GENERATED.match(answered)


def test_the_event_log_records_the_requests_id(client):
    citizen = UserFactory(citizen=True)
    application = draft(citizen)
    client.force_login(citizen)
    incoming = uuid.uuid4().hex
    client.post(
        f"/applications/{application.reference}/withdraw/",
        {"reason": "不需要了", "confirm": "on"},
        HTTP_X_REQUEST_ID=incoming,
    )
    event = CaseEvent.objects.filter(application=application).latest("id")
    assert event.request_id == incoming
