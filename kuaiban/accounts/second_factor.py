"""The second factor of every staff account (issue 11 part 4): a TOTP authenticator app, through
django-otp's `TOTPDevice` and its session marker (django_otp.login).

    required(user) -> bool                       staff roles, is_staff, is_superuser
    verified(user) -> bool                       this session passed it (OTPDeviceMiddleware)
    confirmed_device(user) -> TOTPDevice | None  the device that verifies a log-in
    enrolment_device(user) -> TOTPDevice         the unconfirmed device being set up
    secret(device) -> str                        its key in base32, to type into an app
    otpauth_uri(device) -> str                   the otpauth:// URI an app reads
    check(request, device, code) -> Check        ACCEPTED, WRONG, WAIT, LOGGED_OUT
    demo_device(user) -> TOTPDevice              a confirmed device (the demo's accounts)
    usable_code(device) -> str | None            the code an app would show now (demo, tests)

A staff session is verified when `check` accepted a code: the first accepted code of an
enrolment device confirms it (SECOND_FACTOR_ENROLLED). Every refused code is a
SECOND_FACTOR_FAILED event; MAX_FAILURES refused codes in a row end the session. The device
throttles too (django-otp: after n failures in a row the next try waits 2^(n-1) seconds), and
that count survives a new log-in, so logging in again buys no fast guesses.
"""

from __future__ import annotations

import enum
import time
from base64 import b32encode
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import logout
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import security_log
from .models import STAFF_ROLES, SecurityEvent, SecurityEventKind

MAX_FAILURES = 5
FAILURES = "kuaiban_second_factor_failures"  # the session's refused codes in a row


class Check(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    WAIT = "wait"  # the device is throttled: no code is tried until the delay has passed
    LOGGED_OUT = "logged_out"


def required(user) -> bool:
    """Every bureau account (and any account that may open the Django admin) needs it."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.role in STAFF_ROLES or user.is_staff or user.is_superuser


def verified(user) -> bool:
    """`request.user` of a session a code verified (never `user.is_verified`: that field is the
    applicant's real-name verification)."""
    return getattr(user, "otp_device", None) is not None


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def may_enrol(user, now=None) -> bool:
    """The rule "enrol only in the window an administrator opened": within
    KUAIBAN_TOTP_ENROL_HOURS of the account's creation or of the last password an administrator
    set for it. Whoever learns a staff password later cannot bind their own app to the account;
    after a lost phone the administrator removes the device and sets a new password."""
    now = now or timezone.now()
    opened = [user.date_joined]
    last_set = (
        SecurityEvent.objects.filter(user=user, kind=SecurityEventKind.PASSWORD_SET_BY_ADMIN)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last_set:
        opened.append(last_set)
    return now - max(opened) <= timedelta(hours=settings.KUAIBAN_TOTP_ENROL_HOURS)


def enrolment_device(user) -> TOTPDevice:
    """The device being set up: the same secret on every visit until a code confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def secret(device: TOTPDevice) -> str:
    """The key as authenticator apps take it by hand: base32, in groups of four."""
    text = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def otpauth_uri(device: TOTPDevice) -> str:
    return str(device.config_url)


def check(request, device: TOTPDevice, code: str) -> Check:
    """Try a code typed by `request.user` for their `device`; verify the session if it is right,
    count and log it if not. Call outside any transaction a refusal rolls back (the device's
    throttle and the security event must stay)."""
    user = request.user
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        allowed, _detail = locked.verify_is_allowed()
        accepted = allowed and locked.verify_token(code)
        if accepted and not locked.confirmed:
            locked.confirmed = True
            locked.save(update_fields=["confirmed"])
            security_log.record(security_log.Kind.SECOND_FACTOR_ENROLLED, request, user=user)
    if accepted:
        request.session.pop(FAILURES, None)
        request.session.cycle_key()  # a new session id for the higher privilege
        otp_login(request, locked)
        return Check.ACCEPTED
    failures = request.session.get(FAILURES, 0) + 1
    request.session[FAILURES] = failures
    security_log.record(
        security_log.Kind.SECOND_FACTOR_FAILED,
        request,
        user=user,
        detail=f"{failures}/{MAX_FAILURES}" + ("" if allowed else " throttled"),
    )
    if failures >= MAX_FAILURES:
        logout(request)
        return Check.LOGGED_OUT
    return Check.WRONG if allowed else Check.WAIT


def wait_seconds(device: TOTPDevice) -> int:
    """Seconds before the throttled device tries a code again (0 when it would now)."""
    device.refresh_from_db()
    allowed, detail = device.verify_is_allowed()
    if allowed or not detail or "locked_until" not in detail:
        return 0
    return max(1, int((detail["locked_until"] - timezone.now()).total_seconds() + 0.999))


def demo_device(user) -> TOTPDevice:
    """A confirmed device for a demo account, the same one on every run of the set-up."""
    return confirmed_device(user) or TOTPDevice.objects.create(
        user=user, name="demo", confirmed=True
    )


def usable_code(device: TOTPDevice) -> str | None:
    """The code for the current time step (or the next one, which the device also accepts) that
    the device has not accepted yet; None when both were used (wait for the next step)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = time.time()
    for ahead in (0, 1):
        totp.time = now + ahead * device.step
        if totp.t() > device.last_t:
            return f"{totp.token():0{device.digits}d}"
    return None
