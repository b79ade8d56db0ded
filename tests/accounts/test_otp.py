"""One-time SMS codes (kuaiban/accounts/otp.py): 6 digits, 5 minutes, 5 tries, resend throttled,
only keyed hashes stored. Codes are read from the outbox row, as the SMS gateway gets them."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from kuaiban.accounts import otp
from kuaiban.accounts.models import OneTimeCode
from tests.builders import sms_code
from tests.factories import UserFactory, generated_phone

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    return UserFactory(citizen=True, unverified=True)


def test_a_code_is_six_digits_sent_by_sms_to_the_given_phone_and_stored_only_hashed(person):
    phone = generated_phone()
    otp.issue("register", phone, recipient=person, ip="192.0.2.1")
    code = sms_code(phone)
    assert len(code) == 6 and code.isdigit()
    row = OneTimeCode.objects.get()
    stored = " ".join(str(v) for v in OneTimeCode.objects.values_list().get())
    assert code not in stored and phone not in stored
    assert row.expires_at - row.created_at == timedelta(minutes=5)
    assert otp.check("register", phone, code) == otp.Check.ACCEPTED


def test_a_code_is_used_once(person):
    phone = generated_phone()
    otp.issue("register", phone, recipient=person)
    code = sms_code(phone)
    assert otp.check("register", phone, code) == otp.Check.ACCEPTED
    assert otp.check("register", phone, code) == otp.Check.EXPIRED


def test_a_code_expires_after_five_minutes(person):
    phone = generated_phone()
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        otp.issue("register", phone, recipient=person)
    code = sms_code(phone)
    with time_machine.travel(now + timedelta(minutes=4, seconds=59), tick=False):
        assert otp.check("register", phone, "x") == otp.Check.WRONG
    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        assert otp.check("register", phone, code) == otp.Check.EXPIRED


def test_a_code_allows_five_tries_then_even_the_right_code_is_refused(person):
    phone = generated_phone()
    otp.issue("register", phone, recipient=person)
    code = sms_code(phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    results = [otp.check("register", phone, wrong) for _ in range(5)]
    assert results == [otp.Check.WRONG] * 4 + [otp.Check.EXHAUSTED]
    assert otp.check("register", phone, code) == otp.Check.EXHAUSTED


def test_a_code_is_for_its_purpose_and_phone_only(person):
    phone = generated_phone()
    otp.issue("register", phone, recipient=person)
    code = sms_code(phone)
    assert otp.check("password_reset", phone, code) == otp.Check.EXPIRED
    assert otp.check("register", generated_phone(), code) == otp.Check.EXPIRED


def test_a_new_code_is_refused_within_sixty_seconds_and_replaces_the_old_one_after(person):
    phone = generated_phone()
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        otp.issue("register", phone, recipient=person)
    first = sms_code(phone)
    with time_machine.travel(now + timedelta(seconds=59), tick=False):
        with pytest.raises(otp.Throttled) as caught:
            otp.issue("register", phone, recipient=person)
        assert "请 1 秒后" in caught.value.messages[0]  # the wait left, in the default language
    with time_machine.travel(now + timedelta(seconds=60), tick=False):
        otp.issue("register", phone, recipient=person)
        second = sms_code(phone)
        if second != first:
            assert otp.check("register", phone, first) == otp.Check.WRONG
        assert otp.check("register", phone, second) == otp.Check.ACCEPTED


def test_at_most_five_codes_an_hour_per_phone(person):
    phone = generated_phone()
    now = timezone.now()
    for minute in range(5):
        with time_machine.travel(now + timedelta(minutes=minute), tick=False):
            otp.issue("register", phone, recipient=person)
    with time_machine.travel(now + timedelta(minutes=10), tick=False), pytest.raises(otp.Throttled):
        otp.issue("register", phone, recipient=person)
    with time_machine.travel(now + timedelta(minutes=61), tick=False):
        otp.issue("register", phone, recipient=person)  # the first has left the hour


def test_at_most_twenty_codes_an_hour_per_client_address(person):
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        for _ in range(otp.PER_HOUR_IP):
            otp.issue("register", generated_phone(), recipient=person, ip="198.51.100.7")
        with pytest.raises(otp.Throttled):
            otp.issue("register", generated_phone(), recipient=person, ip="198.51.100.7")
        otp.issue("register", generated_phone(), recipient=person, ip="198.51.100.8")
