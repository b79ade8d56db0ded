"""ID-number and credit-code rules (domain.md §8), with property tests."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from kuaiban.accounts.identity import (
    CREDIT_ALPHABET,
    credit_code_check_char,
    is_division_code,
    mask_phone,
    mask_resident_id,
    normalize_credit_code,
    normalize_phone,
    normalize_resident_id,
    resident_id_check_char,
)


@pytest.mark.parametrize(
    "number", ["11010519491231002X", "11010519491231002x", "321002198506123011"]
)
def test_valid_resident_ids_are_accepted_and_stored_upper_case(number):
    assert normalize_resident_id(number) == number.upper()


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("321002198506123012", "id_check_digit"),
        ("321002198502303015", "id_birth_date"),  # check digit right, but 30 February
        ("32100219850612301", "id_format"),
        ("32100219850612301Y", "id_format"),
        ("999999198506123019", "id_region"),  # check digit right, but no such region
        ("", "id_format"),
    ],
)
def test_invalid_resident_ids_say_what_is_wrong(number, code):
    with pytest.raises(ValidationError) as caught:
        normalize_resident_id(number)
    assert caught.value.code == code


def test_the_credit_code_example_is_valid():
    assert normalize_credit_code("91350100m000100y43") == "91350100M000100Y43"


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43"])
def test_invalid_credit_codes_are_refused(code):
    with pytest.raises(ValidationError):
        normalize_credit_code(code)


def test_masks_show_only_what_the_standard_allows():
    assert mask_resident_id("321002198506123011") == "321002********3011"
    assert mask_phone("13812345678") == "138****5678"
    assert normalize_phone("+86 138-1234-5678") == "13812345678"


birth_dates = st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31))
# Real county-level codes of GB/T 2260 across provinces (current and former).
regions = st.sampled_from(["110101", "310104", "321002", "321003", "321012", "440305", "650102"])


@given(region=regions, born=birth_dates, seq=st.integers(0, 999))
def test_any_generated_id_with_its_check_digit_is_valid(region, born, seq):
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    number = first17 + resident_id_check_char(first17)
    assert normalize_resident_id(number) == number


@given(region=regions, born=birth_dates, seq=st.integers(0, 999))
def test_changing_the_check_digit_is_always_caught(region, born, seq):
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    wrong = next(c for c in "0123456789X" if c != resident_id_check_char(first17))
    with pytest.raises(ValidationError):
        normalize_resident_id(first17 + wrong)


@given(body=st.text(alphabet=CREDIT_ALPHABET, min_size=17, max_size=17))
def test_any_credit_code_with_its_check_character_is_valid(body):
    code = body + credit_code_check_char(body)
    assert normalize_credit_code(code) == code


@given(body=st.text(alphabet=CREDIT_ALPHABET, min_size=17, max_size=17), data=st.data())
def test_a_wrong_credit_check_character_is_always_caught(body, data):
    right = credit_code_check_char(body)
    wrong = data.draw(st.sampled_from([c for c in CREDIT_ALPHABET if c != right]))
    with pytest.raises(ValidationError):
        normalize_credit_code(body + wrong)


def test_a_day_after_the_last_of_february_is_never_a_birth_date():
    day = date(1985, 2, 28) + timedelta(days=1)
    first17 = f"321002{day:%Y}0229001"
    with pytest.raises(ValidationError) as caught:
        normalize_resident_id(first17 + resident_id_check_char(first17))
    assert caught.value.code == "id_birth_date"


def _with_check(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


@pytest.mark.parametrize("born", ["18991231", "20261201", "21000101"])
def test_rule_a_birth_date_in_the_future_or_before_1900_is_refused(born):
    with pytest.raises(ValidationError) as caught:
        normalize_resident_id(_with_check(f"321002{born}001"), today=date(2026, 11, 30))
    assert caught.value.code == "id_birth_date_range"
    assert born[:4] in str(caught.value.messages[0])


def test_rule_a_birth_date_of_today_or_1900_is_accepted():
    today = date(2026, 11, 30)
    for born in ("19000101", "20261130"):
        number = _with_check(f"321002{born}001")
        assert normalize_resident_id(number, today=today) == number


@pytest.mark.parametrize("region", ["999999", "000000", "321099", "190101"])
def test_rule_a_region_code_not_in_gbt_2260_is_refused(region):
    with pytest.raises(ValidationError) as caught:
        normalize_resident_id(_with_check(f"{region}19850612301"))
    assert caught.value.code == "id_region"
    assert region in str(caught.value.messages[0])


def test_a_former_region_code_still_counts_because_a_number_keeps_its_code():
    # 321011 was 扬州市郊区 (1983–2001), later merged: people issued numbers there keep them.
    assert is_division_code("321011")
    number = _with_check("32101119650415023")
    assert normalize_resident_id(number) == number
