"""Redis down: applicants and clerks keep working; nothing is lost; flags follow when it is back.

The database is the source of truth: notifications are an outbox and the sweep reads clocks from
the database, so no request depends on the broker or the cache being up.
"""

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import caches
from django.test import override_settings

from bundles.services import intake
from kuaiban import process_tables
from kuaiban.cases.models import Application
from kuaiban.notifications.models import Notification
from speedup.models import CaseFlag
from speedup.services.sweep import deadlines_sweep
from tests.builders import on_record, ready_application, review_submit
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused
REDIS_DOWN = override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
        }
    },
    CELERY_BROKER_URL=DEAD_REDIS,
)


def test_with_redis_down_a_submission_succeeds_fast_and_flags_come_after(
    client, clerk_of, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    citizen = UserFactory(citizen=True)
    application = ready_application(citizen, "B10", {"BANK_OUTLET": True, "INSURED": True})
    on_record(citizen)
    client.force_login(citizen)
    with REDIS_DOWN, time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=SH), tick=False):
        caches["default"].close()
        process_tables.forget_all()
        started = time.monotonic()
        response = review_submit(client, application, {"consent": "on"})
        elapsed = time.monotonic() - started
        assert response.status_code == 302
        assert elapsed < 2.0
        # The clerk accepts while Redis is still down: the calendar comes from the database.
        intake.application_accept(
            application=Application.objects.get(pk=application.pk), actor=clerk_of("BUNDLE")
        )
    application.refresh_from_db()
    assert application.state == "accepted"
    assert Notification.objects.filter(recipient=citizen).exists()  # kept in the outbox
    case = application.cases.get(item__code="SI-025")
    assert case.committed_due_at == datetime(2026, 11, 24, 10, 30, tzinfo=SH)
    # Redis is back; the next beat sweeps.
    caches["default"].close()
    deadlines_sweep(now=datetime(2026, 11, 24, 11, 0, tzinfo=SH))
    assert CaseFlag.objects.filter(item_case=case, kind="overdue").count() == 1
