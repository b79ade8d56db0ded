"""Log-in lock-out (issue 11 part 4): after AXES_FAILURE_LIMIT failures with one name from one
address that name is locked there for AXES_COOLOFF_TIME, the same for every name, and an
administrator lifts it in the admin, recorded in the security log."""

import io
import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.models import Role, SecurityEvent, SecurityEventKind
from kuaiban.accounts.services import citizen_register
from tests.factories import UserFactory, generated_resident_id

pytestmark = pytest.mark.django_db

PASSWORD = "Kb-test-pass-2026"
HOME_IP = "198.51.100.20"
OTHER_IP = "203.0.113.7"
LIMIT = settings.AXES_FAILURE_LIMIT
COOL_OFF = settings.AXES_COOLOFF_TIME


def attempt(client, name, password="wrong-password", ip=HOME_IP):
    return client.post(reverse("login"), {"username": name, "password": password}, REMOTE_ADDR=ip)


def fail_until_locked(client, name, ip=HOME_IP):
    """LIMIT failures: the last one is answered with the lock-out page."""
    for _ in range(LIMIT - 1):
        assert attempt(client, name, ip=ip).status_code == 200  # the form again, with its error
    response = attempt(client, name, ip=ip)
    assert response.status_code == 429
    return response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def without_csrf_tokens(page: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page.decode())


@pytest.fixture
def member():
    user = UserFactory(username="lock-member", role=Role.CLERK)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def administrator():
    return UserFactory(
        username="lock-admin", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True
    )


def test_the_limit_of_failures_for_a_name_from_one_address_locks_it_there(client, member):
    response = fail_until_locked(client, "lock-member")

    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert response["Retry-After"] == str(int(COOL_OFF.total_seconds()))
    assert "Content-Security-Policy" in response  # a page of the portal like any other


def test_the_right_password_is_refused_while_locked(client, member):
    fail_until_locked(client, "lock-member")

    response = attempt(client, "lock-member", PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)


def test_the_same_name_from_another_address_is_not_locked(client, member):
    fail_until_locked(client, "lock-member", ip=HOME_IP)

    response = attempt(client, "lock-member", PASSWORD, ip=OTHER_IP)

    assert response.status_code == 302
    assert logged_in(client)


def test_another_name_from_the_locked_address_is_not_locked(client, member):
    fail_until_locked(client, "someone-else")

    assert attempt(client, "lock-member", PASSWORD).status_code == 302


def test_the_lock_ends_when_the_cool_off_has_passed(client, member):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail_until_locked(client, "lock-member")
        clock.shift(COOL_OFF - timedelta(minutes=1))
        assert attempt(client, "lock-member", PASSWORD).status_code == 429
        clock.shift(timedelta(minutes=2))

        response = attempt(client, "lock-member", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_attempts_while_locked_do_not_extend_the_lock(client, member):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail_until_locked(client, "lock-member")
        for _ in range(3):
            clock.shift(COOL_OFF / 4)
            assert attempt(client, "lock-member").status_code == 429
        clock.shift(COOL_OFF / 4 + timedelta(minutes=1))

        assert attempt(client, "lock-member", PASSWORD).status_code == 302


def test_a_name_without_an_account_locks_alike_and_gets_the_same_page(member):
    """The lock-out tells nothing about the account: a name nobody has is counted, locked and
    answered exactly as an account's name."""
    pages = []
    for name in ("lock-member", "no-such-member"):
        response = fail_until_locked(Client(), name)
        pages.append(
            (
                response.status_code,
                [t.name for t in response.templates],
                response["Retry-After"],
                without_csrf_tokens(response.content),
            )
        )
    assert pages[0] == pages[1]


def test_a_lock_out_is_one_security_event_with_the_name_and_the_address(client, member):
    fail_until_locked(client, "lock-member")
    attempt(client, "lock-member")
    attempt(client, "lock-member", PASSWORD)

    event = SecurityEvent.objects.get(kind=SecurityEventKind.LOCKED_OUT)
    assert (event.user, event.username, event.ip) == (member, "lock-member", HOME_IP)
    assert event.path == "/accounts/login/"
    failures = SecurityEvent.objects.filter(kind=SecurityEventKind.LOGIN_FAILED).count()
    assert failures == LIMIT + 2  # the refused attempts while locked are failures too


def test_an_id_number_locks_in_any_spelling_and_is_never_kept_in_clear(client):
    number = next(n for n in iter(generated_resident_id, None) if n.endswith("X"))
    citizen = citizen_register(
        real_name="测试甲", resident_id=number, phone="13800001234", password=PASSWORD
    )
    for i in range(LIMIT):
        response = attempt(client, number.lower() if i % 2 else number)
    assert response.status_code == 429
    assert attempt(client, number.lower(), PASSWORD).status_code == 429

    name = "id:" + keyed_hash(number)
    attempt_row = AccessAttempt.objects.get()
    assert attempt_row.username == name
    assert number not in attempt_row.post_data and number.lower() not in attempt_row.post_data
    event = SecurityEvent.objects.get(kind=SecurityEventKind.LOCKED_OUT)
    assert (event.user, event.username) == (citizen, name)
    logged = SecurityEvent.objects.values_list("username", flat=True)
    assert not any(number in name.upper() for name in logged)


# -- lifting a lock-out in the admin -----------------------------------------------------------


def admin_action(client, model_path, action, pks):
    return client.post(
        f"/admin/{model_path}/",
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        REMOTE_ADDR="192.0.2.99",
    )


def test_an_administrator_lifts_a_lock_out_from_the_attempts_and_it_is_recorded(
    client, member, administrator
):
    fail_until_locked(Client(), "lock-member")
    client.force_login(administrator)

    response = admin_action(
        client, "axes/accessattempt", "unlock", AccessAttempt.objects.values_list("pk", flat=True)
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    event = SecurityEvent.objects.get(kind=SecurityEventKind.UNLOCKED)
    assert (event.user, event.username, event.actor) == (member, "lock-member", administrator)
    assert event.ip == "192.0.2.99"  # where the administrator acted from
    assert HOME_IP in event.detail  # the address the lock-out was for
    assert attempt(Client(), "lock-member", PASSWORD).status_code == 302


def test_an_administrator_unlocks_selected_accounts_and_it_is_recorded(
    client, member, administrator
):
    fail_until_locked(Client(), "lock-member", ip=HOME_IP)
    fail_until_locked(Client(), "lock-member", ip=OTHER_IP)
    fail_until_locked(Client(), "someone-else", ip=HOME_IP)
    client.force_login(administrator)

    response = admin_action(client, "accounts/user", "unlock_accounts", [member.pk])

    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["someone-else"]
    events = SecurityEvent.objects.filter(kind=SecurityEventKind.UNLOCKED)
    assert {(e.user, e.username, e.actor) for e in events} == {
        (member, "lock-member", administrator)
    }
    assert sorted(e.detail.split()[0] for e in events) == sorted(
        [f"ip={HOME_IP}", f"ip={OTHER_IP}"]
    )
    assert attempt(Client(), "lock-member", PASSWORD, ip=OTHER_IP).status_code == 302


def test_unlocking_an_account_covers_its_id_number(client, administrator):
    number = generated_resident_id()
    citizen = citizen_register(
        real_name="测试甲", resident_id=number, phone="13800001234", password=PASSWORD
    )
    fail_until_locked(Client(), number)
    client.force_login(administrator)

    admin_action(client, "accounts/user", "unlock_accounts", [citizen.pk])

    assert not AccessAttempt.objects.exists()
    assert attempt(Client(), number, PASSWORD).status_code == 302


def test_attempts_cannot_be_deleted_or_changed_in_the_admin(client, member, administrator):
    fail_until_locked(Client(), "lock-member")
    row = AccessAttempt.objects.get()
    client.force_login(administrator)

    changelist = client.get("/admin/axes/accessattempt/").content.decode()
    assert 'value="unlock"' in changelist
    assert 'value="delete_selected"' not in changelist
    detail = client.get(f"/admin/axes/accessattempt/{row.pk}/change/")
    assert detail.status_code == 200 and str(member) in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
    assert client.get(f"/admin/axes/accessattempt/{row.pk}/delete/").status_code == 403
    client.post(f"/admin/axes/accessattempt/{row.pk}/delete/", {"post": "yes"})
    admin_action(client, "axes/accessattempt", "delete_selected", [row.pk])
    client.post(
        f"/admin/axes/accessattempt/{row.pk}/change/",
        {"failures_since_start": "0", "username": "lock-member"},
    )

    row.refresh_from_db()
    assert row.failures_since_start == LIMIT
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.UNLOCKED).exists()


def test_staff_without_the_unlock_permission_cannot_unlock(client, member):
    viewer = UserFactory(username="lock-viewer", role=Role.SUPERVISOR, is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_accessattempt", content_type__app_label="axes")
    )
    fail_until_locked(Client(), "lock-member")
    client.force_login(viewer)

    assert 'value="unlock"' not in client.get("/admin/axes/accessattempt/").content.decode()
    admin_action(
        client, "axes/accessattempt", "unlock", AccessAttempt.objects.values_list("pk", flat=True)
    )

    assert AccessAttempt.objects.exists()
    assert attempt(Client(), "lock-member", PASSWORD).status_code == 429


def test_the_unlock_command_lifts_a_lock_out_and_records_the_administrator(member, administrator):
    fail_until_locked(Client(), "lock-member", ip=HOME_IP)
    fail_until_locked(Client(), "lock-member", ip=OTHER_IP)

    call_command("unlock_login", "lock-member", by="lock-admin", ip=HOME_IP, stdout=io.StringIO())

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [OTHER_IP]
    event = SecurityEvent.objects.get(kind=SecurityEventKind.UNLOCKED)
    assert (event.user, event.actor, event.username) == (member, administrator, "lock-member")
    assert attempt(Client(), "lock-member", PASSWORD, ip=HOME_IP).status_code == 302


def test_the_unlock_command_needs_an_administrator(member):
    fail_until_locked(Client(), "lock-member")
    with pytest.raises(CommandError):
        call_command("unlock_login", "lock-member", by="lock-member")
    assert AccessAttempt.objects.exists()


def test_a_successful_log_in_clears_the_earlier_failures_of_that_name_there(client, member):
    for _ in range(LIMIT - 1):
        attempt(client, "lock-member")
    assert attempt(client, "lock-member", password=PASSWORD).status_code == 302
    client.logout()
    # LIMIT - 1 new failures do not lock: the count started again at the log-in.
    for _ in range(LIMIT - 1):
        assert attempt(client, "lock-member").status_code == 200
    assert attempt(client, "lock-member", password=PASSWORD).status_code == 302
