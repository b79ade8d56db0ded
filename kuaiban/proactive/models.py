"""Proactive services (主动服务) as data: a rule invites people to a bundle when something
happens (an employer's filing names them, they reach retirement age), with what is already
known filled in. An invitation is written once per rule, person and trigger; an opt-out stops
further ones."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.crypto import EncryptedJSONField, EncryptedTextField
from kuaiban.shareddata.kinds import DataKind


class Trigger(models.TextChoices):
    # A bundle's application submitted: the person named in its form is invited.
    ON_SUBMISSION = "on_submission", _("An application of a bundle is submitted")
    # Insured persons reaching the statutory retirement age within the lead time.
    AGE_REACHED = "age_reached", _("An insured person reaches the retirement age")
    # A death registration (civil affairs' source): the family member who registered it (the
    # informant, 申报人) is invited.
    DEATH_RECORD = "death_record", _("A death is registered")
    # A citizen's account becomes real-name verified: the person is looked up in the rule's
    # shared-data source (education: a recent graduate is invited to B04).
    ON_REGISTRATION = "on_registration", _("A citizen registers (real-name verified)")


class RuleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    # Computes who would be invited (the preview), sends nothing.
    DRY_RUN = "dry_run", _("Dry run: counted, nothing sent")
    ON = "on", _("On: invitations are sent")
    OFF = "off", _("Off")


class InvitationRule(models.Model):
    """A proactive service: on a trigger, invite the people it names to `bundle`, with the
    answers `prefill` maps filled in. Edited in the admin; previewed (dry run) before it is on."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    audience = models.TextField(_("audience"), blank=True, help_text=_("Who is invited, in words."))
    bundle = models.ForeignKey(
        "catalog.Bundle",
        verbose_name=_("bundle invited to"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=RuleStatus.choices, default=RuleStatus.DRAFT
    )
    # ON_SUBMISSION: the bundle whose submission triggers the rule, and the form fields of that
    # application that name the person.
    trigger_bundle = models.ForeignKey(
        "catalog.Bundle",
        verbose_name=_("triggering bundle"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    person_id_field = models.CharField(
        _("form field with the person's ID number"), max_length=40, blank=True
    )
    person_name_field = models.CharField(
        _("form field with the person's name"), max_length=40, blank=True
    )
    person_phone_field = models.CharField(
        _("form field with the person's mobile number"), max_length=40, blank=True
    )
    # ON_REGISTRATION: the shared-data source the registrant is looked up in, and the record's
    # date fact that must lie within the last `lead_days` days (graduation_date).
    source = models.CharField(
        _("shared-data source"), max_length=32, choices=DataKind.choices, blank=True
    )
    source_date_fact = models.CharField(_("date fact of the record"), max_length=40, blank=True)
    # AGE_REACHED: the statutory ages (data: the 2025 reform raises them step by step).
    age_men = models.PositiveSmallIntegerField(_("age (men)"), null=True, blank=True)
    age_women = models.PositiveSmallIntegerField(_("age (women)"), null=True, blank=True)
    lead_days = models.PositiveSmallIntegerField(
        _("lead time (days)"),
        default=1,
        help_text=_(
            "Age reached: invite this many days before the birthday. Submission: applications "
            "submitted in the last this many days are caught up by the daily run. Death: deaths "
            "of the last this many days. Registration: the record's date (graduation) in the "
            "last this many days."
        ),
    )
    message_zh = models.TextField(
        _("message (Chinese)"), help_text=_("Placeholders: {name} {bundle} {link}")
    )
    message_en = models.TextField(_("message (English)"), blank=True)
    # {target form field code: source}. Sources: "form:<code>" (the triggering application's
    # answer), "applicant:name" (the triggering applicant's name), "record:<fact>" (a fact of
    # the triggering death registration: name, id_number, date_of_death), "person:name",
    # "person:id_number", "person:phone", "person:birth_date".
    prefill = models.JSONField(_("pre-filled answers"), default=dict, blank=True)
    # For a death registration: which deaths the rule is for, e.g. a death at work (B08) or not
    # (B09): [{"fact", "op", "value"}], all holding (a missing fact never holds).
    record_conditions = models.JSONField(
        _("conditions on the record"),
        default=list,
        blank=True,
        help_text=_(
            'Which registrations the rule is for: [{"fact": "work_related", "op": "=", '
            '"value": "yes"}]; every condition must hold.'
        ),
    )

    class Meta:
        verbose_name = _("invitation rule")
        verbose_name_plural = _("invitation rules")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def sends(self) -> bool:
        return self.status == RuleStatus.ON

    def clean(self) -> None:
        """What the admin checks before a rule is saved: the trigger's data present, the form
        fields named exist, the message's placeholders known, the prefill's sources valid."""
        from kuaiban.catalog.models import FormField

        errors: dict[str, list] = {}
        known = set(FormField.objects.values_list("code", flat=True))
        if self.trigger == Trigger.ON_SUBMISSION:
            if self.trigger_bundle_id is None:
                errors["trigger_bundle"] = [_("Name the bundle whose submission triggers it.")]
            if not self.person_id_field:
                errors["person_id_field"] = [_("Name the form field with the ID number.")]
            for name in ("person_id_field", "person_name_field", "person_phone_field"):
                code = getattr(self, name)
                if code and code not in known:
                    errors.setdefault(name, []).append(_("No form field has this code."))
        if self.trigger == Trigger.ON_REGISTRATION:
            if not self.source:
                errors["source"] = [
                    _("Name the shared-data source the registrant is looked up in.")
                ]
            if not self.source_date_fact:
                errors["source_date_fact"] = [_("Name the record's date fact.")]
        record_conditions = self.record_conditions
        if not isinstance(record_conditions, list) or not all(
            isinstance(c, dict) and c.get("fact") and c.get("op") in CONDITION_OPERATORS
            for c in record_conditions
        ):
            errors["record_conditions"] = [
                _('A list of {"fact", "op", "value"}; op one of = != >= <= > <.')
            ]
        if self.trigger == Trigger.AGE_REACHED and self.age_men is None and self.age_women is None:
            errors["age_men"] = [_("Give the retirement age of men, of women, or both.")]
        for name in ("message_zh", "message_en"):
            try:
                getattr(self, name).format(name="", bundle="", link="")
            except (KeyError, IndexError, ValueError):
                errors[name] = [_("Use only the placeholders {name} {bundle} {link}.")]
        prefill = self.prefill if isinstance(self.prefill, dict) else None
        if prefill is None:
            errors["prefill"] = [_("A mapping of form field codes to sources.")]
        else:
            bad = [
                f"{code}: {source}"
                for code, source in prefill.items()
                if code not in known or not _valid_source(str(source), known)
            ]
            if bad:
                errors["prefill"] = [
                    _("Unknown form field or source: %(list)s") % {"list": "; ".join(bad)}
                ]
        if errors:
            raise ValidationError(errors)


PERSON_SOURCES = ("person:name", "person:id_number", "person:phone", "person:birth_date")


def _valid_source(source: str, form_fields: set[str]) -> bool:
    """A prefill source: the triggering application's answer (form:<code>), its applicant's
    name, or what is known of the person invited."""
    if source.startswith("form:"):
        return source[len("form:") :] in form_fields
    if source.startswith("record:"):
        return bool(source[len("record:") :])
    return source in (*PERSON_SOURCES, "applicant:name")


def _token() -> str:
    return secrets.token_urlsafe(18)


class Invitation(models.Model):
    """One invitation of one person by one rule for one trigger (an application's reference, the
    day an age is reached): written once, whatever repeats. The person is an account when one
    holds their ID number, else only the number's keyed hash (and the phone it went to)."""

    rule = models.ForeignKey(
        InvitationRule,
        on_delete=models.PROTECT,
        related_name="invitations",
        verbose_name=_("rule"),
        db_index=False,
    )
    person_hash = models.CharField(max_length=64, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    person_name = models.CharField(_("name"), max_length=100, blank=True)
    phone = EncryptedTextField(_("mobile number"), blank=True, default="")
    trigger_key = models.CharField(_("trigger"), max_length=64)
    token = models.CharField(max_length=32, unique=True, default=_token, editable=False)
    # The answers the target bundle's form starts with (may hold personal numbers: encrypted).
    prefill = EncryptedJSONField(_("pre-filled answers"), default=dict, blank=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    application = models.ForeignKey(
        "cases.Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("application started"),
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Submitted: the started application's own `submitted_at` (one fact, stored once).

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "person_hash", "trigger_key"], name="proactive_invited_once"
            )
        ]
        indexes = [models.Index(fields=["rule", "sent_at"]), models.Index(fields=["person_hash"])]

    def __str__(self) -> str:
        return f"{self.rule.code} → {self.person_name or self.person_hash[:8]}"


class OptOut(models.Model):
    """A person who asked not to be invited again: by one rule, or by any (rule empty)."""

    person_hash = models.CharField(max_length=64, editable=False)
    rule = models.ForeignKey(
        InvitationRule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="opt_outs",
        verbose_name=_("rule (empty: every rule)"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        constraints = [
            models.UniqueConstraint(
                fields=["person_hash", "rule"],
                name="proactive_opt_out_once",
                condition=models.Q(rule__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["person_hash"],
                name="proactive_opt_out_all_once",
                condition=models.Q(rule__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_hash[:8]}: {self.rule or '*'}"


# -- 免申即享: entitlements proposed without an application -----------------------------------

CONDITION_OPERATORS = ("=", "!=", ">=", "<=", ">", "<")


class EntitlementRule(models.Model):
    """免申即享 where the law allows: for an item whose eligibility is decidable from shared data
    alone, the people of a source whose facts meet every condition get the item proposed to the
    handling unit without applying (an application of channel PROACTIVE, accepted at once); they
    are told and may object within `objection_days`. Conditions are data: a list of
    {"fact": …, "op": one of = != >= <= > <, "value": …} over the facts of the person's record
    of `source` plus `age` (whole years today), `sex` and `birth_date` read from the ID number."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    item = models.ForeignKey(
        "catalog.ServiceItem",
        verbose_name=_("item proposed"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    source = models.CharField(
        _("candidates from"),
        max_length=32,
        choices=[("social_insurance", _("Social-insurance history (参保缴费记录)"))],
        default="social_insurance",
    )
    conditions = models.JSONField(_("eligibility conditions"), default=list, blank=True)
    prefill = models.JSONField(
        _("pre-filled answers"),
        default=dict,
        blank=True,
        help_text=_("Form field code → fact name (name, id_number, birth_date, or a record fact)."),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=RuleStatus.choices, default=RuleStatus.DRAFT
    )
    objection_days = models.PositiveSmallIntegerField(_("days to object"), default=15)
    message_zh = models.TextField(
        _("notice (Chinese)"), help_text=_("Placeholders: {name} {item} {link} {days}")
    )

    class Meta:
        verbose_name = _("entitlement rule (免申即享)")
        verbose_name_plural = _("entitlement rules (免申即享)")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def proposes(self) -> bool:
        return self.status == RuleStatus.ON

    def clean(self) -> None:
        errors: dict[str, list] = {}
        conditions = self.conditions if isinstance(self.conditions, list) else None
        if not conditions or not all(
            isinstance(c, dict)
            and c.get("fact")
            and c.get("op") in CONDITION_OPERATORS
            and "value" in c
            for c in conditions
        ):
            errors["conditions"] = [
                _('A list of {"fact": …, "op": "=", "!=", ">=", "<=", ">" or "<", "value": …}.')
            ]
        if not isinstance(self.prefill, dict):
            errors["prefill"] = [_("A mapping of form field codes to fact names.")]
        try:
            self.message_zh.format(name="", item="", link="", days="")
        except (KeyError, IndexError, ValueError):
            errors["message_zh"] = [_("Use only the placeholders {name} {item} {link} {days}.")]
        if errors:
            raise ValidationError(errors)


class Proposal(models.Model):
    """One proposal of one rule's item to one person (the keyed hash of the ID number): written
    once under a unique constraint, however often the rule runs. The application is the case the
    unit decides; an objection withdraws it."""

    rule = models.ForeignKey(
        EntitlementRule,
        on_delete=models.PROTECT,
        related_name="proposals",
        verbose_name=_("rule"),
        db_index=False,
    )
    person_hash = models.CharField(max_length=64, editable=False)
    application = models.OneToOneField(
        "cases.Application",
        on_delete=models.PROTECT,
        related_name="proposal",
        verbose_name=_("application"),
    )
    # The facts the decision rests on (may hold personal numbers: encrypted; shown masked).
    facts = EncryptedJSONField(_("facts"), default=dict, blank=True)
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    objection_due = models.DateTimeField(_("objections until"))
    objected_at = models.DateTimeField(_("objected"), null=True, blank=True)

    class Meta:
        verbose_name = _("proposal (免申即享)")
        verbose_name_plural = _("proposals (免申即享)")
        constraints = [
            models.UniqueConstraint(fields=["rule", "person_hash"], name="proactive_proposed_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule.code} → {self.application_id}"
