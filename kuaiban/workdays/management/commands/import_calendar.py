from pathlib import Path

from django.core.management import BaseCommand, CommandError

from kuaiban.workdays import imports


class Command(BaseCommand):
    help = (
        "Import a year's working-day schedule (the State Council's holidays and make-up working "
        "days, local closures) from a .csv, .xlsx or .ics file; the days not listed follow the "
        "ordinary rule (Monday–Friday working). Every row is checked first; nothing is written "
        "unless all are good. Administrators' own edits are kept unless --replace-admin-edits. "
        "Open due times the change moves are recomputed now. See kuaiban/workdays/imports.py."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--year", type=int, help="the year of the file (default: its dates')")
        parser.add_argument("--dry-run", action="store_true", help="check and show, write nothing")
        parser.add_argument(
            "--replace-admin-edits",
            action="store_true",
            help="overwrite days an administrator edited in the admin",
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        try:
            rows = imports.parse_file(path.name, path.read_bytes())
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        except imports.CalendarFileError as error:
            raise CommandError(f"{path}: {error}") from error
        checked = imports.check_rows(rows, options["year"])
        if checked.errors or checked.year is None:
            for problem in checked.errors:
                where = f"line {problem.line}" if problem.line else "file"
                self.stderr.write(f"{path.name}, {where}: {problem.message}")
            raise CommandError(f"{len(checked.errors)} problem(s): nothing was imported")
        replace = options["replace_admin_edits"]
        if options["dry_run"]:
            plan = imports.import_plan(checked.year, checked.days, replace_admin_edits=replace)
        else:
            plan = imports.import_apply(
                checked.year, checked.days, replace_admin_edits=replace, background=False
            )
        self._report(plan, dry_run=options["dry_run"])

    def _report(self, plan: imports.ImportPlan, *, dry_run: bool) -> None:
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"calendar {plan.year}: {len(plan.added)} days {verb} added, "
            f"{len(plan.changed)} changed, {plan.unchanged} unchanged, "
            f"{len(plan.kept)} administrator's edits kept"
        )
        for change in plan.changed:
            self.stdout.write(
                f"  {change.day}: {change.old_kind} {change.old_name!r} → "
                f"{change.kind} {change.name!r}"
            )
        for change in plan.added_special:
            self.stdout.write(f"  {change.day}: {change.kind} {change.name!r} (added)")
        for change in plan.kept:
            self.stdout.write(
                f"  {change.day}: kept {change.old_kind} {change.old_name!r} "
                f"(the file says {change.kind} {change.name!r})"
            )
        if dry_run:
            self.stdout.write("dry run: nothing was written")
