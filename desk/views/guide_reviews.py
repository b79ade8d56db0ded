"""Service guides under legal review: the queue of guide versions, one version against the guide
it replaces, the administrator's submission and the legal-review unit's decision (approve, which
publishes, or return with comments). The rules live in kuaiban/catalog/guide_versions.py."""

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.accounts.decorators import (
    guide_proposer_required,
    guide_reviewer_required,
    guide_staff_required,
)
from kuaiban.catalog import guide_versions
from kuaiban.catalog import selectors as catalog_selectors
from kuaiban.web import or_404

from ..actions import run_service
from ..forms import GuideReviewForm


def _version(request, version_id):
    return or_404(catalog_selectors.guide_version_for_staff(request.user, version_id))


def _back(version):
    return redirect("staff:guide_review", version_id=version.pk)


@guide_staff_required
def guide_review_queue(request):
    return render(
        request,
        "desk/guide_review_queue.html",
        {"queue": catalog_selectors.guide_review_queue(request.user)},
    )


@guide_staff_required
def guide_review_detail(request, version_id):
    version = _version(request, version_id)
    user = request.user
    return render(
        request,
        "desk/guide_review_detail.html",
        {
            "version": version,
            "changes": catalog_selectors.guide_version_diff(version),
            "may_submit": user.proposes_guides and version.state == version.State.DRAFT,
            "may_decide": user.reviews_guides
            and version.state == version.State.SUBMITTED
            and user.pk not in (version.proposed_by_id, version.submitted_by_id),
            "form": GuideReviewForm(),
        },
    )


@require_POST
@guide_proposer_required
def guide_review_submit(request, version_id):
    version = _version(request, version_id)
    run_service(
        request,
        lambda: guide_versions.version_submit(version=version, actor=request.user),
        _("Submitted for legal review."),
    )
    return _back(version)


def _decide(request, version_id, decide, success):
    version = _version(request, version_id)
    form = GuideReviewForm(request.POST)
    comments = form.cleaned_data["comments"] if form.is_valid() else ""
    run_service(
        request, lambda: decide(version=version, actor=request.user, comments=comments), success
    )
    return _back(version)


@require_POST
@guide_reviewer_required
def guide_review_approve(request, version_id):
    return _decide(
        request,
        version_id,
        guide_versions.version_approve,
        _("Approved: this version is now the published guide."),
    )


@require_POST
@guide_reviewer_required
def guide_review_return(request, version_id):
    return _decide(
        request,
        version_id,
        guide_versions.version_return,
        _("Returned with your comments; the published guide is unchanged."),
    )
