"""Celery tasks of the outbox (autodiscovered): `deliver` is queued after each commit that wrote
notifications; `dispatch` runs on beat's timer (kuaiban/celery.py) and delivers whatever is due,
the rows whose task never ran (broker down, worker lost) and the retries after a backoff."""

from celery import shared_task

from .delivery import notifications_dispatch


# acks_late: the message is acknowledged after the run, so a worker that dies mid-delivery leaves
# it for the broker to hand out again; either way the rows it had claimed come due again when
# their lease runs out and beat's dispatch sends them: nothing is lost, nothing sent twice at once.
@shared_task(name="notifications.deliver", acks_late=True, ignore_result=True)
def deliver(ids: list[int]) -> int:
    return notifications_dispatch(ids=ids, limit=len(ids))


@shared_task(name="notifications.dispatch", acks_late=True, ignore_result=True)
def dispatch() -> int:
    return notifications_dispatch()
