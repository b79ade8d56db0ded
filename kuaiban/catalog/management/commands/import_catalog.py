from django.core.management import BaseCommand, CommandError

from kuaiban.catalog.excel import CatalogImportError, catalog_import


class Command(BaseCommand):
    help = (
        "Import the service catalog from the bureau's Excel workbook (.xlsx or legacy .xls). "
        "The whole file is checked first; with any error nothing is changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx or .xls file to read")

    def handle(self, *args, **options):
        try:
            summary = catalog_import(options["file"])
        except CatalogImportError as error:
            raise CommandError(
                f"工作簿有 {len(error.problems)} 处错误，未导入任何内容：\n{error}"
            ) from error
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("目录已导入"))
