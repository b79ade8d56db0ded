from django.conf import settings
from django.core.management import BaseCommand, call_command

from kuaiban.catalog.guide_versions import publish_unversioned
from kuaiban.workdays.services import calendar_seed_years

REFERENCE_FIXTURES = [
    "office_hours.json",
    "catalog.json",
    "form_fields.json",
    "ratings.json",
    "commitments.json",
    "campaigns.json",
]


class Command(BaseCommand):
    help = (
        "Load the reference data: the service catalog and office hours from kuaiban/fixtures/, "
        "and the working-day calendar from chinesecalendar. Safe to run again: rows are matched "
        "by code and calendar days already present (an administrator's closure) are kept."
    )

    def handle(self, *args, **options):
        fixtures = [str(settings.KUAIBAN_FIXTURES_DIR / name) for name in REFERENCE_FIXTURES]
        call_command("loaddata", *fixtures, verbosity=options["verbosity"])
        # The proactive services' rules: created when missing, an administrator's edits kept.
        from kuaiban.proactive.seed import rules_seed

        seeded = rules_seed(settings.KUAIBAN_FIXTURES_DIR / "proactive.json")
        if options["verbosity"] and seeded:
            self.stdout.write(f"proactive services: {seeded} rules created")
        # The smart pre-check's rules (智能预审): the same, an administrator's edits kept.
        from kuaiban.precheck.seed import rules_seed as precheck_rules_seed

        seeded = precheck_rules_seed(settings.KUAIBAN_FIXTURES_DIR / "precheck.json")
        if options["verbosity"] and seeded:
            self.stdout.write(f"pre-check: {seeded} rules created")
        # Items and bundles new to the database start with their guide's version 1.
        published = publish_unversioned()
        if options["verbosity"] and published:
            self.stdout.write(f"service guides: version 1 published for {published} rows")
        # A newly loaded year turns provisional due times into real ones: the change is
        # announced (workdays.services.calendar_edited) and open clocks are recomputed now.
        added = calendar_seed_years(background=False)
        if options["verbosity"]:
            self.stdout.write(f"calendar: {added} days added from chinesecalendar")
