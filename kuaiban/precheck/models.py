"""Smart pre-check (智能预审) as data: rules per item or bundle checked against the form and the
shared data before submission and at intake (rules.py evaluates them, pure). A finding is
stored once per submission (append-only); the clerk's verdict on it (agree / disagree) is a row
of its own, the latest one counting."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kuaiban.append_only import AppendOnlyModel

from .rules import RuleKind, Severity, params_errors


class PrecheckRule(models.Model):
    """One check: `kind` (rules.py) with its `params`, for the applications of `bundle` or
    including `item` (neither: every application). The explanation is what the applicant (or
    the clerk) reads; its {placeholders} are the kind's (rules.PLACEHOLDERS)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    bundle = models.ForeignKey(
        "catalog.Bundle",
        verbose_name=_("bundle"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    item = models.ForeignKey(
        "catalog.ServiceItem",
        verbose_name=_("item"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=32, choices=RuleKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    explanation_zh = models.TextField(_("explanation (Chinese)"))
    explanation_en = models.TextField(_("explanation (English)"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("pre-check rule")
        verbose_name_plural = _("pre-check rules")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self):
        errors = params_errors(self.kind, self.params)
        if errors:
            raise ValidationError({"params": errors})


class PrecheckFinding(AppendOnlyModel):
    """A rule that fired on an application's submission (warn or flag; a block refuses it)."""

    application = models.ForeignKey(
        "cases.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="precheck_findings",
    )
    rule = models.ForeignKey(
        PrecheckRule,
        verbose_name=_("rule"),
        on_delete=models.PROTECT,
        related_name="findings",
        db_index=False,
    )
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    field = models.CharField(_("form field"), max_length=40, blank=True)
    message_zh = models.TextField(_("message (Chinese)"))
    message_en = models.TextField(_("message (English)"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("pre-check finding")
        verbose_name_plural = _("pre-check findings")
        indexes = [models.Index(fields=["rule", "created_at"])]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.severity}"

    @property
    def message(self) -> str:
        english = (get_language() or "").startswith("en")
        return (self.message_en if english else "") or self.message_zh


class PrecheckVerdict(AppendOnlyModel):
    """The clerk's verdict on a finding, who and when: the latest one counts."""

    finding = models.ForeignKey(
        PrecheckFinding,
        verbose_name=_("finding"),
        on_delete=models.CASCADE,
        related_name="verdicts",
    )
    agreed = models.BooleanField(_("agreed"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("clerk's verdict on a pre-check finding")
        verbose_name_plural = _("clerk's verdicts on pre-check findings")
