"""One-time codes by SMS, for any purpose that must prove control of a mobile number
(registration, password reset …).

    issue(purpose, phone, *, recipient, ip="") -> None      raises Throttled
    check(purpose, phone, code) -> Check                     ACCEPTED, WRONG, EXPIRED, EXHAUSTED

A code is 6 digits, valid for CODE_TTL (5 minutes), for at most MAX_TRIES (5) guesses; only the
newest code of a purpose and phone counts. Issuing is throttled: one code per RESEND_SECONDS
(60 s) per purpose and phone, PER_HOUR_PHONE codes an hour per phone and PER_HOUR_IP an hour per
client address. The code goes out through the outbox (an SMS to `phone`, whatever number the
`recipient` account holds); only keyed hashes of the code, the phone and the address are stored,
and nothing here logs a code.

`check` writes (the tries count, the code used): call it where its transaction commits even
when the caller then refuses (not inside an atomic block that the refusal rolls back).
"""

from __future__ import annotations

import enum
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notify

from .crypto import keyed_hash
from .models import OneTimeCode

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5
RESEND_SECONDS = 60
PER_HOUR_PHONE = 5
PER_HOUR_IP = 20


class Check(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"  # none issued, expired, or already used
    EXHAUSTED = "exhausted"  # too many wrong tries: a new code is needed

    @property
    def message(self) -> str:
        return {
            Check.ACCEPTED: "",
            Check.WRONG: _("The code is not correct. Check the SMS and try again."),
            Check.EXPIRED: _("The code has expired or was already used. Ask for a new code."),
            Check.EXHAUSTED: _("Too many wrong codes. Ask for a new code."),
        }[self]


class Throttled(ValidationError):
    """Too soon or too many codes; the message says when to try again."""


def _phone_hash(purpose: str, phone: str) -> str:
    return keyed_hash(f"otp-phone:{purpose}:{phone}")


def _code_hash(purpose: str, phone: str, code: str) -> str:
    return keyed_hash(f"otp-code:{purpose}:{phone}:{code}")


@transaction.atomic
def issue(purpose: str, phone: str, *, recipient, ip: str = "") -> None:
    """Send a new code for `purpose` to `phone` (normalised), unless throttled."""
    now = timezone.now()
    phone_hash = _phone_hash(purpose, phone)
    ip_hash = keyed_hash(f"otp-ip:{ip}") if ip else ""
    hour_ago = now - timedelta(hours=1)
    recent = OneTimeCode.objects.filter(phone_hash=phone_hash, created_at__gte=hour_ago)
    latest = recent.order_by("-created_at").values_list("created_at", flat=True).first()
    if latest is not None and (now - latest).total_seconds() < RESEND_SECONDS:
        wait = RESEND_SECONDS - int((now - latest).total_seconds())
        raise Throttled(
            _("A code was just sent. You can ask for another in %(seconds)d seconds.")
            % {"seconds": wait},
            code="resend",
        )
    if recent.count() >= PER_HOUR_PHONE or (
        ip_hash
        and OneTimeCode.objects.filter(ip_hash=ip_hash, created_at__gte=hour_ago).count()
        >= PER_HOUR_IP
    ):
        raise Throttled(
            _("Too many codes were asked for. Please try again in an hour."), code="hourly"
        )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    OneTimeCode.objects.create(
        purpose=purpose,
        phone_hash=phone_hash,
        ip_hash=ip_hash,
        code_hash=_code_hash(purpose, phone, code),
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    notify(
        recipient=recipient,
        subject=_("Verification code"),
        body=_(
            "Your code is %(code)s, valid for %(minutes)d minutes. Never tell it to anyone, "
            "bureau staff included."
        )
        % {"code": code, "minutes": CODE_TTL.seconds // 60},
        channels=[Notification.Channel.SMS],
        phone=phone,
    )


@transaction.atomic
def check(purpose: str, phone: str, code: str) -> Check:
    """Is `code` the newest valid code for `purpose` and `phone`? An accepted code is used up."""
    now = timezone.now()
    row = (
        OneTimeCode.objects.select_for_update()
        .filter(purpose=purpose, phone_hash=_phone_hash(purpose, phone))
        .order_by("-created_at")
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        return Check.EXPIRED
    if row.attempts >= MAX_TRIES:
        return Check.EXHAUSTED
    code = "".join((code or "").split())
    if not secrets.compare_digest(row.code_hash, _code_hash(purpose, phone, code)):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        return Check.EXHAUSTED if row.attempts >= MAX_TRIES else Check.WRONG
    row.used_at = now
    row.save(update_fields=["used_at"])
    return Check.ACCEPTED
