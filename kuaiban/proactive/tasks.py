from celery import shared_task

from .services import proactive_run


@shared_task(name="proactive.run_rules", acks_late=True, ignore_result=True)
def run_rules() -> int:
    """Beat's daily run of the proactive rules that are on (each invitation sent once)."""
    return sum(proactive_run().values())
