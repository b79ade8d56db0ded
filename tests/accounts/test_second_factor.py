"""Every staff account passes a second factor (a TOTP authenticator app) before any page but the
two-factor pages, the log-out, the language switch and /health/; applicants are never asked.

These tests opt out of the conftest fixture that marks staff log-ins as verified: their staff
sessions hold the password only, until a real code (computed from the device's key, as an app
computes it) is typed."""

from base64 import b32encode
from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kuaiban.accounts.models import Role, SecurityEvent, SecurityEventKind
from tests.builders import clerk_of, reviewer_of
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.real_second_factor]

TWO_FACTOR = "/accounts/two-factor/"
SETUP = "/accounts/two-factor/setup/"


def code_of(device: TOTPDevice) -> str:
    """What the authenticator app shows now: RFC 6238 on the device's key."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def wrong_code_of(device: TOTPDevice) -> str:
    return f"{(int(code_of(device)) + 500_000) % 1_000_000:06d}"


def administrator():
    return UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


STAFF = {
    "clerk": lambda: clerk_of("LABOUR"),
    "reviewer": lambda: reviewer_of("LDGX"),
    "supervisor": lambda: UserFactory(supervisor=True),
    "administrator": administrator,
}
PAGES = {
    "clerk": "/staff/intake/",
    "reviewer": "/staff/cases/",
    "supervisor": "/supervision/",
    "administrator": "/supervision/",
}


def events(kind) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(kind=kind).order_by("pk"))


@pytest.mark.parametrize("role", list(STAFF))
def test_a_staff_page_without_the_second_factor_redirects_to_the_two_factor_page(client, role):
    client.force_login(STAFF[role]())
    response = client.get(PAGES[role])
    assert response.status_code == 302
    assert response.url == f"{TWO_FACTOR}?next={quote(PAGES[role])}"


def test_the_django_admin_needs_the_second_factor_after_its_own_password_log_in(client):
    admin = administrator()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": admin.username, "password": "pw-for-tests-2026", "next": "/admin/"},
    )
    assert (response.status_code, response.url) == (302, "/admin/")
    assert client.session[SESSION_KEY] == str(admin.pk)
    response = client.get("/admin/")
    assert (response.status_code, response.url) == (302, f"{TWO_FACTOR}?next=/admin/")
    assert client.get("/admin/accounts/user/").status_code == 302

    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    response = client.post(f"{TWO_FACTOR}?next=/admin/", {"code": code_of(device)})
    assert (response.status_code, response.url) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("kind", ["citizen", "enterprise"])
def test_applicants_are_never_asked_for_a_second_factor(client, kind):
    applicant = UserFactory(**{kind: True})
    client.force_login(applicant)
    assert client.get("/applications/").status_code == 200
    assert client.get("/accounts/profile/").status_code == 200
    assert client.get(TWO_FACTOR).status_code == 404
    assert client.get(SETUP).status_code == 404
    assert not TOTPDevice.objects.filter(user=applicant).exists()


def test_an_unverified_staff_session_may_still_log_out_switch_language_and_see_health(client):
    clerk = clerk_of("LABOUR")
    client.force_login(clerk)
    assert client.get("/health/").status_code == 200
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert (response.status_code, response.url) == (302, "/")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and "two-factor" not in response.url
    assert SESSION_KEY not in client.session


def test_without_a_device_the_two_factor_page_sends_to_the_set_up(client):
    client.force_login(clerk_of("LABOUR"))
    response = client.get(f"{TWO_FACTOR}?next=/staff/intake/")
    assert (response.status_code, response.url) == (302, f"{SETUP}?next=%2Fstaff%2Fintake%2F")


def test_enrolment_with_the_apps_code_confirms_the_device_and_then_the_page_opens(client):
    clerk = clerk_of("LABOUR")
    client.force_login(clerk)
    page = client.get(f"{SETUP}?next=/staff/intake/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=clerk)
    assert not device.confirmed
    # The page shows the key (base32, in groups) and the otpauth:// URI carrying it.
    key = b32encode(device.bin_key).decode()
    shown = page.content.decode()
    assert " ".join(key[i : i + 4] for i in range(0, len(key), 4)) in shown
    assert f"otpauth://totp/Kuaiban%3A{clerk.username}?secret={key}" in shown
    # A second visit shows the same key: no new device.
    client.get(SETUP)
    assert TOTPDevice.objects.filter(user=clerk).count() == 1

    response = client.post(f"{SETUP}?next=/staff/intake/", {"code": code_of(device)})

    assert (response.status_code, response.url) == (302, "/staff/intake/")
    device.refresh_from_db()
    assert device.confirmed
    assert [e.user for e in events(SecurityEventKind.SECOND_FACTOR_ENROLLED)] == [clerk]
    assert client.get("/staff/intake/").status_code == 200
    # Set up once: the set-up page now sends on, and shows the key no more.
    response = client.get(SETUP)
    assert response.status_code == 302 and key not in response.content.decode()


def test_a_staff_member_with_a_device_types_its_code_and_passes(client):
    reviewer = reviewer_of("LDGX")
    device = TOTPDevice.objects.create(user=reviewer, name="phone", confirmed=True)
    client.force_login(reviewer)
    assert client.get(f"{TWO_FACTOR}?next=/staff/cases/").status_code == 200

    response = client.post(f"{TWO_FACTOR}?next=/staff/cases/", {"code": code_of(device)})

    assert (response.status_code, response.url) == (302, "/staff/cases/")
    assert client.get("/staff/cases/").status_code == 200
    assert not events(SecurityEventKind.SECOND_FACTOR_ENROLLED)


def test_the_next_page_after_the_second_factor_stays_on_this_site(client):
    supervisor = UserFactory(supervisor=True)
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    client.force_login(supervisor)
    response = client.post(f"{TWO_FACTOR}?next=https://evil.example/", {"code": code_of(device)})
    assert (response.status_code, response.url) == (302, "/welcome/")  # the workbench's door


def test_a_wrong_code_is_refused_and_logged(client):
    clerk = clerk_of("LABOUR")
    device = TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)
    client.force_login(clerk)

    response = client.post(TWO_FACTOR, {"code": wrong_code_of(device)}, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    [event] = events(SecurityEventKind.SECOND_FACTOR_FAILED)
    assert (event.user, event.ip, event.path, event.detail) == (
        clerk,
        "198.51.100.7",
        TWO_FACTOR,
        "1/5",
    )
    assert client.get("/staff/intake/").status_code == 302
    # The right code, once the device's throttle delay (1 s after one failure) has passed.
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        response = client.post(TWO_FACTOR, {"code": code_of(device)})
        assert response.status_code == 302
        assert client.get("/staff/intake/").status_code == 200


def test_a_code_that_is_not_six_digits_is_not_a_try(client):
    clerk = clerk_of("LABOUR")
    TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)
    client.force_login(clerk)
    response = client.post(TWO_FACTOR, {"code": "12ab"})
    assert response.status_code == 200 and response.context["form"].errors["code"]
    assert not events(SecurityEventKind.SECOND_FACTOR_FAILED)


def test_five_wrong_codes_in_a_row_log_the_session_out(client):
    supervisor = UserFactory(supervisor=True)
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    client.force_login(supervisor)
    for _ in range(4):
        response = client.post(f"{TWO_FACTOR}?next=/supervision/", {"code": wrong_code_of(device)})
        assert response.status_code == 200
    assert client.session[SESSION_KEY] == str(supervisor.pk)

    response = client.post(f"{TWO_FACTOR}?next=/supervision/", {"code": wrong_code_of(device)})

    assert (response.status_code, response.url) == (302, "/accounts/login/?next=/supervision/")
    assert SESSION_KEY not in client.session
    failures = events(SecurityEventKind.SECOND_FACTOR_FAILED)
    assert [e.user for e in failures] == [supervisor] * 5
    assert failures[-1].detail.startswith("5/5")
    assert client.get("/supervision/").url.startswith("/accounts/login/")
    # The device stays throttled for the next log-in: a code right away is not even tried.
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1
    assert not device.verify_is_allowed()[0]


def test_an_enrolment_that_fails_five_times_logs_out_and_leaves_the_device_unconfirmed(client):
    clerk = clerk_of("LABOUR")
    client.force_login(clerk)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=clerk)
    for _ in range(5):
        response = client.post(SETUP, {"code": wrong_code_of(device)})
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    device.refresh_from_db()
    assert not device.confirmed
    assert not events(SecurityEventKind.SECOND_FACTOR_ENROLLED)


def test_the_totp_code_command_prints_the_code_a_demo_account_logs_in_with(client, capsys):
    clerk = clerk_of("LABOUR")
    device = TOTPDevice.objects.create(user=clerk, name="demo", confirmed=True)
    with time_machine.travel(timezone.now(), tick=False):  # one time step for both
        call_command("totp_code", clerk.username)
        code = capsys.readouterr().out.strip()
        assert code == code_of(device)
    client.force_login(clerk)
    response = client.post(TWO_FACTOR, {"code": code})
    assert response.status_code == 302
    # The same step's code was used: the command now gives the next step's, which still works.
    call_command("totp_code", clerk.username)
    assert capsys.readouterr().out.strip() != code


def test_the_totp_code_command_refuses_an_account_without_a_device():
    clerk = clerk_of("LABOUR")
    with pytest.raises(CommandError):
        call_command("totp_code", clerk.username)
    with pytest.raises(CommandError):
        call_command("totp_code", "nobody-by-that-name")


def test_an_administrator_can_remove_a_lost_device_but_never_read_its_key(client):
    admin = administrator()
    own = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client.force_login(admin)
    assert client.post(TWO_FACTOR, {"code": code_of(own)}).status_code == 302
    lost = TOTPDevice.objects.create(user=clerk_of("LABOUR"), name="phone", confirmed=True)

    page = client.get(f"/admin/otp_totp/totpdevice/{lost.pk}/change/")

    assert page.status_code == 200
    assert lost.key not in page.content.decode()
    assert client.get(f"/admin/otp_totp/totpdevice/{lost.pk}/config/").status_code == 403
    response = client.post(f"/admin/otp_totp/totpdevice/{lost.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()


@pytest.mark.real_second_factor
def test_rule_a_staff_account_enrols_only_in_the_window_an_administrator_opened(client):
    from django.conf import settings

    from kuaiban.accounts.models import SecurityEvent, SecurityEventKind

    hours = settings.KUAIBAN_TOTP_ENROL_HOURS
    clerk = UserFactory(clerk=True, date_joined=timezone.now() - timedelta(hours=hours + 1))
    client.force_login(clerk)
    page = client.get("/accounts/two-factor/setup/")
    assert page.status_code == 403 and b'data-testid="enrolment-closed"' in page.content
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    assert SecurityEvent.objects.filter(
        user=clerk, kind=SecurityEventKind.SECOND_FACTOR_FAILED
    ).exists()
    # An administrator sets a new password: the window opens again.
    SecurityEvent.objects.create(
        user=clerk, kind=SecurityEventKind.PASSWORD_SET_BY_ADMIN, username=clerk.username
    )
    assert client.get("/accounts/two-factor/setup/").status_code == 200
