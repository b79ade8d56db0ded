"""The one form's rules beyond each value's kind (bundles/services/applications.py): valid
answers kept as a draft while others fail, the catalog's rules between answers
(FormField.not_before), month fields as months, amounts as people write them; and submission
checking the stored answers again."""

import pytest
from django.core.exceptions import ValidationError

from bundles.selectors import required_form_fields
from bundles.services import applications, submission
from kuaiban.catalog.models import FormField
from tests.builders import service_item, single_item_ready, valid_value
from tests.factories import generated_resident_id

pytestmark = pytest.mark.django_db


def hiring_draft(enterprise):
    """A single-item draft of SI-002 (参保登记 on hiring): a start date, a contract end date, a
    monthly wage and the month insurance starts."""
    return applications.application_start(applicant=enterprise, item=service_item("SI-002"))


def answers(application, **values):
    return {f.code: valid_value(f) for f in required_form_fields(application)} | values


def saved(application, data) -> dict[str, list[str]]:
    """Save the form; the errors by field (empty when it was valid)."""
    try:
        applications.application_save_form(
            application=application, actor=application.applicant, data=data
        )
    except ValidationError as error:
        return error.message_dict
    return {}


# -- valid answers kept as a draft --------------------------------------------------------------


def test_rule_form_partial_save_keeps_the_valid_answers_and_reports_the_invalid(enterprise):
    application = hiring_draft(enterprise)
    errors = saved(application, answers(application, monthly_wage="lots", employee_name="张示例"))
    assert set(errors) == {"monthly_wage"}
    application.refresh_from_db()
    assert application.form_data["employee_name"] == "张示例"
    assert "monthly_wage" not in application.form_data


def test_rule_form_partial_save_keeps_the_earlier_value_of_an_answer_now_invalid(enterprise):
    application = hiring_draft(enterprise)
    assert (
        saved(application, answers(application, monthly_wage="8500", employee_name="张示例")) == {}
    )
    errors = saved(application, answers(application, monthly_wage="很多", employee_name="李示例"))
    assert set(errors) == {"monthly_wage"}
    application.refresh_from_db()
    assert (application.form_data["monthly_wage"], application.form_data["employee_name"]) == (
        "8500",
        "李示例",
    )


def test_rule_submission_refuses_a_stored_answer_that_breaks_a_rule(enterprise):
    application = single_item_ready("SI-002", enterprise)
    # Answers stored before the rule existed (or written around the form) are checked again.
    application.form_data |= {"hire_date": "2026-05-01", "contract_end_date": "2026-04-30"}
    application.save(update_fields=["form_data"])
    problems = submission.missing_for_submission(application)
    assert any("合同到期日期" in p and "入职（就业）日期" in p for p in problems)
    with pytest.raises(ValidationError):
        submission.application_submit(application=application, actor=enterprise)


def test_rule_submission_refuses_while_a_required_answer_is_missing(enterprise):
    application = hiring_draft(enterprise)
    saved(application, answers(application, employee_name=""))
    assert "请填写申请表。" in submission.missing_for_submission(application)


# -- rules between answers, from the catalog ------------------------------------------------------


def test_rule_form_end_after_start_names_the_start_field(enterprise):
    application = hiring_draft(enterprise)
    errors = saved(
        application,
        answers(application, hire_date="2026-05-01", contract_end_date="2026-04-30"),
    )
    assert set(errors) == {"contract_end_date"}
    assert "“入职（就业）日期”" in errors["contract_end_date"][0]
    application.refresh_from_db()
    assert application.form_data["hire_date"] == "2026-05-01"
    assert "contract_end_date" not in application.form_data


def test_rule_form_end_on_or_after_start_is_accepted(enterprise):
    application = hiring_draft(enterprise)
    same_day = answers(application, hire_date="2026-05-01", contract_end_date="2026-05-01")
    assert saved(application, same_day) == {}
    later = answers(application, hire_date="2026-05-01", contract_end_date="2029-04-30")
    assert saved(application, later) == {}


def test_rule_form_an_optional_end_left_empty_is_not_compared(enterprise):
    application = hiring_draft(enterprise)
    assert saved(application, answers(application, contract_end_date="")) == {}


def test_rule_form_date_after_birth_reads_the_birth_date_of_an_id_number(enterprise):
    application = hiring_draft(enterprise)
    employee = generated_resident_id(birth="19900501")
    errors = saved(
        application, answers(application, employee_id_number=employee, hire_date="1989-12-01")
    )
    assert set(errors) == {"hire_date"}
    assert "“员工身份证号码”" in errors["hire_date"][0] and "1990-05-01" in errors["hire_date"][0]
    later = answers(application, employee_id_number=employee, hire_date="2012-07-01")
    assert saved(application, later) == {}


def test_rule_form_work_start_after_birth_is_data_in_the_catalog():
    work_start = FormField.objects.get(code="work_start_date")
    assert work_start.not_before == "file_birth_date"
    birth = FormField.objects.get(code="file_birth_date")
    values = {"file_birth_date": "1970-03-01", "work_start_date": "1969-09-01"}
    errors = applications.cross_field_errors([birth, work_start], values)
    assert "“出生日期（以档案为准）”" in errors["work_start_date"][0]
    assert (
        applications.cross_field_errors(
            [birth, work_start], values | {"work_start_date": "1988-09-01"}
        )
        == {}
    )


def test_rule_form_a_month_is_compared_with_a_date_by_month():
    start = FormField(code="start", label_zh="开始日期", kind=FormField.Kind.DATE)
    month = FormField(code="m", label_zh="月份", kind=FormField.Kind.MONTH, not_before="start")
    assert (
        applications.cross_field_errors([start, month], {"start": "2026-05-20", "m": "2026-05"})
        == {}
    )
    assert set(
        applications.cross_field_errors([start, month], {"start": "2026-05-20", "m": "2026-04"})
    ) == {"m"}


def test_rule_catalog_not_before_names_a_date_field_and_not_itself(db):
    field = FormField(
        code="x_end", label_zh="结束", kind=FormField.Kind.TEXT, not_before="hire_date"
    )
    with pytest.raises(ValidationError):
        field.clean()
    field.kind = FormField.Kind.DATE
    field.clean()
    field.not_before = "employee_id_number"  # the birth date it carries
    field.clean()
    field.not_before = "job_title"  # a text field
    with pytest.raises(ValidationError):
        field.clean()
    field.not_before = "x_end"
    with pytest.raises(ValidationError):
        field.clean()


# -- months and amounts ---------------------------------------------------------------------------


def month_field():
    return FormField(code="m", label_zh="月份", kind=FormField.Kind.MONTH)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2025-07", "2025-07"),
        ("2025-7", "2025-07"),
        ("2025/07", "2025-07"),
        ("2025年7月", "2025-07"),
        ("２０２５－０７", "2025-07"),
    ],
)
def test_rule_month_is_stored_as_year_and_month(raw, stored):
    assert applications.clean_form_value(month_field(), raw) == stored


@pytest.mark.parametrize("raw", ["2025-13", "2025-07-01", "七月", "202507"])
def test_rule_month_refuses_what_is_not_a_month(raw):
    with pytest.raises(ValidationError):
        applications.clean_form_value(month_field(), raw)


def test_rule_month_fields_of_the_catalog_are_months():
    kinds = set(
        FormField.objects.filter(
            code__in=["insurance_change_month", "insurance_start_month"]
        ).values_list("kind", flat=True)
    )
    assert kinds == {FormField.Kind.MONTH}


def amount():
    return FormField(code="a", label_zh="金额", kind=FormField.Kind.NUMBER)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("8,500", "8500"),
        ("8，500", "8500"),
        ("８５００", "8500"),
        ("8500.00", "8500"),
        ("1,234,567.50", "1234567.5"),
        ("0.5", "0.5"),
        (" 8 500 ", "8500"),
    ],
)
def test_rule_amount_accepts_how_people_write_it(raw, stored):
    assert applications.clean_form_value(amount(), raw) == stored


@pytest.mark.parametrize("raw", ["1,5", "8,50,0", "8.500,00", "八千", "1e5"])
def test_rule_amount_refuses_an_ambiguous_or_wrong_number(raw):
    with pytest.raises(ValidationError):
        applications.clean_form_value(amount(), raw)


def test_rule_amount_is_stored_normalised_from_the_form(enterprise):
    application = hiring_draft(enterprise)
    assert saved(application, answers(application, monthly_wage="8，500")) == {}
    application.refresh_from_db()
    assert application.form_data["monthly_wage"] == "8500"
