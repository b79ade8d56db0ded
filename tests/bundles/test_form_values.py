"""Values typed into the one form are checked by the field's kind."""

import pytest
from django.core.exceptions import ValidationError

from bundles.services.applications import clean_form_value
from kuaiban.catalog.models import FormField


def field(kind, **kwargs):
    return FormField(code="f", label_zh="字段", kind=kind, **kwargs)


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        ("resident_id", "11010519491231002x", "11010519491231002X"),
        ("phone", "139 1234 5678", "13912345678"),
        ("date", "2026-11-02", "2026-11-02"),
        ("number", "12", "12"),
        ("bank_account", "6222 0202 0011", "622202020011"),
    ],
)
def test_valid_values_are_normalised(kind, raw, stored):
    assert clean_form_value(field(kind), raw) == stored


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("resident_id", "321002198506123012"),
        ("resident_id", "321002198502303015"),
        ("phone", "12345"),
        ("date", "2026-02-30"),
        ("number", "three"),
        ("bank_account", "62-22"),
    ],
)
def test_invalid_values_are_refused(kind, raw):
    with pytest.raises(ValidationError):
        clean_form_value(field(kind), raw)


def test_a_required_empty_value_is_refused_and_an_optional_one_is_kept_empty():
    with pytest.raises(ValidationError):
        clean_form_value(field("text"), "  ")
    assert clean_form_value(field("text", required=False), "") == ""


def test_a_choice_must_be_one_of_the_options():
    choice = field("choice", choices="甲\n乙")
    assert clean_form_value(choice, "乙") == "乙"
    with pytest.raises(ValidationError):
        clean_form_value(choice, "丙")


@pytest.mark.parametrize(
    ("kind", "max_length", "limit"),
    [("text", None, 200), ("long_text", None, 2000), ("text", 10, 10), ("number", None, 200)],
)
def test_an_answer_longer_than_its_fields_maximum_length_is_refused(kind, max_length, limit):
    form_field = field(kind, max_length=max_length)
    digits = "1" * limit
    assert clean_form_value(form_field, digits) == digits
    with pytest.raises(ValidationError) as refused:
        clean_form_value(form_field, digits + "1")
    assert refused.value.code == "max_length"
    assert refused.value.params == {"limit": limit, "length": limit + 1}
