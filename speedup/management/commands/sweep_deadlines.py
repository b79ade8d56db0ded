from django.core.management import BaseCommand

from speedup.services.sweep import deadlines_sweep


class Command(BaseCommand):
    help = "Run one deadline sweep now (Celery beat runs it every minute)."

    def handle(self, *args, **options):
        result = deadlines_sweep()
        self.stdout.write(f"flags fired: {result.marked} (total {result.total})")
