"""A service's refusal of a staff action (PermissionDenied) is a security event naming the
action, beside the message the clerk sees."""

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import resolve

from bundles.services import intake
from desk.actions import action_name, run_service
from kuaiban.accounts.models import SecurityEvent, SecurityEventKind
from tests.builders import clerk_of, submitted

pytestmark = pytest.mark.django_db


def staff_request(user, path: str):
    """A POST to a desk URL as the view receives it (user, session, messages, resolved URL)."""
    request = RequestFactory().post(path, REMOTE_ADDR="192.0.2.44")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    request.resolver_match = resolve(path)
    return request


def test_a_refused_desk_action_is_a_permission_refused_event_naming_the_action():
    application = submitted("B10")
    outsider = clerk_of()  # a clerk serving none of the application's windows
    path = f"/staff/intake/{application.reference}/visit/"
    request = staff_request(outsider, path)

    done = run_service(
        request,
        lambda: intake.visit_record(application=application, actor=outsider, purpose="咨询"),
        "recorded",
    )

    assert done is False
    assert [m.level_tag for m in get_messages(request)] == ["error"]
    event = SecurityEvent.objects.get(kind=SecurityEventKind.PERMISSION_REFUSED)
    assert (event.user, event.detail, event.path, event.ip) == (
        outsider,
        "staff:intake_visit",
        path,
        "192.0.2.44",
    )
    application.refresh_from_db()
    assert application.visits == 0


def test_a_case_action_is_named_with_its_verb():
    request = RequestFactory().post("/staff/cases/7/deny/")
    request.resolver_match = resolve("/staff/cases/7/deny/")
    assert action_name(request) == "staff:case_action deny"
