"""Issuing, rotating and revoking department clients. The secret leaves the portal once, in the
credential `kbd_<client id>.<secret>` that `client_issue` and `client_rotate` return; only its
keyed hash is kept. Revoking refuses the credential at once (and deactivates the service
account, so nothing else can act as it either)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kuaiban import outbox
from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.models import Role
from kuaiban.catalog.models import Unit

from .models import DepartmentClient, WebhookDelivery

logger = logging.getLogger(__name__)

PREFIX = "kbd_"


def secret_hash(secret: str) -> str:
    return keyed_hash(f"department-client:{secret}")


def credential(client: DepartmentClient, secret: str) -> str:
    return f"{PREFIX}{client.client_id}.{secret}"


@dataclass
class Issued:
    client: DepartmentClient
    credential: str  # `kbd_<client id>.<secret>`: shown once, never stored
    webhook_secret: str  # the key of the webhooks' signature ("" without a webhook)


@transaction.atomic
def client_issue(
    *,
    unit: Unit | None = None,
    kind: str = DepartmentClient.Kind.DEPARTMENT,
    webhook_url: str = "",
    name: str = "",
) -> Issued:
    """A new client for an external unit (kind department) or for the provincial platform (kind
    platform, no unit), with its service account. A department has one live client at a time."""
    if kind == DepartmentClient.Kind.DEPARTMENT:
        if unit is None or unit.kind != Unit.Kind.EXTERNAL:
            raise ValidationError(_("A department client belongs to an external department."))
        if DepartmentClient.objects.filter(unit=unit, revoked_at__isnull=True).exists():
            raise ValidationError(
                _("%(unit)s already has a live client: rotate or revoke it.") % {"unit": unit}
            )
    elif unit is not None:
        raise ValidationError(_("The platform's client belongs to no department."))
    client_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    if not name and unit is None:
        with translation.override(settings.LANGUAGE_CODE):  # stored: in the portal's language
            name = _("Provincial platform")
    name = name or unit.name_zh  # type: ignore[union-attr]
    account = get_user_model()(
        username=f"api-{client_id}",
        display_name=name[:100],
        # A department acts as a reviewer of its own unit: every guard and scope applies as is.
        # The platform reads the programme's figures, as the city's supervision office does.
        role=Role.REVIEWER if unit else Role.SUPERVISOR,
        unit=unit,
    )
    account.set_unusable_password()  # never logs in on the pages
    account.save()
    webhook_secret = secrets.token_urlsafe(32) if webhook_url else ""
    client = DepartmentClient.objects.create(
        kind=kind,
        unit=unit,
        name=name[:100],
        client_id=client_id,
        secret_hash=secret_hash(secret),
        service_account=account,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
    )
    logger.info("department client %s issued for %s", client_id, name)
    return Issued(client, credential(client, secret), webhook_secret)


@transaction.atomic
def client_rotate(*, client: DepartmentClient, webhook_url: str | None = None) -> Issued:
    """A new secret (the old one is refused from now on) and a new webhook signing secret; with
    `webhook_url`, the webhook's address changes too ("" removes it)."""
    client = DepartmentClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        raise ValidationError(_("This client was revoked; issue a new one."))
    secret = secrets.token_urlsafe(32)
    if webhook_url is not None:
        client.webhook_url = webhook_url
    client.webhook_secret = secrets.token_urlsafe(32) if client.webhook_url else ""
    client.secret_hash = secret_hash(secret)
    client.rotated_at = timezone.now()
    client.save()
    logger.info("department client %s rotated", client.client_id)
    return Issued(client, credential(client, secret), client.webhook_secret)


@transaction.atomic
def client_revoke(*, client: DepartmentClient) -> bool:
    """Refuse the client from now on; its pending webhooks are not sent. False if it already
    was revoked."""
    now = timezone.now()
    revoked = DepartmentClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if not revoked:
        return False
    get_user_model().objects.filter(pk=client.service_account_id).update(is_active=False)
    WebhookDelivery.objects.filter(client_id=client.pk, status=outbox.PENDING).update(
        status=outbox.DEAD, last_error="client revoked", claim_token=None, claimed_until=None
    )
    logger.info("department client %s revoked", client.client_id)
    return True


def client_authenticate(credential_text: str) -> DepartmentClient | None:
    """The live client a credential names, or None (unknown, wrong secret, revoked)."""
    if not credential_text.startswith(PREFIX):
        return None
    client_id, _sep, secret = credential_text[len(PREFIX) :].partition(".")
    if not client_id or not secret:
        return None
    client = (
        DepartmentClient.objects.select_related("service_account", "service_account__unit")
        .filter(client_id=client_id, revoked_at__isnull=True)
        .first()
    )
    if client is None or not secrets.compare_digest(client.secret_hash, secret_hash(secret)):
        return None
    return client
