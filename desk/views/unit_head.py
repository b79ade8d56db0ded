"""Extension decisions: a unit head for the unit's cases, the city's supervision office (局行风办)
for any; never on one's own request."""

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bundles.services import handling
from kuaiban.accounts.decorators import extension_decider_required
from kuaiban.web import form_errors_as_messages, or_404

from .. import selectors
from ..actions import run_service
from ..forms import ExtensionDecisionForm


@extension_decider_required
def extension_list(request):
    return render(
        request,
        "desk/extensions.html",
        {
            "requests": selectors.pending_extensions(request.user),
            "form": ExtensionDecisionForm(),
        },
    )


@extension_decider_required
@require_POST
def extension_decide(request, request_id):
    extension = or_404(selectors.extension_for_decider(request.user, request_id))
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
