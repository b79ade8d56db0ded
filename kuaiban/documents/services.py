"""Issuing result documents: one per decision, in the decision's transaction.

`document_issue` is the kernel's one way to a document; the back office calls it at an approval
or a denial, intake at a refusal, and `document_revoke` issues the revocation of an earlier
decision (a new document: the revoked one stays as it was). `delivery_open` starts the record of
how the results go out when an application concludes.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import mask_name
from kuaiban.cases.models import Application, ItemCase

from .models import DocumentKind, ResultDelivery, ResultDocument

# No 0/O, 1/I: 32 characters, so 16 of them are 80 random bits, and easy to type from paper.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16


def code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_normalized(typed: str) -> str | None:
    """The code as typed (any case, spaces or hyphens between groups), or None when it cannot
    be one: nothing is looked up for a malformed code."""
    code = "".join((typed or "").split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def code_hash(code: str) -> str:
    return keyed_hash(f"document:{code}")


def code_display(code: str) -> str:
    """XXXX-XXXX-XXXX-XXXX, as printed."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def applicant_name(application: Application) -> str:
    applicant = application.applicant
    return applicant.real_name or applicant.display_name or ""


def _titles() -> dict[str, str]:
    return {
        DocumentKind.APPROVAL: _("Decision notice: approved"),
        DocumentKind.DENIAL: _("Decision notice: not approved"),
        DocumentKind.REFUSAL: _("Notice of refusal to accept the application"),
        DocumentKind.REVOCATION: _("Decision notice: decision revoked"),
    }


def _outcomes() -> dict[str, str]:
    return {
        DocumentKind.APPROVAL: _("Approved"),
        DocumentKind.DENIAL: _("Not approved"),
        DocumentKind.REFUSAL: _("Not accepted"),
        DocumentKind.REVOCATION: _("Revoked"),
    }


def facts_of(
    *,
    application: Application,
    kind: str,
    item_case: ItemCase | None,
    reason: str,
    legal_basis: str,
    decided_at,
    revokes: ResultDocument | None = None,
) -> dict:
    """What the paper prints, fixed at issue in the portal's language (the stored text of a
    decision, like the events' reasons): re-rendering it later gives the same document."""
    subject = application.subject
    with translation.override(settings.LANGUAGE_CODE):
        facts = {
            "title": _titles()[kind],
            "outcome": _outcomes()[kind],
            "reference": application.reference,
            "subject": subject.name_zh,
            "item": item_case.item.name_zh if item_case else subject.name_zh,
            "item_code": item_case.item.code if item_case else subject.code,
            "unit": item_case.unit.name_zh if item_case else "",
            "reason": reason,
            "legal_basis": legal_basis,
            "decided_on": timezone.localdate(decided_at).isoformat(),
            "applicant": mask_name(applicant_name(application)),
        }
    if revokes is not None:
        facts["revokes_code"] = code_display(revokes.code)
        facts["revokes_title"] = revokes.facts.get("title", "")
    return facts


def document_issue(
    *,
    application: Application,
    kind: DocumentKind,
    actor,
    item_case: ItemCase | None = None,
    reason: str = "",
    legal_basis: str = "",
    revokes: ResultDocument | None = None,
) -> ResultDocument:
    """Write the decision's document, inside the caller's transaction (the decision and its
    paper stand or fall together). A second document for the same decision is refused by the
    database (one per case and kind; one refusal per application)."""
    if kind == DocumentKind.REFUSAL and item_case is not None:
        raise ValueError("a refusal at intake is the whole application's")
    if kind in (DocumentKind.APPROVAL, DocumentKind.DENIAL) and item_case is None:
        raise ValueError("an approval or a denial is an item case's")
    if (kind == DocumentKind.REVOCATION) != (revokes is not None):
        raise ValueError("a revocation, and only a revocation, names the document it revokes")
    now = timezone.now()
    decided_at = (
        item_case.decided_at if item_case and kind != DocumentKind.REVOCATION else None
    ) or now
    if kind == DocumentKind.APPROVAL and item_case is not None and not legal_basis:
        legal_basis = item_case.item.legal_basis
    code = code_new()
    return ResultDocument.objects.create(
        application=application,
        item_case=item_case,
        kind=kind,
        revokes=revokes,
        facts=facts_of(
            application=application,
            kind=kind,
            item_case=item_case,
            reason=reason,
            legal_basis=legal_basis,
            decided_at=decided_at,
            revokes=revokes,
        ),
        code=code,
        code_hash=code_hash(code),
        issued_at=now,
        issued_by=actor,
    )


@transaction.atomic
def document_revoke(
    *, document: ResultDocument, actor, reason: str, legal_basis: str
) -> ResultDocument:
    """Revoke an approval or a denial (a false commitment found, say): a new document naming the
    one it revokes, with the reason and the legal basis. The caller changes the case's state
    (its own transition and event) in the same transaction."""
    document = ResultDocument.objects.select_for_update().get(pk=document.pk)
    if document.kind not in (DocumentKind.APPROVAL, DocumentKind.DENIAL):
        raise ValidationError(_("Only an approval or a denial can be revoked."))
    if document.revoked_by.exists():
        raise ValidationError(_("This decision has already been revoked."))
    if not reason.strip() or not legal_basis.strip():
        raise ValidationError(_("Give the reason and the legal basis of the revocation."))
    return document_issue(
        application=document.application,
        item_case=document.item_case,
        kind=DocumentKind.REVOCATION,
        actor=actor,
        reason=reason.strip(),
        legal_basis=legal_basis.strip(),
        revokes=document,
    )


def delivery_open(application: Application) -> ResultDelivery:
    """At the conclusion: the results go out by the channel the applicant chose. A download is
    delivered as it is offered (the documents are on the status page from now on); a pick-up
    waits for the clerk's confirmation, a posting for its tracking number."""
    delivered = application.delivery == Application.Delivery.DOWNLOAD
    delivery, _created = ResultDelivery.objects.get_or_create(
        application=application,
        defaults={
            "channel": application.delivery,
            "delivered_at": timezone.now() if delivered else None,
        },
    )
    return delivery
