"""Result documents: one per decision, a PDF that carries Chinese text and its verification code,
the public verification page (masked, a forged code finds nothing), and who may download."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from pypdf import PdfReader

from bundles.services import handling, intake
from kuaiban.accounts.identity import mask_name
from kuaiban.cases.models import Application, CaseEvent, EventAction
from kuaiban.documents import selectors
from kuaiban.documents.models import DocumentKind, ResultDocument
from kuaiban.documents.pdf import document_pdf, verification_url
from kuaiban.documents.services import (
    CODE_ALPHABET,
    code_display,
    code_normalized,
    document_issue,
    document_revoke,
)
from tests.builders import accepted, approved, case_of, single_item_submitted, submitted
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _approved_lr002(citizen, clerk_of, reviewer_of, **fields) -> Application:
    application = single_item_submitted("LR-002", citizen)
    if fields:
        Application.objects.filter(pk=application.pk).update(**fields)
    application = accepted(application, clerk_of("LABOUR"))
    case = case_of(application)
    approved(case, reviewer_of(case.unit.code))
    application.refresh_from_db()
    return application


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_carries_the_reference_the_items_chinese_name_and_its_code(
    citizen, clerk_of, reviewer_of
):
    application = _approved_lr002(citizen, clerk_of, reviewer_of)
    document = ResultDocument.objects.get(application=application)
    data = document_pdf(document)
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    case = case_of(application)
    assert application.reference in text
    assert case.item.name_zh in text
    assert code_display(document.code) in text
    assert case.item.legal_basis[:6] in text.replace("\n", "")
    # the facts are a snapshot: rendering again gives the same bytes
    assert document_pdf(ResultDocument.objects.get(pk=document.pk)) == data


def test_every_approval_denial_and_refusal_has_exactly_one_document(citizen, clerk_of, reviewer_of):
    approved_app = _approved_lr002(citizen, clerk_of, reviewer_of)
    denied_app = accepted(single_item_submitted("LR-002", citizen), clerk_of("LABOUR"))
    case = case_of(denied_app)
    handling.case_deny(
        case=case, actor=reviewer_of(case.unit.code), reason="材料不符", legal_basis="某条例第三条"
    )
    refused_app = single_item_submitted("LR-002", citizen)
    intake.application_refuse(
        application=refused_app, actor=clerk_of("LABOUR"), reason="不属本机关", legal_basis="第七条"
    )
    decisions = {
        EventAction.APPROVE: DocumentKind.APPROVAL,
        EventAction.DENY: DocumentKind.DENIAL,
    }
    events = CaseEvent.objects.filter(application__in=[approved_app, denied_app, refused_app])
    for event in events.filter(action__in=decisions):
        assert (
            ResultDocument.objects.filter(
                item_case=event.item_case_id, kind=decisions[event.action]
            ).count()
            == 1
        )
    assert (
        ResultDocument.objects.filter(
            application=refused_app, item_case=None, kind=DocumentKind.REFUSAL
        ).count()
        == 1
    )
    assert ResultDocument.objects.filter(application=refused_app).count() == 1
    denial = ResultDocument.objects.get(item_case=case)
    assert denial.facts["reason"] == "材料不符" and denial.facts["legal_basis"] == "某条例第三条"
    # a second document for the same decision is refused by the database
    with pytest.raises(IntegrityError), transaction.atomic():
        document_issue(application=denied_app, item_case=case, kind=DocumentKind.DENIAL, actor=None)


def test_a_document_is_never_edited_and_a_revocation_is_a_new_one(citizen, clerk_of, reviewer_of):
    application = _approved_lr002(citizen, clerk_of, reviewer_of)
    document = ResultDocument.objects.get(application=application)
    printed = dict(document.facts)
    document.facts = {**printed, "outcome": "x"}
    with pytest.raises(TypeError):
        document.save()
    document.refresh_from_db()
    with pytest.raises(TypeError):
        ResultDocument.objects.filter(pk=document.pk).update(facts={})
    revocation = document_revoke(
        document=document, actor=None, reason="承诺不实", legal_basis="行政许可法第六十九条"
    )
    assert revocation.kind == DocumentKind.REVOCATION and revocation.revokes == document
    assert revocation.item_case == document.item_case
    assert ResultDocument.objects.get(pk=document.pk).facts == printed  # as it was
    text = _pdf_text(document_pdf(revocation))
    assert code_display(document.code) in text  # names what it revokes
    with pytest.raises(ValidationError):  # revoked once only
        document_revoke(document=document, actor=None, reason="再次", legal_basis="同上")
    assert ResultDocument.objects.filter(revokes=document).count() == 1


def test_codes_are_random_unambiguous_and_typed_loosely(citizen, clerk_of, reviewer_of):
    application = _approved_lr002(citizen, clerk_of, reviewer_of)
    document = ResultDocument.objects.get(application=application)
    assert len(document.code) == 16 and set(document.code) <= set(CODE_ALPHABET)
    assert not {"0", "O", "1", "I"} & set(CODE_ALPHABET)
    typed = " " + code_display(document.code).lower() + " "
    assert code_normalized(typed) == document.code
    assert selectors.document_by_code(typed) == document
    assert code_normalized("O" * 16) is None and code_normalized("ABC") is None
    # the clear code is not a column anyone can search: only its keyed hash is
    assert not ResultDocument.objects.filter(code_hash=document.code).exists()


def test_a_forged_code_is_refused_with_nothing_shown(citizen, clerk_of, reviewer_of):
    application = _approved_lr002(citizen, clerk_of, reviewer_of)
    document = ResultDocument.objects.get(application=application)
    last = "Y" if document.code.endswith("Z") else "Z"
    one_off = document.code[:-1] + last  # a real code with its last character changed
    client = Client()
    for code in ("23456789ABCDEFGH", "not-a-code", one_off):
        response = client.get(f"/verify/{code}/")
        assert response.status_code == 404
        body = response.content.decode()
        assert 'data-testid="verification-not-found"' in body
        assert 'data-testid="verification-result"' not in body
        assert case_of(application).item.name_zh not in body
        assert application.reference[:10] not in body


def test_the_public_page_shows_only_masked_data(citizen, clerk_of, reviewer_of):
    application = _approved_lr002(citizen, clerk_of, reviewer_of)
    document = ResultDocument.objects.get(application=application)
    response = Client().get(f"/verify/{code_display(document.code)}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="verification-result"' in body and 'data-kind="approval"' in body
    assert case_of(application).item.name_zh in body
    assert mask_name(citizen.real_name) in body
    assert citizen.real_name not in body
    assert application.reference not in body
    assert selectors.mask_reference(application.reference) in body
    assert citizen.resident_id not in body and citizen.phone not in body
    # the printed link and the QR lead to the same page
    assert verification_url(document).endswith(f"/verify/{document.code}/")


def test_the_form_sends_a_typed_code_to_its_page():
    client = Client()
    response = client.get("/verify/", {"code": "2345 6789 abcd efgh"})
    assert response.status_code == 302 and response["Location"] == "/verify/23456789ABCDEFGH/"
    response = client.get("/verify/", {"code": "short"})
    assert response.status_code == 200 and response.context["form"].errors


def test_look_ups_are_throttled_per_address(settings):
    settings.VERIFICATION_ATTEMPTS_PER_HOUR = 2
    client = Client()
    assert [client.get("/verify/23456789ABCDEFGH/").status_code for _ in range(3)] == [
        404,
        404,
        429,
    ]


def test_masked_names():
    assert mask_name("张三") == "张*"
    assert mask_name("李小明") == "李*明"
    assert mask_name("南通某某人力资源有限公司") == "南通********公司"
    assert mask_name("") == ""


def test_the_applicant_downloads_once_the_results_go_out_together(
    citizen, other_citizen, clerk_of, reviewer_of
):
    """A bundle whose first decision is in: nothing to download until every item concluded."""
    application = accepted(
        submitted("B10", citizen, answers={"BANK_OUTLET": True, "INSURED": False}),
        clerk_of("BUNDLE"),
    )
    cases = list(application.cases.filter(state="accepted"))
    first = cases[0]
    approved(first, reviewer_of(first.unit.code))
    document = ResultDocument.objects.get(item_case=first)
    owner = Client()
    owner.force_login(citizen)
    application.refresh_from_db()
    if application.state != "concluded":
        assert owner.get(f"/documents/{document.pk}/pdf/").status_code == 404
        assert (
            'data-testid="document-download"'
            not in owner.get(f"/applications/{application.reference}/").content.decode()
        )
    while application.state != "concluded":
        open_case = application.cases.filter(state__in=["accepted", "in_review"]).first()
        assert open_case is not None
        approved(open_case, reviewer_of(open_case.unit.code))
        application.refresh_from_db()
    response = owner.get(f"/documents/{document.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    page = owner.get(f"/applications/{application.reference}/").content.decode()
    assert page.count('data-testid="document-download"') == application.documents.count()
    other = Client()
    other.force_login(other_citizen)
    assert other.get(f"/documents/{document.pk}/pdf/").status_code == 404
    stranger = Client()
    stranger.force_login(UserFactory(supervisor=True))
    assert stranger.get(f"/documents/{document.pk}/pdf/").status_code == 404


def test_a_refusal_is_on_the_status_page_and_a_revoked_decision_says_so(
    citizen, clerk_of, reviewer_of
):
    refused = single_item_submitted("LR-002", citizen)
    intake.application_refuse(
        application=refused, actor=clerk_of("LABOUR"), reason="不属本机关", legal_basis="第七条"
    )
    owner = Client()
    owner.force_login(citizen)
    page = owner.get(f"/applications/{refused.reference}/").content.decode()
    assert page.count('data-testid="document-download"') == 1 and 'data-kind="refusal"' in page
    application = _approved_lr002(citizen, clerk_of, reviewer_of)
    approval = ResultDocument.objects.get(application=application)
    document_revoke(document=approval, actor=None, reason="承诺不实", legal_basis="第六十九条")
    body = Client().get(f"/verify/{approval.code}/").content.decode()
    assert 'data-revoked="true"' in body and 'data-testid="verification-revoked"' in body


def test_the_check_warns_when_the_font_is_missing(settings, tmp_path):
    from kuaiban.documents.checks import pdf_font_present

    assert pdf_font_present(None) == []
    settings.KUAIBAN_PDF_FONT = str(tmp_path / "none.ttf")
    assert [w.id for w in pdf_font_present(None)] == ["documents.W001"]
