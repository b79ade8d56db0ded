from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.cases.models import FlagKind


class CaseFlag(models.Model):
    """One fired threshold of one case's clock. Each kind fires at most once per case."""

    # No index of its own: `one_flag_per_kind` leads with it.
    item_case = models.ForeignKey(
        "cases.ItemCase",
        on_delete=models.CASCADE,
        related_name="flags",
        verbose_name=_("item case"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=8, choices=FlagKind.choices)
    threshold_at = models.DateTimeField(_("threshold"))
    flagged_at = models.DateTimeField(_("flagged"), default=timezone.now)

    class Meta:
        verbose_name = _("deadline flag")
        verbose_name_plural = _("deadline flags")
        ordering = ["-flagged_at"]
        constraints = [
            models.UniqueConstraint(fields=["item_case", "kind"], name="one_flag_per_kind")
        ]
        indexes = [models.Index(fields=["kind", "flagged_at"])]

    def __str__(self) -> str:
        return f"{self.item_case_id} {self.kind}"


class ClockRecompute(models.Model):
    """A recompute of the open clocks owed after a calendar change, kept in the database so it
    survives an unreachable broker: the task queued for it, or else the next deadline sweep,
    claims it (`services.recompute.recomputes_run_pending`)."""

    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    provisional_only = models.BooleanField(_("provisional clocks only"), default=False)
    # ISO dates of the edited days: only the clocks spanning them; empty: every open clock.
    days = models.JSONField(_("edited days"), default=list, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    moved = models.PositiveIntegerField(_("due times moved"), null=True, blank=True)

    class Meta:
        verbose_name = _("clock recompute")
        verbose_name_plural = _("clock recomputes")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"recompute {self.pk} ({'done' if self.finished_at else 'pending'})"
