"""The application-form fields of the reference catalog (kuaiban/fixtures/form_fields.json).

Items name the fields they need; a bundle's one form asks each field once however many of its
items need it (一表申请). The applicant's own identity comes from the account and is never a field.
"""

import re
from collections import Counter

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count

from kuaiban.catalog.models import Bundle, FormField, ServiceItem

pytestmark = pytest.mark.django_db

EMPLOYEE_NAME = "employee_name"


def bundle_fields(code: str):
    """The fields of a bundle's one form, as the form builds them: every item's, once each."""
    return FormField.objects.filter(items__bundles__code=code).distinct()


def test_the_reference_data_has_form_fields():
    assert FormField.objects.count() >= 50


def test_every_service_item_has_at_least_one_form_field():
    bare = ServiceItem.objects.annotate(n=Count("form_fields")).filter(n=0)
    assert list(bare.values_list("code", flat=True)) == []


def test_every_form_field_is_needed_by_some_item_and_passes_full_clean():
    unused = FormField.objects.annotate(n=Count("items")).filter(n=0)
    assert list(unused.values_list("code", flat=True)) == []
    for form_field in FormField.objects.all():
        form_field.full_clean()


def test_codes_are_snake_case_and_labels_bilingual():
    for form_field in FormField.objects.all():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", form_field.code), form_field.code
        assert form_field.label_zh.strip(), form_field.code
        assert form_field.label_en.strip(), form_field.code


def test_the_employee_name_is_one_field_shared_by_the_items_of_b01():
    employee_name = FormField.objects.get(code=EMPLOYEE_NAME)
    b01_items = set(Bundle.objects.get(code="B01").items.values_list("code", flat=True))
    sharing = set(employee_name.items.values_list("code", flat=True)) & b01_items
    assert len(sharing) >= 3, sharing

    codes = list(bundle_fields("B01").values_list("code", flat=True))
    assert EMPLOYEE_NAME in codes
    assert [code for code, n in Counter(codes).items() if n > 1] == []


@pytest.mark.parametrize("bundle", [f"B{n:02d}" for n in range(1, 11)])
def test_a_bundle_form_asks_each_field_once_and_fewer_than_its_items_need(bundle):
    codes = list(bundle_fields(bundle).values_list("code", flat=True))
    assert codes, bundle
    assert len(codes) == len(set(codes))
    per_item = sum(item.form_fields.count() for item in Bundle.objects.get(code=bundle).items.all())
    assert len(codes) <= per_item


def test_shared_fields_really_deduplicate_the_bundle_forms():
    """Across the ten bundles, the one form is shorter than asking every item's fields."""
    saved = 0
    for bundle in Bundle.objects.all():
        per_item = sum(item.form_fields.count() for item in bundle.items.all())
        saved += per_item - bundle_fields(bundle.code).count()
    assert saved >= 20


@pytest.mark.parametrize("bundle", [f"B{n:02d}" for n in range(1, 11)])
def test_a_bundle_form_asks_for_at_most_one_persons_id_number(bundle):
    """The person concerned (employee, retiree, deceased) is one set of fields per bundle."""
    kinds = list(bundle_fields(bundle).values_list("kind", flat=True))
    assert kinds.count(FormField.Kind.RESIDENT_ID) <= 1


def test_personal_numbers_use_the_personal_kinds():
    """ID, mobile and bank numbers are validated and masked: they must use those kinds."""
    expected = {
        FormField.Kind.RESIDENT_ID: ("_id_number", "身份证号码"),
        FormField.Kind.PHONE: ("_phone", "手机号码"),
        FormField.Kind.BANK_ACCOUNT: ("bank_account", "银行账号"),
    }
    for form_field in FormField.objects.all():
        for kind, (code_part, label_part) in expected.items():
            looks_like = code_part in form_field.code or label_part in form_field.label_zh
            assert looks_like == (form_field.kind == kind), (form_field.code, form_field.kind)
    for kind in expected:
        assert FormField.objects.filter(kind=kind).exists(), kind
    assert all(f.is_personal for f in FormField.objects.filter(kind__in=FormField.PERSONAL_KINDS))


def test_every_choice_field_has_distinct_choices_and_only_choice_fields_have_choices():
    for form_field in FormField.objects.filter(kind=FormField.Kind.CHOICE):
        options = form_field.choice_list
        assert len(options) >= 2, form_field.code
        assert len(options) == len(set(options)), form_field.code
        assert form_field.choices.strip() == "\n".join(options), form_field.code
    assert not FormField.objects.exclude(kind=FormField.Kind.CHOICE).exclude(choices="").exists()


def test_the_contract_term_and_retirement_choices_follow_the_law():
    assert FormField.objects.get(code="contract_type").choice_list == [
        "固定期限",
        "无固定期限",
        "以完成一定工作任务为期限",
    ]
    assert FormField.objects.get(code="relationship_to_deceased").choice_list == [
        "配偶",
        "子女",
        "父母",
        "其他",
    ]


@pytest.mark.parametrize("bundle", ["B01", "B02", "B05"])
def test_employer_bundles_never_ask_the_employer_for_its_own_name_or_credit_code(bundle):
    for form_field in bundle_fields(bundle):
        assert "统一社会信用代码" not in form_field.label_zh, form_field.code
        assert not form_field.label_zh.endswith("单位名称"), form_field.code


@pytest.mark.parametrize("bundle", ["B03", "B06", "B10"])
def test_self_service_bundles_never_ask_the_citizen_for_their_own_id_or_phone(bundle):
    kinds = set(bundle_fields(bundle).values_list("kind", flat=True))
    assert not kinds & {FormField.Kind.RESIDENT_ID, FormField.Kind.PHONE}


def test_bank_accounts_are_optional_for_benefits_paid_to_the_social_security_card():
    """The card's account is the default payment account (shared data, 数据多跑路)."""
    for code in ("bank_name", "bank_account"):
        assert FormField.objects.get(code=code).required is False


def test_loading_the_form_fields_again_changes_nothing():
    links = FormField.items.through.objects
    before = (FormField.objects.count(), links.count())
    call_command("loaddata", str(settings.KUAIBAN_FIXTURES_DIR / "form_fields.json"), verbosity=0)
    assert (FormField.objects.count(), links.count()) == before
