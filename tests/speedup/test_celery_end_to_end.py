"""End to end: a real Celery worker with beat, on Redis, flags what exceeded its time."""

import os
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings as django_settings
from django.db import connection

from bundles.services import handling, intake
from kuaiban.notifications.models import Notification
from speedup.models import CaseFlag
from tests.builders import submitted
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_a_worker_and_beat_flag_an_overdue_instant_case_once(
    committed_db, clerk_of, reviewer_of, settings, tmp_path
):
    assert connection.vendor == "postgresql", "run through scripts/test: PostgreSQL and Redis"
    assert django_settings.REDIS_URL, "run through scripts/test: PostgreSQL and Redis"
    settings.MEDIA_ROOT = tmp_path
    supervisor = UserFactory(supervisor=True)
    clerk = clerk_of("BUNDLE")
    answers = {"BANK_OUTLET": True, "INSURED": True}  # every item instant
    # Both accepted on Tuesday 2026-11-24 at 10:00: due 10:30, long past by now.
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=SH), tick=False):
        late = submitted("B10", answers=answers)
        on_time = submitted("B10", answers=answers)
        intake.application_accept(application=late, actor=clerk)
        intake.application_accept(application=on_time, actor=clerk)
    with time_machine.travel(datetime(2026, 11, 24, 10, 20, tzinfo=SH), tick=False):
        for case in on_time.cases.select_related("unit"):
            handling.case_approve(case=case, actor=reviewer_of(case.unit.code))
    late_case = late.cases.get(item__code="SI-025")

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "kuaiban.settings.test",
        "KUAIBAN_SWEEP_SECONDS": "1",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kuaiban",
            "worker",
            "--beat",
            "--pool=solo",
            "--loglevel=INFO",
            "--schedule",
            str(tmp_path / "beat-schedule"),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if CaseFlag.objects.filter(item_case=late_case, kind="overdue").exists():
                break
            time.sleep(0.5)
        time.sleep(3)  # a few more beats: nothing may fire twice
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert CaseFlag.objects.filter(item_case=late_case, kind="overdue").count() == 1, output[-3000:]
    assert "speedup.sweep_deadlines" in output
    assert Notification.objects.filter(recipient=supervisor, body__contains=late.reference).exists()
    assert not CaseFlag.objects.filter(item_case__application=on_time).exists()
