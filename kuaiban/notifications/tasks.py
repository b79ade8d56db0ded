"""Celery task of the outbox (autodiscovered): `dispatch` delivers whatever is due. A commit that
wrote notifications rings for it (`kuaiban.broker.ring`: one run for a burst of commits), and
beat runs it on its timer (kuaiban/celery.py) for the rows whose run never came (broker down,
worker lost) and the retries after a backoff."""

from celery import shared_task

from kuaiban import broker

from .delivery import LIMIT, notifications_dispatch


# acks_late: the message is acknowledged after the run, so a worker that dies mid-delivery leaves
# it for the broker to hand out again; either way the rows it had claimed come due again when
# their lease runs out and the next run sends them: nothing is lost, nothing sent twice at once.
@shared_task(name="notifications.dispatch", acks_late=True, ignore_result=True)
def dispatch() -> int:
    return broker.rung_run(dispatch, lambda limit: notifications_dispatch(limit=limit), LIMIT)
