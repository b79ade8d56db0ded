"""Account services: applicants register themselves (citizens with an ID number, enterprises and
public institutions with their unified social credit code).

Errors are ``ValidationError`` dictionaries keyed by the argument's name (``resident_id``,
``credit_code``, ``phone``, ``password`` …) so a form can show each one next to its field.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from kuaiban.notifications.services import notify

from . import lockout, otp, security_log
from .backends import accounts_named
from .crypto import keyed_hash, phone_lookup_hash
from .identity import normalize_credit_code, normalize_phone, normalize_resident_id
from .identity_sources import Verdict, source_name, verify_enterprise, verify_identity
from .models import ReferenceEnterprise, ReferenceIdentity, Role, User

logger = logging.getLogger(__name__)

ENTERPRISE_KINDS = frozenset({"enterprise", "institution"})

# Django 5.2 changed this validator message to "%d" and its Chinese catalog has not caught up;
# marked here so that makemessages keeps our translation of it in the project catalog.
PASSWORD_TOO_SHORT = ngettext_lazy(
    "This password is too short. It must contain at least %d character.",
    "This password is too short. It must contain at least %d characters.",
    "min_length",
)


def citizen_register(
    *, real_name: str, resident_id: str, phone: str, password: str, email: str = ""
) -> User:
    """A citizen's account, not yet verified: the phone is proven by a code (`phone_confirm`),
    then the name and number are checked (`identity_verify`). Until then the ID number is only a
    pending hash, so registering a number that exists gives the same answer as any other and
    claims nothing; the citizen logs in with the ID number either way."""
    errors: dict[str, list[ValidationError]] = {}
    real_name = _required_name(real_name, "real_name", errors)
    number = _parse(normalize_resident_id, resident_id, "resident_id", errors)
    phone = _parse(normalize_phone, phone, "phone", errors)
    email = _email(email, errors)
    _raise(errors)

    user = User(
        username=_unverified_username(),
        role=Role.CITIZEN,
        real_name=real_name,
        display_name=real_name,
        email=email,
        phone=phone,
        resident_id=number,
        pending_id_hash=keyed_hash(number),
    )
    _set_password(user, password)
    with transaction.atomic():
        user.save(force_insert=True)
    return user


def enterprise_register(
    *,
    organisation_name: str,
    credit_code: str,
    contact_name: str,
    phone: str,
    password: str,
    email: str = "",
    kind: str = "enterprise",
    legal_representative: str = "",
) -> User:
    """An enterprise's or public institution's account, not yet verified: as for citizens, the
    phone is proven by a code, then the credit code, name and legal representative are checked
    against the market register (`identity_verify`), and only then does the account hold the
    credit code (and take it as its username). Until then the code is only pending, so
    registering a code that has an account gives the same answer as any other code and claims
    nothing; the registrant logs in with the credit code either way.

    ``kind`` is "enterprise" or "institution"; both get the enterprise role (the user model has
    no finer distinction).
    """
    errors: dict[str, list[ValidationError]] = {}
    if kind not in ENTERPRISE_KINDS:
        errors["kind"] = [ValidationError(_("Unknown kind of organisation."), code="kind")]
    organisation_name = _required_name(organisation_name, "organisation_name", errors)
    code = _parse(normalize_credit_code, credit_code, "credit_code", errors)
    contact_name = _required_name(contact_name, "contact_name", errors)
    legal_representative = _required_name(legal_representative, "legal_representative", errors)
    phone = _parse(normalize_phone, phone, "phone", errors)
    email = _email(email, errors)
    _raise(errors)

    user = User(
        username=_unverified_username(),
        role=Role.ENTERPRISE,
        real_name=organisation_name,
        display_name=organisation_name,
        pending_credit_code=code,
        contact_name=contact_name,
        legal_representative=legal_representative,
        email=email,
        phone=phone,
    )
    _set_password(user, password)
    with transaction.atomic():
        user.save(force_insert=True)
    return user


# -- helpers ---------------------------------------------------------------------------------------


def _parse(normalize, value, field, errors):
    try:
        return normalize(value)
    except ValidationError as error:
        errors.setdefault(field, []).append(error)
        return ""


def _required_name(value: str, field: str, errors) -> str:
    value = " ".join((value or "").split())
    if not value:
        errors.setdefault(field, []).append(
            ValidationError(_("This field is required."), code="required")
        )
    elif len(value) > 100:
        errors.setdefault(field, []).append(
            ValidationError(_("Enter at most 100 characters."), code="max_length")
        )
    return value


def _email(value: str, errors) -> str:
    value = User.objects.normalize_email((value or "").strip())
    if value:
        try:
            validate_email(value)
        except ValidationError as error:
            errors.setdefault("email", []).append(error)
    return value


def _raise(errors) -> None:
    if errors:
        raise ValidationError(errors)


def _set_password(user: User, password: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.error_list}) from None
    user.set_password(password)


def _unverified_username() -> str:
    """A random username for a registrant not yet verified (they log in with the ID number or
    the credit code)."""
    while True:
        username = "u" + secrets.token_hex(8)
        if not User.objects.filter(username=username).exists():
            return username


def _citizen_username(digest: str) -> str:
    """ "c" + the first 12 hex characters of the keyed hash; longer in the (unlikely) event that
    another ID number's hash shares the prefix."""
    for length in range(12, len(digest) + 1, 4):
        username = "c" + digest[:length]
        if not User.objects.filter(username=username).exists():
            return username
    return "c" + digest


# -- real-name verification --------------------------------------------------------------------

PHONE_CODE_PURPOSE = "register"


def phone_code_send(*, user: User, ip: str = "") -> None:
    """Send the registration code to the account's phone (throttled: otp.Throttled)."""
    otp.issue(PHONE_CODE_PURPOSE, user.phone, recipient=user, ip=ip)


def phone_confirm(*, user: User, code: str) -> otp.Check:
    """The code proves the phone; on ACCEPTED the phone is verified (and only then)."""
    result = otp.check(PHONE_CODE_PURPOSE, user.phone, code)
    if result == otp.Check.ACCEPTED:
        user.phone_verified_at = timezone.now()
        user.save(update_fields=["phone_verified_at"])
    return result


@dataclass
class Verification:
    verdict: Verdict
    account: User  # the verified account: the registrant, or the window-only record it became
    taken: bool = False  # verified, but another account already holds the number


@transaction.atomic
def identity_verify(*, user: User) -> Verification:
    """Check a phone-verified applicant's name and number (citizens) or credit code, name and
    legal representative (enterprises) against the configured source.

    VERIFIED: the account becomes verified. A citizen whose number has a window-only record
    claims it: the record becomes this account (password, phone, e-mail, username move over, the
    registrant's row is closed), so the window applications are theirs. If a login-able account
    already holds the number, nothing changes (`taken`). MISMATCH and UNAVAILABLE leave the
    account unverified (UNAVAILABLE: try again later, from the profile page)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_verified or not user.is_applicant:
        return Verification(Verdict.VERIFIED, user)
    if user.phone_verified_at is None:
        raise ValidationError(_("Confirm your mobile number first."), code="phone")
    if user.role == Role.ENTERPRISE:
        return _enterprise_verify(user)
    number = user.resident_id
    verdict = verify_identity(user.real_name, number)
    if verdict != Verdict.VERIFIED:
        return Verification(verdict, user)
    digest = keyed_hash(number)
    holder = User.objects.select_for_update().filter(resident_id_hash=digest).first()
    if holder is None:
        user.set_resident_id(number)
        user.pending_id_hash = ""
        _mark_verified(user, source_name("identity"))
        return Verification(verdict, user)
    if not holder.window_only:
        return Verification(verdict, user, taken=True)
    return Verification(verdict, _window_record_claimed(user, holder, source_name("identity")))


def _window_record_claimed(user: User, holder: User, source: str) -> User:
    """Claim: the window-only record (a person's, or an enterprise's served at the window)
    becomes the registrant's account; the registrant's own row is closed."""
    registrant_username, registrant_password = user.username, user.password
    user.username = "x" + secrets.token_hex(8)
    user.is_active = False
    user.pending_id_hash = ""
    user.pending_credit_code = ""
    user.set_unusable_password()
    user.save(
        update_fields=[
            "username",
            "is_active",
            "pending_id_hash",
            "pending_credit_code",
            "password",
        ]
    )
    holder.username = registrant_username
    holder.real_name = user.real_name
    holder.display_name = user.display_name
    holder.email = user.email
    holder.phone = user.phone
    holder.phone_verified_at = user.phone_verified_at
    holder.legal_representative = user.legal_representative or holder.legal_representative
    holder.contact_name = user.contact_name or holder.contact_name
    holder.window_only = False
    holder.password = registrant_password
    _mark_verified(holder, source)
    return holder


def _enterprise_verify(user: User) -> Verification:
    """VERIFIED: the account takes its pending credit code (and the code as username, when no
    other account has that username), unless another account already holds the code (`taken`:
    nothing changes, as for a citizen's number)."""
    code = user.credit_code or user.pending_credit_code
    verdict = verify_enterprise(code, user.real_name, user.legal_representative)
    if verdict != Verdict.VERIFIED:
        return Verification(verdict, user)
    if user.credit_code is None:
        holder = User.objects.select_for_update().filter(credit_code=code).first()
        if holder is not None and holder.window_only and holder.role == Role.ENTERPRISE:
            # Served at the window before registering: the registrant claims that record.
            claimed = _window_record_claimed(user, holder, source_name("enterprise"))
            if not User.objects.filter(username=code).exists():
                claimed.username = code
                claimed.save(update_fields=["username"])
            return Verification(verdict, claimed)
        if holder is not None:
            return Verification(verdict, user, taken=True)
        user.credit_code = code
        user.pending_credit_code = ""
        if not User.objects.filter(username=code).exists():
            user.username = code
    try:
        with transaction.atomic():
            _mark_verified(user, source_name("enterprise"))
    except IntegrityError:  # a concurrent registration of the same code was verified first
        return Verification(verdict, User.objects.get(pk=user.pk), taken=True)
    return Verification(verdict, user)


def _mark_verified(user: User, source: str) -> None:
    user.is_verified = True
    user.verified_at = timezone.now()
    user.verification_source = source
    user.save()
    if user.role == Role.CITIZEN:
        citizen_verified(user)


# Subscribers told when a citizen's account becomes real-name verified (the kernel names no
# app above it: proactive services subscribe in their AppConfig.ready).
VerifiedSubscriber = Callable[[User], object]
_verified_subscribers: list[VerifiedSubscriber] = []


def on_citizen_verified(subscriber: VerifiedSubscriber) -> VerifiedSubscriber:
    """Register `subscriber(user)` to hear, after the commit, of every citizen verified."""
    if subscriber not in _verified_subscribers:
        _verified_subscribers.append(subscriber)
    return subscriber


def citizen_verified(user: User) -> None:
    """Announce a citizen's verification once its transaction commits; a subscriber's failure
    is logged and never undoes the verification (the daily run catches up)."""
    pk = user.pk

    def announce() -> None:
        account = User.objects.get(pk=pk)
        for subscriber in list(_verified_subscribers):
            try:
                subscriber(account)
            except Exception:
                logger.exception("a subscriber to citizen verification failed")

    transaction.on_commit(announce)


def reference_identities_load(people) -> int:
    """Fill the LOCAL population-data source with (name, normalised ID number) pairs: generated
    identities for the demo and the tests, never real people. Idempotent."""
    count = 0
    for name, number in people:
        ReferenceIdentity.objects.update_or_create(
            number_hash=keyed_hash(number), defaults={"name": name}
        )
        count += 1
    return count


def reference_enterprises_load(records) -> int:
    """Fill the LOCAL market-registration source with (credit code, name, representative)."""
    count = 0
    for code, name, representative in records:
        ReferenceEnterprise.objects.update_or_create(
            credit_code=code, defaults={"name": name, "representative": representative}
        )
        count += 1
    return count


# -- passwords ---------------------------------------------------------------------------------

PASSWORD_RESET_PURPOSE = "password_reset"  # noqa: S105 (the purpose of an SMS code)


@transaction.atomic
def password_change(*, user: User, password: str, request=None) -> None:
    """The logged-in user's new password (the form checked the old one). Recorded in the security
    log and told to the user through the outbox. `request` only gives the log its address; the
    view keeps the session (update_session_auth_hash)."""
    _set_password(user, password)
    user.save(update_fields=["password"])
    security_log.record(security_log.Kind.PASSWORD_CHANGED, request, user=user)
    _password_notice(
        user,
        gettext(
            "The password of your account was changed on %(when)s. If it was not you, call "
            "12333 at once."
        ),
    )


def may_reset_by_sms(user: User) -> bool:
    """Applicants with a login and a proven mobile number; never staff (an administrator resets
    their passwords), never a window-only record."""
    return (
        user.is_active
        and user.is_applicant
        and not user.window_only
        and bool(user.phone)
        and user.phone_verified_at is not None
    )


def password_reset_account(identifier: str) -> User | None:
    """The account a reset request names: by mobile number, or by the name one logs in with (ID
    number, credit code, username). Only an account that `may_reset_by_sms`; when several hold a
    mobile number, the one verified account among them, else none (the user types their ID
    number or credit code instead)."""
    typed = (identifier or "").strip()
    if not typed:
        return None
    try:
        phone = normalize_phone(typed)
    except ValidationError:
        candidates = accounts_named(typed)
    else:
        candidates = [
            user
            for user in User.objects.filter(phone_hash=phone_lookup_hash(phone)).order_by("pk")[:20]
            if user.phone == phone
        ]
    eligible = [user for user in candidates if may_reset_by_sms(user)]
    verified = [user for user in eligible if user.is_verified]
    if len(verified) == 1:
        return verified[0]
    if not verified and len(eligible) == 1:
        return eligible[0]
    return None


def password_reset_send(*, identifier: str, ip: str = "") -> User | None:
    """Send a reset code to the phone of the account `identifier` names, if there is one that
    may reset by SMS; the account (or None). The caller's answer must not depend on it: a
    throttled code is not an error either (the last code sent stays valid)."""
    user = password_reset_account(identifier)
    if user is not None:
        try:
            otp.issue(PASSWORD_RESET_PURPOSE, user.phone, recipient=user, ip=ip)
        except otp.Throttled as error:
            logger.info("password reset code for user %s not sent: %s", user.pk, error.code)
    return user


def password_reset_check(*, user: User, code: str) -> otp.Check:
    """Is `code` the reset code sent to the account's phone? An accepted code is used up."""
    return otp.check(PASSWORD_RESET_PURPOSE, user.phone, code)


@transaction.atomic
def password_reset(*, user: User, password: str, request=None) -> None:
    """The new password of an applicant who proved their phone with a reset code. The new hash
    logs out every other session of theirs (Django checks the session's password hash)."""
    _set_password(user, password)
    user.save(update_fields=["password"])
    security_log.record(security_log.Kind.PASSWORD_RESET, request, user=user)
    # Whoever proved the phone may log in again at once: a pause from earlier failures (the
    # forgotten password's, or someone else's guesses) is lifted, recorded as theirs.
    lockout.unlock_accounts([user], actor=user, request=request)
    _password_notice(
        user,
        gettext(
            "The password of your account was reset with a code sent to your mobile number on "
            "%(when)s. If it was not you, call 12333 at once."
        ),
    )


@transaction.atomic
def password_set_by_admin(*, user: User, actor: User, request=None) -> None:
    """Record that an administrator set (or disabled) `user`'s password, and tell the user."""
    security_log.record(
        security_log.Kind.PASSWORD_SET_BY_ADMIN,
        request,
        user=user,
        actor=actor,
        detail="" if user.has_usable_password() else "password login disabled",
    )
    lockout.unlock_accounts([user], actor=actor, request=request)
    _password_notice(
        user,
        gettext(
            "An administrator set a new password for your account on %(when)s. If you did not "
            "ask for it, call 12333 at once."
        ),
    )


def _password_notice(user: User, body: str) -> None:
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    notify(recipient=user, subject=gettext("Your password was changed"), body=body % {"when": when})
