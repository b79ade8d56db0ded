"""The campaign at the unit (考评验收): the unit's filings (self-assessment, docking plan,
reports) with their due times, and one filing's page — write, save, file for 局行风办's review;
returned filings show the comments and can be filed again."""

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.decorators import reviewer_required
from kuaiban.campaigns import services
from kuaiban.campaigns.selectors import is_behind, unit_tasks_for
from kuaiban.web import or_404

from ..actions import run_service
from ..forms import FilingForm


@reviewer_required
def task_list(request):
    now = timezone.now()
    rows = [(t, is_behind(t, now)) for t in unit_tasks_for(request.user.unit_id)]
    return render(request, "desk/campaign_tasks.html", {"rows": rows, "now": now})


def _own(request, task_id):
    return or_404(unit_tasks_for(request.user.unit_id).filter(pk=task_id).first())


@reviewer_required
def task_detail(request, task_id):
    unit_task = _own(request, task_id)
    lines = services.lines_prefilled(unit_task)
    form = FilingForm(lines=lines, initial_task=unit_task)
    if request.method == "POST":
        form = FilingForm(request.POST, lines=lines, initial_task=unit_task)
        if form.is_valid():
            saved = run_service(
                request,
                lambda: services.unit_task_save(
                    unit_task=unit_task,
                    actor=request.user,
                    text=form.cleaned_data["text"],
                    lines=form.line_values(),
                ),
                _("Saved."),
            )
            if saved and request.POST.get("file") == "1":
                run_service(
                    request,
                    lambda: services.unit_task_submit(unit_task=unit_task, actor=request.user),
                    _("Filed for review by the supervision office."),
                )
            return redirect("staff:campaign_task", task_id=unit_task.pk)
    return render(
        request,
        "desk/campaign_task.html",
        {
            "unit_task": unit_task,
            "form": form,
            "behind": is_behind(unit_task, timezone.now()),
            "problems": services.filing_problems(unit_task) if unit_task.is_editable else [],
            "events": unit_task.events.select_related("actor"),
        },
    )
