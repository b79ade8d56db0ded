"""Requests generated from the committed schema (Schemathesis over hypothesis), each operation
called as a user who may call it: no input makes the API answer with a server error, and every
answer matches the schema."""

from pathlib import Path

import pytest
import schemathesis
from django.conf import settings
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kuaiban.accounts.api_tokens import token_issue
from tests.builders import accepted, case_of, clerk_of, reviewer_of, single_item_submitted
from tests.factories import UserFactory

schema = schemathesis.openapi.from_path(Path(settings.BASE_DIR) / "docs" / "openapi.yaml")

# Which account each part of the API is called as (the rest is public).
CALLER = {
    "/api/v1/applications": "owner",
    "/api/v1/cases": "reviewer",
    "/api/v1/intake": "clerk",
    "/api/v1/metrics": "supervisor",
    "/api/v1/tokens/current": "owner",
}


@pytest.fixture
def tokens(db):
    """A token for each kind of caller, and an accepted case for them to find."""
    owner = UserFactory(citizen=True)
    clerk = clerk_of("LABOUR")
    case = case_of(accepted(single_item_submitted("LR-002", owner), clerk))
    users = {
        "owner": owner,
        "clerk": clerk,
        "reviewer": reviewer_of(case.unit.code),
        "supervisor": UserFactory(supervisor=True),
    }
    return {name: token_issue(user=user)[1] for name, user in users.items()}


@pytest.fixture
def wsgi_in_the_test_transaction():
    """Call the WSGI application in this thread, inside the test's transaction: Django would
    close the connection at each request's end (as its own test client prevents too)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_generated_request_is_a_server_error(case, tokens, wsgi_in_the_test_transaction):
    caller = next((who for prefix, who in CALLER.items() if case.path.startswith(prefix)), None)
    headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}
    case.call_and_validate(
        app=wsgi_in_the_test_transaction,
        base_url="http://localhost",
        headers=headers,
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
