"""Encrypt, in place, the uploaded documents stored before encryption at rest was introduced
(with --rotate, also those sealed under an older KUAIBAN_DATA_KEY, under the first one).

Idempotent: a file already encrypted is left as it is, so the command can run again (or be
interrupted: each file is written beside itself and renamed over it)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from kuaiban.cases import uploads


class Command(BaseCommand):
    help = "Encrypt uploaded documents still stored in clear (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="also seal again the files sealed under an older KUAIBAN_DATA_KEY",
        )

    def handle(self, *args, **options):
        root = Path(uploads.storage().location)
        sealed = already = 0
        files = sorted(root.rglob("*")) if root.exists() else []
        for path in files:
            if not path.is_file() or path.name.startswith("."):
                continue
            if uploads.seal_in_place(path, rotate=options["rotate"]):
                sealed += 1
            else:
                already += 1
        self.stdout.write(
            f"Encrypted {sealed} uploaded file(s); {already} already encrypted, left as they were."
        )
