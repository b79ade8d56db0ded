"""Who may read which document, and what the public verification page shows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from kuaiban.accounts.models import Role
from kuaiban.cases.models import Application, ApplicationState

from .models import DocumentKind, ResultDocument
from .services import code_hash, code_normalized

# Results go out together (统一出件): the applicant sees the papers once the application has
# concluded, or was refused at intake.
RELEASED_STATES = (ApplicationState.CONCLUDED, ApplicationState.REFUSED)


def documents_released(application: Application) -> list[ResultDocument]:
    """The application's documents as the applicant sees them: none before the results go out
    together."""
    if application.state not in RELEASED_STATES:
        return []
    return list(
        ResultDocument.objects.filter(application=application)
        .select_related("item_case__item")
        .order_by("issued_at", "id")
    )


def documents_of(application: Application) -> list[ResultDocument]:
    """Every document of the application, for the staff who handle it."""
    return list(
        ResultDocument.objects.filter(application=application)
        .select_related("item_case__item")
        .order_by("issued_at", "id")
    )


def document_for_user(user, document_id: int) -> ResultDocument | None:
    """A document for its applicant (once released), a reviewer of the unit that decided it
    (any unit of the application for a refusal), or a clerk of the application's window; None
    for anyone else, as if it did not exist."""
    documents = ResultDocument.objects.select_related("application", "item_case")
    if not user.is_authenticated:
        return None
    if user.is_applicant:
        return documents.filter(
            pk=document_id,
            application__applicant=user,
            application__state__in=RELEASED_STATES,
        ).first()
    if user.role == Role.REVIEWER and user.unit_id:
        return documents.filter(
            Q(item_case__unit_id=user.unit_id)
            | Q(item_case__isnull=True, application__cases__unit_id=user.unit_id),
            pk=document_id,
        ).first()
    if user.role == Role.CLERK:
        at_windows = Application.objects.filter(Application.seen_at_windows()).filter(
            Application.taken_in_by(user)
        )
        return documents.filter(pk=document_id, application__in=at_windows).first()
    return None


def document_by_code(typed: str) -> ResultDocument | None:
    """The document a verification code names; None for a malformed or unknown code."""
    code = code_normalized(typed)
    if code is None:
        return None
    return ResultDocument.objects.filter(code_hash=code_hash(code)).first()


def mask_reference(reference: str) -> str:
    """KB20261201****XY: the date of the application and two characters, enough to match the
    paper in hand, not enough to look the application up."""
    if len(reference) <= 6:
        return "*" * len(reference)
    return reference[:-6] + "****" + reference[-2:]


@dataclass(frozen=True)
class Verification:
    """What the public page shows: masked, nothing that identifies the person."""

    kind: str
    kind_label: str
    title: str
    item: str
    outcome: str
    decided_on: str
    applicant: str
    reference: str
    revoked_on: str  # "" unless a later document revoked this decision


def verification_of(document: ResultDocument) -> Verification:
    facts = document.facts
    revocation = (
        ResultDocument.objects.filter(revokes=document, kind=DocumentKind.REVOCATION)
        .order_by("id")
        .first()
    )
    return Verification(
        kind=document.kind,
        kind_label=document.get_kind_display(),
        title=facts.get("title", ""),
        item=facts.get("item", ""),
        outcome=facts.get("outcome", ""),
        decided_on=facts.get("decided_on", ""),
        applicant=facts.get("applicant", ""),
        reference=mask_reference(facts.get("reference", "")),
        revoked_on=revocation.facts.get("decided_on", "") if revocation else "",
    )
