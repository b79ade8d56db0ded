"""Account services: applicants register themselves (citizens with an ID number, enterprises and
public institutions with their unified social credit code).

Errors are ``ValidationError`` dictionaries keyed by the argument's name (``resident_id``,
``credit_code``, ``phone``, ``password`` …) so a form can show each one next to its field.
"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from .crypto import keyed_hash
from .identity import normalize_credit_code, normalize_phone, normalize_resident_id
from .models import Role, User

ENTERPRISE_KINDS = frozenset({"enterprise", "institution"})

DUPLICATE_RESIDENT_ID = _("This ID number is already registered; please log in.")
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
    """A citizen's account. The username is generated; the citizen logs in with the ID number."""
    errors: dict[str, list[ValidationError]] = {}
    real_name = _required_name(real_name, "real_name", errors)
    number = _parse(normalize_resident_id, resident_id, "resident_id", errors)
    phone = _parse(normalize_phone, phone, "phone", errors)
    email = _email(email, errors)
    _raise(errors)

    digest = keyed_hash(number)
    with transaction.atomic():
        if User.objects.filter(resident_id_hash=digest).exists():
            raise ValidationError(
                {"resident_id": ValidationError(DUPLICATE_RESIDENT_ID, code="duplicate")}
            )
        user = User(
            username=_citizen_username(digest),
            role=Role.CITIZEN,
            real_name=real_name,
            display_name=real_name,
            email=email,
            phone=phone,
        )
        user.set_resident_id(number)
        _set_password(user, password)
        _save_new(user, "resident_id", DUPLICATE_RESIDENT_ID)
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
