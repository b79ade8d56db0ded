"""The service catalog as data: units, windows, halls, items, materials, bundles, speed-up list.

Everything the bureau may change (names, limits, which items a bundle includes, which materials an
item needs) lives in these tables and is edited in the admin or through the Excel workbook. No
Python code names a particular bundle or item.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kuaiban.shareddata.kinds import DataKind
from kuaiban.workdays.units import ITEM_LIMIT_UNITS, LimitUnit

code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
    _("Use letters, digits, '-' or '_' only."),
)


class CodeManager(models.Manager):
    """Lets fixtures and the Excel import refer to rows by their stable code (natural key)."""

    def get_by_natural_key(self, code):
        return self.get(code=code)


class Bilingual(models.Model):
    """A Chinese name (authoritative) and an English name shown when English is switched on."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        code = getattr(self, "code", "")
        return f"{code} {self.name_zh}".strip()

    @property
    def name(self) -> str:
        return localized(self, "name")


def localized(obj, field: str) -> str:
    """`field_en` when English is active and filled in, else the Chinese `field_zh`."""
    language = (get_language() or "zh-hans").lower()
    if language.startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, f"{field}_zh")


class Unit(Bilingual):
    """An internal unit of the bureau, or an external department items are pushed to."""

    class Kind(models.TextChoices):
        INTERNAL = "internal", _("Bureau unit")
        EXTERNAL = "external", _("External department")

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INTERNAL)
    phone = models.CharField(_("consultation phone"), max_length=40, blank=True)
    reviews_guides = models.BooleanField(
        _("reviews service guides"),
        default=False,
        help_text=_(
            "The legal-review unit (政策法规处): its reviewers approve or return changes to the "
            "service guides."
        ),
    )

    objects = CodeManager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["code"]

    def natural_key(self):
        return (self.code,)


class Window(Bilingual):
    """A one-window intake category (一窗分类受理), or the 一窗通办 window for bundles."""

    class Category(models.TextChoices):
        SOCIAL_INSURANCE = "social_insurance", _("Social insurance")
        EMPLOYMENT = "employment", _("Employment and entrepreneurship")
        TALENT = "talent", _("Talent and personnel")
        LABOUR = "labour", _("Labour relations")
        BUNDLE = "bundle", _("One-window bundles")

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)

    objects = CodeManager()

    class Meta:
        verbose_name = _("window")
        verbose_name_plural = _("windows")
        ordering = ["code"]

    def natural_key(self):
        return (self.code,)


class District(Bilingual):
    """A district, county or county-level city of the city (fixture data)."""

    code = models.CharField(_("administrative code"), max_length=12, unique=True)

    objects = CodeManager()

    class Meta:
        verbose_name = _("district or county")
        verbose_name_plural = _("districts and counties")
        ordering = ["code"]

    def natural_key(self):
        return (self.code,)


class LifeEvent(Bilingual):
    """A moment of life (毕业求职, 退休, 身后事 …) under which the guide index groups the bundles,
    as citizens look for services (fixture data)."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = CodeManager()

    class Meta:
        verbose_name = _("life event")
        verbose_name_plural = _("life events")
        ordering = ["order", "code"]

    def natural_key(self):
        return (self.code,)


class ServiceHall(Bilingual):
    """A service hall holding windows. Any hall may accept any application (同城通办)."""

    class Level(models.TextChoices):
        CITY = "city", _("City")
        DISTRICT = "district", _("District or county")
        TOWNSHIP = "township", _("Township or subdistrict")
        COMMUNITY = "community", _("Community or village")

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    district = models.ForeignKey(
        District,
        verbose_name=_("district or county"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty for a city-level hall."),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    windows = models.ManyToManyField(Window, verbose_name=_("windows"), blank=True)

    objects = CodeManager()

    class Meta:
        verbose_name = _("service hall")
        verbose_name_plural = _("service halls")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="city") | Q(district__isnull=False),
                name="hall_below_city_has_district",
                violation_error_message=_("A hall below city level belongs to a district."),
            )
        ]

    def natural_key(self):
        return (self.code,)


class LimitedTextField(models.TextField):
    """A text column with a maximum length that model validation enforces too (Django's
    TextField only hands max_length to forms), so the admin and the workbook import both refuse
    an over-long text with a message instead of storing it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))


class GuideFields(models.Model):
    """The service-guide fields every item and bundle publishes (domain.md §7)."""

    summary_zh = LimitedTextField(_("summary (Chinese)"), max_length=2000, blank=True)
    summary_en = LimitedTextField(_("summary (English)"), max_length=2000, blank=True)
    conditions = LimitedTextField(_("conditions"), max_length=4000, blank=True)
    channel_hall = models.BooleanField(_("at a service hall"), default=True)
    channel_online = models.BooleanField(_("online"), default=True)
    channel_mobile = models.BooleanField(_("on the mobile app"), default=True)
    special_steps = LimitedTextField(
        _("special steps excluded from the time limit"), max_length=2000, blank=True
    )
    fee = models.CharField(_("fee"), max_length=200, default="不收费")
    place_and_hours = LimitedTextField(_("place and office hours"), max_length=1000, blank=True)
    result_delivery = models.CharField(
        _("result delivery"), max_length=200, default="窗口领取、邮寄送达或网上下载"
    )
    progress_query = models.CharField(
        _("progress query"), max_length=200, default="快办门户“我的申请”或12333热线"
    )
    consultation_phone = models.CharField(_("consultation phone"), max_length=40, default="12333")
    complaint_channel = models.CharField(
        _("supervision and complaint channel"), max_length=200, default="12333"
    )
    is_published = models.BooleanField(_("published"), default=True)
    # The guide version the live row carries (kuaiban/catalog/guide_versions.py): set only when
    # an approved version is published; None for a row that never had one.
    guide_version = models.PositiveIntegerField(
        _("guide version"), null=True, blank=True, editable=False
    )
    guide_published_at = models.DateTimeField(
        _("guide published"), null=True, blank=True, editable=False
    )

    class Meta:
        abstract = True

    @property
    def summary(self) -> str:
        return localized(self, "summary")

    @property
    def channels(self) -> list[str]:
        pairs = [
            (self.channel_hall, _("service hall")),
            (self.channel_online, _("online")),
            (self.channel_mobile, _("mobile app")),
        ]
        return [str(label) for offered, label in pairs if offered]


class VisitTarget(models.TextChoices):
    """How many times an applicant may have to come in person (跑动次数): the item's promise,
    and, worked out at submission (`cases.visits.visit_target_for`), the application's."""

    NONE = "none", _("No visit (一次不用跑)")
    AT_MOST_ONCE = "at_most_once", _("At most one visit (最多跑一次)")

    @classmethod
    def allowed(cls, target: str) -> int:
        """The visits the target allows."""
        return 0 if target == cls.NONE else 1

    @classmethod
    def of_items(cls, targets: Iterable[str]) -> VisitTarget:
        """What several items promise together (a bundle): no visit only if none needs one."""
        return cls.NONE if all(t == cls.NONE for t in targets) else cls.AT_MOST_ONCE


class ServiceItem(Bilingual, GuideFields):
    """A service item (事项) with its statutory and committed time limits."""

    class Kind(models.TextChoices):
        INSTANT = "instant", _("Instant (即办件)")
        TIME_LIMITED = "time_limited", _("Time-limited (承诺件)")

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    window = models.ForeignKey(Window, verbose_name=_("window"), on_delete=models.PROTECT)
    unit = models.ForeignKey(Unit, verbose_name=_("handling unit"), on_delete=models.PROTECT)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    statutory_limit = models.PositiveIntegerField(
        _("statutory limit"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    statutory_unit = models.CharField(
        _("unit of the statutory limit"),
        max_length=16,
        choices=ITEM_LIMIT_UNITS,
        default=LimitUnit.NONE,
    )
    committed_limit = models.PositiveIntegerField(
        _("committed limit"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Time-limited items: in the unit of the statutory limit, at most half of it."),
    )
    committed_unit = models.CharField(
        _("unit of the committed limit"),
        max_length=16,
        choices=ITEM_LIMIT_UNITS,
        default=LimitUnit.NONE,
        help_text=_("Normally the unit of the statutory limit."),
    )
    instant_minutes = models.PositiveIntegerField(
        _("instant target in office minutes"),
        default=30,
        validators=[MinValueValidator(1)],
    )
    extension_allowed = models.BooleanField(_("extension allowed"), default=False)
    extension_limit = models.PositiveIntegerField(_("extension"), null=True, blank=True)
    extension_unit = models.CharField(
        _("unit of the extension"),
        max_length=16,
        choices=ITEM_LIMIT_UNITS,
        default=LimitUnit.NONE,
    )
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    statutory_mode = models.BooleanField(
        _("keeps the statutory limit"),
        default=False,
        help_text=_("Only for on-site investigation or especially complex items."),
    )
    statutory_mode_reason = models.CharField(
        _("reason for keeping the statutory limit"), max_length=300, blank=True
    )
    visit_target = models.CharField(
        _("visits promised"),
        max_length=16,
        choices=VisitTarget.choices,
        default=VisitTarget.AT_MOST_ONCE,
        help_text=_(
            "No visit: the item can be applied for online and its result downloaded or posted."
        ),
    )
    materials: models.ManyToManyField = models.ManyToManyField(
        "Material", through="ItemMaterial", verbose_name=_("materials"), blank=True
    )

    objects = CodeManager()

    class Meta:
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        ordering = ["code"]
        constraints = [
            # The plan: committed limit at least 50% faster than statutory (floor), unless the item
            # keeps the statutory limit for a recorded reason.
            models.CheckConstraint(
                condition=Q(statutory_mode=True)
                | Q(statutory_limit__isnull=True)
                | Q(committed_limit__isnull=True)
                | Q(statutory_limit__gte=F("committed_limit") * 2),
                name="item_committed_at_most_half_statutory",
                violation_error_message=_(
                    "The committed limit may be at most 50%% of the statutory limit."
                ),
            ),
            models.CheckConstraint(
                condition=Q(statutory_mode=False) | ~Q(statutory_mode_reason=""),
                name="item_statutory_mode_has_reason",
                violation_error_message=_("Give the reason for keeping the statutory limit."),
            ),
        ]

    def natural_key(self):
        return (self.code,)

    @property
    def is_instant(self) -> bool:
        return self.kind == self.Kind.INSTANT

    @property
    def handling_measure(self) -> LimitUnit:
        """The unit this item's handling time is measured and compared in: office minutes for
        instant items and items without a statutory limit, else the statutory limit's unit."""
        if self.is_instant or self.statutory_unit == LimitUnit.NONE:
            return LimitUnit.OFFICE_MINUTES
        return LimitUnit(self.statutory_unit)

    @property
    def max_committed_limit(self) -> int | None:
        """The largest committed limit the plan allows (floor of half the statutory limit)."""
        if self.statutory_limit is None:
            return None
        return self.statutory_limit // 2

    def clean(self):
        errors: dict[str, list] = {}
        has_statutory = self.statutory_unit != LimitUnit.NONE
        if has_statutory and not self.statutory_limit:
            errors.setdefault("statutory_limit", []).append(
                _("Give the statutory limit, or choose 'no statutory limit'.")
            )
        if not has_statutory and self.statutory_limit:
            errors.setdefault("statutory_unit", []).append(
                _("Give the unit of the statutory limit.")
            )
        if self.kind == self.Kind.TIME_LIMITED:
            if not self.committed_limit and not self.statutory_mode:
                errors.setdefault("committed_limit", []).append(
                    _("A time-limited item needs a committed limit.")
                )
            if self.committed_limit and self.committed_unit == LimitUnit.NONE:
                errors.setdefault("committed_unit", []).append(
                    _("Give the unit of the committed limit.")
                )
        if (
            self.committed_limit
            and self.statutory_limit
            and not self.statutory_mode
            and self.committed_unit == self.statutory_unit
            and self.committed_limit > self.statutory_limit // 2
        ):
            errors.setdefault("committed_limit", []).append(
                _(
                    "The committed limit may be at most %(max)d (50%% of the statutory "
                    "limit of %(statutory)d), unless the item keeps the statutory limit "
                    "for a recorded reason."
                )
                % {"max": self.statutory_limit // 2, "statutory": self.statutory_limit}
            )
        if (
            self.committed_limit
            and has_statutory
            and self.committed_unit not in (LimitUnit.NONE, self.statutory_unit)
        ):
            errors.setdefault("committed_unit", []).append(
                _("The committed limit is counted in the unit of the statutory limit.")
            )
        if self.statutory_mode and not self.statutory_mode_reason.strip():
            errors.setdefault("statutory_mode_reason", []).append(
                _("Give the reason for keeping the statutory limit.")
            )
        if self.extension_allowed and (
            not self.extension_limit or self.extension_unit == LimitUnit.NONE
        ):
            errors.setdefault("extension_limit", []).append(
                _("Give the length and unit of the allowed extension.")
            )
        if errors:
            raise ValidationError(errors)


class Material(Bilingual):
    """A document or proof an item may need."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    description = LimitedTextField(_("description"), max_length=2000, blank=True)
    shared_data = models.BooleanField(
        _("available from shared data"),
        default=False,
        help_text=_("The bureau obtains it itself; the applicant is not asked for it."),
    )
    shared_source = models.CharField(_("shared-data source"), max_length=200, blank=True)
    # What the portal fetches for a shared-data material at submission (kuaiban/shareddata);
    # blank: recorded as shared, nothing fetched.
    data_source = models.CharField(
        _("data source fetched"),
        max_length=32,
        choices=DataKind.choices,
        blank=True,
        help_text=_("The source asked for this material at submission, with consent."),
    )
    data_source_key = models.CharField(
        _("what identifies the record"),
        max_length=200,
        blank=True,
        help_text=_(
            "Blank: the applicant (their ID number or credit code). A form field's code: the "
            "number typed there (e.g. the deceased's ID number). For an earlier filing in this "
            "portal: the codes of the items whose decided case holds it, separated by commas."
        ),
    )
    commitment_allowed = models.BooleanField(_("a signed commitment may replace it"), default=False)
    commitment_text = LimitedTextField(
        _("what the commitment states"),
        max_length=4000,
        blank=True,
        help_text=_("Shown in the notice of the notification-commitment system (告知承诺制)."),
    )
    physical = models.BooleanField(_("paper original needed"), default=False)
    replaced_by_online_form = models.BooleanField(
        _("replaced by the online form"),
        default=False,
        help_text=_(
            "The application or registration form itself (申请表, 登记表): an online application "
            "fills in the one form instead, so it is asked for only at the window."
        ),
    )
    cancelled = models.BooleanField(
        _("cancelled proof (已取消证明事项)"),
        default=False,
        help_text=_("A cancelled proof stays listed but can never be required again."),
    )
    cancellation_basis = models.CharField(
        _("basis of the cancellation"), max_length=300, blank=True
    )

    objects = CodeManager()

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["code"]

    def natural_key(self):
        return (self.code,)

    def clean(self):
        if self.cancelled and self.pk and self.itemmaterial_set.exists():
            codes = ", ".join(self.itemmaterial_set.values_list("item__code", flat=True))
            raise ValidationError(
                {
                    "cancelled": _(
                        "Remove this proof from the items that still require it first: %(codes)s"
                    )
                    % {"codes": codes}
                }
            )
        if not self.cancelled:
            # A cancelled proof may not come back in disguise under a new code.
            twin = Material.objects.filter(cancelled=True, name_zh=self.name_zh.strip())
            if self.pk:
                twin = twin.exclude(pk=self.pk)
            if twin.exists():
                raise ValidationError(
                    {"name_zh": _("A cancelled proof has this name; it cannot be required again.")}
                )
        if self.data_source and not self.shared_data:
            raise ValidationError(
                {"data_source": _("Only a material obtained from shared data has a source.")}
            )
        if self.data_source == DataKind.PORTAL_FILING:
            item_codes = self.portal_filing_items()
            known = ServiceItem.objects.filter(code__in=item_codes).values_list("code", flat=True)
            if not item_codes or set(item_codes) - set(known):
                raise ValidationError(
                    {
                        "data_source_key": _(
                            "Name the codes of the items whose decided case holds this record."
                        )
                    }
                )

    def portal_filing_items(self) -> list[str]:
        """The item codes named by `data_source_key` (an earlier filing in this portal)."""
        return [code.strip() for code in self.data_source_key.split(",") if code.strip()]


class ItemMaterial(models.Model):
    """Which materials an item needs."""

    item = models.ForeignKey(
        ServiceItem, on_delete=models.CASCADE, verbose_name=_("item"), db_index=False
    )
    material = models.ForeignKey(Material, on_delete=models.PROTECT, verbose_name=_("material"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("material of an item")
        verbose_name_plural = _("materials of items")
        ordering = ["item", "order", "material"]
        constraints = [
            models.UniqueConstraint(fields=["item", "material"], name="item_material_once")
        ]

    def __str__(self) -> str:
        return f"{self.item.code} ← {self.material.code}"

    def clean(self):
        if self.material_id and self.material.cancelled:
            raise ValidationError(
                {"material": _("This proof has been cancelled and can never be required again.")}
            )


class Bundle(Bilingual, GuideFields):
    """A one-thing bundle (一件事): one form, one set of materials, items handled in parallel."""

    class Applicant(models.TextChoices):
        CITIZEN = "citizen", _("Citizen")
        ENTERPRISE = "enterprise", _("Enterprise")
        INSTITUTION = "institution", _("Public institution")
        FAMILY = "family", _("Family member")
        CITIZEN_OR_ENTERPRISE = "citizen_or_enterprise", _("Citizen or enterprise")

    # Which kind of account applies for each applicant type (the account roles "citizen" and
    # "enterprise"; an enterprise account stands for enterprises and public institutions).
    APPLIED_FOR_BY = {
        Applicant.CITIZEN: frozenset({"citizen"}),
        Applicant.FAMILY: frozenset({"citizen"}),
        Applicant.ENTERPRISE: frozenset({"enterprise"}),
        Applicant.INSTITUTION: frozenset({"enterprise"}),
        Applicant.CITIZEN_OR_ENTERPRISE: frozenset({"citizen", "enterprise"}),
    }

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    applicant = models.CharField(_("applicant"), max_length=32, choices=Applicant.choices)
    lead_unit = models.ForeignKey(Unit, verbose_name=_("lead unit"), on_delete=models.PROTECT)
    window = models.ForeignKey(Window, verbose_name=_("intake window"), on_delete=models.PROTECT)
    life_event = models.ForeignKey(
        LifeEvent,
        verbose_name=_("life event"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Where the guide index lists the bundle."),
    )
    allows_several_persons = models.BooleanField(
        _("several persons in one application"),
        default=False,
        help_text=_(
            "An enterprise lists several employees in one application (a table, or an Excel "
            "template); the form fields marked 'asked per person' are asked for each of them."
        ),
    )
    items: models.ManyToManyField = models.ManyToManyField(
        ServiceItem, through="BundleItem", verbose_name=_("items"), related_name="bundles"
    )

    objects = CodeManager()

    class Meta:
        verbose_name = _("bundle (一件事)")
        verbose_name_plural = _("bundles (一件事)")
        ordering = ["code"]

    @property
    def visit_target(self) -> VisitTarget:
        """The bundle's promise: no visit when none of its items needs one."""
        return VisitTarget.of_items(item.visit_target for item in self.items.all())

    def open_to(self, role: str) -> bool:
        """Whether an account of this role may apply for the bundle."""
        return role in self.APPLIED_FOR_BY[self.Applicant(self.applicant)]

    @classmethod
    def applicants_open_to(cls, role: str) -> tuple[str, ...]:
        """The applicant types an account of this role applies for."""
        return tuple(a.value for a, roles in cls.APPLIED_FOR_BY.items() if role in roles)

    def natural_key(self):
        return (self.code,)


class BundleQuestion(models.Model):
    """A yes/no question of the scenario questionnaire (情形引导)."""

    bundle = models.ForeignKey(
        Bundle,
        on_delete=models.CASCADE,
        related_name="questions",
        verbose_name=_("bundle"),
        db_index=False,
    )
    code = models.CharField(_("code"), max_length=32, validators=[code_validator])
    text_zh = models.CharField(_("question (Chinese)"), max_length=300)
    text_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("scenario question")
        verbose_name_plural = _("scenario questions")
        ordering = ["bundle", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "code"], name="question_code_per_bundle")
        ]

    def __str__(self) -> str:
        return f"{self.bundle.code}/{self.code} {self.text_zh}"

    @property
    def text(self) -> str:
        return localized(self, "text")


class BundleItem(models.Model):
    """An item of a bundle: its stage, and the answer that includes it (if conditional)."""

    bundle = models.ForeignKey(
        Bundle,
        on_delete=models.CASCADE,
        related_name="bundle_items",
        verbose_name=_("bundle"),
        db_index=False,
    )
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, verbose_name=_("item"))
    stage = models.PositiveSmallIntegerField(
        _("stage"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Items of one stage run in parallel; the next stage opens when they are done."),
    )
    condition = models.ForeignKey(
        BundleQuestion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("included when this question"),
    )
    condition_answer = models.BooleanField(
        _("is answered"),
        default=True,
        help_text=_("Ticked: included on 'yes'; not ticked: included on 'no'."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("item of a bundle")
        verbose_name_plural = _("items of bundles")
        ordering = ["bundle", "stage", "order", "item"]
        constraints = [models.UniqueConstraint(fields=["bundle", "item"], name="bundle_item_once")]

    def __str__(self) -> str:
        return f"{self.bundle.code} · {self.stage} · {self.item.code}"

    def clean(self):
        condition = self.condition  # None without a query when there is none
        if condition is not None and self.bundle_id and condition.bundle_id != self.bundle_id:
            raise ValidationError({"condition": _("The question must belong to the same bundle.")})

    def applies(self, answers: dict[str, bool]) -> bool:
        """Whether the item is included for these questionnaire answers (code → yes/no)."""
        condition = self.condition  # None without a query when there is none
        if condition is None:
            return True
        return answers.get(condition.code) == self.condition_answer


class SpeedUpEntryManager(models.Manager):
    def get_by_natural_key(self, number):
        return self.get(number=number)


class SpeedUpEntry(Bilingual):
    """A line of the speed-up list (提速办, 附件2); it may cover variants of one item."""

    number = models.PositiveSmallIntegerField(_("number"), unique=True)
    items = models.ManyToManyField(
        ServiceItem, verbose_name=_("items"), related_name="speedup_entries"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = SpeedUpEntryManager()

    class Meta:
        verbose_name = _("speed-up list entry")
        verbose_name_plural = _("speed-up list (提速办)")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number}. {self.name_zh}"

    def natural_key(self):
        return (self.number,)


ANSWER_LENGTH_CEILING = 5000  # what a form field's own limit may be set to, at most


class FormField(models.Model):
    """A field of the application form. Items name the fields they need; a bundle's one form
    asks each field once however many of its items need it."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        LONG_TEXT = "long_text", _("Long text")
        DATE = "date", _("Date")
        MONTH = "month", _("Month")
        NUMBER = "number", _("Number")
        CHOICE = "choice", _("Choice")
        YES_NO = "yes_no", _("Yes or no")
        RESIDENT_ID = "resident_id", _("Resident ID number")
        PHONE = "phone", _("Mobile number")
        BANK_ACCOUNT = "bank_account", _("Bank account number")

    class Prefill(models.TextChoices):
        """Where a citizen applying for themselves gets the answer from: their real-name
        identity, never typed (an enterprise's or a family member's login never fills it)."""

        NONE = "none", _("Asked (not filled in)")
        APPLICANT_NAME = "applicant_name", _("The applicant's real name")
        APPLICANT_ID_NUMBER = "applicant_id_number", _("The applicant's ID number")
        APPLICANT_PHONE = "applicant_phone", _("The applicant's mobile number")

    # Kinds holding personal numbers: validated, masked on screen, never exported in full.
    PERSONAL_KINDS = (Kind.RESIDENT_ID, Kind.PHONE, Kind.BANK_ACCOUNT)
    # Kinds holding a point in time (YYYY-MM-DD, YYYY-MM): the ones `not_before` compares.
    TIME_KINDS = (Kind.DATE, Kind.MONTH)

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    label_zh = models.CharField(_("label (Chinese)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200, blank=True)
    label_self_zh = models.CharField(
        _("label for one's own application (Chinese)"),
        max_length=200,
        blank=True,
        help_text=_("Shown when a citizen applies for themselves (e.g. 姓名 for 退休职工姓名)."),
    )
    label_self_en = models.CharField(
        _("label for one's own application (English)"), max_length=200, blank=True
    )
    prefill = models.CharField(
        _("filled in from the applicant's identity"),
        max_length=32,
        choices=Prefill.choices,
        default=Prefill.NONE,
        help_text=_(
            "Only when a citizen applies for themselves: the answer comes from their real-name "
            "identity and is shown read-only."
        ),
    )
    per_person = models.BooleanField(
        _("asked per person"),
        default=False,
        help_text=_(
            "In a bundle for several persons (an enterprise hiring several employees), asked "
            "once for each person in the table."
        ),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TEXT)
    choices = LimitedTextField(
        _("choices"),
        max_length=2000,
        blank=True,
        help_text=_("One choice per line, for the 'choice' kind."),
    )
    max_length = models.PositiveSmallIntegerField(
        _("longest answer (characters)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(ANSWER_LENGTH_CEILING)],
        help_text=_("Empty: 200 characters, or 2000 for long text."),
    )
    required = models.BooleanField(_("required"), default=True)
    help_zh = models.CharField(_("help (Chinese)"), max_length=300, blank=True)
    help_en = models.CharField(_("help (English)"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    not_before = models.CharField(
        _("not before (field code)"),
        max_length=40,
        blank=True,
        help_text=_(
            "For a date or month: the code of another date or month field this answer may not "
            "precede (an end after its start, a date after the date of birth), or of a resident "
            "ID number field (not before the birth date it carries). Checked when both are on "
            "the same form."
        ),
    )
    items = models.ManyToManyField(
        ServiceItem, verbose_name=_("items that need it"), related_name="form_fields", blank=True
    )

    objects = CodeManager()

    class Meta:
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.label_zh}"

    def natural_key(self):
        return (self.code,)

    @property
    def label(self) -> str:
        return localized(self, "label")

    @property
    def help(self) -> str:
        return localized(self, "help")

    @property
    def answer_max_length(self) -> int:
        """The longest answer the form and the service accept (every kind has one)."""
        if self.max_length:
            return self.max_length
        return 2000 if self.kind == self.Kind.LONG_TEXT else 200

    def check_answer_length(self, value: str) -> None:
        """Refuse an answer longer than the field allows: the one form and the service that
        stores the answers both ask, so neither a browser nor a script gets past it."""
        length, limit = len((value or "").strip()), self.answer_max_length
        if length > limit:
            raise ValidationError(
                _("Please keep this answer to %(limit)d characters or fewer (it has %(length)d)."),
                code="max_length",
                params={"limit": limit, "length": length},
            )

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self):
        if not self.not_before:
            return
        if self.kind not in self.TIME_KINDS:
            raise ValidationError({"not_before": _("Only a date or a month field has this rule.")})
        if self.not_before == self.code:
            raise ValidationError({"not_before": _("Name another field, not this one.")})
        other = FormField.objects.filter(code=self.not_before).first()
        if other is not None and other.kind not in (*self.TIME_KINDS, self.Kind.RESIDENT_ID):
            raise ValidationError(
                {"not_before": _("Name a date, a month or a resident ID number field.")}
            )

    @property
    def is_personal(self) -> bool:
        return self.kind in self.PERSONAL_KINDS


class GuideVersion(models.Model):
    """One change of an item's or a bundle's service guide under legal review (domain.md §7).

    A version holds the whole guide as a snapshot (limits, guide texts, fee, channels, legal
    basis, and the item's materials or the bundle's items). It is proposed as a draft, submitted,
    and either published by a reviewer of the legal-review unit (it then gets the next number
    and its snapshot is applied to the live row) or returned with comments. A decided version is
    never changed again: a returned proposal is proposed anew as a new draft."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Under legal review")
        RETURNED = "returned", _("Returned with comments")
        PUBLISHED = "published", _("Published")

    class Source(models.TextChoices):
        ADMIN = "admin", _("Administration pages")
        WORKBOOK = "workbook", _("Catalog workbook")
        INITIAL = "initial", _("The guide as it stood when review began")
        FIXTURES = "fixtures", _("Reference data")

    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("item"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="guide_versions",
        db_index=False,
    )
    bundle = models.ForeignKey(
        Bundle,
        verbose_name=_("bundle"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="guide_versions",
        db_index=False,
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT)
    # The published number (1, 2, … per item or bundle); given at publication.
    number = models.PositiveIntegerField(_("version"), null=True, blank=True)
    # The published number the proposal was made against; publication needs it still current.
    based_on = models.PositiveIntegerField(_("based on version"), null=True, blank=True)
    snapshot = models.JSONField(_("guide"), default=dict)
    source = models.CharField(
        _("proposed through"), max_length=16, choices=Source.choices, default=Source.ADMIN
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    comments = LimitedTextField(_("review comments"), max_length=2000, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("service guide version")
        verbose_name_plural = _("service guide versions")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(item__isnull=False, bundle__isnull=True)
                | Q(item__isnull=True, bundle__isnull=False),
                name="guide_version_of_item_xor_bundle",
            ),
            models.UniqueConstraint(fields=["item", "number"], name="guide_version_number_item"),
            models.UniqueConstraint(
                fields=["bundle", "number"], name="guide_version_number_bundle"
            ),
            # One open draft per item or bundle: a further change edits it.
            models.UniqueConstraint(
                fields=["item"], condition=Q(state="draft"), name="one_draft_per_item"
            ),
            models.UniqueConstraint(
                fields=["bundle"], condition=Q(state="draft"), name="one_draft_per_bundle"
            ),
            models.CheckConstraint(
                condition=~Q(state="published")
                | Q(number__isnull=False, published_at__isnull=False),
                name="published_guide_version_numbered",
            ),
            models.CheckConstraint(
                condition=~Q(state="returned") | ~Q(comments=""),
                name="returned_guide_version_has_comments",
            ),
        ]
        indexes = [models.Index(fields=["state", "submitted_at"], name="guide_version_queue")]

    def __str__(self) -> str:
        subject = self.subject
        return f"{subject.code} #{self.pk}" if subject else f"#{self.pk}"

    @property
    def subject(self) -> ServiceItem | Bundle:
        return self.item if self.item_id else self.bundle  # type: ignore[return-value]

    @property
    def subject_model(self) -> type[ServiceItem] | type[Bundle]:
        return ServiceItem if self.item_id else Bundle

    @property
    def subject_pk(self) -> int:
        pk = self.item_id or self.bundle_id
        if pk is None:
            raise ValueError("a guide version belongs to an item or a bundle")
        return pk

    @property
    def of_same_subject(self) -> dict[str, int]:
        """A filter for the versions of this version's item or bundle."""
        return {"item_id": self.subject_pk} if self.item_id else {"bundle_id": self.subject_pk}
