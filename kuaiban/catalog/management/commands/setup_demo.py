from django.conf import settings
from django.core.management import BaseCommand, call_command

DEMO_PASSWORD = "kuaiban-demo-2026"  # noqa: S105 - printed for the demo; hashed in the fixture


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
        self.stdout.write(
            self.style.SUCCESS(f"\nDemo accounts (demo only; password for all: {DEMO_PASSWORD})")
        )
        for user in User.objects.select_related("unit").order_by("role", "username"):
            unit = f" · {user.unit.name_zh}" if user.unit else ""
            self.stdout.write(f"  {user.username:<14} {user.get_role_display()}{unit}")
        self.stdout.write(
            "\nPortal: http://127.0.0.1:8000/   Admin: http://127.0.0.1:8000/admin/\n"
        )
