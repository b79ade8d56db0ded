from django.core.management import BaseCommand, CommandError

from acceptance.rollups import RECENT_DAYS, rollup_refresh


class Command(BaseCommand):
    help = (
        "Rebuild the supervision rollup (DailyCaseRollup) from the case tables: every (day, item) "
        "group a change since the last refresh touched, plus the last N days whole (none by "
        "default), or everything with --all (needed after a bulk import such as "
        "generate_history, which bypasses the services)."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--days",
            type=int,
            default=RECENT_DAYS,
            help=f"recent days to rebuild whole (default {RECENT_DAYS})",
        )
        group.add_argument("--all", action="store_true", help="rebuild the whole history")

    def handle(self, *args, **options):
        if options["days"] < 0:
            raise CommandError("--days must be 0 or more")
        result = rollup_refresh(days=options["days"], full=options["all"])
        scope = "whole history" if result.full else "recent and touched days"
        self.stdout.write(
            self.style.SUCCESS(
                f"rollup refreshed ({scope}): {result.days} days, {result.rows} rows, "
                f"{result.seconds:.2f} s"
            )
        )
