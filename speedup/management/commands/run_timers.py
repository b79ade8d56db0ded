import signal
import time

from django.core.management import BaseCommand
from django.db import close_old_connections

from kuaiban import celery_app as app


class Command(BaseCommand):
    help = (
        "The embedded default's timers: run Celery beat's own schedule (deadline sweep, "
        "notifications, supervision rollups …) in this process, without Redis or a worker. "
        "Production runs `celery worker` and `celery beat` instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=5.0, help="seconds between checks")
        parser.add_argument("--once", action="store_true", help="run every timer once and stop")

    def handle(self, *args, **options):
        running = True

        def stop(*_args):
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        app.loader.import_default_modules()  # registers the tasks of every app
        schedule = app.conf.beat_schedule
        next_run = dict.fromkeys(schedule, 0.0)  # everything runs once at start
        while running:
            now = time.monotonic()
            for name, entry in schedule.items():
                if now < next_run[name]:
                    continue
                next_run[name] = now + float(entry["schedule"])
                try:
                    result = app.tasks[entry["task"]].apply(kwargs=entry.get("kwargs", {}))
                    if result.failed():
                        self.stderr.write(f"{name} failed: {result.result!r}")
                    elif result.result:
                        self.stdout.write(f"{name}: {result.result}")
                except Exception as error:  # keep the loop alive; the next tick retries
                    self.stderr.write(f"{name} failed: {error}")
            if options["once"]:
                break
            slept = 0.0
            while running and slept < options["tick"]:
                time.sleep(0.5)
                slept += 0.5
            close_old_connections()  # a long-running loop must not hold a dead connection
