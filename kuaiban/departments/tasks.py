"""Celery task of the webhooks' outbox (autodiscovered): `dispatch_webhooks` is rung for after
each commit that wrote deliveries (a wake-up, `kuaiban.broker.ring`: one run for a burst of
commits) and runs on beat's timer (kuaiban/celery.py) for the rows whose wake-up never came and
the retries after a backoff. Two runs at once never send the same row (the claim's lease)."""

from celery import shared_task

from kuaiban import broker

from .delivery import LIMIT, webhooks_dispatch


@shared_task(name="departments.dispatch_webhooks", acks_late=True, ignore_result=True)
def dispatch_webhooks() -> int:
    return broker.rung_run(dispatch_webhooks, lambda limit: webhooks_dispatch(limit=limit), LIMIT)
