"""The Celery app. Timers (the beat schedule) are declared in code, next to the tasks."""

import os

from celery import Celery

# Workers and beat are production processes: they run on the production settings (which refuse
# toy parts) unless DJANGO_SETTINGS_MODULE says otherwise; manage.py alone defaults to the demo.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings.production")

app = Celery("kuaiban")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Timers live here, in code: every clock is watched by one set-based sweep a minute (never one
# task per case, never long ETA tasks), and unsent notifications are retried.
SWEEP_SECONDS = float(os.environ.get("KUAIBAN_SWEEP_SECONDS", "60"))
app.conf.beat_schedule = {
    "sweep-deadlines": {"task": "speedup.sweep_deadlines", "schedule": SWEEP_SECONDS},
    # The outbox: rows whose delivery task never ran, and retries whose backoff has passed.
    "dispatch-notifications": {"task": "notifications.dispatch", "schedule": SWEEP_SECONDS},
    # The departments' webhooks: the same outbox pattern, the same timer.
    "dispatch-webhooks": {"task": "departments.dispatch_webhooks", "schedule": SWEEP_SECONDS},
    # The supervision rollup: recent days and whatever changed since the last run.
    "refresh-rollups": {
        "task": "acceptance.refresh_rollups",
        "schedule": float(os.environ.get("KUAIBAN_ROLLUP_SECONDS", "300")),
    },
    # Excel exports: what a killed worker left running is re-queued, old files deleted. Without
    # a broker (the demo's run_timers) queued exports run here, often; with one, the task is a
    # no-op (workers run them), so it is rarely sent.
    # Leaders' reports set up to issue themselves each week or month (idempotent).
    "issue-scheduled-reports": {"task": "reports.issue_scheduled_reports", "schedule": 3600.0},
    "sweep-stale-exports": {
        "task": "reports.sweep_stale_exports",
        "schedule": float(os.environ.get("KUAIBAN_EXPORT_SWEEP_SECONDS", "60")),
    },
    "run-queued-exports": {
        "task": "reports.run_queued_exports",
        "schedule": float(
            os.environ.get(
                "KUAIBAN_EXPORT_QUEUE_SECONDS", "3600" if os.environ.get("REDIS_URL") else "5"
            )
        ),
    },
    # Shared data whose source was unavailable at submission, fetched again after a backoff.
    "retry-shared-data": {
        "task": "shareddata.retry_pending",
        "schedule": float(os.environ.get("KUAIBAN_SHARED_DATA_RETRY_TICK", "60")),
    },
    # Proactive services (主动服务): the rules that are on invite whom they name today (once per
    # person and trigger); submission-triggered rules also invite at once, this catches up.
    "proactive-rules": {
        "task": "proactive.run_rules",
        "schedule": float(os.environ.get("KUAIBAN_PROACTIVE_SECONDS", str(24 * 60 * 60))),
    },
    # 免申即享: the entitlement rules that are on propose their item to whom the shared data
    # makes eligible (once per person and rule).
    "entitlement-rules": {
        "task": "bundles.run_entitlement_rules",
        "schedule": float(os.environ.get("KUAIBAN_PROACTIVE_SECONDS", str(24 * 60 * 60))),
    },
    # A safety net for provisional clocks (a year loaded while no worker listened).
    "recompute-provisional": {
        "task": "speedup.recompute_deadlines",
        "schedule": 24 * 60 * 60.0,
        "kwargs": {"provisional_only": True},
    },
}
