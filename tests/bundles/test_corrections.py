"""Guided corrections after a return (issue 16 part 3): each returned material is marked on the
applicant's pages, changed or explained before resubmission, and the clerk sees which."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from bundles.services import corrections, intake, materials, submission
from kuaiban.cases.models import CaseEvent, EventAction, ReturnAnswer
from kuaiban.catalog.models import Material
from tests.builders import clerk_of, single_item_submitted, submit, submitted, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def returned(*codes: str, note: str = "请补正", user=None):
    """A B07 application returned by the window naming the materials with these codes."""
    user = user or UserFactory(citizen=True, real_name="李建国")
    application = submitted("B07", user)
    intake.application_return(
        application=application,
        actor=clerk_of("BUNDLE"),
        material_ids=list(Material.objects.filter(code__in=codes).values_list("pk", flat=True)),
        note=note,
    )
    application.refresh_from_db()
    return application


def refusal(application) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        submission.application_submit(application=application, actor=application.applicant)
    return raised.value.messages


# -- the rule ----------------------------------------------------------------------------------


def test_rule_resubmission_requires_each_returned_material_changed_or_explained():
    application = returned("M-PHOTO", "M-WORKHISTORY", note="照片不清晰；工作经历缺2001年")
    photo = Material.objects.get(code="M-PHOTO")
    history = Material.objects.get(code="M-WORKHISTORY")
    user = application.applicant

    # Nothing done: refused, each returned material named.
    messages = refusal(application)
    assert len(messages) == 2
    assert photo.name in messages[0] + messages[1] and history.name in messages[0] + messages[1]

    # The photo replaced: only the work history is still named.
    materials.material_upload(application=application, actor=user, material=photo, upload=upload())
    messages = refusal(application)
    assert len(messages) == 1 and history.name in messages[0] and photo.name not in messages[0]

    # The work history explained as unchanged: resubmitted, with the explanation on record.
    corrections.return_answer(
        application=application,
        actor=user,
        material=history,
        explanation="2001年在外地务工，无单位记录",
    )
    submit(application)
    assert application.state == "submitted"
    assert set(application.cases.values_list("state", flat=True)) <= {"submitted", "waiting"}
    answer = ReturnAnswer.objects.get(notice__application=application)
    assert (answer.material, answer.explanation) == (history, "2001年在外地务工，无单位记录")
    event = CaseEvent.objects.get(application=application, action=EventAction.RETURN_ANSWERED)
    assert event.reason == "2001年在外地务工，无单位记录" and event.actor == user
    assert event.data["material"] == "M-WORKHISTORY"


def test_rule_a_note_only_return_is_resubmitted_once_the_note_is_answered():
    application = returned(note="申请表中的工作年限与档案不一致，请核对")
    assert len(refusal(application)) == 1
    # A note-only return has no material to explain: the answer is to the note itself.
    with pytest.raises(ValidationError):
        corrections.return_answer(
            application=application,
            actor=application.applicant,
            material=Material.objects.get(code="M-PHOTO"),
            explanation="未更改",
        )
    corrections.return_answer(
        application=application,
        actor=application.applicant,
        material=None,
        explanation="已核对，工作年限改为32年",
    )
    submit(application)
    assert application.state == "submitted"


def test_a_commitment_signed_after_the_return_counts_as_a_change():
    application = returned("M-WORKHISTORY")
    materials.material_commit(
        application=application,
        actor=application.applicant,
        material=Material.objects.get(code="M-WORKHISTORY"),
        signed_name="李建国",
        agreed=True,
    )
    submit(application)
    assert application.state == "submitted"


def test_a_second_explanation_replaces_the_first_and_both_are_logged():
    application = returned("M-PHOTO")
    photo = Material.objects.get(code="M-PHOTO")
    for text in ("照片是近期拍摄的", "照片为三个月内拍摄，已是最清晰的版本"):
        corrections.return_answer(
            application=application, actor=application.applicant, material=photo, explanation=text
        )
    assert list(ReturnAnswer.objects.values_list("explanation", flat=True)) == [
        "照片为三个月内拍摄，已是最清晰的版本"
    ]
    assert CaseEvent.objects.filter(action=EventAction.RETURN_ANSWERED).count() == 2


def test_explanations_are_refused_when_empty_off_the_list_by_others_or_after_resubmission():
    application = returned("M-PHOTO")
    photo = Material.objects.get(code="M-PHOTO")
    user = application.applicant

    def answer(actor=user, material=photo, explanation="照片清晰"):
        corrections.return_answer(
            application=application, actor=actor, material=material, explanation=explanation
        )

    with pytest.raises(ValidationError):
        answer(explanation="  ")
    with pytest.raises(ValidationError):
        answer(explanation="长" * 1001)
    with pytest.raises(ValidationError):  # not on the list
        answer(material=Material.objects.get(code="M-WORKHISTORY"))
    with pytest.raises(ValidationError):  # the return named a material: answer it, not the note
        answer(material=None)
    with pytest.raises(PermissionDenied):
        answer(actor=UserFactory(citizen=True))
    answer()
    submit(application)
    with pytest.raises(ValidationError):  # submitted again: no longer the applicant's to edit
        answer(explanation="补充说明")
    assert ReturnAnswer.objects.count() == 1


def test_an_application_never_returned_is_not_asked_for_corrections():
    application = single_item_submitted("LR-002")
    assert corrections.uncorrected(application) == []
    with pytest.raises(ValidationError):
        corrections.return_answer(
            application=application,
            actor=application.applicant,
            material=None,
            explanation="说明",
        )


# -- the pages ---------------------------------------------------------------------------------


def test_the_materials_page_marks_each_returned_material_and_links_to_it(client):
    application = returned("M-PHOTO", note="照片不清晰")
    client.force_login(application.applicant)
    page = client.get(f"/applications/{application.reference}/materials/")
    text = page.content.decode()
    assert 'data-testid="return-corrections"' in text
    assert f'href="/applications/{application.reference}/materials/#material-M-PHOTO"' in text
    assert "照片不清晰" in text
    rows = {r.material.code: r.returned for r in page.context["required"]}
    assert rows["M-PHOTO"] is not None and not rows["M-PHOTO"].settled
    assert rows["M-WORKHISTORY"] is None  # not returned: no mark
    assert text.count('data-testid="needs-correction"') == 2  # the summary and the material
    assert text.count('data-testid="explain-form"') == 1
    # The status page's list of what is missing leads to the same place.
    status = client.get(f"/applications/{application.reference}/").content.decode()
    assert f'href="/applications/{application.reference}/materials/#material-M-PHOTO"' in status

    response = client.post(
        f"/applications/{application.reference}/returned/answer/",
        {"material": "M-PHOTO", "explanation": "照片为近期拍摄，已是原件"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("/materials/#material-M-PHOTO")
    text = client.get(f"/applications/{application.reference}/materials/").content.decode()
    assert 'data-testid="needs-correction"' not in text
    assert 'data-testid="explained"' in text and "照片为近期拍摄，已是原件" in text


def test_the_review_page_names_what_is_left_to_correct_and_offers_no_submission(client):
    application = returned("M-PHOTO")
    client.force_login(application.applicant)
    response = client.get(f"/applications/{application.reference}/review/")
    text = response.content.decode()
    assert 'data-testid="submit"' not in text
    assert 'data-returned="M-PHOTO" data-settled="no"' in text
    photo = Material.objects.get(code="M-PHOTO")
    assert [p for p in response.context["problems"] if photo.name in p]
    materials.material_upload(
        application=application, actor=application.applicant, material=photo, upload=upload()
    )
    text = client.get(f"/applications/{application.reference}/review/").content.decode()
    assert 'data-returned="M-PHOTO" data-settled="yes"' in text
    assert 'data-testid="corrected"' in text and 'data-testid="submit"' in text


def test_a_note_only_return_is_answered_on_the_materials_page(client):
    application = returned(note="请核对工作年限")
    client.force_login(application.applicant)
    text = client.get(f"/applications/{application.reference}/materials/").content.decode()
    assert 'data-testid="note-answer-form"' in text and "请核对工作年限" in text
    client.post(
        f"/applications/{application.reference}/returned/answer/",
        {"explanation": "已核对，无误"},
    )
    text = client.get(f"/applications/{application.reference}/review/").content.decode()
    assert 'data-testid="note-answer"' in text and "已核对，无误" in text
    assert 'data-testid="submit"' in text


def test_the_clerk_sees_per_returned_material_whether_it_was_changed_or_why_not(client):
    application = returned("M-PHOTO", "M-WORKHISTORY")
    user = application.applicant
    photo = Material.objects.get(code="M-PHOTO")
    materials.material_upload(application=application, actor=user, material=photo, upload=upload())
    corrections.return_answer(
        application=application,
        actor=user,
        material=Material.objects.get(code="M-WORKHISTORY"),
        explanation="工作经历证明已由原单位盖章，无需更改",
    )
    submit(application)
    client.force_login(clerk_of("BUNDLE"))
    text = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'data-returned="M-PHOTO" data-changed="yes"' in text
    assert 'data-returned="M-WORKHISTORY" data-changed="no"' in text
    assert "工作经历证明已由原单位盖章，无需更改" in text
