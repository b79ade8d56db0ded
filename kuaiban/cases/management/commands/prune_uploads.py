"""Delete uploaded files that no stored-file row names (left by a rolled-back upload)."""

from django.core.management.base import BaseCommand

from kuaiban.cases import uploads


class Command(BaseCommand):
    help = "Delete uploaded files no record names, older than --hours (default 24)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=24.0)

    def handle(self, *args, **options):
        deleted = uploads.prune_orphans(older_than=options["hours"] * 3600)
        for name in deleted:
            self.stdout.write(f"deleted {name}")
        self.stdout.write(f"Deleted {len(deleted)} file(s) that no record names.")
