"""The campaign as data (domain.md §6): a campaign with its dated phases, each phase's tasks
with a due date and the units responsible, and, once the campaign is launched, one `UnitTask`
per task and unit on a working-day clock (a reminder before, overdue after; swept with the
other clocks). Units file a `UnitSubmission` for their task (the self-assessment and, per bundle
they lead and speed-up item they handle, the docking plan); 局行风办 accepts or returns it.
Every step is a `CampaignEvent` (append-only)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.append_only import AppendOnlyModel
from kuaiban.catalog.models import Bilingual, Bundle, SpeedUpEntry, Unit, localized

# A reminder this many working days before a task is due (the sweep sends it once).
DEFAULT_REMIND_DAYS = 3


class CampaignManager(models.Manager):
    def get_by_natural_key(self, code):
        return self.get(code=code)


class PhaseManager(models.Manager):
    def get_by_natural_key(self, campaign_code, order):
        return self.get(campaign__code=campaign_code, order=order)


class PhaseTaskManager(models.Manager):
    def get_by_natural_key(self, campaign_code, order, code):
        return self.get(phase__campaign__code=campaign_code, phase__order=order, code=code)


class Campaign(Bilingual):
    code = models.CharField(_("code"), max_length=32, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    targets = models.TextField(_("targets"), blank=True)
    # The annual assessment: a unit scoring at least `bonus_from` earns `bonus_points`; one
    # scoring below `accountable_below` (or missing filings, or not rectifying) is accountable.
    bonus_from = models.PositiveSmallIntegerField(_("bonus from score"), default=90)
    bonus_points = models.PositiveSmallIntegerField(_("bonus points"), default=5)
    accountable_below = models.PositiveSmallIntegerField(_("accountable below score"), default=60)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("launched by"),
    )

    objects = CampaignManager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-year", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_dates"
            )
        ]

    def natural_key(self):
        return (self.code,)


class Phase(Bilingual):
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="phases",
        verbose_name=_("campaign"),
        db_index=False,
    )
    order = models.PositiveSmallIntegerField(_("order"))
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"), null=True, blank=True, help_text=_("Empty: open-ended."))

    objects = PhaseManager()

    class Meta:
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        ordering = ["campaign", "order"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "order"], name="one_phase_per_order")
        ]

    def natural_key(self):
        return (*self.campaign.natural_key(), self.order)

    natural_key.dependencies = ["campaigns.campaign"]  # type: ignore[attr-defined]

    def status(self, today) -> str:
        if today < self.starts_on:
            return "upcoming"
        if self.ends_on is not None and today > self.ends_on:
            return "done"
        return "current"


class TaskKind(models.TextChoices):
    DOCKING_PLAN = "docking_plan", _("Docking plan (对接方案)")
    SELF_ASSESSMENT = "self_assessment", _("Self-assessment (自查报告)")
    REPORT = "report", _("Progress report")


class PhaseTask(Bilingual):
    """What every responsible unit files in a phase, by a date."""

    phase = models.ForeignKey(
        Phase,
        on_delete=models.CASCADE,
        related_name="tasks",
        verbose_name=_("phase"),
        db_index=False,
    )
    code = models.CharField(_("code"), max_length=32)
    kind = models.CharField(_("kind"), max_length=24, choices=TaskKind.choices)
    due_on = models.DateField(
        _("due date"), help_text=_("A day off moves it to the next working day.")
    )
    remind_days = models.PositiveSmallIntegerField(
        _("reminder, working days before"), default=DEFAULT_REMIND_DAYS
    )
    units: models.ManyToManyField = models.ManyToManyField(
        Unit, related_name="+", verbose_name=_("responsible units")
    )

    objects = PhaseTaskManager()

    class Meta:
        verbose_name = _("phase task")
        verbose_name_plural = _("phase tasks")
        ordering = ["phase", "due_on", "code"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "code"], name="one_task_code_per_phase")
        ]

    def natural_key(self):
        return (*self.phase.natural_key(), self.code)

    natural_key.dependencies = ["campaigns.phase"]  # type: ignore[attr-defined]


class UnitTaskState(models.TextChoices):
    OPEN = "open", _("To file")
    SUBMITTED = "submitted", _("Filed, under review")
    RETURNED = "returned", _("Returned for changes")
    ACCEPTED = "accepted", _("Accepted")


class UnitTask(models.Model):
    """One task for one unit, on a working-day clock: reminded once before it is due, flagged
    once when due without an accepted filing; a filing after the due time is marked late."""

    task = models.ForeignKey(
        PhaseTask,
        on_delete=models.PROTECT,
        related_name="unit_tasks",
        verbose_name=_("task"),
        db_index=False,
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, verbose_name=_("unit"))
    state = models.CharField(
        _("state"), max_length=16, choices=UnitTaskState.choices, default=UnitTaskState.OPEN
    )
    due_at = models.DateTimeField(_("due time"))
    remind_at = models.DateTimeField(_("reminder"))
    due_provisional = models.BooleanField(_("due time provisional"), default=False)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("flagged overdue"), null=True, blank=True)
    next_flag_at = models.DateTimeField(_("next flag due"), null=True, blank=True)
    first_submitted_at = models.DateTimeField(_("first filed"), null=True, blank=True)
    submitted_late = models.BooleanField(_("filed late"), default=False)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    # The filing: the self-assessment (or report) text; docking-plan lines below.
    text = models.TextField(_("self-assessment"), blank=True)
    review_comments = models.TextField(_("review comments"), blank=True)

    class Meta:
        verbose_name = _("unit task")
        verbose_name_plural = _("unit tasks")
        ordering = ["due_at", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["task", "unit"], name="one_unit_task_per_unit")
        ]
        indexes = [
            models.Index(
                fields=["next_flag_at"],
                name="unittask_next_flag",
                condition=Q(next_flag_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} · {self.unit}"

    @property
    def is_editable(self) -> bool:
        return self.state in (UnitTaskState.OPEN, UnitTaskState.RETURNED)

    def late_at(self, now) -> bool:
        """Due and nothing accepted yet, or not filed at all by then."""
        return (
            self.state != UnitTaskState.ACCEPTED
            and now > self.due_at
            and (self.first_submitted_at is None or self.state == UnitTaskState.RETURNED)
        )


class DockingPlanLine(models.Model):
    """One line of a unit's docking plan (对接方案): for a bundle it leads or a speed-up item it
    handles, the measures, who is responsible, by when, and whether it can become instant."""

    unit_task = models.ForeignKey(
        UnitTask, on_delete=models.CASCADE, related_name="lines", verbose_name=_("unit task")
    )
    bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("bundle")
    )
    speedup = models.ForeignKey(
        SpeedUpEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("speed-up item"),
    )
    measures = models.TextField(_("measures"), max_length=2000, blank=True)
    responsible = models.CharField(_("responsible person"), max_length=100, blank=True)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    can_be_instant = models.BooleanField(_("can become an instant item"), default=False)

    class Meta:
        verbose_name = _("docking plan line")
        verbose_name_plural = _("docking plan lines")
        ordering = ["unit_task", "bundle", "speedup"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bundle__isnull=False, speedup__isnull=True)
                | Q(bundle__isnull=True, speedup__isnull=False),
                name="docking_line_bundle_xor_speedup",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_task}: {self.subject}"

    @property
    def subject(self):
        return self.bundle or self.speedup


class CampaignAction(models.TextChoices):
    LAUNCH = "launch", _("Campaign launched")
    EVALUATION = "evaluation", _("Evaluation opened")
    FINDING = "finding", _("Finding recorded")
    FINDING_OVERDUE = "finding_overdue", _("Finding overdue")
    RECTIFIED = "rectified", _("Finding rectified")
    NOTICE = "notice", _("Notice issued")
    REMIND = "remind", _("Reminder sent")
    OVERDUE = "overdue", _("Overdue")
    SAVE = "save", _("Filing saved")
    SUBMIT = "submit", _("Filed")
    ACCEPT = "accept", _("Accepted")
    RETURN = "return", _("Returned for changes")


class CampaignEvent(AppendOnlyModel):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="events", verbose_name=_("campaign")
    )
    unit_task = models.ForeignKey(
        UnitTask,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("unit task"),
    )
    finding = models.ForeignKey(
        "Finding",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("finding"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    action = models.CharField(_("action"), max_length=16, choices=CampaignAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("campaign event")
        verbose_name_plural = _("campaign events")
        ordering = ["at", "id"]


# -- the acceptance evaluation (考评验收): inspections and improvement opinions ----------------


class ChecklistItemManager(models.Manager):
    def get_by_natural_key(self, code):
        return self.get(code=code)


class ChecklistItem(models.Model):
    """One point of the on-site inspection's checklist (data: fixtures/campaigns.json)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    text_zh = models.CharField(_("text (Chinese)"), max_length=200)
    text_en = models.CharField(_("text (English)"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = ChecklistItemManager()

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.text_zh

    def natural_key(self):
        return (self.code,)

    @property
    def text(self) -> str:
        return localized(self, "text")


class Evaluation(models.Model):
    """The acceptance evaluation of one bundle or speed-up item for a period, led by 局行风办:
    on-site inspections, service experiences and the operation figures (read from the real cases
    by the supervision pages), and the findings they produce."""

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        related_name="evaluations",
        verbose_name=_("campaign"),
    )
    bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("bundle")
    )
    speedup = models.ForeignKey(
        SpeedUpEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("speed-up item"),
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bundle__isnull=False, speedup__isnull=True)
                | Q(bundle__isnull=True, speedup__isnull=False),
                name="evaluation_bundle_xor_speedup",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="evaluation_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"

    @property
    def subject(self):
        return self.bundle or self.speedup

    @property
    def open_findings(self) -> int:
        """Counted from the prefetched findings, when the page prefetched them."""
        return sum(1 for f in self.findings.all() if f.state == FindingState.OPEN)


class OnSiteInspection(models.Model):
    """现场检查 at a hall (and window): each checklist point met or not, and what was seen."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="inspections")
    hall = models.ForeignKey(
        "catalog.ServiceHall", on_delete=models.PROTECT, verbose_name=_("service hall")
    )
    window = models.ForeignKey(
        "catalog.Window", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("window")
    )
    answers = models.JSONField(_("checklist"), default=dict)  # item code → met (bool)
    note = models.TextField(_("what was seen"), max_length=4000, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )

    class Meta:
        verbose_name = _("on-site inspection")
        verbose_name_plural = _("on-site inspections")
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.evaluation} · {self.hall}"


class ServiceExperience(models.Model):
    """服务体验 (a mystery shopper's record): how the service went for someone using it."""

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        WINDOW = "window", _("At a window")
        PHONE = "phone", _("By phone (12333)")

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="experiences")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    steps = models.TextField(_("steps taken"), max_length=4000)
    minutes_taken = models.PositiveIntegerField(_("minutes taken"))
    visits = models.PositiveSmallIntegerField(_("visits needed"), default=0)
    problems = models.TextField(_("problems met"), max_length=4000, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )

    class Meta:
        verbose_name = _("service experience")
        verbose_name_plural = _("service experiences")
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.evaluation} · {self.get_channel_display()}"


class FindingState(models.TextChoices):
    OPEN = "open", _("To rectify")
    CLOSED = "closed", _("Rectified")


class Finding(models.Model):
    """An improvement opinion (整改意见) from an evaluation: what must change, the unit
    responsible and the day it is due; closed by the unit with evidence. Its clock is swept
    with the campaign's filings (overdue flagged once)."""

    class Source(models.TextChoices):
        ON_SITE = "on_site", _("On-site inspection")
        EXPERIENCE = "experience", _("Service experience")
        OPERATION = "operation", _("Operation evaluation")

    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.PROTECT, related_name="findings", verbose_name=_("evaluation")
    )
    source = models.CharField(_("found by"), max_length=16, choices=Source.choices)
    text = models.TextField(_("what must change"), max_length=4000)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, verbose_name=_("responsible unit"))
    rectify_by = models.DateField(_("rectify by"))
    due_at = models.DateTimeField(_("due time"))
    state = models.CharField(
        _("state"), max_length=16, choices=FindingState.choices, default=FindingState.OPEN
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    overdue_at = models.DateTimeField(_("flagged overdue"), null=True, blank=True)
    next_flag_at = models.DateTimeField(_("next flag due"), null=True, blank=True)
    closed_at = models.DateTimeField(_("rectified"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rectified by"),
    )
    rectification = models.TextField(_("what was done"), max_length=4000, blank=True)
    evidence = models.ForeignKey(
        "cases.StoredFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("evidence"),
    )

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["rectify_by", "pk"]
        indexes = [
            models.Index(
                fields=["next_flag_at"],
                name="finding_next_flag",
                condition=Q(next_flag_at__isnull=False),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open") | Q(closed_at__isnull=False, evidence__isnull=False),
                name="finding_closed_with_evidence",
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit}: {self.text[:40]}"

    @property
    def closed_late(self) -> bool:
        return self.closed_at is not None and self.closed_at > self.due_at


# -- scores and circulated notices (通报) ----------------------------------------------------


class CriterionKind(models.TextChoices):
    FILINGS_ON_TIME = "filings_on_time", _("Filings on time")
    FINDINGS_CLOSED = "findings_closed", _("Findings rectified on time")
    CASES_ON_TIME = "cases_on_time", _("Cases concluded on time")
    SATISFACTION = "satisfaction", _("Satisfaction (好差评)")


class ScoreCriterionManager(models.Manager):
    def get_by_natural_key(self, campaign_code, kind):
        return self.get(campaign__code=campaign_code, kind=kind)


class ScoreCriterion(Bilingual):
    """One line of a campaign's scoring rubric for the annual assessment: what it measures and
    the points it is worth (a unit earns the points times its share)."""

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="criteria",
        verbose_name=_("campaign"),
        db_index=False,
    )
    kind = models.CharField(_("measures"), max_length=24, choices=CriterionKind.choices)
    points = models.PositiveSmallIntegerField(_("points"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = ScoreCriterionManager()

    class Meta:
        verbose_name = _("score criterion")
        verbose_name_plural = _("score criteria")
        ordering = ["campaign", "order"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind"], name="one_criterion_per_kind")
        ]

    def natural_key(self):
        return (*self.campaign.natural_key(), self.kind)

    natural_key.dependencies = ["campaigns.campaign"]  # type: ignore[attr-defined]


class NoticeState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")


class Notice(models.Model):
    """A circulated notice (通报) on a period: drafted from the figures and findings, edited by
    the leaders, then issued — numbered within its year and frozen."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="notices", verbose_name=_("campaign")
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), max_length=20000)
    state = models.CharField(
        _("state"), max_length=16, choices=NoticeState.choices, default=NoticeState.DRAFT
    )
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    number = models.PositiveSmallIntegerField(_("number"), null=True, blank=True)
    created_at = models.DateTimeField(_("drafted"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )

    class Meta:
        verbose_name = _("circulated notice")
        verbose_name_plural = _("circulated notices")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="one_notice_number_a_year"),
            models.CheckConstraint(
                condition=Q(state="draft", number__isnull=True)
                | Q(
                    state="issued",
                    number__isnull=False,
                    year__isnull=False,
                    issued_at__isnull=False,
                ),
                name="issued_notice_is_numbered",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or self.title

    @property
    def reference(self) -> str:
        """快办通报〔2026〕3号 once issued."""
        return f"快办通报〔{self.year}〕{self.number}号" if self.number else ""
