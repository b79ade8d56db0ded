"""Enterprises and institutions served in person at the window (issue 16 part 5): the clerk
identifies the organisation by its unified social credit code (check character) and name, and
the agent (经办人) who came by their ID card. The application is the organisation's: its
verified account when the name matches, else its window-only record (no login; claimed when
the organisation registers and passes the market-registration check), like a window citizen's."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import normalize_credit_code
from kuaiban.accounts.models import Role, User
from kuaiban.cases.models import Application


def enterprise_errors(credit_code: str, name: str) -> dict[str, list[str]]:
    """The organisation's fields' errors, by field (empty when both are valid)."""
    errors = {}
    try:
        normalize_credit_code(credit_code)
    except ValidationError as error:
        errors["credit_code"] = error.messages
    if not (name or "").strip():
        errors["organisation_name"] = [_("This field is required.")]
    return errors


def enterprise_for_intake(*, credit_code: str, name: str, phone: str) -> User:
    """The organisation with this (valid) credit code: its account holding the code when the
    name matches, else a window-only record created on first use. An unverified registration
    never holds the code itself (it keeps a pending code), so typing a code claims nothing."""
    holder = User.objects.select_for_update().filter(credit_code=credit_code).first()
    if holder is not None and (holder.role != Role.ENTERPRISE or not holder.is_active):
        raise ValidationError(
            {"credit_code": _("This credit code belongs to an account that cannot apply here.")}
        )
    if holder is None:
        record = User(
            username=_window_username(credit_code),
            role=Role.ENTERPRISE,
            real_name=name,
            display_name=name,
            credit_code=credit_code,
            phone=phone,
            window_only=True,
        )
        record.set_unusable_password()
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            # Another window recorded the same organisation at the same moment.
            holder = User.objects.filter(credit_code=credit_code).first()
            if holder is None:
                raise
        else:
            return record
    if (holder.real_name or "").strip() != name:
        raise ValidationError({"organisation_name": _("The name does not match the credit code.")})
    return holder


def _window_username(credit_code: str) -> str:
    digest = keyed_hash(credit_code)
    for length in range(12, len(digest) + 1, 4):
        username = "e" + digest[:length]
        if not User.objects.filter(username=username).exists():
            return username
    return "e" + digest


def record_agent(application: Application, *, name: str, resident_id: str) -> None:
    """The agent who came this sitting (the one who came last is the one on record)."""
    if application.agent_name != name or application.agent_resident_id != resident_id:
        application.agent_name = name
        application.agent_resident_id = resident_id
        application.save(update_fields=["agent_name", "agent_resident_id"])
