from django.core.management import BaseCommand

from speedup.services.recompute import open_clocks_recompute


class Command(BaseCommand):
    help = "Recompute every open clock from the current calendar (provisional ones first)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--provisional-only", action="store_true", help="only clocks marked provisional"
        )

    def handle(self, *args, **options):
        moved = open_clocks_recompute(provisional_only=options["provisional_only"])
        self.stdout.write(f"due times moved on {moved} case(s)")
