"""Staff sessions end after 30 minutes without a request and 10 hours after the log-in
(KUAIBAN_STAFF_IDLE_MINUTES, KUAIBAN_STAFF_SESSION_HOURS): logged out, a SESSION_EXPIRED event,
and the log-in page says why. Applicants keep Django's session age."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from kuaiban.accounts.models import SecurityEvent, SecurityEventKind
from tests.builders import clerk_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def expired_events() -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(kind=SecurityEventKind.SESSION_EXPIRED))


def test_a_staff_session_idle_for_31_minutes_is_logged_out(client, clock):
    clerk = clerk_of("LABOUR")
    client.force_login(clerk)
    assert client.get("/staff/intake/").status_code == 200

    clock.shift(timedelta(minutes=31))
    response = client.get("/staff/intake/")

    assert (response.status_code, response.url) == (302, "/accounts/login/?next=/staff/intake/")
    assert SESSION_KEY not in client.session
    [event] = expired_events()
    assert (event.user, event.path) == (clerk, "/staff/intake/")
    assert event.detail.startswith("idle")
    login_page = client.get(response.url)
    [message] = login_page.context["messages"]
    assert message.level == messages.WARNING
    assert "30" in str(message)


def test_a_staff_session_idle_for_29_minutes_goes_on(client, clock):
    client.force_login(clerk_of("LABOUR"))
    for _ in range(5):
        clock.shift(timedelta(minutes=29))
        assert client.get("/staff/intake/").status_code == 200
    assert not expired_events()


def test_the_idle_limit_is_a_setting(client, clock, settings):
    settings.KUAIBAN_STAFF_IDLE_MINUTES = 5
    client.force_login(clerk_of("LABOUR"))
    clock.shift(timedelta(minutes=6))
    assert client.get("/staff/intake/").status_code == 302
    assert len(expired_events()) == 1


def test_a_staff_session_ends_after_its_absolute_lifetime_whatever_the_activity(client, clock):
    supervisor = UserFactory(supervisor=True)
    client.force_login(supervisor)
    for _ in range(10 * 3):  # a request every 20 minutes for 10 hours
        clock.shift(timedelta(minutes=20))
        assert client.get("/supervision/").status_code == 200
    clock.shift(timedelta(minutes=1))

    response = client.get("/supervision/")

    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    [event] = expired_events()
    assert event.user == supervisor and event.detail.startswith("lifetime")


def test_the_absolute_lifetime_is_a_setting(client, clock, settings):
    settings.KUAIBAN_STAFF_SESSION_HOURS = 1
    client.force_login(clerk_of("LABOUR"))
    clock.shift(timedelta(minutes=25))
    assert client.get("/staff/intake/").status_code == 200
    clock.shift(timedelta(minutes=25))
    assert client.get("/staff/intake/").status_code == 200
    clock.shift(timedelta(minutes=25))
    assert client.get("/staff/intake/").status_code == 302


def test_a_new_log_in_starts_new_clocks(client, clock):
    clerk = clerk_of("LABOUR")
    client.force_login(clerk)
    clock.shift(timedelta(minutes=31))
    assert client.get("/staff/intake/").status_code == 302
    client.force_login(clerk)
    assert client.get("/staff/intake/").status_code == 200
    assert len(expired_events()) == 1


def test_an_applicant_idle_for_31_minutes_is_still_logged_in(client, clock, citizen):
    client.force_login(citizen)
    assert client.get("/applications/").status_code == 200
    clock.shift(timedelta(minutes=31))
    assert client.get("/applications/").status_code == 200
    clock.shift(timedelta(hours=3))
    assert client.get("/applications/").status_code == 200
    assert client.session[SESSION_KEY] == str(citizen.pk)
    assert not expired_events()
