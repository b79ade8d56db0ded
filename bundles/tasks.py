from celery import shared_task

from .services.entitlements import entitlements_run


@shared_task(name="bundles.run_entitlement_rules", acks_late=True, ignore_result=True)
def run_entitlement_rules() -> int:
    """Beat's daily run of the 免申即享 rules that are on (each person proposed to once)."""
    return sum(entitlements_run().values())
