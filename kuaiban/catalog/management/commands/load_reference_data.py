from django.conf import settings
from django.core.management import BaseCommand, call_command

from kuaiban.workdays.services import calendar_seed_years

REFERENCE_FIXTURES = ["office_hours.json", "catalog.json", "form_fields.json"]


class Command(BaseCommand):
    help = (
        "Load the reference data: the service catalog and office hours from fixtures/, and the "
        "working-day calendar from chinesecalendar. Safe to run again: rows are matched by code "
        "and calendar days already present (an administrator's closure) are kept."
    )

    def handle(self, *args, **options):
        fixtures = [str(settings.BASE_DIR / "fixtures" / name) for name in REFERENCE_FIXTURES]
        call_command("loaddata", *fixtures, verbosity=options["verbosity"])
        added = calendar_seed_years()
        if options["verbosity"]:
            self.stdout.write(f"calendar: {added} days added from chinesecalendar")
        if added:
            # A newly loaded year turns provisional due times into real ones.
            from kuaiban.cases.review import open_clocks_recompute

            moved = open_clocks_recompute(provisional_only=True)
            if options["verbosity"] and moved:
                self.stdout.write(f"recomputed {moved} provisional due time(s)")
