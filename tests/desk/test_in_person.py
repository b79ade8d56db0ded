"""In-person intake at the window (一窗受理, 现场办理): the clerk applies on the person's behalf,
checks the originals, and submits and accepts in one sitting."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import translation

from bundles.selectors import planned_items, required_form_fields, required_materials
from bundles.services import applications, materials, submission, window
from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.models import User
from kuaiban.cases.models import Application, ApplicationMaterial, CaseEvent, StoredFile
from kuaiban.cases.uploads import too_large_message
from kuaiban.catalog.models import Bundle, ServiceHall, Window
from tests.builders import upload, valid_value
from tests.factories import UserFactory, generated_phone, generated_resident_id

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
MONDAY_MORNING = datetime(2026, 11, 2, 10, 0, tzinfo=SH)


def clerk_of(*window_codes):
    clerk = UserFactory(clerk=True)
    clerk.windows.add(*Window.objects.filter(code__in=window_codes))
    return clerk


@pytest.fixture
def bundle_clerk():
    clerk = clerk_of("BUNDLE")
    clerk.hall = ServiceHall.objects.order_by("code").first()
    clerk.save(update_fields=["hall"])
    return clerk


def start_post(client, *, resident_id, real_name, phone=None, service="bundle:B10", **extra):
    return client.post(
        "/staff/intake/new/",
        {
            "resident_id": resident_id,
            "real_name": real_name,
            "phone": phone or generated_phone(),
            "service": service,
            **extra,
        },
    )


def form_post(application, *, seen=(), conclude_instant=False, **extra):
    """The form step's POST: every form field valid, results picked up, `seen` ticked."""
    data = {"step": "form", "delivery": "pickup", "delivery_address": ""}
    data |= {f.code: valid_value(f) for f in required_form_fields(application)}
    data["seen"] = list(seen)
    if conclude_instant:
        data["conclude_instant"] = "on"
    return data | extra


def to_be_seen(application) -> list[str]:
    return [e.material.code for e in required_materials(application) if not e.material.shared_data]


def nothing_created(users_before: int) -> bool:
    return User.objects.count() == users_before and not Application.objects.exists()


def form_errors(response, field):
    return response.context["form"].errors.get(field)


# -- the whole sitting ---------------------------------------------------------------------------


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_clerk_takes_an_in_person_b10_application_for_a_new_person(client, bundle_clerk):
    number = generated_resident_id(birth="19900315")
    client.force_login(bundle_clerk)
    queue = client.get("/staff/intake/").content.decode()
    assert 'data-testid="intake-new"' in queue and 'href="/staff/intake/new/"' in queue
    page = client.get("/staff/intake/new/").content.decode()
    assert 'value="bundle:B10"' in page

    # 1. identity and service: a citizen account is opened, the draft is the window's
    response = start_post(client, resident_id=number.lower(), real_name="李新华")
    application = Application.objects.get()
    assert response.status_code == 302
    assert response.url == f"/staff/intake/new/{application.reference}/"
    person = User.objects.get(resident_id_hash=keyed_hash(number))
    assert application.applicant == person
    assert (person.role, person.real_name, person.resident_id) == ("citizen", "李新华", number)
    assert person.username == "w" + keyed_hash(number)[:12]
    assert person.window_only and not person.is_verified  # a window-only record: no login
    assert not person.has_usable_password()
    with connection.cursor() as cursor:
        cursor.execute("SELECT resident_id, phone FROM accounts_user WHERE id = %s", [person.pk])
        stored_number, stored_phone = cursor.fetchone()
    assert number not in stored_number and person.phone not in stored_phone  # encrypted at rest
    assert application.channel == Application.Channel.WINDOW
    assert application.hall == bundle_clerk.hall
    assert application.visits == 1
    assert list(
        CaseEvent.objects.filter(application=application).values_list("action", "actor")
    ) == [("create", bundle_clerk.pk), ("visit", bundle_clerk.pk)]

    # 2. the situation questions come first
    url = f"/staff/intake/new/{application.reference}/"
    page = client.get(url).content.decode()
    assert 'data-testid="in-person-questions"' in page
    assert 'data-testid="in-person-form"' not in page
    questions = list(application.bundle.questions.values_list("code", flat=True))
    response = client.post(url, {"step": "questions"} | {code: "no" for code in questions})
    assert response.status_code == 302 and response.url == url
    application.refresh_from_db()
    assert application.answers == {code: False for code in questions}

    # 3. the form and the originals seen (one scanned too), then submit + accept at once
    page = client.get(url).content.decode()
    assert 'data-testid="in-person-form"' in page
    assert 'name="delivery" value="pickup"' in page and "checked" in page
    seen = to_be_seen(application)
    assert seen, "B10 asks for at least one document"
    response = client.post(
        url, form_post(application, seen=seen) | {f"scan-{seen[0]}": upload("scan.pdf")}
    )
    assert response.status_code == 302
    assert response.url == f"/staff/intake/{application.reference}/"
    success = [m for m in get_messages(response.wsgi_request) if m.level == message_levels.SUCCESS]
    assert len(success) == 1 and application.reference in str(success[0])

    application.refresh_from_db()
    assert application.state == "accepted"
    assert application.delivery == Application.Delivery.PICKUP
    assert application.visits == 1
    cases = list(application.cases.all())
    assert cases and all(c.state == "accepted" for c in cases)
    assert all(c.accepted_at and c.committed_due_at for c in cases)
    provisions = {e.material.code: e.provided for e in required_materials(application)}
    assert all(p is not None for p in provisions.values())
    assert {p.provision for p in provisions.values()} <= {"at_window", "shared"}
    assert {code for code, p in provisions.items() if p.provision == "at_window"} == set(seen)
    scan = provisions[seen[0]].file
    assert scan is not None and scan.owner == person  # the scan is the applicant's
    assert StoredFile.objects.filter(owner=bundle_clerk).count() == 0

    # the intake page shows the accepted application; the applicant was told the reference
    page = client.get(response.url).content.decode()
    assert 'data-state="accepted"' in page
    assert person.notifications.filter(subject__contains=application.reference).exists()


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_instant_items_can_be_concluded_in_the_same_sitting(client, bundle_clerk):
    client.force_login(bundle_clerk)
    start_post(client, resident_id=generated_resident_id(), real_name="赵一")
    application = Application.objects.get()
    url = f"/staff/intake/new/{application.reference}/"
    # card made at a bank outlet, already insured: every item is instant
    client.post(url, {"step": "questions", "BANK_OUTLET": "yes", "INSURED": "yes"})
    application.refresh_from_db()
    assert all(planned.item.is_instant for planned in planned_items(application))
    response = client.post(
        url, form_post(application, seen=to_be_seen(application), conclude_instant=True)
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == "concluded"
    assert set(application.cases.values_list("state", flat=True)) == {"concluded"}


def test_an_existing_citizen_is_found_by_id_number_and_sees_the_application(client, bundle_clerk):
    citizen = UserFactory(citizen=True, real_name="王小明")
    users_before = User.objects.count()
    client.force_login(bundle_clerk)
    response = start_post(client, resident_id=citizen.resident_id, real_name=" 王小明 ")
    assert response.status_code == 302
    application = Application.objects.get()
    assert application.applicant == citizen
    assert User.objects.count() == users_before
    client.force_login(citizen)
    page = client.get("/applications/").content.decode()
    assert f'href="/applications/{application.reference}/"' in page


def test_a_wrong_name_for_an_existing_id_number_is_refused(client, bundle_clerk):
    citizen = UserFactory(citizen=True, real_name="王小明")
    users_before = User.objects.count()
    client.force_login(bundle_clerk)
    response = start_post(client, resident_id=citizen.resident_id, real_name="王大明")
    assert response.status_code == 200
    assert form_errors(response, "real_name")
    assert nothing_created(users_before)
    # what was typed is kept
    assert 'value="王大明"' in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        window.window_intake_start(
            clerk=bundle_clerk,
            resident_id=citizen.resident_id,
            real_name="王大明",
            phone=generated_phone(),
            bundle=Bundle.objects.get(code="B10"),
        )
    assert set(refused.value.message_dict) == {"real_name"}


def test_a_clerk_of_another_window_cannot_start_one_for_that_windows_bundle(client, bundle_clerk):
    social_clerk = clerk_of("SOCIAL")
    users_before = User.objects.count()
    client.force_login(social_clerk)
    assert 'value="bundle:B10"' not in client.get("/staff/intake/new/").content.decode()
    response = start_post(client, resident_id=generated_resident_id(), real_name="张三")
    assert response.status_code == 200
    assert form_errors(response, "service")
    assert nothing_created(users_before)
    with pytest.raises(PermissionDenied):
        window.window_intake_start(
            clerk=social_clerk,
            resident_id=generated_resident_id(),
            real_name="张三",
            phone=generated_phone(),
            bundle=Bundle.objects.get(code="B10"),
        )
    assert nothing_created(users_before)

    # nor continue one the bundle window started
    client.force_login(bundle_clerk)
    start_post(client, resident_id=generated_resident_id(), real_name="张三")
    application = Application.objects.get()
    client.force_login(social_clerk)
    assert client.get(f"/staff/intake/new/{application.reference}/").status_code == 404


def test_an_invalid_id_number_shows_the_field_error_and_creates_nothing(client, bundle_clerk):
    number = generated_resident_id()
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    users_before = User.objects.count()
    client.force_login(bundle_clerk)
    response = start_post(client, resident_id=wrong_check, real_name="张三", phone="13912345678")
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"resident_id"}
    assert errors.as_data()["resident_id"][0].code == "id_check_digit"
    assert 'aria-describedby="id_resident_id_error"' in response.content.decode()
    assert nothing_created(users_before)
    page = response.content.decode()
    assert f'value="{wrong_check}"' in page and 'value="张三"' in page
    assert 'value="13912345678"' in page


def test_the_same_start_form_sent_twice_opens_one_application_and_counts_one_visit(
    client, bundle_clerk
):
    client.force_login(bundle_clerk)
    page = client.get("/staff/intake/new/")
    start_key = page.context["form"].initial["start_key"]
    number = generated_resident_id()
    for _ in range(2):
        start_post(client, resident_id=number, real_name="钱二", start_key=start_key)
    application = Application.objects.get()
    assert application.visits == 1


# -- what the clerk may and may not do -----------------------------------------------------------


def test_applicant_views_stay_applicant_only(client, bundle_clerk):
    client.force_login(bundle_clerk)
    start_post(client, resident_id=generated_resident_id(), real_name="孙三")
    application = Application.objects.get()
    for url in (
        f"/applications/{application.reference}/",
        f"/applications/{application.reference}/form/",
        f"/applications/{application.reference}/materials/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert application.reference.encode() not in response.content


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_missing_material_is_listed_and_everything_typed_is_kept(client, bundle_clerk):
    client.force_login(bundle_clerk)
    start_post(client, resident_id=generated_resident_id(), real_name="周四")
    application = Application.objects.get()
    applications.application_answer_questions(
        application=application,
        actor=bundle_clerk,
        answers={q.code: False for q in application.bundle.questions.all()},
    )
    application.refresh_from_db()
    needed = [e.material.code for e in required_materials(application) if e.needs_action]
    assert needed
    seen = set(to_be_seen(application)) - {needed[0]}
    data = form_post(application, seen=seen)
    response = client.post(f"/staff/intake/new/{application.reference}/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="missing"' in page
    assert len(response.context["problems"]) == len([c for c in needed if c not in seen])
    application.refresh_from_db()
    assert application.state == "draft"
    assert not application.cases.exists()
    # the form was stored and is shown again; the ticked originals stay ticked
    assert application.form_data
    assert (
        set(
            application.materials.filter(provision="at_window").values_list(
                "material__code", flat=True
            )
        )
        == seen
    )
    for value in application.form_data.values():
        assert f'value="{value}"' in page or value in page


def test_a_clerk_edits_only_window_applications_of_their_windows(bundle_clerk):
    citizen = UserFactory(citizen=True)
    online = applications.application_start(
        applicant=citizen, bundle=Bundle.objects.get(code="B10")
    )
    with pytest.raises(PermissionDenied):
        applications.application_answer_questions(
            application=online, actor=bundle_clerk, answers={}
        )
    taken = window.window_intake_start(
        clerk=bundle_clerk,
        resident_id=citizen.resident_id,
        real_name=citizen.real_name,
        phone=generated_phone(),
        bundle=Bundle.objects.get(code="B10"),
    )
    material = required_materials(taken)[0].material
    other_clerk = clerk_of("SOCIAL")
    with pytest.raises(PermissionDenied):
        materials.material_seen_at_window(application=taken, actor=other_clerk, material=material)
    with pytest.raises(PermissionDenied):
        applications.application_save_form(application=taken, actor=other_clerk, data={})
    # only a clerk sees originals at the window, and only the applicant withdraws
    with pytest.raises(PermissionDenied):
        materials.material_seen_at_window(application=taken, actor=citizen, material=material)
    with pytest.raises(PermissionDenied):
        applications.application_withdraw(application=taken, actor=bundle_clerk)


def test_an_original_seen_at_the_window_counts_as_provided(bundle_clerk):
    citizen = UserFactory(citizen=True)
    application = window.window_intake_start(
        clerk=bundle_clerk,
        resident_id=citizen.resident_id,
        real_name=citizen.real_name,
        phone=generated_phone(),
        bundle=Bundle.objects.get(code="B10"),
    )
    application = applications.application_answer_questions(
        application=application,
        actor=bundle_clerk,
        answers={q.code: False for q in application.bundle.questions.all()},
    )
    entry = next(e for e in required_materials(application) if e.needs_action)
    before = len(submission.missing_for_submission(application))
    materials.material_seen_at_window(
        application=application, actor=bundle_clerk, material=entry.material
    )
    after = next(e for e in required_materials(application) if e.material == entry.material)
    assert after.provided.provision == ApplicationMaterial.Provision.AT_WINDOW
    assert not after.needs_action
    assert len(submission.missing_for_submission(application)) == before - 1


def test_an_oversized_scan_at_the_window_is_cut_off_and_the_typed_form_is_kept(
    client, bundle_clerk, settings
):
    settings.KUAIBAN_UPLOAD_MAX_BYTES = 1024 * 1024
    client.force_login(bundle_clerk)
    start_post(client, resident_id=generated_resident_id(), real_name="李新华")
    application = Application.objects.get()
    url = f"/staff/intake/new/{application.reference}/"
    questions = list(application.bundle.questions.values_list("code", flat=True))
    client.post(url, {"step": "questions"} | {code: "no" for code in questions})
    application.refresh_from_db()
    seen = to_be_seen(application)
    big = SimpleUploadedFile("scan.pdf", b"%PDF-" + b"0" * (2 * 1024 * 1024), "application/pdf")

    response = client.post(url, form_post(application, seen=seen) | {f"scan-{seen[0]}": big})

    assert response.status_code == 200
    with translation.override("zh-hans"):
        expected = too_large_message("scan.pdf")
    assert "1 MB" in expected
    assert response.context["form"].non_field_errors() == [expected]
    assert expected in response.content.decode()
    typed = response.context["form"].data
    fields = required_form_fields(application)
    assert fields and all(typed.get(f.code) == valid_value(f) for f in fields)
    application.refresh_from_db()
    assert application.state == "draft" and not application.form_data
    assert not StoredFile.objects.exists() and not application.materials.exists()


def test_a_clerk_starts_an_enterprises_b01_at_the_window_through_its_agent(client, bundle_clerk):
    from tests.factories import generated_credit_code

    client.force_login(bundle_clerk)
    page = client.get("/staff/intake/new/").content.decode()
    assert 'value="bundle:B01"' in page and 'name="applicant_type"' in page
    code, agent = generated_credit_code(), generated_resident_id()

    response = client.post(
        "/staff/intake/new/",
        {
            "applicant_type": "enterprise",
            "credit_code": code,
            "organisation_name": "扬州窗口测试有限公司",
            "resident_id": agent,
            "real_name": "钱经办",
            "phone": generated_phone(),
            "service": "bundle:B01",
        },
    )

    application = Application.objects.get()
    assert response.status_code == 302
    assert application.applicant.credit_code == code
    assert application.applicant.real_name == "扬州窗口测试有限公司"
    page = client.get(response.url).content.decode()
    assert 'data-testid="agent"' in page and "钱经办" in page
    assert agent not in page  # masked


def test_an_enterprise_without_a_valid_credit_code_is_refused_next_to_the_field(
    client, bundle_clerk
):
    client.force_login(bundle_clerk)

    response = client.post(
        "/staff/intake/new/",
        {
            "applicant_type": "enterprise",
            "credit_code": "91350100M000100Y44",
            "organisation_name": "",
            "resident_id": generated_resident_id(),
            "real_name": "钱经办",
            "phone": generated_phone(),
            "service": "bundle:B01",
        },
    )

    assert response.status_code == 200
    assert {"credit_code", "organisation_name"} <= set(response.context["form"].errors)
    assert not Application.objects.exists()


def test_a_clerk_lists_an_enterprises_employees_at_the_window(client, bundle_clerk):
    from tests.factories import generated_credit_code

    application = window.window_intake_start(
        clerk=bundle_clerk,
        resident_id=generated_resident_id(),
        real_name="钱经办",
        phone=generated_phone(),
        bundle=Bundle.objects.get(code="B01"),
        credit_code=generated_credit_code(),
        organisation_name="扬州窗口测试有限公司",
    )
    applications.application_answer_questions(
        application=application,
        actor=bundle_clerk,
        answers={q.code: False for q in application.bundle.questions.all()},
    )
    application.refresh_from_db()
    client.force_login(bundle_clerk)
    url = f"/staff/intake/new/{application.reference}/"
    fields = required_form_fields(application)
    person_fields = [f for f in fields if f.per_person]

    page = client.post(url, {"step": "form", "persons_count": "1", "add_person": "1"})
    assert 'name="person-1-employee_name"' in page.content.decode()

    data = {f.code: valid_value(f) for f in fields if not f.per_person}
    data |= {"step": "form", "delivery": "pickup", "persons_count": "2"}
    for n in range(2):
        data |= {f"person-{n}-{f.code}": valid_value(f) for f in person_fields}
    response = client.post(url, data)

    assert response.status_code == 200  # the materials are still to be handed over
    application.refresh_from_db()
    assert len(application.form_data["persons"]) == 2
