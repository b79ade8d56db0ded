"""Other departments (and the provincial platform) as clients of the open API, and the webhooks
the portal sends them through an outbox (see `webhooks.py` for the contract)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.crypto import EncryptedTextField
from kuaiban.outbox import OutboxRow


class DepartmentClient(models.Model):
    """One credential of an external department (or of the provincial platform): a client id,
    a secret kept only as its keyed hash, and a service account the API acts as. The service
    account is an ordinary user (a reviewer of the external unit; the platform's a city-level
    supervisor), so every guard and every scope of the API applies unchanged and the event log
    names the department; it has no usable password and never opens the pages."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", _("External department")
        PLATFORM = "platform", _("Provincial platform")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    unit = models.ForeignKey(
        "catalog.Unit",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
    )
    name = models.CharField(_("name"), max_length=100)
    client_id = models.CharField(_("client id"), max_length=32, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    service_account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service account"),
        on_delete=models.PROTECT,
        related_name="department_client",
        editable=False,
    )
    webhook_url = models.URLField(_("webhook URL"), max_length=300, blank=True)
    webhook_secret = EncryptedTextField(_("webhook signing secret"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("department client")
        verbose_name_plural = _("department clients")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="platform", unit__isnull=True)
                | Q(kind="department", unit__isnull=False),
                name="department_client_has_its_unit",
            ),
            # One live credential per department: the simulator and the webhooks find it.
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_client_per_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class WebhookDelivery(OutboxRow):
    """An outbox row: one event for one department, written in the transaction of the change it
    reports and POSTed after commit (`webhooks.py`). Claimed for a lease, retried with backoff,
    dead after `KUAIBAN_WEBHOOK_MAX_ATTEMPTS` failures until an administrator retries it."""

    client = models.ForeignKey(
        DepartmentClient,
        verbose_name=_("department client"),
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
    )
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="webhook_due",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["client", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.client.name}"
