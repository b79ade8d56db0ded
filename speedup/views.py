from datetime import datetime, time, timedelta

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.decorators import supervisor_required
from kuaiban.web import PeriodDateField

from . import selectors


class PeriodForm(forms.Form):
    start = PeriodDateField(label=_("From"))
    end = PeriodDateField(label=_("To"))

    def clean(self):
        data = super().clean() or self.cleaned_data
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The period must end after it starts."))
        return data


@supervisor_required
def metrics(request):
    today = timezone.localdate()
    form = PeriodForm(request.GET or {"start": today - timedelta(days=30), "end": today})
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    else:
        start, end = today - timedelta(days=30), today
    tz = timezone.get_current_timezone()
    start_at = datetime.combine(start, time.min, tzinfo=tz)
    end_at = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return render(
        request,
        "speedup/metrics.html",
        {
            "form": form,
            "goal": selectors.speedup_goal(start=start_at, end=end_at),
            "usage": selectors.unit_usage(start=start_at, end=end_at),
        },
    )
