"""Test data: generated identities with valid check digits, never real people."""

import itertools
import random
from datetime import date, timedelta

import factory
from django.utils import timezone

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import credit_code_check_char, resident_id_check_char
from kuaiban.accounts.models import Role, User

_rng = random.Random(20261126)


_serial = itertools.count(1)


def generated_resident_id(region="321002", birth=None) -> str:
    """A valid-looking generated number, unique within a test run (birth date and serial vary)."""
    n = next(_serial)
    born = birth or (date(1960, 1, 1) + timedelta(days=n * 7 % 15000)).strftime("%Y%m%d")
    first17 = f"{region}{born}{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def generated_credit_code() -> str:
    body = "91321000" + "".join(_rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + credit_code_check_char(body)


def generated_phone() -> str:
    return f"139{_rng.randrange(10**8):08d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-2026")
    role = Role.CITIZEN
    real_name = factory.Sequence(lambda n: f"测试{n}号")
    display_name = factory.LazyAttribute(lambda o: o.real_name)
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.invalid")
    # Verified applicants by default (phone and real name); `unverified=True` for a registrant
    # who has not passed the checks (their ID number is then only a pending hash).
    is_verified = True
    verified_at = factory.LazyFunction(timezone.now)
    verification_source = "identity:local"
    phone_verified_at = factory.LazyFunction(timezone.now)

    class Params:
        citizen = factory.Trait(
            role=Role.CITIZEN,
            resident_id=factory.LazyFunction(generated_resident_id),
            phone=factory.LazyFunction(generated_phone),
        )
        enterprise = factory.Trait(
            role=Role.ENTERPRISE,
            real_name=factory.Sequence(lambda n: f"测试企业{n}有限公司"),
            credit_code=factory.LazyFunction(generated_credit_code),
            contact_name="联系人",
            phone=factory.LazyFunction(generated_phone),
        )
        unverified = factory.Trait(
            is_verified=False, verified_at=None, verification_source="", phone_verified_at=None
        )
        clerk = factory.Trait(role=Role.CLERK)
        reviewer = factory.Trait(role=Role.REVIEWER)
        supervisor = factory.Trait(role=Role.SUPERVISOR)

    @factory.post_generation
    def index_identity(obj, create, extracted, **kwargs):
        if obj.resident_id and obj.is_verified:
            obj.set_resident_id(obj.resident_id)
        elif obj.resident_id:
            obj.pending_id_hash = keyed_hash(obj.resident_id)
        if create:
            obj.save()


def reference_identity(user) -> None:
    """Put a generated person into the LOCAL population-data source under their real name."""
    from kuaiban.accounts.services import reference_identities_load

    reference_identities_load([(user.real_name, user.resident_id)])
