"""Issue 11's hijack, replayed: someone registers another person's resident ID number with their
own phone and password; a clerk later files at the window for the real person. The registration
stays unverified, and the window application never reaches it (list, status page, files: 404);
its messages go to the phone the clerk confirmed. Plus the rules around it: an unverified
account never submits; window intake links only to a verified account whose name matches; the
person claims their window-only records by registering and verifying."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from bundles.selectors import required_form_fields
from bundles.services import applications, submission, window
from kuaiban.accounts.models import User
from kuaiban.accounts.services import reference_identities_load
from kuaiban.cases.models import StoredFile
from kuaiban.catalog.models import Bundle
from kuaiban.notifications.models import Notification
from tests.builders import (
    clerk_of,
    login_request,
    ready_application,
    sms_code,
    upload,
    valid_value,
)
from tests.factories import UserFactory, generated_phone, generated_resident_id

pytestmark = pytest.mark.django_db

PASSWORD = "Kb-attacker-pass-2026"


def register(client, *, real_name, resident_id, phone):
    client.post(
        "/accounts/register/citizen/",
        {
            "real_name": real_name,
            "resident_id": resident_id,
            "phone": phone,
            "email": "",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "agree": "on",
        },
    )
    return client.post("/accounts/register/confirm/", {"code": sms_code(phone)}, follow=True)


def filed_at_window(*, resident_id, real_name, phone):
    """The clerk files a B10 application for the person in one sitting, a scan included."""
    clerk = clerk_of("BUNDLE")
    application = window.window_intake_start(
        clerk=clerk,
        resident_id=resident_id,
        real_name=real_name,
        phone=phone,
        bundle=Bundle.objects.get(code="B10"),
    )
    applications.application_answer_questions(
        application=application,
        actor=clerk,
        answers={q.code: False for q in application.bundle.questions.all()},
    )
    application.refresh_from_db()
    first, *others = window.materials_to_record(application)
    result = window.window_intake_record(
        application=application,
        actor=clerk,
        form_data={f.code: valid_value(f) for f in required_form_fields(application)},
        delivery="pickup",
        materials=[
            window.MaterialHandedOver(first, scan=upload()),
            *(window.MaterialHandedOver(m, seen=True) for m in others),
        ],
    )
    assert result.ok, result
    application.refresh_from_db()
    return application


def test_the_hijack_a_registration_of_someone_elses_id_number_never_sees_their_window_application(
    client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    victim_number, victim_phone = generated_resident_id(), generated_phone()
    attacker_phone = generated_phone()
    reference_identities_load([("受害人", victim_number)])

    # The attacker registers the victim's number under their own name, phone and password: the
    # phone is theirs (the code arrives), the name does not match the population register.
    page = register(client, real_name="冒用人", resident_id=victim_number, phone=attacker_phone)
    attacker = page.context["user"]
    assert attacker.is_authenticated and attacker.phone_verified_at
    assert not attacker.is_verified
    assert attacker.resident_id_hash is None  # the number is only pending for them

    # The clerk files at the window for the victim, with the victim's name, number and phone.
    application = filed_at_window(resident_id=victim_number, real_name="受害人", phone=victim_phone)
    assert application.state != "draft"
    record = application.applicant
    assert record != attacker
    assert record.window_only and not record.has_usable_password()
    files = list(StoredFile.objects.filter(owner=record).values_list("pk", flat=True))
    assert files

    # The attacker sees nothing of it: not in the list, the status page and the files are 404.
    client.force_login(attacker)
    assert application.reference not in client.get("/applications/").content.decode()
    assert client.get(f"/applications/{application.reference}/").status_code == 404
    for file_id in files:
        assert client.get(f"/files/{file_id}/").status_code == 404
    # Logging in with the victim's number and the attacker's password opens the attacker's own
    # unverified account, never the window record.
    client.logout()
    assert client.login(request=login_request(), username=victim_number, password=PASSWORD)
    assert int(client.session["_auth_user_id"]) == attacker.pk

    # The messages about the application went to the phone the clerk confirmed.
    about = Notification.objects.filter(channel=Notification.Channel.SMS, recipient=record)
    assert about.count() >= 1
    assert {row.phone for row in about} == {victim_phone}
    # The attacker got their registration code and nothing else.
    to_attacker = Notification.objects.filter(recipient=attacker)
    assert to_attacker.count() == 1
    assert all(row.phone != attacker_phone for row in about)


def test_an_unverified_account_saves_drafts_but_cannot_submit(client):
    applicant = UserFactory(citizen=True, unverified=True)
    application = ready_application(applicant)
    with pytest.raises(ValidationError) as refused:
        submission.application_submit(application=application, actor=applicant)
    assert refused.value.messages == [str(submission.UNVERIFIED)]
    application.refresh_from_db()
    assert application.state == "draft"

    client.force_login(applicant)
    page = client.get(f"/applications/{application.reference}/review/").content.decode()
    assert 'id="unverified"' in page and 'href="/accounts/profile/#verify"' in page
    assert 'data-testid="submit"' not in page


def test_window_intake_links_to_a_verified_account_whose_name_matches(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    citizen = UserFactory(citizen=True)
    phone = generated_phone()
    application = filed_at_window(
        resident_id=citizen.resident_id, real_name=citizen.real_name, phone=phone
    )
    assert application.applicant == citizen
    assert application.contact_phone == phone
    sms = Notification.objects.filter(channel=Notification.Channel.SMS, recipient=citizen)
    assert sms.exists() and {row.phone for row in sms} == {phone}

    with pytest.raises(ValidationError) as refused:
        window.window_intake_start(
            clerk=clerk_of("BUNDLE"),
            resident_id=citizen.resident_id,
            real_name="别人",
            phone=phone,
            bundle=Bundle.objects.get(code="B10"),
        )
    assert "real_name" in refused.value.message_dict


def test_a_legacy_unverified_account_holding_the_number_gives_it_up_to_a_window_record():
    legacy = UserFactory(citizen=True)
    User.objects.filter(pk=legacy.pk).update(is_verified=False)
    application = window.window_intake_start(
        clerk=clerk_of("BUNDLE"),
        resident_id=legacy.resident_id,
        real_name=legacy.real_name,
        phone=generated_phone(),
        bundle=Bundle.objects.get(code="B10"),
    )
    legacy.refresh_from_db()
    assert application.applicant != legacy and application.applicant.window_only
    assert legacy.resident_id_hash is None and legacy.pending_id_hash


def test_the_person_claims_their_window_records_by_registering_and_verifying(
    client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    number, phone = generated_resident_id(), generated_phone()
    reference_identities_load([("本人", number)])
    application = filed_at_window(resident_id=number, real_name="本人", phone=phone)
    record = application.applicant

    # Someone else's unverified registration of the number sees nothing of it.
    other = Client()
    register(other, real_name="别人", resident_id=number, phone=generated_phone())
    assert other.get(f"/applications/{application.reference}/").status_code == 404

    page = register(client, real_name="本人", resident_id=number, phone=generated_phone())
    account = page.context["user"]
    assert account.pk == record.pk and account.is_verified and not account.window_only
    assert client.get(f"/applications/{application.reference}/").status_code == 200
    assert application.reference in client.get("/applications/").content.decode()
    assert other.get(f"/applications/{application.reference}/").status_code == 404
    client.logout()
    assert client.login(request=login_request(), username=number, password=PASSWORD)
    assert int(client.session["_auth_user_id"]) == record.pk


def test_the_clerk_sees_the_confirmed_phone_not_the_accounts(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    citizen = UserFactory(citizen=True, phone="13911112222")
    application = filed_at_window(
        resident_id=citizen.resident_id, real_name=citizen.real_name, phone="13733334444"
    )
    client.force_login(clerk_of("BUNDLE"))
    page = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert "137****4444" in page and "139****2222" not in page
