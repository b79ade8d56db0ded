from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.crypto import EncryptedTextField
from kuaiban.accounts.identity import mask_phone
from kuaiban.outbox import OutboxRow


class Notification(OutboxRow):
    """An outbox row, written in the same transaction as the change it reports.

    After commit a Celery task delivers it (`delivery.py`); beat's periodic dispatch picks up
    whatever the task did not (broker down, worker lost). A dispatcher claims a row for a lease
    (`claimed_until`, `claim_token`) and talks to the gateway holding no lock. A failure moves
    `next_attempt_at` on with backoff; after `KUAIBAN_NOTIFY_MAX_ATTEMPTS` failures, or one
    permanent refusal, the row is dead until an administrator retries it. In-app messages are
    delivered by being in the table.
    """

    class Channel(models.TextChoices):
        IN_APP = "in_app", _("In the portal")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    # Empty only for an SMS to someone without an account (a proactive invitation, to `phone`).
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # An SMS to this number instead of the recipient's (a phone confirmed at the window, a code
    # sent to a number being proven).
    phone = EncryptedTextField(_("mobile number"), blank=True, default="", db_default="")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    link = models.CharField(_("link"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            # The dispatch's queue: pending rows, oldest due first.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_due",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["recipient", "-created_at"]),
        ]

    def __str__(self) -> str:
        to = self.recipient if self.recipient_id else mask_phone(self.phone)
        return f"{self.get_channel_display()} → {to}: {self.subject}"
