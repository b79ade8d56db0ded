from django.core.management import BaseCommand, CommandError, call_command
from django.utils.translation import gettext as _

from devtools.history import history_generate, history_present


class Command(BaseCommand):
    help = (
        "Fill the database with generated history over the last years: applicants, bundle and "
        "single-item applications, item cases with real clocks, outcomes, flags and events "
        "(COPY on PostgreSQL, bulk inserts elsewhere). Adds to what is there; needs the "
        "reference data (load_reference_data)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="item cases to create")
        parser.add_argument(
            "--open-share",
            type=float,
            default=0.1,
            help="share of applications still open now, thresholds around now (default 0.1)",
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--years", type=float, default=2, help="history length (default 2)")
        parser.add_argument(
            "--applicants", type=int, default=None, help="generated applicants (default: scaled)"
        )
        parser.add_argument(
            "--refresh-rollups",
            action="store_true",
            help="rebuild the supervision rollup afterwards (refresh_rollups --all)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when generated history is there already (the demo runs it each start)",
        )

    def handle(self, *args, **options):
        def progress(done, total, seconds):
            rate = done / seconds if seconds else 0
            self.stdout.write(
                f"  {done:>10,} / {total:,} item cases  {seconds:7.1f} s  {rate:9,.0f} cases/s"
            )

        if options["if_empty"] and history_present():
            self.stdout.write("Generated history is there already; nothing added.")
            return
        try:
            result = history_generate(
                cases=options["cases"],
                open_share=options["open_share"],
                seed=options["seed"],
                years=options["years"],
                applicants=options["applicants"],
                progress=progress if options["verbosity"] else None,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["refresh_rollups"]:
            call_command("refresh_rollups", "--all", verbosity=options["verbosity"])
        feedback = _(
            "%(ratings)s ratings, %(follow_ups)s follow-ups with %(events)s follow-up events"
        ) % {
            "ratings": f"{result.ratings:,}",
            "follow_ups": f"{result.follow_ups:,}",
            "events": f"{result.follow_up_events:,}",
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.cases:,} item cases ({result.running:,} with a running clock) in "
                f"{result.applications:,} applications, {result.events:,} events, "
                f"{result.flags:,} flags, {result.pauses:,} pauses, "
                f"{result.department_requests:,} department requests; {feedback}; "
                f"{result.applicants:,} applicants generated, {result.staff} staff acting; "
                f"{result.seconds:.1f} s"
            )
        )
