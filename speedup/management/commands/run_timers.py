import signal
import time

from django.core.management import BaseCommand
from django.db import close_old_connections

from kuaiban.notifications.services import notifications_dispatch
from speedup.services import deadlines_sweep


class Command(BaseCommand):
    help = (
        "The embedded default's timer loop: sweep deadlines and send pending notifications "
        "every minute, without Redis or Celery. Production runs Celery worker and beat instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0)

    def handle(self, *args, **options):
        running = True

        def stop(*_args):
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while running:
            close_old_connections()
            result = deadlines_sweep()
            sent = notifications_dispatch()
            if result.total or sent:
                self.stdout.write(f"flags {result.marked}, notifications sent {sent}")
            slept = 0.0
            while running and slept < options["interval"]:
                time.sleep(0.5)
                slept += 0.5
