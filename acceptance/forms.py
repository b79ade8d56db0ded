"""The supervision filter form: a period and the six dimensions. A district supervisor (a user
with `district` set) is held to that district: the form offers only it and its halls, and
`filters()` returns it whatever the request said."""

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.campaigns.models import Campaign, Finding, ServiceExperience
from kuaiban.catalog.models import (
    Bundle,
    District,
    ServiceHall,
    ServiceItem,
    SpeedUpEntry,
    Unit,
    Window,
)
from kuaiban.web import PeriodDateField, date_input

from .figures import FILTER_NAMES, SINGLE_ITEMS
from .selectors.common import Period, default_period, period_asked

MAX_DAYS = 3 * 366


def _choice(label):
    return forms.TypedChoiceField(label=label, required=False, coerce=int, empty_value=None)


class FilterForm(forms.Form):
    # A date input wants ISO dates whatever the language's date format; out-of-range dates are
    # a form error (kuaiban.web.PeriodDateField).
    start = PeriodDateField(label=_("From"), required=False)
    end = PeriodDateField(label=_("To"), required=False)
    bundle = _choice(_("Bundle"))
    item = _choice(_("Item"))
    unit = _choice(_("Unit"))
    window = _choice(_("Window"))
    hall = _choice(_("Service hall"))
    district = _choice(_("District or county"))

    def __init__(self, data=None, *, user, with_period: bool = True):
        self.scope_district = getattr(user, "district_id", None)
        if data is not None and self.scope_district:
            data = data.copy()
            data["district"] = str(self.scope_district)
        if data is not None and with_period and not (data.get("start") or data.get("end")):
            # A link without a period (a figure, a sort) shows the default period, filled in.
            data = data.copy()
            default = default_period()
            data["start"], data["end"] = default.start.isoformat(), default.end.isoformat()
        super().__init__(data)
        self.with_period = with_period
        if not with_period:
            del self.fields["start"], self.fields["end"]
        anything = [("", _("All"))]
        self._choice_field("bundle").choices = [
            *anything,
            (SINGLE_ITEMS, _("Single-item applications (no bundle)")),
            *((b.pk, f"{b.code} {b.name}") for b in Bundle.objects.order_by("code")),
        ]
        self._choice_field("item").choices = anything + [
            (i.pk, f"{i.code} {i.name}") for i in ServiceItem.objects.order_by("code")
        ]
        self._choice_field("unit").choices = anything + [
            (u.pk, u.name) for u in Unit.objects.order_by("kind", "code")
        ]
        self._choice_field("window").choices = anything + [
            (w.pk, w.name) for w in Window.objects.order_by("code")
        ]
        halls = ServiceHall.objects.order_by("code")
        districts = District.objects.order_by("code")
        if self.scope_district:
            halls = halls.filter(district_id=self.scope_district)
            districts = districts.filter(pk=self.scope_district)
            self._choice_field("district").choices = [(d.pk, d.name) for d in districts]
            self.fields["district"].disabled = True
            self.fields["district"].initial = self.scope_district
        else:
            self._choice_field("district").choices = anything + [(d.pk, d.name) for d in districts]
        self._choice_field("hall").choices = anything + [(h.pk, h.name) for h in halls]
        if with_period and not self.is_bound:
            period = self.period()
            self.fields["start"].initial, self.fields["end"].initial = period.start, period.end

    def _choice_field(self, name: str) -> forms.ChoiceField:
        """One of this form's choice fields (its choices are set per request)."""
        field = self.fields[name]
        if not isinstance(field, forms.ChoiceField):
            raise TypeError(f"{name} is not a choice field")
        return field

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The period must end after it starts."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(_("Choose a period of at most three years."))
        return data

    def _value(self, name):
        if not self.is_bound:
            return None
        self.is_valid()  # cleans once; an invalid field is left out of cleaned_data
        return self.cleaned_data.get(name)

    def filters(self) -> dict:
        """The valid filters (an invalid one is dropped and its error shown), the district
        forced for a district supervisor."""
        filters = {name: self._value(name) for name in FILTER_NAMES}
        if self.scope_district:
            filters["district"] = self.scope_district
        return {k: v for k, v in filters.items() if v is not None}

    def period(self, today: date | None = None) -> Period:
        today = today or timezone.localdate()
        start, end = self._value("start"), self._value("end")
        if self.is_bound and self.non_field_errors():
            start = end = None
        return period_asked(start, end, today)

    def query(self, **extra) -> str:
        """The query string of the current period and filters (for links), plus `extra`."""
        params = {}
        if self.with_period:
            period = self.period()
            params = {"start": period.start.isoformat(), "end": period.end.isoformat()}
        forced = "district" if self.scope_district else None
        params.update({k: v for k, v in self.filters().items() if k != forced})
        params.update({k: v for k, v in extra.items() if v not in (None, "")})
        return urlencode(params)


class AppealDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("uphold", _("Uphold: the review no longer counts")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Reasons"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CampaignCopyForm(forms.Form):
    code = forms.CharField(label=_("Code of the new campaign"), max_length=32)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)


class FilingReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("accept", _("Accept")), ("return", _("Return for changes"))],
        widget=forms.RadioSelect,
    )
    comments = forms.CharField(
        label=_("Comments"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class EvaluationOpenForm(forms.Form):
    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.all())
    bundle = forms.ModelChoiceField(
        label=_("Bundle"), queryset=Bundle.objects.order_by("code"), required=False
    )
    speedup = forms.ModelChoiceField(
        label=_("or speed-up item"),
        queryset=SpeedUpEntry.objects.order_by("number"),
        required=False,
    )
    period_start = forms.DateField(label=_("Period from"), widget=date_input())
    period_end = forms.DateField(label=_("Period to"), widget=date_input())


class InspectionForm(forms.Form):
    hall = forms.ModelChoiceField(label=_("Service hall"), queryset=ServiceHall.objects.all())
    window = forms.ModelChoiceField(
        label=_("Window"), queryset=Window.objects.all(), required=False
    )
    met = forms.MultipleChoiceField(
        label=_("Points found met"), required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label=_("What was seen"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, checklist, **kwargs):
        super().__init__(*args, **kwargs)
        met = self.fields["met"]
        assert isinstance(met, forms.MultipleChoiceField)  # noqa: S101 - narrows the type
        met.choices = [(item.code, item.text) for item in checklist]


class ExperienceForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ServiceExperience.Channel.choices)
    steps = forms.CharField(
        label=_("Steps taken"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
    minutes_taken = forms.IntegerField(label=_("Minutes taken"), min_value=0, max_value=100_000)
    visits = forms.IntegerField(label=_("Visits needed"), min_value=0, max_value=100, initial=0)
    problems = forms.CharField(
        label=_("Problems met"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class FindingForm(forms.Form):
    source = forms.ChoiceField(label=_("Found by"), choices=Finding.Source.choices)
    text = forms.CharField(
        label=_("What must change"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
    unit = forms.ModelChoiceField(
        label=_("Responsible unit"), queryset=Unit.objects.filter(kind=Unit.Kind.INTERNAL)
    )
    rectify_by = forms.DateField(label=_("Rectify by"), widget=date_input())


class NoticeDraftForm(forms.Form):
    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.all())
    period_start = forms.DateField(label=_("Period from"), widget=date_input())
    period_end = forms.DateField(label=_("Period to"), widget=date_input())


class NoticeEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"), max_length=20000, widget=forms.Textarea(attrs={"rows": 24})
    )


class PeriodForm(forms.Form):
    """A period alone (the invitation funnel, the pre-check's figures): from `start` to `end`,
    either way round."""

    start = PeriodDateField(label=_("From"), required=False)
    end = PeriodDateField(label=_("To"), required=False)

    def period(self) -> Period:
        start = end = None
        if self.is_bound and self.is_valid():
            start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        if start and end and start > end:
            start, end = end, start
        return period_asked(start, end)
