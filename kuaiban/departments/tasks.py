"""Celery tasks of the webhooks' outbox (autodiscovered): `deliver_webhooks` is queued after each
commit that wrote deliveries; `dispatch_webhooks` runs on beat's timer (kuaiban/celery.py) for
the rows whose task never ran and the retries after a backoff."""

from celery import shared_task

from .delivery import webhooks_dispatch


@shared_task(name="departments.deliver_webhooks", acks_late=True, ignore_result=True)
def deliver_webhooks(ids: list[int]) -> int:
    return webhooks_dispatch(ids=ids, limit=len(ids))


@shared_task(name="departments.dispatch_webhooks", acks_late=True, ignore_result=True)
def dispatch_webhooks() -> int:
    return webhooks_dispatch()
