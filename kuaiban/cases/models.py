"""Applications, item cases, materials held, commitments and the append-only event log.

State changes happen only in `kuaiban.cases.services`: they lock the row, call a `django_fsm`
transition, write a `CaseEvent` in the same transaction and queue notifications on commit.
The FSM fields are protected so nothing else can assign a state directly.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMFieldMixin, transition

from kuaiban.accounts.crypto import EncryptedJSONField, EncryptedTextField
from kuaiban.accounts.identity import mask_phone, mask_resident_id
from kuaiban.accounts.models import Role, User
from kuaiban.append_only import AppendOnlyModel
from kuaiban.catalog.models import Bundle, BundleQuestion, ServiceItem, VisitTarget, Window
from kuaiban.workdays.units import LimitUnit


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
    # A commitment it rested on was found false (告知承诺制), after the applicant was heard.
    STOPPED = "stopped", _("Stopped: a commitment was found false")
    REVOKED = "revoked", _("Revoked: a commitment was found false")


class FlagKind(models.TextChoices):
    """The thresholds of a running clock (see `clocks.THRESHOLDS`); each fires once per case."""

    # xgettext:no-python-format
    WARN_50 = "warn_50", _("50% of the committed time passed")
    # xgettext:no-python-format
    WARN_75 = "warn_75", _("75% of the committed time passed")
    OVERDUE = "overdue", _("Overdue: committed time exceeded")
    BREACH = "breach", _("Statutory limit exceeded")


class EventAction(models.TextChoices):
    CREATE = "create", _("Created")
    SUBMIT = "submit", _("Submitted")
    RESUBMIT = "resubmit", _("Resubmitted with the missing materials")
    WITHDRAW = "withdraw", _("Withdrawn")
    COMMITMENT_SIGNED = "commitment_signed", _("Commitment signed")
    RETURN_ANSWERED = "return_answered", _("Returned material explained")
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
    RECOMPUTE = "recompute", _("Due times recomputed")
    VISIT = "visit", _("Visit recorded")
    RESULTS_HANDED_OVER = "results_handed_over", _("Results handed over at the window")
    RESULTS_POSTED = "results_posted", _("Results posted")
    STOP = "stop", _("Decision stopped")
    REVOKE = "revoke", _("Decision revoked")
    PROPOSE = "propose", _("Proposed by an entitlement rule (免申即享)")
    OBJECT = "object", _("The person objected to the proposal")


class VisitKind(models.TextChoices):
    """The in-person events that count a visit (跑动), each recorded by the service that handles
    it (`visits.visit_count`), never typed in separately."""

    WINDOW_SUBMISSION = "window_submission", _("Application at the window")
    RETURN_VISIT = "return_visit", _("Came back to the window")
    PICKUP = "pickup", _("Picked the results up")
    ON_SITE_CHECK = "on_site_check", _("On-site check")


# The applicant (or, at the window, the clerk) may still change the form and the materials.
EDITABLE_APPLICATION_STATES = (ApplicationState.DRAFT, ApplicationState.RETURNED)
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
    CaseState.STOPPED,
    CaseState.REVOKED,
)


_STATE_FIELDS: dict[type, tuple[FSMFieldMixin, ...]] = {}


class StateMachineMixin:
    """Asks the state machine, so pages and services never repeat a transition's source states."""

    @property
    def state_fields(self) -> tuple[FSMFieldMixin, ...]:
        """The model's state fields, found once per class: django-fsm's
        `ConcurrentTransitionMixin` looks for them among all the model's fields each time an
        instance is made (about 7% of a recompute's time: thousands of cases per batch)."""
        found = _STATE_FIELDS.get(type(self))
        if found is None:
            meta = self._meta  # type: ignore[attr-defined]
            found = tuple(field for field in meta.fields if isinstance(field, FSMFieldMixin))
            _STATE_FIELDS[type(self)] = found
        return found

    def available_transitions(self) -> set[str]:
        """Names of the transitions the current state allows (e.g. {"approve", "deny"})."""
        return {t.name for t in self.get_available_state_transitions()}  # type: ignore[attr-defined]


class Application(StateMachineMixin, ConcurrentTransitionMixin, models.Model):
    """One submission: a bundle (one form, one set of materials) or a single item."""

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        WINDOW = "window", _("At a window")
        # 免申即享: proposed by an entitlement rule from shared data, without an application.
        PROACTIVE = "proactive", _("Proposed without an application")

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
        db_index=False,
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
    # The phone the clerk confirmed with the person at the window: messages about this
    # application go there, whatever phone the account holds.
    contact_phone = EncryptedTextField(_("confirmed mobile number"), blank=True, db_default="")
    # The agent (经办人) who came to the window for an enterprise or institution: the clerk
    # checked their ID card; the application is the organisation's.
    agent_name = models.CharField(_("agent"), max_length=100, blank=True, db_default="")
    agent_resident_id = EncryptedTextField(_("agent's ID number"), blank=True, db_default="")
    # Trips the applicant made (one per local day with an in-person event; `visits.py`) and
    # what was promised at submission (`visits.visit_target_for`).
    visits = models.PositiveSmallIntegerField(_("visits"), default=0)
    visit_target = models.CharField(
        _("visits promised"),
        max_length=16,
        choices=VisitTarget.choices,
        default=VisitTarget.AT_MOST_ONCE,
    )
    # A bundle's service-guide version in force at the first submission (a single item's is
    # on its item case).
    guide_version = models.PositiveIntegerField(_("guide version"), null=True, blank=True)
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
    def masked_contact_phone(self) -> str:
        """The number this application's messages go to, masked: the phone the clerk confirmed
        at the window, else the applicant's."""
        return mask_phone(self.contact_phone or self.applicant.phone)

    @property
    def masked_agent_resident_id(self) -> str:
        return mask_resident_id(self.agent_resident_id) if self.agent_resident_id else ""

    @property
    def subject(self) -> Bundle | ServiceItem:
        """The bundle or the single item applied for (a database CHECK keeps exactly one)."""
        subject = self.bundle or self.item
        if subject is None:
            raise ValueError(f"application {self.pk} has neither a bundle nor an item")
        return subject

    def situation_questions(self) -> QuerySet[BundleQuestion]:
        """The bundle's situation questions (情形引导); none for a single-item application."""
        if self.bundle is None:
            return BundleQuestion.objects.none()
        return self.bundle.questions.all()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_APPLICATION_STATES

    @property
    def broke_visit_target(self) -> bool:
        """More trips than promised (the rule of `visits.within_target_q`)."""
        return self.visits > VisitTarget.allowed(self.visit_target)

    @staticmethod
    def taken_in_by(clerk) -> Q:
        """Applications whose intake window (the bundle's, or the single item's) the clerk takes
        in: their own windows, and — when they serve a 一窗通办 window — every window no active
        clerk serves (rule INTAKE-FALLBACK: an application never waits at a window nobody
        staffs). Subqueries, not lists: no query of its own."""
        own = clerk.windows.values("pk")
        staffed = User.objects.filter(role=Role.CLERK, is_active=True, windows=OuterRef("pk"))
        serves_bundles = Window.objects.filter(category=Window.Category.BUNDLE, pk__in=own)
        window_ids = Window.objects.filter(
            Q(pk__in=own) | (~Exists(staffed) & Exists(serves_bundles))
        ).values("pk")
        return Q(bundle__window_id__in=window_ids) | Q(item__window_id__in=window_ids)

    @staticmethod
    def seen_at_windows() -> Q:
        """What window staff may see: an online application once it was submitted (until then
        the draft is the applicant's alone), and the drafts clerks open in person."""
        return Q(channel=Application.Channel.WINDOW) | Q(submitted_at__isnull=False)

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_APPLICATION_STATES

    # -- transitions (call only from services) ---------------------------------------------

    @transition(field=state, source=EDITABLE_APPLICATION_STATES, target=ApplicationState.SUBMITTED)
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


OPEN_CASE_STATES = (
    CaseState.ACCEPTED,
    CaseState.IN_REVIEW,
    CaseState.PAUSED,
    CaseState.AWAITING_DEPARTMENT,
)
# States whose clock runs: a paused case's clock is stopped (legal exclusion); waiting for
# another department does not stop it.
RUNNING_CLOCK_STATES = (CaseState.ACCEPTED, CaseState.IN_REVIEW, CaseState.AWAITING_DEPARTMENT)


class ItemCase(StateMachineMixin, ConcurrentTransitionMixin, models.Model):
    """One item of an application, handled by its unit, with its clock as stored facts."""

    # No single-column index on application, item or unit: `one_case_per_item` (application,
    # item) and (unit, state) lead with two of them, and each index is written on every clock
    # update (the sweep's, a recompute's). An item is one of a few dozen, so an index on it
    # alone narrows little; reads by item go by a time range too (the rollups, the reports) or
    # run once a day (the proactive check).
    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="cases",
        db_index=False,
    )
    item = models.ForeignKey(
        "catalog.ServiceItem", verbose_name=_("item"), on_delete=models.PROTECT, db_index=False
    )
    # The unit at the time of application: a later catalog change must not move open cases.
    unit = models.ForeignKey(
        "catalog.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, db_index=False
    )
    stage = models.PositiveSmallIntegerField(_("stage"), default=1)
    # The item's service-guide version in force at submission (catalog.GuideVersion.number):
    # the guide the case was filed under, whatever is published later.
    guide_version = models.PositiveIntegerField(_("guide version"), null=True, blank=True)
    state = FSMField(
        _("state"), default=CaseState.SUBMITTED, choices=CaseState.choices, protected=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Indexed only where set (Meta): a case nobody holds writes no entry.
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("held by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="held_cases",
        db_index=False,
    )

    # -- the clock (set on acceptance; moved by pauses, extensions and statutory mode) --------
    received_at = models.DateTimeField(_("materials received"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    clock_unit = models.CharField(
        _("clock unit"), max_length=16, choices=LimitUnit.choices, default=LimitUnit.NONE
    )
    clock_start = models.DateTimeField(_("clock started"), null=True, blank=True)
    committed_due_at = models.DateTimeField(_("committed due"), null=True, blank=True)
    statutory_due_at = models.DateTimeField(_("statutory due"), null=True, blank=True)
    original_committed_due_at = models.DateTimeField(
        _("original committed due"), null=True, blank=True
    )
    original_statutory_due_at = models.DateTimeField(
        _("original statutory due"), null=True, blank=True
    )
    due_provisional = models.BooleanField(
        _("due time provisional"),
        default=False,
        help_text=_("Rests on a year the calendar does not cover yet; recomputed when loaded."),
    )
    # xgettext:no-python-format
    warn_50_at = models.DateTimeField(_("50% of the committed time"), null=True, blank=True)
    # xgettext:no-python-format
    warn_75_at = models.DateTimeField(_("75% of the committed time"), null=True, blank=True)
    paused_since = models.DateTimeField(_("paused since"), null=True, blank=True)
    # When each flag fired (once each), and the next instant one is due: the sweep's index key.
    flag_50_at = models.DateTimeField(_("50% warning fired"), null=True, blank=True)
    flag_75_at = models.DateTimeField(_("75% warning fired"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("flagged overdue"), null=True, blank=True)
    breach_at = models.DateTimeField(_("flagged statutory breach"), null=True, blank=True)
    next_flag_at = models.DateTimeField(_("next flag due"), null=True, blank=True)
    statutory_mode = models.BooleanField(_("statutory limit kept"), default=False)
    statutory_mode_reason = models.CharField(_("reason"), max_length=300, blank=True)
    statutory_mode_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("statutory mode set by"),
        db_index=False,  # indexed only where set (Meta)
    )
    deadline_notes = models.TextField(_("why the due times moved"), blank=True)

    # -- outcome ----------------------------------------------------------------------------
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    concluded_at = models.DateTimeField(_("concluded"), null=True, blank=True)
    completed_late = models.BooleanField(_("completed late"), default=False)
    # Handling time from acceptance to decision, net of pauses, stored at the decision so the
    # speed-up metrics are plain aggregates: office minutes, and days in the statutory unit.
    handling_minutes = models.FloatField(_("handling time (office minutes)"), null=True, blank=True)
    handling_days = models.FloatField(_("handling time (days)"), null=True, blank=True)

    class Meta:
        verbose_name = _("item case")
        verbose_name_plural = _("item cases")
        ordering = ["application", "stage", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "item"], name="one_case_per_item")
        ]
        indexes = [
            models.Index(fields=["unit", "state"]),
            # Supervision rollups and metrics select cases by these moments.
            models.Index(fields=["created_at"], name="itemcase_created"),
            models.Index(fields=["accepted_at"], name="itemcase_accepted"),
            # Only where set: an open case (every one the sweep, a recompute or a submission
            # writes) adds no entry to these two. A range on the moment implies it is set, so
            # the rollups' and metrics' range queries still use them.
            models.Index(
                fields=["decided_at"],
                name="itemcase_decided",
                condition=Q(decided_at__isnull=False),
            ),
            models.Index(
                fields=["concluded_at"],
                name="itemcase_concluded",
                condition=Q(concluded_at__isnull=False),
            ),
            # The sweep reads only clocks with a flag still to fire: a small, hot index.
            models.Index(
                fields=["next_flag_at"],
                name="itemcase_next_flag",
                condition=Q(next_flag_at__isnull=False),
            ),
            # Every update of a clock (the sweep's, a recompute's) writes each index again; the
            # rarely set user columns skip the NULLs (a lookup `= user` still uses them).
            models.Index(
                fields=["reviewer"], name="itemcase_reviewer", condition=Q(reviewer__isnull=False)
            ),
            models.Index(
                fields=["statutory_mode_by"],
                name="itemcase_statutory_by",
                condition=Q(statutory_mode_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.reference}/{self.item.code}"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_CASE_STATES

    @property
    def is_open(self) -> bool:
        """Accepted and not yet decided: the unit is handling it."""
        return self.state in OPEN_CASE_STATES

    def add_note(self, line: str) -> None:
        self.deadline_notes = f"{self.deadline_notes}\n{line}".strip()

    # -- transitions (call only from services) ---------------------------------------------

    @transition(field=state, source=CaseState.RETURNED, target=CaseState.SUBMITTED)
    def resubmit(self):
        pass

    @transition(field=state, source=CaseState.SUBMITTED, target=CaseState.ACCEPTED)
    def accept(self):
        pass

    @transition(field=state, source=CaseState.SUBMITTED, target=CaseState.RETURNED)
    def return_for_materials(self):
        pass

    @transition(
        field=state, source=[CaseState.SUBMITTED, CaseState.WAITING], target=CaseState.REFUSED
    )
    def refuse(self):
        pass

    @transition(field=state, source=CaseState.WAITING, target=CaseState.ACCEPTED)
    def open_stage(self):
        pass

    @transition(field=state, source=CaseState.ACCEPTED, target=CaseState.IN_REVIEW)
    def start_review(self):
        pass

    @transition(
        field=state,
        source=[CaseState.ACCEPTED, CaseState.IN_REVIEW, CaseState.AWAITING_DEPARTMENT],
        target=CaseState.PAUSED,
    )
    def pause(self):
        pass

    @transition(field=state, source=CaseState.PAUSED, target=CaseState.IN_REVIEW)
    def resume(self):
        pass

    @transition(
        field=state,
        source=[CaseState.ACCEPTED, CaseState.IN_REVIEW],
        target=CaseState.AWAITING_DEPARTMENT,
    )
    def await_department(self):
        pass

    @transition(field=state, source=CaseState.AWAITING_DEPARTMENT, target=CaseState.IN_REVIEW)
    def department_replied(self):
        pass

    @transition(
        field=state, source=[CaseState.ACCEPTED, CaseState.IN_REVIEW], target=CaseState.APPROVED
    )
    def approve(self):
        self.decided_at = timezone.now()

    @transition(
        field=state, source=[CaseState.ACCEPTED, CaseState.IN_REVIEW], target=CaseState.DENIED
    )
    def deny(self):
        self.decided_at = timezone.now()

    @transition(
        field=state, source=[CaseState.APPROVED, CaseState.DENIED], target=CaseState.CONCLUDED
    )
    def conclude(self):
        self.concluded_at = timezone.now()
        self.completed_late = bool(
            self.committed_due_at and self.decided_at and self.decided_at > self.committed_due_at
        )

    @transition(field=state, source=CaseState.WAITING, target=CaseState.CLOSED)
    def close(self):
        pass

    # A false commitment (`kuaiban.commitments.services.hearing_decide`): an approval not yet
    # concluded is stopped, a concluded one revoked. The reason and legal basis are the event's.
    @transition(field=state, source=CaseState.APPROVED, target=CaseState.STOPPED)
    def stop(self):
        pass

    @transition(field=state, source=CaseState.CONCLUDED, target=CaseState.REVOKED)
    def revoke(self):
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
            # Decided but not yet concluded: results go out together, so they can still go.
            CaseState.APPROVED,
            CaseState.DENIED,
        ],
        target=CaseState.WITHDRAWN,
    )
    def withdraw(self):
        pass


class CasePause(models.Model):
    """A legal exclusion from the time limit (行政许可法 §45, 工伤保险条例 §20)."""

    class Kind(models.TextChoices):
        HEARING = "hearing", _("Hearing")
        TESTING = "testing", _("Inspection or testing")
        APPRAISAL = "appraisal", _("Appraisal (鉴定)")
        EXPERT_REVIEW = "expert_review", _("Expert review")
        JUDICIAL = "judicial", _("Waiting for a judicial or administrative conclusion")

    item_case = models.ForeignKey(
        ItemCase, on_delete=models.CASCADE, related_name="pauses", verbose_name=_("item case")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("paused by"),
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("resumed by"),
    )
    explanation = models.CharField(_("effect on the due times"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item_case"],
                condition=Q(ended_at__isnull=True),
                name="one_open_pause_per_case",
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_case}: {self.get_kind_display()}"


class ExtensionRequest(models.Model):
    """An extension of the statutory limit, requested by a reviewer, decided by the unit head."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    item_case = models.ForeignKey(
        ItemCase, on_delete=models.CASCADE, related_name="extensions", verbose_name=_("item case")
    )
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.item_case}: {self.get_status_display()}"


class DepartmentRequest(models.Model):
    """A request to another department (医保, 公安 …); the citizen's clock keeps running."""

    item_case = models.ForeignKey(
        ItemCase,
        on_delete=models.CASCADE,
        related_name="department_requests",
        verbose_name=_("item case"),
    )
    department = models.ForeignKey(
        "catalog.Unit", on_delete=models.PROTECT, verbose_name=_("department")
    )
    question = models.TextField(_("request"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("sent by"),
    )
    due_at = models.DateTimeField(_("reply due"))
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)
    reply = models.TextField(_("reply"), blank=True)

    class Meta:
        verbose_name = _("department request")
        verbose_name_plural = _("department requests")
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.item_case} → {self.department.code}"


class ReturnNotice(models.Model):
    """The one complete list of what is missing (一次性告知) sent with a returned application."""

    application = models.ForeignKey(
        Application,
        on_delete=models.CASCADE,
        related_name="return_notices",
        verbose_name=_("application"),
    )
    created_at = models.DateTimeField(_("returned"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("returned by"),
    )
    materials = models.ManyToManyField(
        "catalog.Material", blank=True, verbose_name=_("missing or defective materials")
    )
    note = models.TextField(_("what to correct"), blank=True)

    class Meta:
        verbose_name = _("return notice")
        verbose_name_plural = _("return notices")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.application.reference} {self.created_at:%Y-%m-%d}"


class ReturnAnswer(models.Model):
    """The applicant's answer to a return (补正说明): why a returned material stays unchanged
    (未更改，原因：…), or, for a return with a note only, what was done about the note
    (`material` empty). One per notice and material; a later answer replaces the earlier."""

    notice = models.ForeignKey(
        ReturnNotice,
        on_delete=models.CASCADE,
        related_name="answers",
        verbose_name=_("return notice"),
        db_index=False,
    )
    material = models.ForeignKey(
        "catalog.Material",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("material"),
    )
    explanation = models.TextField(_("explanation"), max_length=1000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("answered by"),
    )
    created_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        verbose_name = _("answer to a return")
        verbose_name_plural = _("answers to returns")
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "material"], name="return_answer_once_per_material"
            ),
            models.UniqueConstraint(
                fields=["notice"],
                condition=Q(material__isnull=True),
                name="return_answer_once_per_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notice}: {self.material_id or '-'}"


class StoredFile(models.Model):
    """An uploaded document, kept outside the static root under a generated name."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="stored_files",
        db_index=False,
    )
    # None: not an applicant's material (the evidence of a rectification, say).
    material = models.ForeignKey(
        "catalog.Material",
        verbose_name=_("material"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
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
        db_index=False,
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
        db_index=False,
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


class CaseEvent(AppendOnlyModel):
    """One recorded fact: a transition or an action, who did it, when, and why. Insert-only."""

    # No index of its own: both indexes in Meta lead with it.
    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("application"),
        db_index=False,
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
    # Indexed only where set (Meta): the system's events (the sweep's flags, recomputes) have
    # no actor and write no entry.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("by"),
        db_index=False,
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    # Filled by the database on insert (see `audit.py`): whatever the writer sends is replaced.
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True, editable=False)
    hash = models.CharField(_("hash"), max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["at", "id"]
        indexes = [
            # The chain's head and the verifier's walk, and every read of one application's
            # events (a few dozen rows, sorted by time as read): no second index on
            # (application, at) for every event written to keep up.
            models.Index(fields=["application", "id"], name="caseevent_chain"),
            models.Index(
                fields=["actor"], name="caseevent_actor", condition=Q(actor__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.from_state}→{self.to_state}"

    @property
    def visit_kind_label(self) -> str:
        """What kind of in-person event a visit was (`visits.visit_count`), "" for the others."""
        kind = self.data.get("kind") if self.action == EventAction.VISIT else None
        return str(VisitKind(kind).label) if kind in VisitKind.values else ""


class AccessKind(models.TextChoices):
    CASE_PAGE = "case_page", _("Staff case page")
    INTAKE_PAGE = "intake_page", _("Intake application page")
    FILE_DOWNLOAD = "file_download", _("Uploaded file downloaded")
    EXPORT_DOWNLOAD = "export_download", _("Excel export downloaded")
    NAMED_RATER = "named_rater", _("Follow-up page showing a named rater")
    DOCUMENT_DOWNLOAD = "document_download", _("Result document downloaded")


class AccessLog(AppendOnlyModel):
    """One view or download of personal data: who, when, what, from where. Insert-only, like the
    event log (on PostgreSQL a trigger refuses UPDATE and DELETE, and the application's role is
    granted SELECT and INSERT only: `create_db_roles`)."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=24, choices=AccessKind.choices)
    object_id = models.CharField(_("object id"), max_length=64)
    reference = models.CharField(_("reference number"), max_length=24, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"]), models.Index(fields=["reference", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.reference or self.object_id}"
