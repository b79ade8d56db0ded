"""Forms of the staff desk. They parse what staff typed; the services decide."""

from decimal import Decimal
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from bundles.services.window_enterprise import enterprise_errors
from kuaiban.accounts.identity import normalize_credit_code, normalize_phone, normalize_resident_id
from kuaiban.cases.models import CasePause, DepartmentRequest
from kuaiban.commitments.models import CheckMethod, CheckState, HearingOutcome
from kuaiban.documents.models import ResultDelivery
from kuaiban.ratings.models import Finding
from kuaiban.web import date_input, start_key_parsed

from . import selectors

# -- window intake ---------------------------------------------------------------------------


class AcceptForm(forms.Form):
    conclude_instant = forms.BooleanField(label=_("Conclude instant items now"), required=False)


class ReturnForm(forms.Form):
    materials = forms.TypedMultipleChoiceField(
        label=_("Missing or defective materials"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("What to correct"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, materials=(), **kwargs):
        super().__init__(*args, **kwargs)
        materials_field = cast(forms.TypedMultipleChoiceField, self.fields["materials"])
        materials_field.choices = [(m.pk, m.name) for m in materials]


class ReasonBasisForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    legal_basis = forms.CharField(label=_("Legal basis"), max_length=300)


class VisitForm(forms.Form):
    purpose = forms.CharField(label=_("Purpose of the visit"), max_length=300)


class PostedResultsForm(forms.Form):
    """The carrier and tracking number of posted results (the service checks the number's
    shape for the carrier)."""

    carrier = forms.ChoiceField(label=_("Carrier"), choices=ResultDelivery.Carrier.choices)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=40)


# -- in-person intake ------------------------------------------------------------------------


class WindowIntakeStartForm(forms.Form):
    APPLICANT_TYPES = [
        ("citizen", _("A person applying for themselves")),
        ("enterprise", _("An enterprise or institution, through its agent (经办人)")),
    ]
    applicant_type = forms.ChoiceField(
        label=_("Who applies"),
        choices=APPLICANT_TYPES,
        initial="citizen",
        required=False,
        widget=forms.RadioSelect,
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 18}),
    )
    organisation_name = forms.CharField(
        label=_("Name of the enterprise or institution"), max_length=100, required=False
    )
    resident_id = forms.CharField(
        label=_("Resident ID number"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 18}),
    )
    real_name = forms.CharField(
        label=_("Real name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off", "maxlength": 13}),
    )
    service = forms.ChoiceField(label=_("Service"))
    start_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, bundles, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.subjects = {f"bundle:{b.code}": b for b in bundles} | {
            f"item:{i.code}": i for i in items
        }
        cast(forms.ChoiceField, self.fields["service"]).choices = [
            ("", "—"),
            (_("Bundles"), [(f"bundle:{b.code}", b.name) for b in bundles]),
            (_("Single items"), [(f"item:{i.code}", i.name) for i in items]),
        ]

    # The identity validators, so every field error shows at once next to its field; the
    # service checks the same again.
    def clean_resident_id(self):
        return normalize_resident_id(self.cleaned_data["resident_id"])

    def clean_start_key(self):
        # A malformed key (a tampered page) is no key: a fresh application, never an error.
        return start_key_parsed(self.cleaned_data["start_key"])

    def clean_real_name(self):
        return self.cleaned_data["real_name"].strip()

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean(self):
        data = super().clean() or {}
        if data.get("applicant_type") != "enterprise":
            data["credit_code"] = data["organisation_name"] = ""
            return data
        for name, messages in enterprise_errors(
            data.get("credit_code", ""), data.get("organisation_name", "")
        ).items():
            self.add_error(name, messages)
        if not self.errors.get("credit_code"):
            data["credit_code"] = normalize_credit_code(data.get("credit_code", ""))
        return data

    def organisation(self) -> dict:
        """The organisation the agent applies for, as the service takes it (empty: a person)."""
        return {
            "credit_code": self.cleaned_data.get("credit_code", ""),
            "organisation_name": self.cleaned_data.get("organisation_name", "").strip(),
        }

    def subject(self) -> dict:
        """The chosen service as the keyword the service takes: {"bundle": …} or {"item": …}."""
        key = self.cleaned_data["service"]
        return {key.split(":", 1)[0]: self.subjects[key]}


# -- back office -----------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class OnSiteCheckForm(forms.Form):
    note = forms.CharField(
        label=_("What was checked on site"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PauseForm(ReasonForm):
    kind = forms.ChoiceField(label=_("Kind of pause"), choices=CasePause.Kind.choices)
    field_order = ["kind", "reason"]


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class DepartmentRequestForm(forms.Form):
    department = DepartmentChoiceField(
        label=_("Department"), queryset=selectors.external_departments()
    )
    question = forms.CharField(
        label=_("Request"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DepartmentReplyForm(forms.Form):
    request = forms.ModelChoiceField(label=_("Request"), queryset=DepartmentRequest.objects.none())
    reply = forms.CharField(
        label=_("Reply"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        request_field = cast(forms.ModelChoiceField, self.fields["request"])
        request_field.queryset = case.department_requests.filter(replied_at__isnull=True)


# -- unit head -------------------------------------------------------------------------------


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class FollowUpVerifyForm(forms.Form):
    contact_note = forms.CharField(
        label=_("How the case was verified (contact, records checked)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    finding = forms.ChoiceField(
        label=_("Finding"), choices=Finding.choices, widget=forms.RadioSelect
    )


class FollowUpAnswerForm(forms.Form):
    rectification = forms.CharField(
        label=_("Rectification or explanation"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    answer = forms.CharField(
        label=_("Answer to the applicant (they read it on their status page)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class FollowUpAppealForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the review is mistaken or malicious, and the evidence"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


# -- commitments: post-hoc verification and sanctions (告知承诺制) -------------------------------


class CheckMethodForm(forms.Form):
    method = forms.ChoiceField(label=_("Verification method"), choices=CheckMethod.choices)
    method_note = forms.CharField(
        label=_("How it is verified (source, place, notice)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CheckEvidenceForm(forms.Form):
    file = forms.FileField(label=_("Evidence (PDF, JPEG or PNG)"))


class CheckOutcomeForm(forms.Form):
    finding = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            (CheckState.CONFIRMED, CheckState.CONFIRMED.label),
            (CheckState.FOUND_FALSE, CheckState.FOUND_FALSE.label),
        ],
        widget=forms.RadioSelect,
    )
    outcome_note = forms.CharField(
        label=_("What the verification found"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    legal_basis = forms.CharField(
        label=_("Legal basis of the intended measures (when found false)"),
        max_length=300,
        required=False,
    )


class HearingDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=HearingOutcome.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    repayment_amount = forms.DecimalField(
        label=_("Benefits to repay (yuan; empty when none was paid)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )
    repayment_due = forms.DateField(
        label=_("To be repaid by"),
        required=False,
        widget=date_input(),
    )
    bar_months = forms.IntegerField(
        label=_("Barred from the commitment route for (months; 0: until lifted)"),
        min_value=0,
        max_value=120,
        initial=36,
    )


class BarLiftForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for lifting the bar"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class FilingForm(forms.Form):
    """A unit's campaign filing: the self-assessment text and, for a docking plan, one group of
    fields per line (bundle or speed-up item), named line-N-…; nothing typed is lost on an
    error, the page shows it again."""

    text = forms.CharField(
        label=_("Self-assessment"),
        max_length=10000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args, lines, initial_task, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.fields["text"].initial = initial_task.text
        for i, line in enumerate(lines):
            prefix = f"line-{i}-"
            self.fields[prefix + "measures"] = forms.CharField(
                label=_("Measures"),
                max_length=2000,
                required=False,
                initial=line.measures,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[prefix + "responsible"] = forms.CharField(
                label=_("Responsible person"),
                max_length=100,
                required=False,
                initial=line.responsible,
            )
            self.fields[prefix + "target_date"] = forms.DateField(
                label=_("Target date"),
                required=False,
                initial=line.target_date,
                widget=date_input(),
            )
            self.fields[prefix + "can_be_instant"] = forms.BooleanField(
                label=_("Can become an instant item"), required=False, initial=line.can_be_instant
            )

    def line_rows(self):
        """(line, its four bound fields) for the template."""
        names = ("measures", "responsible", "target_date", "can_be_instant")
        return [
            (line, [self[f"line-{i}-{name}"] for name in names])
            for i, line in enumerate(self.lines)
        ]

    def line_values(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "bundle": line.bundle,
                "speedup": line.speedup,
                **{
                    name: data.get(f"line-{i}-{name}")
                    for name in ("measures", "responsible", "target_date", "can_be_instant")
                },
            }
            for i, line in enumerate(self.lines)
        ]


class RectificationForm(forms.Form):
    rectification = forms.CharField(
        label=_("What was done"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    evidence = forms.FileField(label=_("Evidence (PDF, JPEG or PNG)"))


class GuideReviewForm(forms.Form):
    """The legal-review unit's decision on a guide version: comments (required to return it)."""

    comments = forms.CharField(
        label=_("Review comments"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# -- the working-day calendar (administrators) --------------------------------------------------

CALENDAR_FILE_MAX_BYTES = 1024 * 1024  # a year's schedule is a few kilobytes


class CalendarImportForm(forms.Form):
    file = forms.FileField(
        label=_("Schedule file (.csv, .xlsx or .ics)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.ics"}),
    )
    year = forms.IntegerField(
        label=_("Year"),
        required=False,
        min_value=2000,
        max_value=2100,
        help_text=_("Leave empty to take the year of the file's dates."),
    )
    replace_admin_edits = forms.BooleanField(
        label=_("Replace my edits"),
        required=False,
        help_text=_(
            "Days an administrator edited by hand are kept unless this is ticked; the preview "
            "lists them."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > CALENDAR_FILE_MAX_BYTES:
            raise forms.ValidationError(_("A schedule file is at most 1 MB."))
        return upload


class CalendarImportConfirmForm(forms.Form):
    """The checked file, signed at the preview and carried back with the confirmation."""

    payload = forms.CharField(widget=forms.HiddenInput)
    replace_admin_edits = forms.BooleanField(required=False, widget=forms.HiddenInput)
