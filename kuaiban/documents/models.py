"""Result documents (决定书 / 办结通知) and how an application's results reached the applicant.

A `ResultDocument` is written once, in the transaction of the decision it records: an approval
or a denial of an item case, the refusal of a whole application at intake, or a revocation
(a new document naming the one it revokes, never an edit). It keeps a snapshot of the facts it
prints, so its PDF renders again the same, and a verification code that anyone holding the
paper can check on the public page: random, 16 characters of an alphabet without look-alikes,
stored encrypted (to print it again) and found by its keyed hash (never by the clear code).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.crypto import EncryptedTextField
from kuaiban.append_only import AppendOnlyModel
from kuaiban.cases.models import Application


class DocumentKind(models.TextChoices):
    APPROVAL = "approval", _("Approval")
    DENIAL = "denial", _("Denial")
    REFUSAL = "refusal", _("Refusal at intake")
    REVOCATION = "revocation", _("Revocation")


class ResultDocument(AppendOnlyModel):
    """One decision notice. Append-only: a revocation is another document."""

    application = models.ForeignKey(
        "cases.Application",
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("application"),
    )
    item_case = models.ForeignKey(
        "cases.ItemCase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("item case"),
        help_text=_("Empty: the whole application (a refusal at intake)."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=DocumentKind.choices)
    revokes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revoked_by",
        verbose_name=_("revokes"),
    )
    # What the paper says, as it said it: the reference, the item, the outcome, the reason and
    # legal basis, the decision's date and the applicant's masked name (see services.facts_of).
    facts = models.JSONField(_("facts printed"), default=dict)
    code = EncryptedTextField(_("verification code"))
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )

    class Meta:
        verbose_name = _("result document")
        verbose_name_plural = _("result documents")
        ordering = ["issued_at", "id"]
        constraints = [
            # One document per decision: a case is approved or denied once, an application
            # refused once, a decision revoked once.
            models.UniqueConstraint(
                fields=["item_case", "kind"],
                condition=Q(item_case__isnull=False),
                name="one_document_per_case_and_kind",
            ),
            models.UniqueConstraint(
                fields=["application", "kind"],
                condition=Q(item_case__isnull=True),
                name="one_document_per_application_and_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="revocation", revokes__isnull=False)
                | (~Q(kind="revocation") & Q(revokes__isnull=True)),
                name="document_revocation_names_what_it_revokes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facts.get('reference', '')} {self.kind}"

    @property
    def filename(self) -> str:
        return f"{self.facts.get('reference', 'document')}-{self.pk}.pdf"


class ResultDelivery(models.Model):
    """How an application's results went out together (统一出件): downloaded, handed over at the
    window (the clerk confirms), or posted (the carrier and tracking number recorded). The
    results count as delivered only at `delivered_at`; a posted result has its tracking number
    by then (a database CHECK keeps it so)."""

    class Carrier(models.TextChoices):
        EMS = "ems", _("China Post EMS")
        SF = "sf", _("SF Express")
        POST = "post", _("China Post registered mail")

    application = models.OneToOneField(
        "cases.Application",
        on_delete=models.PROTECT,
        related_name="result_delivery",
        verbose_name=_("application"),
    )
    channel = models.CharField(
        _("result delivery"), max_length=16, choices=Application.Delivery.choices
    )
    carrier = models.CharField(_("carrier"), max_length=16, choices=Carrier.choices, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    delivered_at = models.DateTimeField(_("results delivered"), null=True, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("result delivery")
        verbose_name_plural = _("result deliveries")
        constraints = [
            models.CheckConstraint(
                condition=~Q(channel="mail")
                | Q(delivered_at__isnull=True)
                | (~Q(carrier="") & ~Q(tracking_number="")),
                name="mailed_results_have_a_tracking_number",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.channel}"
