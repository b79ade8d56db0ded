"""The set-up commands: `load_reference_data` (run by every deployment and by the test session)
and `setup_demo` (the embedded demo). The workbook commands are tested in test_excel.py."""

import io
from datetime import date

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from kuaiban.accounts.models import User
from kuaiban.catalog.management.commands.setup_demo import DEMO_PASSWORD
from kuaiban.catalog.models import Unit
from kuaiban.departments.models import DepartmentClient
from kuaiban.workdays.models import CalendarDay, OfficeHoursPeriod
from tests.builders import login_request
from tests.catalog.dump import catalog_dump

pytestmark = pytest.mark.django_db

DEMO_USERNAMES = {
    "citizen",
    "enterprise",
    "clerk",
    "reviewer_sb",
    "reviewer_jy",
    "reviewer_fg",
    "supervisor",
    "admin",
}
DEMO_RESIDENT_ID = "321002196504150236"  # the demo citizen of kuaiban/fixtures/demo_accounts.json
DEMO_CREDIT_CODE = "91321003MA1XK8T20E"  # the demo enterprise


def load_reference_data(**options) -> str:
    out = io.StringIO()
    call_command("load_reference_data", stdout=out, **options)
    return out.getvalue()


def reference_data():
    """Everything the command loads, comparable before and after."""
    calendar = sorted(CalendarDay.objects.values_list("date", "kind", "name", "source"))
    hours = sorted(OfficeHoursPeriod.objects.values_list("start", "end"))
    return catalog_dump(), calendar, hours


def test_loading_the_reference_data_again_adds_and_changes_nothing():
    before = reference_data()
    assert load_reference_data() == "calendar: 0 days added from chinesecalendar\n"
    assert reference_data() == before


def test_reloading_keeps_an_administrators_closure():
    CalendarDay.objects.filter(date=date(2026, 12, 1)).update(
        kind=CalendarDay.Kind.CLOSURE, name="台风停工", source=CalendarDay.Source.ADMIN
    )
    load_reference_data()
    closure = CalendarDay.objects.get(date=date(2026, 12, 1))
    assert (closure.kind, closure.name, closure.source) == ("closure", "台风停工", "admin")


def test_a_missing_year_is_loaded_and_the_days_added_are_reported():
    CalendarDay.objects.filter(date__year=2025).delete()
    CalendarDay.objects.filter(date=date(2026, 3, 2)).delete()
    assert "calendar: 366 days added from chinesecalendar" in load_reference_data()
    assert CalendarDay.objects.filter(date__year=2025).count() == 365
    national_day = CalendarDay.objects.get(date=date(2025, 10, 1))
    assert (national_day.kind, national_day.source) == ("holiday", "chinesecalendar")
    assert CalendarDay.objects.get(date=date(2026, 3, 2)).kind == "workday"


def test_quietly_it_prints_nothing():
    assert load_reference_data(verbosity=0) == ""


@pytest.fixture
def real_password_hashers(settings):
    """The demo fixture's passwords are PBKDF2 hashes; the test settings only know MD5."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]


def test_setup_demo_twice_gives_the_same_accounts_and_they_can_log_in(
    capsys, real_password_hashers
):
    call_command("setup_demo")
    first = capsys.readouterr().out
    accounts = sorted(User.objects.filter(username__in=DEMO_USERNAMES).values_list("pk", "role"))
    users = User.objects.count()

    call_command("setup_demo")
    second = capsys.readouterr().out

    assert (
        sorted(User.objects.filter(username__in=DEMO_USERNAMES).values_list("pk", "role"))
        == accounts
    )
    assert len(accounts) == len(DEMO_USERNAMES)
    assert User.objects.count() == users
    assert second == first
    assert f"password for all: {DEMO_PASSWORD}" in second
    for username in DEMO_USERNAMES:
        assert f"  {username} " in second

    # The citizen's look-up hash is this installation's, computed after loading the fixture, so
    # the citizen logs in with the ID number; the enterprise with its code; staff by name.
    def who(name):
        return authenticate(login_request(), username=name, password=DEMO_PASSWORD)

    assert who(DEMO_RESIDENT_ID).username == "citizen"
    assert who(DEMO_CREDIT_CODE).username == "enterprise"
    assert who("clerk").username == "clerk"
    assert who("admin").is_superuser

    # Every external department and the provincial platform answer as API clients: one live
    # client each, however often the demo is set up.
    live = DepartmentClient.objects.filter(revoked_at__isnull=True)
    external = Unit.objects.filter(kind=Unit.Kind.EXTERNAL)
    assert external.exists()
    assert sorted(live.exclude(unit=None).values_list("unit__code", flat=True)) == sorted(
        external.values_list("code", flat=True)
    )
    assert live.filter(kind=DepartmentClient.Kind.PLATFORM).count() == 1


@pytest.mark.real_second_factor
def test_setup_demo_gives_each_staff_account_an_authenticator_key_and_totp_code_its_code(
    client, capsys, real_password_hashers
):
    """The demo's staff log in with a second factor too: the set-up prints each one's key and
    otpauth:// URI, and `totp_code` prints the code to type without an app."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kuaiban.accounts import second_factor

    call_command("setup_demo")
    out = capsys.readouterr().out
    staff = User.objects.filter(username__in=DEMO_USERNAMES - {"citizen", "enterprise"})
    assert staff.count() == 6
    for user in staff:
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        assert f"  {user.username:<14} key {second_factor.secret(device)}" in out
        assert second_factor.otpauth_uri(device) in out
    assert not TOTPDevice.objects.filter(user__username__in={"citizen", "enterprise"}).exists()

    client.post("/accounts/login/", {"username": "clerk", "password": DEMO_PASSWORD})
    assert client.get("/staff/intake/").url.startswith("/accounts/two-factor/")
    call_command("totp_code", "clerk")
    response = client.post("/accounts/two-factor/", {"code": capsys.readouterr().out.strip()})
    assert response.status_code == 302
    assert client.get("/staff/intake/").status_code == 200
