"""The result documents' pages: the PDF for those who may see it, and the public verification
page (no login, throttled per address, masked data only; an unknown code is 404 and says
nothing else)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from kuaiban.accounts.throttle import verification_allowed
from kuaiban.cases.access import access_record
from kuaiban.cases.models import AccessKind
from kuaiban.web import or_404

from . import selectors
from .forms import VerifyForm
from .pdf import document_pdf


@login_required
@require_GET
def download(request, document_id):
    """The PDF as an attachment, to the applicant (once the results went out) or the staff
    handling the application; 404 for anyone else."""
    document = or_404(selectors.document_for_user(request.user, document_id))
    access_record(
        request,
        AccessKind.DOCUMENT_DOWNLOAD,
        object_id=document.pk,
        reference=document.application.reference,
    )
    response = HttpResponse(document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def verify_form(request):
    """Type the code printed on the paper; a well-formed one goes to its page."""
    form = VerifyForm(request.GET or None)
    if request.GET and form.is_valid():
        return redirect("documents:verify", code=form.cleaned_data["code"])
    return render(request, "documents/verify_form.html", {"form": form})


@require_GET
def verify(request, code):
    """What the code's document says, masked. Too many look-ups from one address: 429."""
    if not verification_allowed(request):
        return render(request, "documents/verify_throttled.html", status=429)
    document = selectors.document_by_code(code)
    if document is None:
        return render(request, "documents/verify_not_found.html", status=404)
    return render(
        request,
        "documents/verify.html",
        {"verification": selectors.verification_of(document)},
    )
