"""Account services: applicants register themselves (citizens with an ID number, enterprises and
public institutions with their unified social credit code).

Errors are ``ValidationError`` dictionaries keyed by the argument's name (``resident_id``,
``credit_code``, ``phone``, ``password`` …) so a form can show each one next to its field.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from . import otp
from .crypto import keyed_hash
from .identity import normalize_credit_code, normalize_phone, normalize_resident_id
from .identity_sources import Verdict, source_name, verify_enterprise, verify_identity
from .models import ReferenceEnterprise, ReferenceIdentity, Role, User

ENTERPRISE_KINDS = frozenset({"enterprise", "institution"})

DUPLICATE_CREDIT_CODE = _("This credit code is already registered; please log in.")

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
    """An enterprise's or public institution's account; its username is its credit code.

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

    with transaction.atomic():
        if (
            User.objects.filter(credit_code=code).exists()
            or User.objects.filter(username=code).exists()
        ):
            raise ValidationError(
                {"credit_code": ValidationError(DUPLICATE_CREDIT_CODE, code="duplicate")}
            )
        user = User(
            username=code,
            role=Role.ENTERPRISE,
            real_name=organisation_name,
            display_name=organisation_name,
            credit_code=code,
            contact_name=contact_name,
            legal_representative=legal_representative,
            email=email,
            phone=phone,
        )
        _set_password(user, password)
        _save_new(user, "credit_code", DUPLICATE_CREDIT_CODE)
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
    """A random username for a registrant not yet verified (they log in with the ID number)."""
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


def _save_new(user: User, field: str, duplicate_message) -> None:
    """Insert, turning a lost race against a concurrent registration into the duplicate error."""
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        raise ValidationError(
            {field: ValidationError(duplicate_message, code="duplicate")}
        ) from None


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
        verdict = verify_enterprise(
            user.credit_code or "", user.real_name, user.legal_representative
        )
        if verdict == Verdict.VERIFIED:
            _mark_verified(user, source_name("enterprise"))
        return Verification(verdict, user)
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
    # Claim: the window-only record becomes the registrant's account.
    registrant_username, registrant_password = user.username, user.password
    user.username = "x" + secrets.token_hex(8)
    user.is_active = False
    user.pending_id_hash = ""
    user.set_unusable_password()
    user.save(update_fields=["username", "is_active", "pending_id_hash", "password"])
    holder.username = registrant_username
    holder.real_name = user.real_name
    holder.display_name = user.display_name
    holder.email = user.email
    holder.phone = user.phone
    holder.phone_verified_at = user.phone_verified_at
    holder.window_only = False
    holder.password = registrant_password
    _mark_verified(holder, source_name("identity"))
    return Verification(verdict, holder)


def _mark_verified(user: User, source: str) -> None:
    user.is_verified = True
    user.verified_at = timezone.now()
    user.verification_source = source
    user.save()


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
