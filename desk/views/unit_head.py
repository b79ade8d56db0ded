"""The unit head's decisions: extension requests of the unit's cases (approve or reject)."""

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bundles.services import handling
from kuaiban.accounts.decorators import unit_head_required
from kuaiban.web import form_errors_as_messages, or_404

from .. import selectors
from ..actions import run_service
from ..forms import ExtensionDecisionForm


@unit_head_required
def extension_list(request):
    return render(
        request,
        "desk/extensions.html",
        {
            "requests": selectors.pending_extensions(request.user),
            "form": ExtensionDecisionForm(),
        },
    )


@unit_head_required
@require_POST
def extension_decide(request, request_id):
    extension = or_404(selectors.extension_for_unit_head(request.user, request_id))
    form = ExtensionDecisionForm(request.POST)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return redirect("staff:extensions")
    approve = form.cleaned_data["decision"] == "approve"
    run_service(
        request,
        lambda: handling.extension_decide(
            request=extension, actor=request.user, approve=approve, note=form.cleaned_data["note"]
        ),
        _("Extension approved.") if approve else _("Extension rejected."),
    )
    return redirect("staff:extensions")
