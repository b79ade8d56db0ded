from pathlib import Path

from django.core.management import BaseCommand, CommandError

from kuaiban.catalog.excel import catalog_export


class Command(BaseCommand):
    help = "Write the service catalog as the bureau's Excel workbook (附件1, 附件2 and its tables)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx file to write")

    def handle(self, *args, **options):
        folder = Path(options["file"]).resolve().parent
        if not folder.is_dir():
            raise CommandError(f"没有这个文件夹：{folder} (no such folder)")
        counts = catalog_export(options["file"])
        for title, rows in counts.items():
            self.stdout.write(f"{title}：{rows} 行")
        self.stdout.write(self.style.SUCCESS(f"已导出到 {options['file']}"))
