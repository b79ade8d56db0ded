"""The proactive services' funnel (主动服务): per rule, invitations sent in a period, started
and submitted (kuaiban/proactive/selectors.py counts them)."""

from django.shortcuts import render

from kuaiban.accounts.decorators import supervision_office_required
from kuaiban.proactive.selectors import invitation_funnel, proposal_figures

from .forms import PeriodForm


@supervision_office_required
def invitations(request):
    form = PeriodForm(request.GET or None)
    period = form.period()
    return render(
        request,
        "acceptance/invitations.html",
        {
            "form": form,
            "period": period,
            "rows": invitation_funnel(period.start, period.end),
            "proposals": proposal_figures(period.start, period.end),
        },
    )
