"""Applications, item cases, materials held, commitments and the append-only event log.

State changes happen only in `kuaiban.cases.services`: they lock the row, call a `django_fsm`
transition, write a `CaseEvent` in the same transaction and queue notifications on commit.
The FSM fields are protected so nothing else can assign a state directly.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from kuaiban.accounts.crypto import EncryptedJSONField


class ApplicationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted, waiting for intake")
    RETURNED = "returned", _("Returned for missing materials")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("Being handled")
    CONCLUDED = "concluded", _("Concluded")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class CaseState(models.TextChoices):
    WAITING = "waiting", _("Waiting for an earlier stage")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for missing materials")
    ACCEPTED = "accepted", _("Accepted")
    IN_REVIEW = "in_review", _("In review")
    PAUSED = "paused", _("Paused (time not counted)")
    AWAITING_DEPARTMENT = "awaiting_department", _("Waiting for another department")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    CONCLUDED = "concluded", _("Concluded")
    REFUSED = "refused", _("Refused")
    CLOSED = "closed", _("Closed: an earlier stage was denied")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class EventAction(models.TextChoices):
    CREATE = "create", _("Created")
    SUBMIT = "submit", _("Submitted")
    RESUBMIT = "resubmit", _("Resubmitted with the missing materials")
    WITHDRAW = "withdraw", _("Withdrawn")
    COMMITMENT_SIGNED = "commitment_signed", _("Commitment signed")
    ACCEPT = "accept", _("Accepted")
    RETURN = "return", _("Returned for missing materials")
    REFUSE = "refuse", _("Refused")
    START_REVIEW = "start_review", _("Review started")
    APPROVE = "approve", _("Approved")
    DENY = "deny", _("Denied")
    PAUSE = "pause", _("Paused")
    RESUME = "resume", _("Resumed")
    STATUTORY_MODE = "statutory_mode", _("Switched to the statutory limit")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
    EXTENSION_DECIDED = "extension_decided", _("Extension decided")
    DEPARTMENT_REQUEST = "department_request", _("Request sent to another department")
    DEPARTMENT_REPLY = "department_reply", _("Reply from another department")
    OPEN_STAGE = "open_stage", _("Stage opened")
    CONCLUDE = "conclude", _("Concluded")
    CLOSE = "close", _("Closed")
    FLAG = "flag", _("Deadline flag")
    VISIT = "visit", _("Visit recorded")


OPEN_APPLICATION_STATES = (
    ApplicationState.SUBMITTED,
    ApplicationState.RETURNED,
    ApplicationState.ACCEPTED,
    ApplicationState.IN_PROGRESS,
)
FINAL_CASE_STATES = (
    CaseState.CONCLUDED,
    CaseState.REFUSED,
    CaseState.CLOSED,
    CaseState.WITHDRAWN,
)


class Application(ConcurrentTransitionMixin, models.Model):
    """One submission: a bundle (one form, one set of materials) or a single item."""

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        WINDOW = "window", _("At a window")

    class Delivery(models.TextChoices):
        PICKUP = "pickup", _("Pick up at the hall")
        MAIL = "mail", _("By post")
        DOWNLOAD = "download", _("Download online")

    reference = models.CharField(_("reference number"), max_length=24, unique=True)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    bundle = models.ForeignKey(
        "catalog.Bundle", verbose_name=_("bundle"), on_delete=models.PROTECT, null=True, blank=True
    )
    item = models.ForeignKey(
        "catalog.ServiceItem",
        verbose_name=_("single item"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="single_applications",
    )
    state = FSMField(
        _("state"), default=ApplicationState.DRAFT, choices=ApplicationState.choices, protected=True
    )
    answers = models.JSONField(_("questionnaire answers"), default=dict, blank=True)
    form_data = EncryptedJSONField(_("form answers"), default=dict, blank=True)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.ONLINE
    )
    delivery = models.CharField(
        _("result delivery"), max_length=16, choices=Delivery.choices, default=Delivery.DOWNLOAD
    )
    delivery_address = models.CharField(_("postal address"), max_length=300, blank=True)
    hall = models.ForeignKey(
        "catalog.ServiceHall",
        verbose_name=_("accepted at"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    submission_key = models.UUIDField(
        _("submission key"),
        null=True,
        blank=True,
        unique=True,
        help_text=_("One key per submit form: a repeated POST finds the same application."),
    )
    visits = models.PositiveSmallIntegerField(_("visits"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("concluded"), null=True, blank=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bundle__isnull=False, item__isnull=True)
                | Q(bundle__isnull=True, item__isnull=False),
                name="application_is_bundle_xor_single_item",
            )
        ]
        indexes = [models.Index(fields=["applicant", "-created_at"])]

    def __str__(self) -> str:
        return self.reference

    @property
    def subject(self):
        """The bundle or the single item applied for."""
        return self.bundle or self.item

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_APPLICATION_STATES

    # -- transitions (call only from services) ---------------------------------------------

    @transition(
        field=state,
        source=[ApplicationState.DRAFT, ApplicationState.RETURNED],
        target=ApplicationState.SUBMITTED,
    )
    def submit(self):
        self.submitted_at = timezone.now()

    @transition(field=state, source=ApplicationState.SUBMITTED, target=ApplicationState.ACCEPTED)
    def accept(self):
        pass

    @transition(field=state, source=ApplicationState.SUBMITTED, target=ApplicationState.RETURNED)
    def return_for_materials(self):
        pass

    @transition(field=state, source=ApplicationState.SUBMITTED, target=ApplicationState.REFUSED)
    def refuse(self):
        pass

    @transition(field=state, source=ApplicationState.ACCEPTED, target=ApplicationState.IN_PROGRESS)
    def start_progress(self):
        pass

    @transition(
        field=state,
        source=[ApplicationState.ACCEPTED, ApplicationState.IN_PROGRESS],
        target=ApplicationState.CONCLUDED,
    )
    def conclude(self):
        self.concluded_at = timezone.now()

    @transition(
        field=state,
        source=[ApplicationState.DRAFT, *OPEN_APPLICATION_STATES],
        target=ApplicationState.WITHDRAWN,
    )
    def withdraw(self):
        pass


class ItemCase(ConcurrentTransitionMixin, models.Model):
    """One item of an application, handled by its unit. Clocks are added by the deadline engine."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="cases"
    )
    item = models.ForeignKey(
        "catalog.ServiceItem", verbose_name=_("item"), on_delete=models.PROTECT
    )
    # The unit at the time of application: a later catalog change must not move open cases.
    unit = models.ForeignKey("catalog.Unit", verbose_name=_("unit"), on_delete=models.PROTECT)
    stage = models.PositiveSmallIntegerField(_("stage"), default=1)
    state = FSMField(
        _("state"), default=CaseState.SUBMITTED, choices=CaseState.choices, protected=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("item case")
        verbose_name_plural = _("item cases")
        ordering = ["application", "stage", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "item"], name="one_case_per_item")
        ]
        indexes = [models.Index(fields=["unit", "state"])]

    def __str__(self) -> str:
        return f"{self.application.reference}/{self.item.code}"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_CASE_STATES

    @transition(field=state, source=CaseState.RETURNED, target=CaseState.SUBMITTED)
    def resubmit(self):
        pass

    @transition(
        field=state,
        source=[
            CaseState.SUBMITTED,
            CaseState.WAITING,
            CaseState.RETURNED,
            CaseState.ACCEPTED,
            CaseState.IN_REVIEW,
            CaseState.PAUSED,
            CaseState.AWAITING_DEPARTMENT,
        ],
        target=CaseState.WITHDRAWN,
    )
    def withdraw(self):
        pass


class StoredFile(models.Model):
    """An uploaded document, kept outside the static root under a generated name."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="stored_files",
    )
    material = models.ForeignKey(
        "catalog.Material", verbose_name=_("material"), on_delete=models.PROTECT
    )
    storage_name = models.CharField(_("storage name"), max_length=80, unique=True)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("stored file")
        verbose_name_plural = _("stored files")
        ordering = ["-uploaded_at"]
        indexes = [models.Index(fields=["owner", "material"])]

    def __str__(self) -> str:
        return self.original_name


class ApplicationMaterial(models.Model):
    """How one material of an application is provided: once, for every item case needing it."""

    class Provision(models.TextChoices):
        UPLOAD = "upload", _("Uploaded")
        SHARED = "shared", _("Obtained from shared data")
        COMMITMENT = "commitment", _("Replaced by a signed commitment")
        AT_WINDOW = "at_window", _("Seen at the window")

    application = models.ForeignKey(
        Application,
        on_delete=models.CASCADE,
        related_name="materials",
        verbose_name=_("application"),
    )
    material = models.ForeignKey(
        "catalog.Material", on_delete=models.PROTECT, verbose_name=_("material")
    )
    provision = models.CharField(_("provided as"), max_length=16, choices=Provision.choices)
    file = models.ForeignKey(
        StoredFile, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("file")
    )
    reused = models.BooleanField(_("reused from an earlier application"), default=False)
    provided_at = models.DateTimeField(_("provided"), default=timezone.now)

    class Meta:
        verbose_name = _("material of an application")
        verbose_name_plural = _("materials of applications")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "material"], name="material_once_per_application"
            ),
            models.CheckConstraint(
                condition=~Q(provision="upload") | Q(file__isnull=False),
                name="uploaded_material_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.reference}: {self.material.code} ({self.provision})"


class Commitment(models.Model):
    """A signed commitment replacing a proof (告知承诺制); checked afterwards."""

    class Verification(models.TextChoices):
        PENDING = "pending", _("To be verified")
        CONFIRMED = "confirmed", _("Confirmed true")
        FALSE = "false", _("Found false")

    application = models.ForeignKey(
        Application,
        on_delete=models.CASCADE,
        related_name="commitments",
        verbose_name=_("application"),
    )
    material = models.ForeignKey(
        "catalog.Material", on_delete=models.PROTECT, verbose_name=_("material")
    )
    notice_text = models.TextField(_("notice shown"))
    commitment_text = models.TextField(_("what was committed"))
    signed_name = models.CharField(_("signed by"), max_length=100)
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)
    verification = models.CharField(
        _("post-hoc verification"),
        max_length=16,
        choices=Verification.choices,
        default=Verification.PENDING,
    )

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "material"], name="one_commitment_per_material"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application.reference}: {self.material.code}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("the event log is append-only")

    def delete(self):
        raise TypeError("the event log is append-only")


class CaseEvent(models.Model):
    """One recorded fact: a transition or an action, who did it, when, and why. Insert-only."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="events", verbose_name=_("application")
    )
    item_case = models.ForeignKey(
        ItemCase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("item case"),
    )
    action = models.CharField(_("action"), max_length=40, choices=EventAction.choices)
    from_state = models.CharField(_("from"), max_length=24, blank=True)
    to_state = models.CharField(_("to"), max_length=24, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.from_state}→{self.to_state}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("the event log is append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("the event log is append-only")
