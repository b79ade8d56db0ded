"""好差评: the applicants' ratings of concluded cases (domain.md §4).

A rating is a stored fact, written once (append-only, like the event log): nobody, staff
included, changes or deletes it. How long after the conclusion a rating is accepted is data
(`RatingPolicy`), edited in the admin and loaded from `fixtures/ratings.json`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from kuaiban.accounts.crypto import EncryptedTextField
from kuaiban.append_only import AppendOnlyModel
from kuaiban.catalog.models import CodeManager


class Grade(models.IntegerChoices):
    """The five grades of the national template [law]; the last two are bad reviews (差评)."""

    VERY_SATISFIED = 5, _("Very satisfied")
    SATISFIED = 4, _("Satisfied")
    FAIRLY_SATISFIED = 3, _("Fairly satisfied")
    DISSATISFIED = 2, _("Dissatisfied")
    VERY_DISSATISFIED = 1, _("Very dissatisfied")


BAD_GRADES = frozenset({Grade.DISSATISFIED, Grade.VERY_DISSATISFIED})


class Channel(models.TextChoices):
    ONLINE = "online", _("Online (the portal)")
    WINDOW = "window", _("At the window (pad or QR code)")
    SMS_LINK = "sms_link", _("The link in the SMS")
    HOTLINE = "hotline", _("12345 hotline (entered by staff)")


# Channels where a member of staff types the rating in for the person: always marked.
STAFF_ENTERED_CHANNELS = frozenset({Channel.HOTLINE})


class Dimension(models.TextChoices):
    """The national template's dimensions besides the overall grade: online services are rated
    on efficiency, guide accuracy and convenience; window services on service level and
    attitude."""

    EFFICIENCY = "efficiency", _("Efficiency")
    GUIDE_ACCURACY = "guide_accuracy", _("Accuracy of the service guide")
    CONVENIENCE = "convenience", _("Convenience")
    SERVICE_LEVEL = "service_level", _("Service level")
    ATTITUDE = "attitude", _("Attitude")


ONLINE_DIMENSIONS = (Dimension.EFFICIENCY, Dimension.GUIDE_ACCURACY, Dimension.CONVENIENCE)
WINDOW_DIMENSIONS = (Dimension.SERVICE_LEVEL, Dimension.ATTITUDE)


class RatingPolicy(models.Model):
    """How long ratings are accepted. One row, code "default"; data, not code."""

    code = models.CharField(_("code"), max_length=16, unique=True, default="default")
    rating_days = models.PositiveSmallIntegerField(
        _("rating period (calendar days)"),
        default=15,
        help_text=_(
            "A case can be rated until this many days after it concluded; after that it counts "
            "as not rated (never as satisfied)."
        ),
    )

    objects = CodeManager()

    class Meta:
        verbose_name = _("rating policy")
        verbose_name_plural = _("rating policy")

    def __str__(self) -> str:
        return self.code

    def natural_key(self):
        return (self.code,)

    @classmethod
    def current(cls) -> "RatingPolicy":
        return cls.objects.filter(code="default").first() or cls()


class Rating(AppendOnlyModel):
    """One applicant's rating of a concluded item case, or of the whole application (its
    bundle) when `item_case` is empty. Once per case; never changed."""

    application = models.ForeignKey(
        "cases.Application",
        on_delete=models.PROTECT,
        related_name="ratings",
        verbose_name=_("application"),
    )
    item_case = models.ForeignKey(
        "cases.ItemCase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ratings",
        verbose_name=_("item case"),
        help_text=_("Empty: the application (the bundle) as a whole."),
    )
    # Kept for the figures: the unit whose case this is (empty for a whole bundle).
    unit = models.ForeignKey(
        "catalog.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit"),
        db_index=False,
    )
    grade = models.PositiveSmallIntegerField(_("overall grade"), choices=Grade.choices)
    efficiency = models.PositiveSmallIntegerField(
        _("efficiency"), choices=Grade.choices, null=True, blank=True
    )
    guide_accuracy = models.PositiveSmallIntegerField(
        _("accuracy of the service guide"), choices=Grade.choices, null=True, blank=True
    )
    convenience = models.PositiveSmallIntegerField(
        _("convenience"), choices=Grade.choices, null=True, blank=True
    )
    service_level = models.PositiveSmallIntegerField(
        _("service level"), choices=Grade.choices, null=True, blank=True
    )
    attitude = models.PositiveSmallIntegerField(
        _("attitude"), choices=Grade.choices, null=True, blank=True
    )
    comment = EncryptedTextField(_("comment"), blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # The rater is the application's applicant; staff see who only when this is set.
    named = models.BooleanField(
        _("rater named"),
        default=False,
        help_text=_("The rater agreed that the unit sees their name and number."),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by staff"),
        help_text=_("Set when staff typed the rating in for the person (12345 hotline)."),
    )
    rated_at = models.DateTimeField(_("rated"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-rated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item_case"],
                condition=Q(item_case__isnull=False),
                name="one_rating_per_case",
                violation_error_message=_("This case has already been rated."),
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(item_case__isnull=True),
                name="one_rating_per_application",
                violation_error_message=_("This application has already been rated."),
            ),
            models.CheckConstraint(
                condition=Q(grade__gte=1, grade__lte=5), name="rating_grade_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["unit", "rated_at"])]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.item_case_id or '-'}: {self.grade}"

    @property
    def is_bad(self) -> bool:
        return self.grade in BAD_GRADES


class FollowUpKind(models.TextChoices):
    BAD_REVIEW = "bad_review", _("Bad review")
    MISSED_DEADLINE = "missed_deadline", _("Committed time missed (快办要求未落实)")


class KindManager(models.Manager):
    def get_by_natural_key(self, kind):
        return self.get(kind=kind)


class FollowUpPolicy(models.Model):
    """The follow-up's time limits for one kind, in working days from its opening: verify
    (回访核实), rectify or explain and answer the rater, escalate to the supervision office
    (局行风办); and how long the office has to decide an appeal. Data, not code."""

    kind = models.CharField(_("kind"), max_length=16, choices=FollowUpKind.choices, unique=True)
    verify_days = models.PositiveSmallIntegerField(_("verify within (working days)"), default=1)
    answer_days = models.PositiveSmallIntegerField(_("answer within (working days)"), default=5)
    escalate_days = models.PositiveSmallIntegerField(_("escalate at (working days)"), default=15)
    appeal_days = models.PositiveSmallIntegerField(
        _("appeal decided within (working days)"), default=5
    )

    objects = KindManager()

    class Meta:
        verbose_name = _("follow-up policy")
        verbose_name_plural = _("follow-up policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(verify_days__gte=1)
                & Q(answer_days__gte=models.F("verify_days"))
                & Q(escalate_days__gt=models.F("answer_days")),
                name="followup_limits_in_order",
                violation_error_message=_(
                    "Verify first, then answer, then escalate: each limit at least the previous."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    def natural_key(self):
        return (self.kind,)


class FollowUpState(models.TextChoices):
    OPEN = "open", _("Open: to verify")
    VERIFIED = "verified", _("Verified: to rectify or explain, and answer")
    ANSWERED = "answered", _("Answered")
    APPEALED = "appealed", _("Appealed: the supervision office decides")
    APPEAL_UPHELD = "appeal_upheld", _("Closed: appeal upheld")


class Finding(models.TextChoices):
    JUSTIFIED = "justified", _("Justified: rectified")
    NOT_JUSTIFIED = "not_justified", _("Not justified: explained")


class FollowUp(ConcurrentTransitionMixin, models.Model):
    """The follow-up of a bad review, or of a case that missed its committed time: the unit
    verifies, rectifies or explains, and answers the rater, on a working-day clock swept like a
    case's (flags at 50% and 75% of the answer time, overdue, escalation), once each."""

    kind = models.CharField(_("kind"), max_length=16, choices=FollowUpKind.choices)
    state = FSMField(
        _("state"), default=FollowUpState.OPEN, choices=FollowUpState.choices, protected=True
    )
    application = models.ForeignKey(
        "cases.Application",
        on_delete=models.PROTECT,
        related_name="follow_ups",
        verbose_name=_("application"),
    )
    item_case = models.ForeignKey(
        "cases.ItemCase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("item case"),
    )
    unit = models.ForeignKey(
        "catalog.Unit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("unit"),
        db_index=False,
    )
    rating = models.OneToOneField(
        Rating,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_up",
        verbose_name=_("rating"),
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now, db_index=True)
    # The clock, as stored facts (computed by cases.deadlines.followup_plan).
    verify_due_at = models.DateTimeField(_("verify by"))
    answer_due_at = models.DateTimeField(_("answer by"))
    escalate_at = models.DateTimeField(_("escalate at"))
    # xgettext:no-python-format
    warn_50_at = models.DateTimeField(_("50% of the answer time"))
    # xgettext:no-python-format
    warn_75_at = models.DateTimeField(_("75% of the answer time"))
    # xgettext:no-python-format
    flag_50_at = models.DateTimeField(_("50% flag fired"), null=True, blank=True)
    # xgettext:no-python-format
    flag_75_at = models.DateTimeField(_("75% flag fired"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("overdue flag fired"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    next_flag_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The unit's steps.
    contact_note = EncryptedTextField(_("contact and verification"), blank=True)
    finding = models.CharField(_("finding"), max_length=16, choices=Finding.choices, blank=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    rectification = models.TextField(_("rectification or explanation"), blank=True)
    answer = models.TextField(_("answer to the rater"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    # The rater's verdict on the rectification (once).
    rectification_grade = models.PositiveSmallIntegerField(
        _("rectification rated"), choices=Grade.choices, null=True, blank=True
    )
    rectification_rated_at = models.DateTimeField(null=True, blank=True)
    # 申诉复核: the unit appeals a mistaken or malicious review once; the supervision office
    # decides. Upheld, the review leaves the unit's figures (it is never deleted).
    appeal_reason = models.TextField(_("appeal: reason and evidence"), blank=True)
    appealed_at = models.DateTimeField(_("appealed"), null=True, blank=True)
    appealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("appealed by"),
    )
    appeal_due_at = models.DateTimeField(_("appeal to be decided by"), null=True, blank=True)
    appeal_overdue_at = models.DateTimeField(
        _("appeal decision overdue flag fired"), null=True, blank=True
    )
    appeal_decided_at = models.DateTimeField(_("appeal decided"), null=True, blank=True)
    appeal_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("appeal decided by"),
    )
    appeal_upheld = models.BooleanField(_("appeal upheld"), null=True, blank=True)
    appeal_note = models.TextField(_("decision on the appeal"), blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["answer_due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item_case"],
                condition=Q(kind="missed_deadline"),
                name="one_deadline_follow_up_per_case",
            )
        ]
        indexes = [
            models.Index(fields=["unit", "state"]),
            models.Index(
                fields=["next_flag_at"],
                name="followup_next_flag",
                condition=Q(next_flag_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_bad_review(self) -> bool:
        return self.kind == FollowUpKind.BAD_REVIEW

    @transition(field=state, source=FollowUpState.OPEN, target=FollowUpState.VERIFIED)
    def verify(self) -> None:
        self.verified_at = timezone.now()

    @transition(
        field=state,
        source=[FollowUpState.OPEN, FollowUpState.VERIFIED],
        target=FollowUpState.APPEALED,
    )
    def appeal(self) -> None:
        """The answer clock stops while the office decides; only the decision's own due time
        is watched."""
        self.appealed_at = timezone.now()
        self.next_flag_at = self.appeal_due_at

    @transition(field=state, source=FollowUpState.APPEALED, target=FollowUpState.APPEAL_UPHELD)
    def uphold_appeal(self) -> None:
        self.appeal_decided_at = timezone.now()
        self.appeal_upheld = True
        self.next_flag_at = None

    @transition(
        field=state,
        source=FollowUpState.APPEALED,
        target=RETURN_VALUE(FollowUpState.OPEN, FollowUpState.VERIFIED),
    )
    def reject_appeal(self) -> str:
        """Back to where the follow-up was (the caller moves its due times by the time the
        appeal took)."""
        self.appeal_decided_at = timezone.now()
        self.appeal_upheld = False
        return FollowUpState.VERIFIED if self.verified_at else FollowUpState.OPEN

    @transition(field=state, source=FollowUpState.VERIFIED, target=FollowUpState.ANSWERED)
    def give_answer(self) -> None:
        self.answered_at = timezone.now()
        # Answered: the clock stops, nothing more to flag (escalation included).
        self.next_flag_at = None


class FollowUpAction(models.TextChoices):
    OPEN = "open", _("Opened")
    VERIFY = "verify", _("Verified")
    ANSWER = "answer", _("Answered")
    # xgettext:no-python-format
    WARN_50 = "warn_50", _("50% of the answer time passed")
    # xgettext:no-python-format
    WARN_75 = "warn_75", _("75% of the answer time passed")
    OVERDUE = "overdue", _("Not answered in time")
    ESCALATED = "escalated", _("Escalated to the supervision office")
    RECTIFICATION_RATED = "rectification_rated", _("Rectification rated")
    APPEAL = "appeal", _("Appealed by the unit")
    APPEAL_UPHELD = "appeal_upheld", _("Appeal upheld: the review no longer counts")
    APPEAL_REJECTED = "appeal_rejected", _("Appeal rejected: the follow-up goes on")
    APPEAL_OVERDUE = "appeal_overdue", _("Appeal not decided in time")


class FollowUpEvent(AppendOnlyModel):
    """One step of a follow-up: opened, verified, answered, flagged, escalated, appealed,
    decided, rectification rated. Insert-only."""

    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.PROTECT, related_name="events", verbose_name=_("follow-up")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    action = models.CharField(_("action"), max_length=24, choices=FollowUpAction.choices)
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
        verbose_name = _("follow-up event")
        verbose_name_plural = _("follow-up events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.follow_up_id} {self.action}"
