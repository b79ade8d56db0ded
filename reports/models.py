"""Background Excel exports and the written reports to bureau leaders."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportKind(models.TextChoices):
    CASES = "cases", _("Cases behind a figure")
    OVERDUE = "overdue", _("Overdue cases now")
    KPI = "kpi", _("Dashboard tables")
    FLAGS = "flags", _("Deadline flag history")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")  # done, and its file deleted after the retention period


# The owner may stop these, and run those again (as a new job with the same parameters).
CANCELLABLE = (ExportStatus.QUEUED, ExportStatus.RUNNING)
RETRYABLE = (ExportStatus.FAILED, ExportStatus.CANCELLED, ExportStatus.EXPIRED)


class ExportJob(models.Model):
    """One requested workbook. The file lives under MEDIA_ROOT/exports (never the static root)
    and is served only to its owner, as an attachment."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="export_jobs",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    total_rows = models.PositiveIntegerField(_("total rows"), null=True, blank=True)
    file_path = models.CharField(_("file"), max_length=300, blank=True)  # relative to MEDIA_ROOT
    # Which run of the task owns the job now: a re-delivered task takes over, the old run stops.
    run_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # When it was last put in the queue (created or re-queued): a job nobody picks up is re-queued.
    queued_at = models.DateTimeField(_("queued"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # The running run's last sign of life (its claim, then every progress update): a run that
    # stopped beating (a killed worker) is re-queued by the sweeper.
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    requeues = models.PositiveSmallIntegerField(_("times re-queued"), default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The owner's retry of a failed, cancelled or expired job is a new job; one per job, so a
    # second click opens the run the first one started.
    retry_of = models.OneToOneField(
        "self",
        verbose_name=_("retry of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retried_as",
    )

    # Not stored: set after commit by `services.export_request`/`export_retry` when the broker
    # could not be told (the job stays queued; the sweeper sends it again).
    queue_unreachable: bool = False

    class Meta:
        verbose_name = _("Excel export")
        verbose_name_plural = _("Excel exports")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["status", "finished_at"]),  # the sweeper's look-ups
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        """Nothing more will happen to it (the job page stops polling)."""
        return self.status not in CANCELLABLE

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE

    @property
    def can_retry(self) -> bool:
        return self.status in RETRYABLE


class ReportSchedule(models.Model):
    """A leaders' report issued by itself for each past week or month (Celery beat), under its
    author's name, for the filters chosen when it was set up."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Every week (the week before, Monday to Sunday)")
        MONTHLY = "monthly", _("Every month (the month before)")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="report_schedules",
    )
    frequency = models.CharField(_("frequency"), max_length=16, choices=Frequency.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("report schedule")
        verbose_name_plural = _("report schedules")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.author} {self.get_frequency_display()}"


class LeaderReport(models.Model):
    """A written report to bureau leaders: the period and filters it covers (its figures are
    recomputed from them) and the next steps the supervisor wrote."""

    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    next_steps = models.TextField(_("next steps"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="leader_reports",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Issued by a schedule: the workbook as it stood then is kept, frozen.
    schedule = models.ForeignKey(
        ReportSchedule,
        verbose_name=_("schedule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    issued_file = models.CharField(_("issued workbook"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("report to bureau leaders")
        verbose_name_plural = _("reports to bureau leaders")
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.period_start}–{self.period_end}"
