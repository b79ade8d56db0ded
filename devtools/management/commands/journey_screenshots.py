from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError

from devtools import screenshots


class Command(BaseCommand):
    help = (
        "Photograph the citizen's journey on a phone (390×844) into docs/screenshots/ with a "
        "README.md of captions: guide index, bundle guide, questions, form, materials, check "
        "answers, confirmation, status. Starts runserver on the current database, which needs "
        "the demo data (setup_demo); scripts/screenshots runs it on a throwaway SQLite file."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", default=str(Path(settings.BASE_DIR) / "docs" / "screenshots")
        )
        parser.add_argument("--bundle", default="B10", help="the bundle applied for (B10)")
        parser.add_argument("--base-url", default="", help="a server already running instead")
        parser.add_argument("--username", default="citizen", help="the demo applicant")
        parser.add_argument("--clerk", default="clerk", help="the demo clerk who accepts")
        parser.add_argument("--password", default="", help="the demo password (setup_demo's)")

    def handle(self, *args, **options):
        from kuaiban.catalog.management.commands.setup_demo import DEMO_PASSWORD

        out = Path(options["output"])
        walk = {
            "bundle": options["bundle"],
            "username": options["username"],
            "password": options["password"] or DEMO_PASSWORD,
            "clerk": options["clerk"],
            "say": self.stdout.write,
        }
        try:
            if options["base_url"]:
                shots = screenshots.take(out, site=options["base_url"].rstrip("/"), **walk)
            else:
                with screenshots.Server() as server:
                    shots = screenshots.take(out, site=server.url, **walk)
        except (RuntimeError, TimeoutError) as error:
            raise CommandError(str(error)) from error
        readme = screenshots.write_readme(out, shots, "scripts/screenshots")
        self.stdout.write(self.style.SUCCESS(f"{len(shots)} screenshots and {readme}"))
