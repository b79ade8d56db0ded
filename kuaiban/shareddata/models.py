"""Shared data fetched for an application (共享数据): one record per application and material,
the local reference records of the demo's sources, and each source's health (its circuit)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.crypto import EncryptedJSONField

from .kinds import DataKind


class FetchStatus(models.TextChoices):
    FOUND = "found", _("Found")
    NO_RECORD = "no_record", _("The source has no record")
    # Timeout, error or circuit open: fetched again later by the retry task.
    UNAVAILABLE = "unavailable", _("Pending: the source was unavailable")


class SharedDataRecord(models.Model):
    """What a source answered for one material of one application. `found`: the material is
    provided as shared data, backed by these facts; `no_record`: the applicant is asked for it
    (before submission) or the staff are told to ask (after a later retry); `unavailable`:
    the material stands as shared and the retry task fetches it again after a backoff."""

    application = models.ForeignKey(
        "cases.Application",
        on_delete=models.CASCADE,
        related_name="shared_data_records",
        db_index=False,
    )
    material = models.ForeignKey("catalog.Material", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("source"), max_length=32, choices=DataKind.choices)
    provider = models.CharField(_("provider"), max_length=16)
    status = models.CharField(_("status"), max_length=16, choices=FetchStatus.choices)
    # The facts returned (may hold personal numbers: encrypted; shown masked).
    facts = EncryptedJSONField(_("facts returned"), blank=True, default=dict)
    source_reference = models.CharField(_("source's reference"), max_length=100, blank=True)
    fetched_at = models.DateTimeField(_("fetched"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    # The applicant's consent to the fetch (ticked by them online, by the clerk at the window).
    consented_at = models.DateTimeField(_("consent given"))
    consented_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # When the applicant was told that a later retry found no record (once).
    no_record_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("shared-data record")
        verbose_name_plural = _("shared-data records")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "material"], name="shareddata_one_record_per_material"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="shareddata_retry_due",
                condition=models.Q(status="unavailable"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.material_id}: {self.status}"


class ReferenceRecord(models.Model):
    """The LOCAL sources of the demo and the tests for the kinds without a table of their own
    (death registrations, social-insurance histories): generated records, never real people,
    found by the keyed hash of the subject's ID number."""

    kind = models.CharField(max_length=32, choices=DataKind.choices)
    subject_hash = models.CharField(max_length=64)
    reference = models.CharField(max_length=100)
    facts = EncryptedJSONField(blank=True, default=dict)

    class Meta:
        verbose_name = _("reference record")
        verbose_name_plural = _("reference records")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_hash"], name="shareddata_reference_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.reference}"


class DataSourceHealth(models.Model):
    """A source's circuit breaker: after N consecutive failures it is not called until
    `open_until`; the first success after that closes it again."""

    kind = models.CharField(max_length=32, choices=DataKind.choices, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("data source health")
        verbose_name_plural = _("data source health")

    def __str__(self) -> str:
        return self.kind
