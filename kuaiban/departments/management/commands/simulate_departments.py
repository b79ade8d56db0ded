import signal
import time

import requests
from django.core.management import BaseCommand
from django.db import close_old_connections

from kuaiban.departments.simulator import departments_enrolled, simulate_round


class Command(BaseCommand):
    help = (
        "The demo's external departments as API clients: over HTTP, each approves its cases and "
        "answers the bureau's requests. Rotates each department's credential at start (kept in "
        "memory only). Never run it against a production portal."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--once", action="store_true", help="one pass, then stop")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes")

    def handle(self, *args, base_url, once, interval, **options):
        running = True

        def stop(*_args):
            nonlocal running
            running = False

        if not once:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        departments = departments_enrolled()
        self.stdout.write(f"simulating {', '.join(d.code for d in departments)} against {base_url}")
        with requests.Session() as http:
            while running:
                try:
                    done = simulate_round(http, base_url, departments)
                    if done:
                        self.stdout.write(", ".join(f"{k}: {v}" for k, v in sorted(done.items())))
                except requests.RequestException as error:  # the portal not up yet: next pass
                    self.stderr.write(f"the portal did not answer: {error}")
                if once:
                    break
                slept = 0.0
                while running and slept < interval:
                    time.sleep(0.5)
                    slept += 0.5
                close_old_connections()
