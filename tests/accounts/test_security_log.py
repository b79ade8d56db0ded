"""Logins, failures and logouts are written to the "kuaiban.security" logger."""

import logging

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_security_log_records_login_failure_with_username_and_ip(client, caplog):
    with caplog.at_level(logging.INFO, logger="kuaiban.security"):
        client.post(
            reverse("login"),
            {"username": "nobody", "password": "wrong"},
            REMOTE_ADDR="198.51.100.4",
        )
    failures = [r.getMessage() for r in caplog.records if r.name == "kuaiban.security"]
    assert any("login_failure" in m and "'nobody'" in m and "198.51.100.4" in m for m in failures)
    assert not any("wrong" in m for m in failures)


def test_security_log_records_login_success_and_logout(client, caplog):
    user = UserFactory(username="sec-log-user")
    user.set_password("Kb-test-pass-2026")
    user.save()
    with caplog.at_level(logging.INFO, logger="kuaiban.security"):
        assert client.login(username="sec-log-user", password="Kb-test-pass-2026")
        client.post(reverse("logout"))
    messages = [r.getMessage() for r in caplog.records if r.name == "kuaiban.security"]
    assert any(m.startswith(f"login_success user={user.pk}") for m in messages)
    assert any(m.startswith(f"logout user={user.pk}") for m in messages)


def test_security_log_records_a_citizen_refused_a_staff_page(client, citizen, caplog):
    client.force_login(citizen)
    with caplog.at_level(logging.INFO, logger="kuaiban.security"):
        response = client.get("/staff/intake/", REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 404
    messages = [r.getMessage() for r in caplog.records if r.name == "kuaiban.security"]
    assert f"permission_refused user={citizen.pk} ip=198.51.100.9 path=/staff/intake/" in messages
