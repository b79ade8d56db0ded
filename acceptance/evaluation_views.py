"""The acceptance evaluation at the supervision office (局行风办): the evaluations of a campaign,
opening one for a bundle or speed-up item and a period, and one evaluation's page — its
operation figures (the dashboard's), on-site inspections, service experiences and findings
with their rectification (recorded here, closed by the units at their desk)."""

from collections.abc import Callable

from django import forms
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.accounts.decorators import supervision_office_required, supervisor_required
from kuaiban.campaigns import evaluations as services
from kuaiban.campaigns.models import ChecklistItem, Evaluation
from kuaiban.web import form_errors_as_messages, or_404, service_reported

from .forms import EvaluationOpenForm, ExperienceForm, FindingForm, InspectionForm
from .selectors.evaluation import operation_figures


@supervisor_required
def evaluation_list(request):
    rows = Evaluation.objects.select_related("campaign", "bundle", "speedup").prefetch_related(
        "findings"
    )
    return render(
        request,
        "acceptance/evaluations.html",
        {"evaluations": rows, "open_form": EvaluationOpenForm(), "now": timezone.now()},
    )


@supervision_office_required
@require_POST
def evaluation_open(request):
    form = EvaluationOpenForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return redirect("supervision:evaluations")
    data = form.cleaned_data
    opened = []
    ok = service_reported(
        request,
        lambda: opened.append(
            services.evaluation_open(
                campaign=data["campaign"],
                actor=request.user,
                period_start=data["period_start"],
                period_end=data["period_end"],
                bundle=data["bundle"],
                speedup=data["speedup"],
            )
        ),
        _("Evaluation opened."),
    )
    if ok:
        return redirect("supervision:evaluation", evaluation_id=opened[0].pk)
    return redirect("supervision:evaluations")


def _evaluation(evaluation_id):
    return or_404(
        Evaluation.objects.select_related("campaign", "bundle", "speedup")
        .filter(pk=evaluation_id)
        .first()
    )


@supervisor_required
def evaluation_detail(request, evaluation_id):
    evaluation = _evaluation(evaluation_id)
    checklist = list(ChecklistItem.objects.all())
    return render(
        request,
        "acceptance/evaluation.html",
        {
            "evaluation": evaluation,
            "operation": operation_figures(evaluation),
            "checklist": checklist,
            "inspections": evaluation.inspections.select_related("hall", "window", "by"),
            "experiences": evaluation.experiences.select_related("by"),
            "findings": evaluation.findings.select_related("unit", "evidence"),
            "inspection_form": InspectionForm(checklist=checklist),
            "experience_form": ExperienceForm(),
            "finding_form": FindingForm(),
            "now": timezone.now(),
        },
    )


@supervision_office_required
@require_POST
def evaluation_step(request, evaluation_id, step):
    evaluation = _evaluation(evaluation_id)
    user = request.user
    form: forms.Form
    call: Callable[[dict], object]
    if step == "inspection":
        form = InspectionForm(request.POST, checklist=list(ChecklistItem.objects.all()))

        def call(d):
            return services.inspection_record(
                evaluation=evaluation,
                actor=user,
                hall=d["hall"],
                window=d["window"],
                met=d["met"],
                note=d["note"],
            )

        success = _("On-site inspection recorded.")
    elif step == "experience":
        form = ExperienceForm(request.POST)

        def call(d):
            return services.experience_record(evaluation=evaluation, actor=user, **d)

        success = _("Service experience recorded.")
    elif step == "finding":
        form = FindingForm(request.POST)

        def call(d):
            return services.finding_record(evaluation=evaluation, actor=user, **d)

        success = _("Finding recorded; the unit has been told.")
    else:
        raise Http404
    if form.is_valid():
        service_reported(request, lambda: call(form.cleaned_data), success)
    else:
        form_errors_as_messages(request, form)
    return redirect("supervision:evaluation", evaluation_id=evaluation.pk)
