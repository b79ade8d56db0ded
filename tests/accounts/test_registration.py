"""Applicants register themselves, log in with their ID number or credit code, and see only
masked numbers afterwards (domain.md §8). Every number here is generated, none is a person's."""

import re

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test import Client

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import (
    CREDIT_ALPHABET,
    credit_code_check_char,
    resident_id_check_char,
)
from kuaiban.accounts.models import Role, User
from kuaiban.accounts.services import (
    citizen_register,
    enterprise_register,
    reference_enterprises_load,
    reference_identities_load,
)
from tests.builders import login_request, sms_code

pytestmark = pytest.mark.django_db

PASSWORD = "Kb-test-pass-2026"
WRONG_CHECK_DIGIT = "321002198506123012"
NO_30_FEBRUARY = "321002198502303015"


def resident_id(first17: str = "32010219900307123") -> str:
    return first17 + resident_id_check_char(first17)


def resident_id_ending_in_x() -> str:
    for sequence in range(1000):
        first17 = f"32010219881109{sequence:03d}"
        if resident_id_check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no sequence gives an X")


def credit_code(first17: str = "91320102MA1WXY700") -> str:
    assert all(c in CREDIT_ALPHABET for c in first17)
    return first17 + credit_code_check_char(first17)


def wrong_credit_code() -> str:
    code = credit_code()
    wrong = CREDIT_ALPHABET[(CREDIT_ALPHABET.index(code[-1]) + 1) % len(CREDIT_ALPHABET)]
    return code[:-1] + wrong


def citizen_data(**changes):
    data = {
        "real_name": "测试甲",
        "resident_id": resident_id(),
        "phone": "13800001234",
        "email": "jia@example.invalid",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "agree": "on",
    }
    data.update(changes)
    return data


def enterprise_data(**changes):
    data = {
        "organisation_name": "测试科技有限公司",
        "credit_code": credit_code(),
        "contact_name": "测试乙",
        "legal_representative": "测试庚",
        "phone": "13900005678",
        "email": "",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    data.update(changes)
    return data


def english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


def errors_of(page: str, field: str) -> str:
    """The error list rendered for one field ("" when there is none)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


def register_citizen(client, **changes):
    return client.post("/accounts/register/citizen/", citizen_data(**changes))


# -- citizens --------------------------------------------------------------------------------------


def test_a_citizen_registers_confirms_the_phone_is_verified_and_sees_only_masked_numbers(client):
    number = resident_id()
    reference_identities_load([("测试甲", number)])
    response = client.post("/accounts/register/citizen/", citizen_data(), follow=True)
    assert response.redirect_chain == [("/accounts/register/confirm/", 302)]
    assert "138****1234" in response.content.decode()
    assert not response.context["user"].is_authenticated

    response = client.post(
        "/accounts/register/confirm/", {"code": sms_code("13800001234")}, follow=True
    )

    assert response.redirect_chain == [("/accounts/profile/", 302)]
    page = response.content.decode()
    assert "测试甲" in page
    assert number[:6] + "********" + number[-4:] in page
    assert "138****1234" in page
    assert number not in page
    assert "13800001234" not in page
    user = User.objects.get()
    assert response.context["user"] == user
    assert user.role == Role.CITIZEN
    assert user.is_verified and user.phone_verified_at and user.verified_at
    assert user.verification_source == "identity:local"
    assert user.resident_id_hash == keyed_hash(number)


def test_the_id_number_and_phone_are_stored_encrypted_and_the_id_is_found_by_keyed_hash(client):
    number = resident_id()
    reference_identities_load([("测试甲", number)])
    register_citizen(client, resident_id=number)
    client.post("/accounts/register/confirm/", {"code": sms_code("13800001234")})

    with connection.cursor() as cursor:
        cursor.execute("SELECT resident_id, phone FROM accounts_user")
        stored_id, stored_phone = cursor.fetchone()
    assert number not in stored_id
    assert "13800001234" not in stored_phone
    user = User.objects.get(resident_id_hash=keyed_hash(number))
    assert user.resident_id == number
    assert user.phone == "13800001234"


def test_a_wrong_code_leaves_the_phone_and_the_account_unverified(client):
    reference_identities_load([("测试甲", resident_id())])
    register_citizen(client)
    right = sms_code("13800001234")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    page = client.post("/accounts/register/confirm/", {"code": wrong}).content.decode()
    assert "验证码不正确" in errors_of(page, "code") or "not correct" in errors_of(page, "code")
    user = User.objects.get()
    assert user.phone_verified_at is None and not user.is_verified


def test_registration_gives_the_same_answer_whether_the_id_number_exists_or_not(client):
    """Registration does not reveal which ID numbers exist: a registered number and a new one
    get the same page, and the second registration claims nothing."""
    taken = resident_id_ending_in_x()
    fresh = resident_id()
    holder = citizen_register(
        real_name="测试丙", resident_id=taken, phone="13700001111", password=PASSWORD
    )
    User.objects.filter(pk=holder.pk).update(
        is_verified=True, resident_id_hash=keyed_hash(taken), pending_id_hash=""
    )

    answers = []
    for number, phone in ((taken.lower(), "13600002222"), (fresh, "13600003333")):
        response = register_citizen(client, resident_id=number, phone=phone)
        answers.append((response.status_code, response.url))
        client.session.flush()
    assert answers[0] == answers[1] == (302, "/accounts/register/confirm/")
    assert User.objects.get(resident_id_hash=keyed_hash(taken)) == holder


def test_an_unavailable_identity_source_leaves_the_account_unverified_and_it_retries_later(
    client, settings
):
    number = resident_id()
    settings.KUAIBAN_IDENTITY_SOURCE = "http"
    settings.KUAIBAN_IDENTITY_URL = "http://127.0.0.1:9/unreachable"  # discard port: refused
    register_citizen(client, resident_id=number)
    page = (
        english(client)
        .post("/accounts/register/confirm/", {"code": sms_code("13800001234")}, follow=True)
        .content.decode()
    )
    assert "not available at the moment" in page
    assert 'action="/accounts/profile/verify/"' in page
    user = User.objects.get()
    assert user.phone_verified_at and not user.is_verified and user.resident_id_hash is None

    settings.KUAIBAN_IDENTITY_SOURCE = "local"
    reference_identities_load([("测试甲", number)])
    page = client.post("/accounts/profile/verify/", follow=True).content.decode()
    assert "Your identity is verified" in page
    user.refresh_from_db()
    assert user.is_verified and user.resident_id_hash == keyed_hash(number)


def test_a_citizen_logs_in_with_the_id_number_typed_with_a_lower_case_x(client):
    number = resident_id_ending_in_x()
    citizen_register(real_name="测试丙", resident_id=number, phone="13700001111", password=PASSWORD)
    assert User.objects.get().resident_id == number  # stored upper-case

    response = client.post(
        "/accounts/login/", {"username": number.lower(), "password": PASSWORD}, follow=True
    )

    assert response.context["user"].is_authenticated
    assert response.context["user"].resident_id == number
    assert authenticate(login_request(), username=number, password="wrong") is None


@pytest.mark.parametrize(
    ("number", "chinese", "english_message"),
    [
        (
            WRONG_CHECK_DIGIT,
            "身份证号码校验位错误",
            "The check digit of this ID number is wrong; please check the number.",
        ),
        (
            NO_30_FEBRUARY,
            "身份证号码中的出生日期（1985-02-30）不存在",
            "The birth date in this ID number (1985-02-30) does not exist.",
        ),
    ],
)
def test_a_wrong_id_number_is_refused_next_to_its_field_saying_why(
    client, number, chinese, english_message
):
    page = register_citizen(client, resident_id=number).content.decode()
    assert chinese in errors_of(page, "resident_id")

    page = register_citizen(english(client), resident_id=number).content.decode()
    assert english_message in errors_of(page, "resident_id")
    assert not User.objects.exists()


def test_the_other_fields_keep_their_values_on_error_but_passwords_do_not(client):
    page = register_citizen(client, resident_id=NO_30_FEBRUARY).content.decode()

    assert 'value="测试甲"' in page
    assert f'value="{NO_30_FEBRUARY}"' in page  # the user sees what to correct
    assert 'value="13800001234"' in page
    assert 'value="jia@example.invalid"' in page
    assert re.search(r'<input type="checkbox" name="agree"[^>]*checked', page)
    assert PASSWORD not in page


def test_a_password_that_is_too_short_is_refused(client):
    page = register_citizen(client, password="Ab1-x", password_confirm="Ab1-x").content.decode()
    assert "密码长度太短" in errors_of(page, "password")

    page = register_citizen(
        english(client), password="Ab1-x", password_confirm="Ab1-x"
    ).content.decode()
    assert "This password is too short" in errors_of(page, "password")
    assert not User.objects.exists()


def test_the_two_passwords_must_match(client):
    page = register_citizen(client, password_confirm=PASSWORD + "!").content.decode()
    assert "两次输入的密码不一致" in errors_of(page, "password_confirm")
    assert not User.objects.exists()


def test_the_personal_information_notice_must_be_accepted(client):
    data = citizen_data()
    del data["agree"]
    page = client.post("/accounts/register/citizen/", data).content.decode()
    assert "请阅读并同意《个人信息告知书》" in errors_of(page, "agree")
    assert not User.objects.exists()


def test_a_wrong_mobile_number_is_refused(client):
    page = register_citizen(client, phone="1380000123").content.decode()
    assert "请输入 11 位手机号码" in errors_of(page, "phone")


# -- enterprises -----------------------------------------------------------------------------------


def test_an_enterprise_registers_with_its_credit_code_and_logs_in_with_it(client):
    code = credit_code()
    reference_enterprises_load([(code, "测试科技有限公司", "测试庚")])
    response = client.post("/accounts/register/enterprise/", enterprise_data(), follow=True)
    assert response.redirect_chain == [("/accounts/register/confirm/", 302)]
    response = client.post(
        "/accounts/register/confirm/", {"code": sms_code("13900005678")}, follow=True
    )

    assert response.redirect_chain == [("/accounts/profile/", 302)]
    page = response.content.decode()
    assert "测试科技有限公司" in page and code in page and "测试乙" in page
    assert "139****5678" in page
    assert "13900005678" not in page
    user = User.objects.get()
    assert (user.role, user.username, user.credit_code) == (Role.ENTERPRISE, code, code)
    assert user.is_verified and user.verification_source == "enterprise:local"

    client.logout()
    client.post("/accounts/login/", {"username": code.lower(), "password": PASSWORD})
    assert client.get("/accounts/profile/").status_code == 200


def test_an_enterprise_whose_legal_representative_does_not_match_stays_unverified(client):
    code = credit_code()
    reference_enterprises_load([(code, "测试科技有限公司", "别人")])
    client.post("/accounts/register/enterprise/", enterprise_data())
    page = (
        english(client)
        .post("/accounts/register/confirm/", {"code": sms_code("13900005678")}, follow=True)
        .content.decode()
    )
    assert "do not match the official register" in page
    assert not User.objects.get().is_verified


def test_a_wrong_credit_code_is_refused(client):
    page = client.post(
        "/accounts/register/enterprise/", enterprise_data(credit_code=wrong_credit_code())
    ).content.decode()
    assert "统一社会信用代码校验位错误" in errors_of(page, "credit_code")
    assert 'value="测试科技有限公司"' in page

    english_page = (
        english(client)
        .post("/accounts/register/enterprise/", enterprise_data(credit_code=wrong_credit_code()))
        .content.decode()
    )
    assert "The check character of this credit code is wrong" in errors_of(
        english_page, "credit_code"
    )
    assert not User.objects.exists()


def registered_enterprise(code: str):
    """An enterprise with a verified account for `code`."""
    holder = enterprise_register(
        organisation_name="测试一公司",
        credit_code=code,
        contact_name="测试戊",
        phone="13500003333",
        password=PASSWORD,
        legal_representative="测试己",
    )
    User.objects.filter(pk=holder.pk).update(
        credit_code=code, pending_credit_code="", username=code, is_verified=True
    )
    return User.objects.get(pk=holder.pk)


def test_registration_gives_the_same_answer_whether_the_credit_code_has_an_account_or_not():
    """Registration does not reveal which credit codes have an account: a registered code and a
    new one get the same status, pages and messages (the SMS code step, as for citizens)."""
    taken, fresh = credit_code(), credit_code("91320102MA1WXY701")
    holder = registered_enterprise(taken)

    answers = []
    # Two mobile numbers that mask alike, so the confirmation pages may be compared whole.
    for code, phone in ((taken.lower(), "13900015678"), (fresh, "13900025678")):
        response = Client().post(
            "/accounts/register/enterprise/",
            enterprise_data(credit_code=code, phone=phone),
            follow=True,
        )
        answers.append(
            (
                response.redirect_chain,
                response.status_code,
                [t.name for t in response.templates],
                [(m.level, m.message) for m in response.context["messages"]],
                re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode()),
            )
        )

    assert answers[0] == answers[1]
    assert answers[0][0] == [("/accounts/register/confirm/", 302)]
    holder.refresh_from_db()
    assert (holder.username, holder.credit_code, holder.is_verified) == (taken, taken, True)


def test_a_verified_registrant_of_a_code_that_has_an_account_is_told_and_claims_nothing(client):
    """Only someone who proved the phone and the registration's name and legal representative
    learns that the code already has an account; the account stays its holder's."""
    code = credit_code()
    holder = registered_enterprise(code)
    reference_enterprises_load([(code, "测试科技有限公司", "测试庚")])
    client.post("/accounts/register/enterprise/", enterprise_data())

    response = client.post(
        "/accounts/register/confirm/", {"code": sms_code("13900005678")}, follow=True
    )

    assert response.redirect_chain == [("/accounts/profile/", 302)]
    registrant = response.context["user"]
    assert registrant != holder and not registrant.is_verified
    assert registrant.credit_code is None and registrant.pending_credit_code == code
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"
    holder.refresh_from_db()
    assert (holder.username, holder.credit_code) == (code, code)
    # The holder still logs in with the code and the holder's password.
    assert authenticate(login_request(), username=code, password=PASSWORD) == holder


def test_an_unverified_enterprise_logs_in_with_its_credit_code(client):
    code = credit_code()
    enterprise_register(
        organisation_name="测试科技有限公司",
        credit_code=code,
        contact_name="测试乙",
        phone="13900005678",
        password=PASSWORD,
        legal_representative="测试庚",
    )
    client.post("/accounts/login/", {"username": code.lower(), "password": PASSWORD})
    page = client.get("/accounts/profile/").content.decode()
    assert code in page
    assert not User.objects.get().is_verified


# -- the pages around it ---------------------------------------------------------------------------


def test_the_register_page_offers_both_kinds_of_applicant(client):
    page = client.get("/accounts/register/").content.decode()
    assert 'href="/accounts/register/citizen/"' in page
    assert 'href="/accounts/register/enterprise/"' in page


def test_the_profile_needs_a_login(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_staff_still_log_in_with_their_username(client):
    User.objects.create_user(username="clerk1", password=PASSWORD, role=Role.CLERK)
    assert authenticate(login_request(), username="clerk1", password=PASSWORD).username == "clerk1"
    assert authenticate(login_request(), username="clerk1", password="wrong") is None


def test_an_enterprise_served_at_the_window_claims_that_record_when_it_registers(client):
    """Served at the window before it had an account (a window-only record holding the credit
    code), the enterprise registers and passes the check: the record, with its window
    applications, becomes its account, logged in with the code."""
    from bundles.services.window_enterprise import enterprise_for_intake

    code = credit_code()
    record = enterprise_for_intake(credit_code=code, name="测试科技有限公司", phone="13900005678")
    reference_enterprises_load([(code, "测试科技有限公司", "测试庚")])
    client.post("/accounts/register/enterprise/", enterprise_data())

    response = client.post(
        "/accounts/register/confirm/", {"code": sms_code("13900005678")}, follow=True
    )

    assert response.context["user"] == record
    record.refresh_from_db()
    assert record.is_verified and not record.window_only
    assert (record.username, record.credit_code, record.legal_representative) == (
        code,
        code,
        "测试庚",
    )
    client.logout()
    client.post("/accounts/login/", {"username": code, "password": PASSWORD})
    assert client.get("/accounts/profile/").status_code == 200
