"""Forms that fit the applicant (issue 16 part 5): a citizen is not asked about themselves as if
about someone else, an enterprise's login never answers for its employee, the application form
itself is not uploaded online, and an enterprise lists several employees in one B01 application
(a table, or the Excel template)."""

import uuid
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook, load_workbook

from bundles.fitting import fitting_for
from bundles.selectors import planned_items, required_form_fields, required_materials
from bundles.services import applications, submission
from bundles.services import fitting as fitting_services
from bundles.services.materials import material_upload
from bundles.services.window import window_intake_start
from kuaiban.accounts.identity import mask_resident_id
from kuaiban.cases.models import Application
from kuaiban.catalog.models import FormField
from tests.builders import complete, draft, service_item, upload, valid_value
from tests.factories import UserFactory, generated_resident_id

pytestmark = pytest.mark.django_db


def _form(application):
    return {f.code: valid_value(f) for f in required_form_fields(application)}


def _b01(enterprise):
    return draft(enterprise, "B01")


def _person(**overrides):
    """One employee's row of the B01 table (the per-person fields B01 asks without a file)."""
    row = {
        "employee_name": "张测试",
        "employee_id_number": generated_resident_id(),
        "employee_phone": "13912345678",
        "household_type": "",
        "education_level": "",
        "hire_date": "2026-11-02",
        "job_title": "操作工",
        "contract_type": "",
        "contract_end_date": "",
        "monthly_wage": "6000",
    }
    return row | overrides


def _choices_filled(application, row):
    """The row with each choice field given its first option."""
    fields = {f.code: f for f in required_form_fields(application)}
    return {
        code: (fields[code].choice_list[0] if fields[code].kind == "choice" and not v else v)
        for code, v in row.items()
        if code in fields
    }


# -- rule IDENTITY-PREFILL ------------------------------------------------------------------------


def test_identity_prefill_a_citizens_own_retirement_takes_name_and_id_from_their_identity(citizen):
    application = draft(citizen, "B07")
    data = _form(application) | {"retiree_name": "别人", "retiree_id_number": ""}

    applications.application_save_form(application=application, actor=citizen, data=data)

    application.refresh_from_db()
    assert application.form_data["retiree_name"] == "王小明"
    assert application.form_data["retiree_id_number"] == citizen.resident_id


def test_identity_prefill_never_fills_an_employee_from_an_enterprise_login(enterprise):
    application = draft(enterprise, "B07")
    data = _form(application) | {"retiree_name": "", "retiree_id_number": ""}

    with pytest.raises(ValidationError) as raised:
        applications.application_save_form(application=application, actor=enterprise, data=data)

    assert {"retiree_name", "retiree_id_number"} <= set(raised.value.message_dict)
    assert fitting_for(application, required_form_fields(application)).identity == {}


def test_identity_prefill_a_graduate_is_not_asked_for_the_employees_name(citizen):
    application = draft(citizen, "B04")
    fitting = fitting_for(application, required_form_fields(application))

    labels = {f.code: f.label for f in fitting.as_asked(required_form_fields(application))}

    assert labels["employee_name"] == "姓名"
    assert fitting.identity["employee_name"] == "王小明"
    assert fitting.identity["employee_id_number"] == citizen.resident_id


def test_identity_prefill_an_unverified_registrant_types_it_and_submission_puts_in_the_verified(
    db,
):
    person = UserFactory(citizen=True, unverified=True, real_name="李未核")
    application = draft(person, "B07")
    assert fitting_for(application, required_form_fields(application)).identity == {}
    complete(application, person)
    application.refresh_from_db()
    assert application.form_data["retiree_name"] != "李未核"
    person.is_verified = True
    person.set_resident_id(person.resident_id)
    person.save()

    application = Application.objects.get(pk=application.pk)
    submission.application_submit(application=application, actor=person)

    application.refresh_from_db()
    assert application.form_data["retiree_name"] == "李未核"
    assert application.form_data["retiree_id_number"] == person.resident_id


def test_the_form_page_shows_the_identity_read_only_in_the_self_wording(client, citizen):
    application = draft(citizen, "B07")
    client.force_login(citizen)

    page = client.get(f"/applications/{application.reference}/form/").content.decode()

    assert "退休职工姓名" not in page
    assert "取自您的账号信息" in page  # the page says where those answers come from
    assert 'name="retiree_name"' in page and "disabled" in page
    assert mask_resident_id(citizen.resident_id) in page
    assert citizen.resident_id not in page

    client.post(
        f"/applications/{application.reference}/form/",
        _form(application) | {"retiree_name": "别人", "delivery": "download"},
    )
    review = client.get(f"/applications/{application.reference}/review/").content.decode()
    assert 'data-testid="from-identity"' in review
    application.refresh_from_db()
    assert application.form_data["retiree_name"] == "王小明"


def test_an_enterprise_is_asked_about_the_retiring_employee(client, enterprise):
    application = draft(enterprise, "B07")
    client.force_login(enterprise)

    page = client.get(f"/applications/{application.reference}/form/").content.decode()

    assert "退休职工姓名" in page
    assert "取自您的账号信息" not in page  # nothing on this form comes from the login
    assert 'data-testid="persons"' not in page  # B07 is for one person


# -- rule ONLINE-FORM-REPLACES --------------------------------------------------------------------


def test_online_form_replaces_the_application_form_online_but_not_at_the_window(citizen, clerk_of):
    item = service_item("EM-005")
    online = applications.application_start(applicant=citizen, item=item)
    clerk = clerk_of(item.window.code)
    at_window = window_intake_start(
        clerk=clerk,
        resident_id=citizen.resident_id,
        real_name=citizen.real_name,
        phone="13912345678",
        item=item,
        start_key=uuid.uuid4(),
    )

    def codes(application):
        return {entry.material.code for entry in required_materials(application)}

    assert "M-DIFFICULTY-APP" not in codes(online)
    assert "M-DIFFICULTY-APP" in codes(at_window)


def test_the_materials_page_does_not_ask_to_upload_the_form_just_filled_in(client, enterprise):
    application = applications.application_start(applicant=enterprise, item=service_item("LR-002"))
    client.force_login(enterprise)

    page = client.get(f"/applications/{application.reference}/materials/").content.decode()

    assert 'data-material="M-WORKHOURS-APP"' not in page
    assert "特殊工时申请表" not in page


# -- rule PERSONS-PER-ROW -------------------------------------------------------------------------


def test_persons_per_row_a_bad_id_number_names_its_row_and_nothing_is_stored(enterprise):
    application = _b01(enterprise)
    good = _choices_filled(application, _person())
    bad = _choices_filled(application, _person(employee_id_number="321002198506123012"))

    with pytest.raises(ValidationError) as raised:
        fitting_services.application_save_persons(
            application=application, actor=enterprise, rows=[good, bad]
        )

    (message,) = raised.value.message_dict["persons"]
    # “第2行，员工身份证号码：…” (the row number and the column's catalog label)
    assert "2" in message and "员工身份证号码" in message
    application.refresh_from_db()
    assert "persons" not in (application.form_data or {})


def test_persons_per_row_the_same_person_twice_is_refused(enterprise):
    application = _b01(enterprise)
    row = _choices_filled(application, _person())

    with pytest.raises(ValidationError) as raised:
        fitting_services.application_save_persons(
            application=application, actor=enterprise, rows=[row, dict(row)]
        )

    (message,) = raised.value.message_dict["persons"]
    assert "2" in message and "员工身份证号码" in message


def test_persons_per_row_several_employees_in_one_b01_one_case_per_item(enterprise):
    application = _b01(enterprise)
    rows = [_choices_filled(application, _person(employee_name=n)) for n in ("甲", "乙", "丙")]
    person_codes = {f.code for f in required_form_fields(application) if f.per_person}
    others = {k: v for k, v in _form(application).items() if k not in person_codes}

    fitting_services.application_save_form_and_persons(
        application=application, actor=enterprise, data=others, rows=rows, delivery="download"
    )
    application.refresh_from_db()
    assert [p["employee_name"] for p in application.form_data["persons"]] == ["甲", "乙", "丙"]
    assert application.form_data["employee_name"] == "甲"  # the first person answers the fields
    for entry in required_materials(application):
        if entry.needs_action:
            material_upload(
                application=application, actor=enterprise, material=entry.material, upload=upload()
            )
    application = Application.objects.get(pk=application.pk)
    submission.application_submit(application=application, actor=enterprise)

    # A batch filing: one case per planned item, covering the three employees.
    assert application.cases.count() == len(planned_items(application)) < 3 * 3


def test_a_citizen_never_gets_a_table_of_persons(citizen):
    application = draft(citizen, "B04")

    with pytest.raises(ValidationError):
        fitting_services.application_save_persons(
            application=application, actor=citizen, rows=[_person()]
        )


# -- the form page's table and the Excel template ------------------------------------------------


def test_the_b01_form_asks_per_employee_in_a_table_and_adds_a_row_without_script(
    client, enterprise
):
    application = _b01(enterprise)
    client.force_login(enterprise)
    url = f"/applications/{application.reference}/form/"

    page = client.get(url).content.decode()
    assert 'data-testid="persons"' in page
    assert 'name="person-0-employee_id_number"' in page
    assert 'name="employee_id_number"' not in page

    response = client.post(
        url,
        {"persons_count": "1", "person-0-employee_name": "甲", "add_person": "1"},
    )
    page = response.content.decode()
    assert 'name="person-1-employee_name"' in page
    assert 'value="甲"' in page
    application.refresh_from_db()
    assert not application.form_data

    response = client.post(
        url,
        {
            "persons_count": "2",
            "person-0-employee_name": "甲",
            "person-1-employee_name": "乙",
            "remove_person": "1",
        },
    )
    page = response.content.decode()
    assert 'value="乙"' in page and 'value="甲"' not in page
    assert 'name="person-1-employee_name"' not in page


def test_the_b01_form_saves_the_table(client, enterprise):
    application = _b01(enterprise)
    client.force_login(enterprise)
    rows = [_choices_filled(application, _person(employee_name=n)) for n in ("甲", "乙")]
    person_codes = {f.code for f in required_form_fields(application) if f.per_person}
    data = {k: v for k, v in _form(application).items() if k not in person_codes}
    data |= {"delivery": "download", "persons_count": "2"}
    for n, row in enumerate(rows):
        data |= {f"person-{n}-{code}": value for code, value in row.items()}

    response = client.post(f"/applications/{application.reference}/form/", data)

    assert response.status_code == 302
    application.refresh_from_db()
    assert len(application.form_data["persons"]) == 2


def _filled_template(client, application, rows):
    response = client.get(f"/applications/{application.reference}/form/persons.xlsx")
    assert response.status_code == 200
    template = load_workbook(BytesIO(response.content))
    header = [cell.value for cell in template.worksheets[0][1]]
    fields = {f.label: f.code for f in required_form_fields(application)}
    book = Workbook()
    sheet = book.active
    sheet.title = template.worksheets[0].title
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(fields[h.rstrip("*")], "") for h in header])
    out = BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "persons.xlsx"
    return out


def test_the_excel_template_one_bad_row_is_named_then_a_good_table_fills_the_form(
    client, enterprise
):
    application = _b01(enterprise)
    client.force_login(enterprise)
    good = _choices_filled(application, _person(employee_name="甲"))
    bad = _choices_filled(application, _person(employee_name="乙", hire_date="2026-13-40"))
    upload_url = f"/applications/{application.reference}/form/persons/upload/"

    response = client.post(
        upload_url, {"workbook": _filled_template(client, application, [good, bad])}, follow=True
    )
    (message,) = [str(m) for m in response.context["messages"]]
    assert "3" in message and "入职（就业）日期" in message  # the sheet's row 3 (1 is the header)
    application.refresh_from_db()
    assert "persons" not in (application.form_data or {})

    second = _choices_filled(application, _person(employee_name="乙"))
    response = client.post(
        upload_url,
        {"workbook": _filled_template(client, application, [good, second])},
        follow=True,
    )
    application.refresh_from_db()
    assert [p["employee_name"] for p in application.form_data["persons"]] == ["甲", "乙"]
    assert 'value="乙"' in response.content.decode()  # the form's table is filled in


def test_the_excel_template_guards_formulas_and_refuses_a_non_workbook(client, enterprise):
    application = _b01(enterprise)
    client.force_login(enterprise)
    fitting_services.application_save_persons(
        application=application,
        actor=enterprise,
        rows=[_choices_filled(application, _person(employee_name="=HYPERLINK(1)"))],
    )

    response = client.get(f"/applications/{application.reference}/form/persons.xlsx")
    cell = load_workbook(BytesIO(response.content)).worksheets[0]["A2"]
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(1)"

    not_a_book = BytesIO(b"not a workbook")
    not_a_book.name = "x.xlsx"
    page = client.post(
        f"/applications/{application.reference}/form/persons/upload/",
        {"workbook": not_a_book},
        follow=True,
    ).content.decode()
    assert "Excel" in page


def test_staff_see_the_listed_employees_masked(enterprise):
    from desk.selectors import form_persons

    application = _b01(enterprise)
    number = generated_resident_id()
    fitting_services.application_save_persons(
        application=application,
        actor=enterprise,
        rows=[_choices_filled(application, _person(employee_id_number=number))],
    )
    application.refresh_from_db()

    (person,) = form_persons(application)

    assert (FormField.objects.get(code="employee_id_number"), number) in person


def test_another_enterprise_cannot_open_the_template(client, enterprise):
    application = _b01(enterprise)
    client.force_login(UserFactory(enterprise=True))

    assert client.get(f"/applications/{application.reference}/form/persons.xlsx").status_code == 404


def test_the_guide_says_the_application_form_is_filled_in_online(client):
    page = client.get("/guide/items/EM-005/").content.decode()

    assert 'data-testid="online-form"' in page
    assert "就业困难人员认定申请表" in page  # still listed: the window may print it for signing


def test_the_clerk_sees_every_listed_employee_masked(client, enterprise):
    from tests.builders import clerk_of, submit

    application = _b01(enterprise)
    numbers = [generated_resident_id(), generated_resident_id()]
    rows = [_choices_filled(application, _person(employee_id_number=n)) for n in numbers]
    person_codes = {f.code for f in required_form_fields(application) if f.per_person}
    others = {k: v for k, v in _form(application).items() if k not in person_codes}
    fitting_services.application_save_form_and_persons(
        application=application, actor=enterprise, data=others, rows=rows, delivery="download"
    )
    for entry in required_materials(application):
        if entry.needs_action:
            material_upload(
                application=application, actor=enterprise, material=entry.material, upload=upload()
            )
    submit(Application.objects.get(pk=application.pk))
    client.force_login(clerk_of("BUNDLE"))

    page = client.get(f"/staff/intake/{application.reference}/").content.decode()

    assert 'data-testid="persons-list"' in page
    assert all(mask_resident_id(n) in page and n not in page for n in numbers)
