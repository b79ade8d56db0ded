from datetime import timedelta

from django.conf import settings
from django.core.management import BaseCommand, call_command
from django.utils import timezone

DEMO_PASSWORD = "kuaiban-demo-2026"  # noqa: S105 - printed for the demo; hashed in the fixture

# Generated people and enterprises for the demo's LOCAL real-name sources (not real).
DEMO_PEOPLE = [("王小明", "19900312"), ("陈思远", "19851120"), ("刘晓燕", "20000701")]
DEMO_COMPANIES = [("扬州演示贸易有限公司", "赵六"), ("扬州演示餐饮有限公司", "孙七")]
DEMO_DECEASED = ("李大伟", "19500101")
# The generated person a visitor registers as to see P-B04-GRADUATE invite a recent graduate.
DEMO_GRADUATE = "刘晓燕"


def _shared_data_records(people: list[tuple[str, str]]) -> tuple[str, str]:
    """The LOCAL shared-data sources (kuaiban/shareddata): a social-insurance history for every
    demo person, so their shared materials are found, one generated death registration, and a
    recent graduation of DEMO_GRADUATE (the education source). Returns the deceased's (name,
    ID number)."""
    from kuaiban.accounts.identity import resident_id_check_char
    from kuaiban.shareddata.kinds import DataKind
    from kuaiban.shareddata.services import reference_records_load

    reference_records_load(
        DataKind.SOCIAL_INSURANCE,
        [
            (
                number,
                f"SI-DEMO-{serial:04d}",
                {
                    "name": name,
                    "insured_since": "2012-07",
                    "months_paid": "160",
                    "bank": "中国工商银行扬州分行",
                    "account": f"622202{serial:013d}",
                },
            )
            for serial, (name, number) in enumerate(people, start=1)
        ],
    )
    graduated = (timezone.localdate() - timedelta(days=150)).isoformat()
    reference_records_load(
        DataKind.EDUCATION,
        [
            (
                number,
                "XL-DEMO-0001",
                {
                    "name": name,
                    "school": "扬州大学",
                    "major": "计算机科学与技术",
                    "degree": "本科",
                    "graduation_date": graduated,
                },
            )
            for name, number in people
            if name == DEMO_GRADUATE
        ],
    )
    name, born = DEMO_DECEASED
    first17 = f"321002{born}999"
    number = first17 + resident_id_check_char(first17)
    reference_records_load(
        DataKind.DEATH,
        [
            (
                number,
                "MZ-DEMO-0001",
                {"name": name, "date_of_death": "2026-10-08", "work_related": "no"},
            )
        ],
    )
    return name, number


class Command(BaseCommand):
    help = "Set up the embedded demo: migrate, load the reference data and the demo accounts."

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_reference_data", verbosity=1)
        call_command(
            "loaddata", str(settings.KUAIBAN_FIXTURES_DIR / "demo_accounts.json"), verbosity=0
        )
        from kuaiban.accounts.models import User

        # The look-up hash depends on this installation's key, so it is computed here, not
        # stored in the fixture.
        for user in User.objects.exclude(resident_id="").filter(resident_id_hash__isnull=True):
            user.set_resident_id(user.resident_id)
            user.save(update_fields=["resident_id", "resident_id_hash"])
        from kuaiban.accounts.identity import credit_code_check_char, resident_id_check_char
        from kuaiban.accounts.services import (
            reference_enterprises_load,
            reference_identities_load,
        )

        # The LOCAL real-name sources: the demo accounts and a few generated people and
        # enterprises (never real ones) that a visitor may register with.
        applicants = list(User.objects.filter(role__in=["citizen", "enterprise"]))
        people = [(u.real_name, u.resident_id) for u in applicants if u.resident_id]
        for serial, (name, born) in enumerate(DEMO_PEOPLE, start=901):
            first17 = f"321002{born}{serial}"
            people.append((name, first17 + resident_id_check_char(first17)))
        reference_identities_load(people)
        companies = [
            (u.credit_code, u.real_name, u.legal_representative or u.contact_name)
            for u in applicants
            if u.credit_code
        ]
        for serial, (name, representative) in enumerate(DEMO_COMPANIES, start=1):
            body = f"91321002MA1DEMX{serial:02d}"
            companies.append((body + credit_code_check_char(body), name, representative))
        reference_enterprises_load(companies)
        deceased = _shared_data_records(people)
        # The demo accounts passed the checks (phone and real name) when they were set up.
        now = timezone.now()
        for user in applicants:
            user.is_verified = True
            user.verified_at = user.verified_at or now
            user.phone_verified_at = user.phone_verified_at or now
            user.verification_source = user.verification_source or "demo"
            user.legal_representative = user.legal_representative or (
                user.contact_name if user.credit_code else ""
            )
            user.save()
        self.stdout.write(
            self.style.SUCCESS(f"\nDemo accounts (demo only; password for all: {DEMO_PASSWORD})")
        )
        people_and_staff = User.objects.filter(department_client__isnull=True)
        for user in people_and_staff.select_related("unit").order_by("role", "username"):
            unit = f" · {user.unit.name_zh}" if user.unit else ""
            self.stdout.write(f"  {user.username:<14} {user.get_role_display()}{unit}")
        # Staff accounts log in with a second factor: each demo one has its authenticator key,
        # the same on every run (kept with the account), for an app or for `totp_code`.
        from kuaiban.accounts import second_factor

        staff = [
            u for u in people_and_staff.order_by("role", "username") if second_factor.required(u)
        ]
        self.stdout.write(
            "\nStaff accounts also type a 6-digit code from an authenticator app (TOTP): add the "
            "key (or the otpauth:// URI) to an app, or print the current code with "
            "`python manage.py totp_code <user>`:"
        )
        for user in staff:
            device = second_factor.demo_device(user)
            self.stdout.write(f"  {user.username:<14} key {second_factor.secret(device)}")
            self.stdout.write(f"  {'':<14} {second_factor.otpauth_uri(device)}")
        self.stdout.write(
            "\nGenerated people in the demo's population register (name, ID number), to try "
            "the registration (the SMS code is printed on this console):"
        )
        for name, number in people[-len(DEMO_PEOPLE) :]:
            graduate = (
                " (recent graduate: invited to B04 once verified)" if name == DEMO_GRADUATE else ""
            )
            self.stdout.write(f"  {name}  {number}{graduate}")
        self.stdout.write(
            "A generated death registration (for a form's deceased ID number): "
            f"{deceased[0]}  {deceased[1]}"
        )
        self.stdout.write("Generated enterprises (credit code, name, legal representative):")
        for code, name, representative in companies[-len(DEMO_COMPANIES) :]:
            self.stdout.write(f"  {code}  {name}  {representative}")
        self._department_clients()
        self.stdout.write(
            "\nPortal: http://127.0.0.1:8000/   Admin: http://127.0.0.1:8000/admin/\n"
        )

    def _department_clients(self) -> None:
        """The external departments (and the provincial platform) as API clients. Their secrets
        are not printed: `simulate_departments` (started by scripts/demo) rotates each
        department's credential when it starts and answers for them over the API."""
        from kuaiban.catalog.models import Unit
        from kuaiban.departments.models import DepartmentClient
        from kuaiban.departments.services import client_issue

        live = DepartmentClient.objects.filter(revoked_at__isnull=True)
        for unit in Unit.objects.filter(kind=Unit.Kind.EXTERNAL).exclude(
            pk__in=live.exclude(unit=None).values("unit_id")
        ):
            client_issue(unit=unit)
        if not live.filter(kind=DepartmentClient.Kind.PLATFORM).exists():
            client_issue(kind=DepartmentClient.Kind.PLATFORM)
        self.stdout.write(
            "\nExternal departments answer over the open API "
            "(`python manage.py simulate_departments`, started by scripts/demo; "
            "`python manage.py department_client list`)."
        )
