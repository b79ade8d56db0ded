"""告知承诺制 after the signature (domain.md §5): every commitment is verified afterwards by the
unit handling its material's item (`CommitmentCheck`, on a working-day clock swept like a case's);
a commitment found false leads, after the applicant was heard (`HearingNotice`, 陈述申辩), to the
unit head's decision: the decision stopped or revoked (a transition of the item case, with its
event), a repayment order (`RepaymentOrder`) and a bar from the commitment route
(`CommitmentBar`), lifted only by a recorded decision. Every step is a `CheckEvent` (insert-only).
"""

from datetime import date, datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from kuaiban.append_only import AppendOnlyModel

# The defaults when a material has no policy: 20 working days after the decision to verify,
# 5 working days for the applicant to answer a hearing notice.
DEFAULT_CHECK_DAYS = 20
DEFAULT_HEARING_DAYS = 5


class CheckMethod(models.TextChoices):
    SHARED_DATA = "shared_data", _("Shared data")
    ONLINE = "online", _("Online check")
    ON_SITE = "on_site", _("On-site visit")
    PUBLIC_NOTICE = "public_notice", _("Public notice")


class PolicyManager(models.Manager):
    def get_by_natural_key(self, material_code):
        return self.get(material__code=material_code)


class CheckPolicy(models.Model):
    """How and within how many working days after the decision a commitment replacing this
    material is verified; how long the applicant has to answer a hearing notice. Data, loaded
    from `fixtures/commitments.json`."""

    material = models.OneToOneField(
        "catalog.Material",
        on_delete=models.CASCADE,
        related_name="check_policy",
        verbose_name=_("material"),
    )
    method = models.CharField(
        _("verification method"),
        max_length=16,
        choices=CheckMethod.choices,
        default=CheckMethod.SHARED_DATA,
    )
    days = models.PositiveSmallIntegerField(
        _("verify within (working days after the decision)"),
        default=DEFAULT_CHECK_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(250)],
    )
    hearing_days = models.PositiveSmallIntegerField(
        _("answer to a hearing notice within (working days)"),
        default=DEFAULT_HEARING_DAYS,
        validators=[MinValueValidator(3), MaxValueValidator(60)],
    )

    objects = PolicyManager()

    class Meta:
        verbose_name = _("verification policy")
        verbose_name_plural = _("verification policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(days__gte=1) & Q(hearing_days__gte=3), name="check_policy_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.material}: {self.days}"

    def natural_key(self):
        return (self.material.code,)

    natural_key.dependencies = ["catalog.material"]  # type: ignore[attr-defined]


class CheckState(models.TextChoices):
    OPEN = "open", _("To be verified")
    CONFIRMED = "confirmed", _("Confirmed true")
    FOUND_FALSE = "found_false", _("Found false")


class CommitmentCheck(ConcurrentTransitionMixin, models.Model):
    """The post-hoc verification of one commitment, by the unit that decided the case it served
    (exactly one per commitment: opened at that decision, see `services.checks_open_for_case`)."""

    commitment = models.OneToOneField(
        "cases.Commitment",
        on_delete=models.PROTECT,
        related_name="post_check",
        verbose_name=_("commitment"),
    )
    application = models.ForeignKey(
        "cases.Application",
        on_delete=models.PROTECT,
        related_name="commitment_checks",
        verbose_name=_("application"),
    )
    item_case = models.ForeignKey(
        "cases.ItemCase",
        on_delete=models.PROTECT,
        related_name="commitment_checks",
        verbose_name=_("item case"),
    )
    unit = models.ForeignKey(
        "catalog.Unit", on_delete=models.PROTECT, verbose_name=_("unit"), db_index=False
    )
    material = models.ForeignKey(
        "catalog.Material", on_delete=models.PROTECT, verbose_name=_("material")
    )
    state = FSMField(
        _("state"), default=CheckState.OPEN, choices=CheckState.choices, protected=True
    )
    method = models.CharField(_("verification method"), max_length=16, choices=CheckMethod.choices)
    method_note = models.TextField(_("how it is verified"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    evidence = models.ForeignKey(
        "cases.StoredFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("evidence"),
    )
    outcome_note = models.TextField(_("outcome"), blank=True)
    # The clock: working days from the decision (`cases.deadlines.check_plan`).
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    due_at = models.DateTimeField(_("due"))
    due_provisional = models.BooleanField(_("due time provisional"), default=False)
    # xgettext:no-python-format
    warn_50_at = models.DateTimeField(_("50% of the time"))
    # xgettext:no-python-format
    warn_75_at = models.DateTimeField(_("75% of the time"))
    flag_50_at = models.DateTimeField(_("50% warning fired"), null=True, blank=True)
    flag_75_at = models.DateTimeField(_("75% warning fired"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("flagged overdue"), null=True, blank=True)
    next_flag_at = models.DateTimeField(_("next flag due"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("concluded"), null=True, blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("concluded by"),
    )

    class Meta:
        verbose_name = _("commitment verification")
        verbose_name_plural = _("commitment verifications")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["unit", "state"]),
            models.Index(fields=["opened_at"], name="commitmentcheck_opened"),
            models.Index(
                fields=["next_flag_at"],
                name="commitmentcheck_next_flag",
                condition=Q(next_flag_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.reference}: {self.material.code}"

    @property
    def is_open(self) -> bool:
        return self.state == CheckState.OPEN

    @property
    def on_time(self) -> bool | None:
        if self.concluded_at is None:
            return None
        return self.concluded_at <= self.due_at

    # -- transitions (call only from services) ---------------------------------------------

    @transition(field=state, source=CheckState.OPEN, target=CheckState.CONFIRMED)
    def confirm(self):
        self.concluded_at = timezone.now()

    @transition(field=state, source=CheckState.OPEN, target=CheckState.FOUND_FALSE)
    def find_false(self):
        self.concluded_at = timezone.now()

    # The hearing showed the commitment true after all: the finding is withdrawn.
    @transition(field=state, source=CheckState.FOUND_FALSE, target=CheckState.CONFIRMED)
    def clear(self):
        pass


class CheckAction(models.TextChoices):
    OPEN = "open", _("Verification opened")
    METHOD = "method", _("Method recorded")
    EVIDENCE = "evidence", _("Evidence uploaded")
    CONFIRM = "confirm", _("Confirmed true")
    FIND_FALSE = "find_false", _("Found false")
    # xgettext:no-python-format
    WARN_50 = "warn_50", _("50% of the verification time passed")
    # xgettext:no-python-format
    WARN_75 = "warn_75", _("75% of the verification time passed")
    OVERDUE = "overdue", _("Verification overdue")
    HEARING_NOTICE = "hearing_notice", _("Hearing notice sent")
    HEARING_RESPONSE = "hearing_response", _("Applicant's statement received")
    HEARING_LAPSED = "hearing_lapsed", _("Time to answer over without a statement")
    HEARING_DECISION = "hearing_decision", _("Decision after the hearing")
    CLEARED = "cleared", _("Finding withdrawn after the hearing")
    REPAYMENT_ORDERED = "repayment_ordered", _("Repayment ordered")
    REPAYMENT_PAID = "repayment_paid", _("Repayment recorded as paid")
    BARRED = "barred", _("Barred from the commitment route")
    BAR_LIFTED = "bar_lifted", _("Bar lifted")


class CheckEvent(AppendOnlyModel):
    """One step of a verification and what followed it. Insert-only."""

    check_row = models.ForeignKey(
        CommitmentCheck,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("verification"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    action = models.CharField(_("action"), max_length=24, choices=CheckAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("verification event")
        verbose_name_plural = _("verification events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class HearingState(models.TextChoices):
    SENT = "sent", _("Notice sent, waiting for the applicant")
    RESPONDED = "responded", _("The applicant has answered")
    DECIDED = "decided", _("Decided")


class HearingOutcome(models.TextChoices):
    SANCTIONED = "sanctioned", _("Sanctions decided")
    CLEARED = "cleared", _("No sanction: the commitment is accepted as true")


class HearingNotice(ConcurrentTransitionMixin, models.Model):
    """陈述申辩: before any sanction the applicant is told what was found, the measures intended
    and their legal basis, and may answer until `respond_by`; then the unit head decides."""

    check_row = models.OneToOneField(
        CommitmentCheck,
        on_delete=models.PROTECT,
        related_name="hearing",
        verbose_name=_("verification"),
    )
    state = FSMField(
        _("state"), default=HearingState.SENT, choices=HearingState.choices, protected=True
    )
    facts = models.TextField(_("what was found"))
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("sent by"),
    )
    respond_by = models.DateTimeField(_("answer by"))
    # When the sweep told the unit head that the time to answer was over unanswered (once).
    lapsed_at = models.DateTimeField(_("time to answer over"), null=True, blank=True)
    response = models.TextField(_("the applicant's statement"), blank=True)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=HearingOutcome.choices, blank=True
    )
    decision_reason = models.TextField(_("reason of the decision"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    class Meta:
        verbose_name = _("hearing notice")
        verbose_name_plural = _("hearing notices")
        ordering = ["-sent_at"]
        indexes = [
            models.Index(
                fields=["respond_by"],
                name="hearing_waiting",
                condition=Q(state="sent", lapsed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.check_row}: {self.get_state_display()}"

    def may_answer(self, now: datetime | None = None) -> bool:
        return self.state == HearingState.SENT and (now or timezone.now()) <= self.respond_by

    def may_decide(self, now: datetime | None = None) -> bool:
        """The head decides once the applicant answered or the time to answer is over."""
        return self.state == HearingState.RESPONDED or (
            self.state == HearingState.SENT and (now or timezone.now()) > self.respond_by
        )

    @transition(field=state, source=HearingState.SENT, target=HearingState.RESPONDED)
    def answer(self):
        self.responded_at = timezone.now()

    @transition(
        field=state, source=[HearingState.SENT, HearingState.RESPONDED], target=HearingState.DECIDED
    )
    def decide(self):
        self.decided_at = timezone.now()


class RepaymentOrder(models.Model):
    """Benefits obtained on a false commitment, ordered back: amount, due date, paid or not."""

    check_row = models.ForeignKey(
        CommitmentCheck,
        on_delete=models.PROTECT,
        related_name="repayments",
        verbose_name=_("verification"),
    )
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    due_date = models.DateField(_("to be repaid by"))
    ordered_at = models.DateTimeField(_("ordered"), default=timezone.now)
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ordered by"),
    )
    paid_at = models.DateTimeField(_("recorded as paid"), null=True, blank=True)
    paid_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment recorded by"),
    )

    class Meta:
        verbose_name = _("repayment order")
        verbose_name_plural = _("repayment orders")
        ordering = ["-ordered_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.check_row}: {self.amount}"

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None


class CommitmentBar(models.Model):
    """The applicant may not commit instead of proving (告知承诺制 excludes those with a record of
    a false commitment) from `starts_at` until the end of `until` (always, when empty), unless
    lifted by a recorded decision. A window-only person is a user row too, so one bar covers
    the online and the window routes."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="commitment_bars",
        verbose_name=_("applicant"),
    )
    check_row = models.ForeignKey(
        CommitmentCheck,
        on_delete=models.PROTECT,
        related_name="bars",
        verbose_name=_("verification"),
    )
    reason = models.TextField(_("reason"))
    starts_at = models.DateTimeField(_("from"), default=timezone.now)
    until = models.DateField(_("until"), null=True, blank=True)
    imposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifted by"),
    )
    lift_reason = models.TextField(_("reason for lifting"), blank=True)

    class Meta:
        verbose_name = _("bar from the commitment route")
        verbose_name_plural = _("bars from the commitment route")
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.person}: {self.starts_at:%Y-%m-%d}"

    @staticmethod
    def active_q(today: date) -> Q:
        """Bars in force on `today` (a bar runs to the end of its last day)."""
        return Q(lifted_at__isnull=True) & (Q(until__isnull=True) | Q(until__gte=today))
