"""Passwords (issue 11 part 4): every logged-in user changes their own; applicants who forgot
theirs reset it with a code sent by SMS, and the answer never tells whether an account matched;
staff passwords are set by an administrator in the admin. Each is a security event and a notice
through the outbox. Every identity here is generated."""

import importlib
import re

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from kuaiban.accounts.crypto import phone_lookup_hash
from kuaiban.accounts.models import OneTimeCode, Role, SecurityEvent, SecurityEventKind, User
from kuaiban.notifications.models import Notification
from tests.builders import login_request, sms_code
from tests.factories import UserFactory, generated_phone

pytestmark = pytest.mark.django_db

OLD = "pw-for-tests-2026"  # the factory's password
NEW = "Kb-new-pass-2026"
CHANGE = reverse("accounts:password_change")
RESET = reverse("accounts:password_reset")
RESET_CODE = reverse("accounts:password_reset_confirm")


def events(kind, **filters):
    return list(SecurityEvent.objects.filter(kind=kind, **filters))


def notices(user):
    """The password notices queued for `user` (the codes' SMS are sent to a given number)."""
    return list(Notification.objects.filter(recipient=user, phone="", body__contains="12333"))


def codes_sent():
    return OneTimeCode.objects.filter(purpose="password_reset").count()


def ask_reset(client, identifier, **extra):
    return client.post(RESET, {"identifier": identifier}, **extra)


def enter_code(client, code, password=NEW, confirm=None):
    return client.post(
        RESET_CODE,
        {"code": code, "new_password1": password, "new_password2": confirm or password},
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def page(response) -> str:
    """The page without its (per-response) CSRF token."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


# -- change ----------------------------------------------------------------------------------------


def test_a_wrong_old_password_is_refused_and_changes_nothing(client, citizen):
    client.force_login(citizen)
    response = client.post(
        CHANGE, {"old_password": "not-it-2026", "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    citizen.refresh_from_db()
    assert citizen.check_password(OLD)
    assert not events(SecurityEventKind.PASSWORD_CHANGED)
    assert not notices(citizen)


def test_a_new_password_too_short_is_refused_with_the_validators(client, citizen):
    client.force_login(citizen)
    response = client.post(
        CHANGE, {"old_password": OLD, "new_password1": "Ab1-x", "new_password2": "Ab1-x"}
    )
    assert "密码长度太短" in str(response.context["form"].errors["new_password2"])
    citizen.refresh_from_db()
    assert citizen.check_password(OLD)


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.CLERK, Role.ADMINISTRATOR])
def test_changing_the_password_keeps_the_session_records_the_event_and_queues_a_notice(
    client, role
):
    user = UserFactory(role=role, phone=generated_phone())
    client.force_login(user)
    response = client.post(
        CHANGE,
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code == 302 and response.url == reverse("accounts:profile")
    assert client.get(reverse("accounts:profile")).status_code == 200  # still logged in
    user.refresh_from_db()
    assert user.check_password(NEW)
    [event] = events(SecurityEventKind.PASSWORD_CHANGED)
    assert (event.user, event.actor, event.ip) == (user, None, "198.51.100.20")
    channels = {n.channel for n in notices(user)}
    assert channels == {"in_app", "email", "sms"}


def test_the_profile_links_to_the_password_change(client, citizen):
    client.force_login(citizen)
    assert f'href="{CHANGE}"' in client.get(reverse("accounts:profile")).content.decode()


def test_the_login_page_links_to_the_password_reset(client):
    assert f'href="{RESET}"' in client.get(reverse("login")).content.decode()


# -- reset by SMS code ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["resident_id", "phone", "username"])
def test_a_citizen_resets_the_password_with_the_sms_code_and_the_old_one_stops_working(
    client, citizen, typed
):
    identifier = {
        "resident_id": citizen.resident_id.lower(),  # as typed, any case of the X
        "phone": citizen.phone[:3] + " " + citizen.phone[3:],
        "username": citizen.username,
    }[typed]
    response = ask_reset(client, identifier)
    assert (response.status_code, response.url) == (302, RESET_CODE)

    response = enter_code(client, sms_code(citizen.phone))

    assert (response.status_code, response.url) == (302, reverse("login"))
    assert authenticate(login_request(), username=citizen.resident_id, password=NEW) == citizen
    assert authenticate(login_request(), username=citizen.resident_id, password=OLD) is None
    [event] = events(SecurityEventKind.PASSWORD_RESET)
    assert (event.user, event.path) == (citizen, RESET_CODE)
    assert {n.channel for n in notices(citizen)} == {"in_app", "email", "sms"}
    assert client.get(RESET_CODE).url == RESET  # the reset is over


def test_an_enterprise_resets_with_its_credit_code(client, enterprise):
    ask_reset(client, enterprise.credit_code.lower())
    assert enter_code(client, sms_code(enterprise.phone)).url == reverse("login")
    enterprise.refresh_from_db()
    assert enterprise.check_password(NEW)


def test_a_reset_logs_out_the_users_other_sessions(client, citizen):
    elsewhere = Client()
    elsewhere.force_login(citizen)
    assert elsewhere.get(reverse("accounts:profile")).status_code == 200

    ask_reset(client, citizen.resident_id)
    enter_code(client, sms_code(citizen.phone))

    response = elsewhere.get(reverse("accounts:profile"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_wrong_code_is_refused_and_the_password_stays(client, citizen):
    ask_reset(client, citizen.resident_id)
    response = enter_code(client, wrong(sms_code(citizen.phone)))
    assert response.status_code == 200
    assert "验证码不正确" in str(response.context["form"].errors["code"])
    citizen.refresh_from_db()
    assert citizen.check_password(OLD)
    assert not events(SecurityEventKind.PASSWORD_RESET)


def test_an_expired_code_is_refused(client, citizen):
    with time_machine.travel("2026-03-03 10:00:00+08:00", tick=False) as traveller:
        ask_reset(client, citizen.resident_id)
        code = sms_code(citizen.phone)
        traveller.shift(6 * 60)
        response = enter_code(client, code)
    assert "验证码已过期或已使用" in str(response.context["form"].errors["code"])
    citizen.refresh_from_db()
    assert citizen.check_password(OLD)


def test_a_code_is_refused_after_five_wrong_tries_even_the_right_one(client, citizen):
    ask_reset(client, citizen.resident_id)
    right = sms_code(citizen.phone)
    for _ in range(5):
        enter_code(client, wrong(right))
    response = enter_code(client, right)
    assert "错误次数过多" in str(response.context["form"].errors["code"])
    citizen.refresh_from_db()
    assert citizen.check_password(OLD)


def test_a_code_is_used_once(client, citizen):
    ask_reset(client, citizen.resident_id)
    code = sms_code(citizen.phone)
    enter_code(client, code)
    ask_reset(client, citizen.resident_id)  # within the minute: no new code
    response = enter_code(client, code, password="Kb-other-pass-2026")
    assert response.status_code == 200
    citizen.refresh_from_db()
    assert citizen.check_password(NEW)


def test_a_password_like_the_accounts_details_keeps_the_code_accepted_for_a_second_try(client):
    user = UserFactory(citizen=True, email="kuaibanzhangwei@example.invalid")
    ask_reset(client, user.resident_id)
    response = enter_code(client, sms_code(user.phone), password="kuaibanzhangwei")
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    assert "code" not in response.context["form"].fields  # the code was accepted
    response = client.post(RESET_CODE, {"new_password1": NEW, "new_password2": NEW})
    assert response.url == reverse("login")
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_the_answer_is_the_same_whether_an_account_matches_or_not(citizen):
    """Status, redirect, template and text: the same for a real account and for nothing, also
    after wrong codes (only the right code, from the phone, tells anything)."""
    answers = []
    for identifier in (citizen.resident_id, "110101199003077777", "nobody-at-all"):
        client = Client()
        asked = ask_reset(client, identifier)
        shown = client.get(RESET_CODE)
        refused = [enter_code(client, "000000") for _ in range(6)]
        answers.append(
            (
                asked.status_code,
                asked.url,
                shown.status_code,
                [t.name for t in shown.templates],
                page(shown),
                [(r.status_code, page(r)) for r in refused],
            )
        )
    assert answers[0] == answers[1] == answers[2]
    assert codes_sent() == 1


def test_staff_cannot_reset_by_sms_and_get_the_same_answer(citizen):
    clerk = UserFactory(clerk=True, phone=generated_phone())
    answers = []
    for identifier in (clerk.username, clerk.phone, "nobody-at-all"):
        client = Client()
        asked = ask_reset(client, identifier)
        shown = client.get(RESET_CODE)
        answers.append((asked.status_code, asked.url, page(shown)))
    assert answers[0] == answers[1] == answers[2]
    assert codes_sent() == 0
    assert not Notification.objects.filter(recipient=clerk).exists()


def test_a_window_only_record_and_an_unconfirmed_phone_get_no_code(citizen):
    unconfirmed = UserFactory(citizen=True, unverified=True)
    window_only = UserFactory(citizen=True, window_only=True)
    for user in (unconfirmed, window_only):
        ask_reset(Client(), user.phone)
    assert codes_sent() == 0


def test_a_mobile_number_shared_by_two_verified_accounts_sends_no_code_but_the_id_number_does(
    citizen,
):
    enterprise = UserFactory(enterprise=True, phone=citizen.phone)
    ask_reset(Client(), citizen.phone)
    assert codes_sent() == 0
    ask_reset(Client(), citizen.resident_id)
    assert codes_sent() == 1
    assert not Notification.objects.filter(recipient=enterprise).exists()


def test_the_reset_is_throttled_per_ip(client, settings, citizen):
    settings.PASSWORD_RESET_ATTEMPTS_PER_HOUR = 3
    with time_machine.travel("2026-03-03 10:05:00+08:00", tick=False):
        for _ in range(3):
            assert ask_reset(client, "nobody", REMOTE_ADDR="203.0.113.30").status_code == 302
        refused = ask_reset(client, citizen.resident_id, REMOTE_ADDR="203.0.113.30")
        assert refused.status_code == 429
        assert refused.context["form"].non_field_errors()
        assert ask_reset(client, "nobody", REMOTE_ADDR="203.0.113.31").status_code == 302
    assert codes_sent() == 0
    assert events(SecurityEventKind.PASSWORD_RESET_THROTTLED)


def test_someone_logged_in_is_sent_to_the_password_change(client, citizen):
    client.force_login(citizen)
    assert client.get(RESET).url == CHANGE
    assert client.get(RESET_CODE).url == CHANGE


def test_the_code_page_without_a_request_sends_back_to_the_first_step(client):
    assert client.get(RESET_CODE).url == RESET


# -- the mobile number's look-up hash ------------------------------------------------------------


def test_the_phone_look_up_hash_follows_every_save_of_the_number(citizen):
    assert citizen.phone_hash == phone_lookup_hash(citizen.phone)
    citizen.phone = generated_phone()
    citizen.save(update_fields=["phone"])
    stored = User.objects.values_list("phone_hash", flat=True).get(pk=citizen.pk)
    assert stored == phone_lookup_hash(citizen.phone) != ""
    citizen.phone = ""
    citizen.save()
    assert User.objects.values_list("phone_hash", flat=True).get(pk=citizen.pk) == ""


def test_the_migration_fills_the_phone_hash_of_existing_accounts(citizen, enterprise):
    User.objects.update(phone_hash="")
    migration = importlib.import_module(
        "kuaiban.accounts.migrations.0004_phone_hash_password_reset"
    )
    migration.fill_phone_hash(apps, None)
    for user in (citizen, enterprise):
        stored = User.objects.values_list("phone_hash", flat=True).get(pk=user.pk)
        assert stored == phone_lookup_hash(user.phone)


# -- set by an administrator ----------------------------------------------------------------------


def admin_password_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/password/"


def test_an_administrator_setting_a_staff_password_is_recorded_with_the_actor(client):
    admin = UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    clerk = UserFactory(clerk=True)
    client.force_login(admin)
    response = client.post(
        admin_password_url(clerk),
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
        REMOTE_ADDR="198.51.100.22",
    )
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password(NEW)
    [event] = events(SecurityEventKind.PASSWORD_SET_BY_ADMIN)
    assert (event.user, event.actor, event.ip) == (clerk, admin, "198.51.100.22")
    assert {n.channel for n in notices(clerk)} == {"in_app", "email"}


def test_a_refused_admin_password_form_records_nothing(client):
    admin = UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    clerk = UserFactory(clerk=True)
    client.force_login(admin)
    response = client.post(
        admin_password_url(clerk),
        {"password1": NEW, "password2": NEW + "!", "usable_password": "true"},
    )
    assert response.status_code == 200
    assert not events(SecurityEventKind.PASSWORD_SET_BY_ADMIN)
    assert User.objects.get(pk=clerk.pk).check_password(OLD)


def test_a_reset_by_sms_code_lifts_a_pause_of_the_account_and_records_it(client, citizen):
    from django.conf import settings as django_settings

    ip = "198.51.100.77"
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"), {"username": citizen.username, "password": "x"}, REMOTE_ADDR=ip
        )
    paused = client.post(
        reverse("login"), {"username": citizen.username, "password": OLD}, REMOTE_ADDR=ip
    )
    assert paused.status_code == 429
    ask_reset(client, citizen.username)
    enter_code(client, sms_code(citizen.phone))
    [event] = events(SecurityEventKind.UNLOCKED)
    assert (event.user, event.actor) == (citizen, citizen)
    back = client.post(
        reverse("login"), {"username": citizen.username, "password": NEW}, REMOTE_ADDR=ip
    )
    assert back.status_code == 302
