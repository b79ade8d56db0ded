"""The campaign at the supervision office (局行风办): the campaigns with their phases, launching
one (each responsible unit gets its filings on the clock), copying one to a new year, where a
campaign stands (filed, accepted, late or missing per task and unit), and the review of one
unit's filing (accept, or return with comments)."""

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.accounts.decorators import supervision_office_required, supervisor_required
from kuaiban.campaigns import services
from kuaiban.campaigns.models import Campaign, UnitTask
from kuaiban.campaigns.selectors import campaign_progress, is_behind
from kuaiban.web import form_errors_as_messages, or_404, service_reported

from .forms import CampaignCopyForm, FilingReviewForm


@supervisor_required
def campaign_list(request):
    campaigns = Campaign.objects.prefetch_related("phases")
    return render(
        request,
        "acceptance/campaigns.html",
        {"campaigns": campaigns, "copy_form": CampaignCopyForm(), "today": timezone.localdate()},
    )


@supervisor_required
def campaign_detail(request, code):
    campaign = or_404(Campaign.objects.filter(code=code).first())
    return render(
        request,
        "acceptance/campaign.html",
        {"progress": campaign_progress(campaign, timezone.now()), "campaign": campaign},
    )


@supervision_office_required
@require_POST
def campaign_launch(request, code):
    campaign = or_404(Campaign.objects.filter(code=code).first())
    service_reported(
        request,
        lambda: services.campaign_launch(campaign=campaign, actor=request.user),
        _("Launched: every responsible unit has its filings on the clock."),
    )
    return redirect("supervision:campaign", code=campaign.code)


@supervision_office_required
@require_POST
def campaign_copy(request, code):
    source = or_404(Campaign.objects.filter(code=code).first())
    form = CampaignCopyForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return redirect("supervision:campaigns")
    copied: list[Campaign] = []
    ok = service_reported(
        request,
        lambda: copied.append(
            services.campaign_copy(
                source=source,
                code=form.cleaned_data["code"],
                year=form.cleaned_data["year"],
                actor=request.user,
            )
        ),
        _("Campaign created from the earlier one; check its dates, then launch it."),
    )
    return (
        redirect("supervision:campaign", code=copied[0].code)
        if ok
        else redirect("supervision:campaigns")
    )


def _unit_task(task_id):
    return or_404(
        UnitTask.objects.select_related("task__phase__campaign", "unit").filter(pk=task_id).first()
    )


@supervisor_required
def filing(request, task_id):
    unit_task = _unit_task(task_id)
    return render(
        request,
        "acceptance/filing.html",
        {
            "unit_task": unit_task,
            "behind": is_behind(unit_task, timezone.now()),
            "review_form": FilingReviewForm(),
            "events": unit_task.events.select_related("actor"),
        },
    )


@supervision_office_required
@require_POST
def filing_review(request, task_id):
    unit_task = _unit_task(task_id)
    form = FilingReviewForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return redirect("supervision:filing", task_id=unit_task.pk)
    accept = form.cleaned_data["decision"] == "accept"
    service_reported(
        request,
        lambda: services.unit_task_review(
            unit_task=unit_task,
            actor=request.user,
            accept=accept,
            comments=form.cleaned_data["comments"],
        ),
        _("Filing accepted.") if accept else _("Filing returned to the unit with your comments."),
    )
    return redirect("supervision:filing", task_id=unit_task.pk)
