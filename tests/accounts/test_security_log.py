"""Logins, failures, logouts and refusals are security events: a row in the append-only table
and a line on the "kuaiban.security" logger."""

import logging

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from kuaiban.accounts.models import SecurityEvent, SecurityEventKind
from tests.builders import login_request
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
    assert any(
        m.startswith("login_failed user=None username='nobody'") and "198.51.100.4" in m
        for m in failures
    )
    assert not any("wrong" in m for m in failures)


def test_security_log_records_login_success_and_logout(client, caplog):
    user = UserFactory(username="sec-log-user")
    user.set_password("Kb-test-pass-2026")
    user.save()
    with caplog.at_level(logging.INFO, logger="kuaiban.security"):
        assert client.login(
            request=login_request(), username="sec-log-user", password="Kb-test-pass-2026"
        )
        client.post(reverse("logout"))
    messages = [r.getMessage() for r in caplog.records if r.name == "kuaiban.security"]
    assert any(m.startswith(f"login user={user.pk}") for m in messages)
    assert any(m.startswith(f"logout user={user.pk}") for m in messages)


def test_security_log_records_a_citizen_refused_a_staff_page(client, citizen, caplog):
    client.force_login(citizen)
    with caplog.at_level(logging.INFO, logger="kuaiban.security"):
        response = client.get("/staff/intake/", REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 404
    messages = [r.getMessage() for r in caplog.records if r.name == "kuaiban.security"]
    assert any(
        m.startswith(f"refused user={citizen.pk}") and "ip=198.51.100.9 path=/staff/intake/" in m
        for m in messages
    )


def test_a_failed_login_is_a_security_event_row_without_the_password(client):
    client.post(
        reverse("login"), {"username": "nobody", "password": "wrong"}, REMOTE_ADDR="198.51.100.4"
    )
    event = SecurityEvent.objects.get(kind=SecurityEventKind.LOGIN_FAILED)
    assert (event.username, event.ip, event.user) == ("nobody", "198.51.100.4", None)
    assert "wrong" not in event.detail


def test_the_security_log_cannot_be_changed_or_deleted(client):
    client.post(reverse("login"), {"username": "nobody", "password": "wrong"})
    event = SecurityEvent.objects.get()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        SecurityEvent.objects.update(username="someone")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE accounts_securityevent SET username = 'someone'")


@pytest.mark.parametrize(
    "model",
    ["accounts.SecurityEvent", "cases.AccessLog", "ratings.Rating"],
)
def test_the_admin_only_reads_an_append_only_table(client, model):
    from django.apps import apps
    from django.contrib import admin
    from django.test import RequestFactory

    admin_user = UserFactory(role="administrator", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    app_label, name = model.split(".")
    base = f"/admin/{app_label}/{name.lower()}/"
    assert client.get(base).status_code == 200
    assert client.get(f"{base}add/").status_code == 403
    registered = admin.site._registry[apps.get_model(model)]
    request = RequestFactory().get(base)
    request.user = admin_user
    assert not registered.has_change_permission(request)
    assert not registered.has_delete_permission(request)
