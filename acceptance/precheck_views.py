"""The smart pre-check's figures (智能预审): per rule, how often it fired in a period, how often
the clerk agreed, and the return rate of applications with and without its finding
(kuaiban/precheck/selectors.py counts them)."""

from django.shortcuts import render

from kuaiban.accounts.decorators import supervision_office_required
from kuaiban.precheck.selectors import precheck_figures

from .forms import PeriodForm


@supervision_office_required
def prechecks(request):
    form = PeriodForm(request.GET or None)
    period = form.period()
    return render(
        request,
        "acceptance/prechecks.html",
        {"form": form, "period": period, "rows": precheck_figures(period.start, period.end)},
    )
