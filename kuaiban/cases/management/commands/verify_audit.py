"""Recompute the event log's hash chains (`kuaiban/cases/audit.py`) and report each broken
chain's first break: the application's reference, the event's id and what differs. Exit code 1
when anything is broken, 0 when every chain verifies."""

import sys

from django.core.management.base import BaseCommand, CommandError

from kuaiban.cases.audit import verify_chains
from kuaiban.cases.models import Application


class Command(BaseCommand):
    help = "Verify the event log's hash chains; exit code 1 at the first break of any chain."

    def add_arguments(self, parser):
        parser.add_argument(
            "--application", metavar="REFERENCE", help="verify this application's chain only"
        )

    def handle(self, *args, **options):
        application_id = None
        if options["application"]:
            found = Application.objects.filter(reference=options["application"].strip().upper())
            application_id = found.values_list("pk", flat=True).first()
            if application_id is None:
                raise CommandError(f"No application {options['application']!r}.")
        result = verify_chains(application_id=application_id)
        for found_break in result.breaks:
            self.stderr.write(
                f"BROKEN {found_break.reference}: event {found_break.event_id} "
                f"{found_break.problem}"
            )
        if result.breaks:
            self.stderr.write(
                f"{len(result.breaks)} of {result.chains} chains broken ({result.events} events)."
            )
            sys.exit(1)
        self.stdout.write(f"{result.events} events in {result.chains} chains verified.")
