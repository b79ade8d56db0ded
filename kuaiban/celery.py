"""The Celery app. Timers (the beat schedule) are declared in code, next to the tasks."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings.dev")

app = Celery("kuaiban")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {}
