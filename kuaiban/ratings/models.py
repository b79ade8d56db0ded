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
