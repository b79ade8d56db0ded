"""The shipped rules (fixtures/proactive.json: invitation rules and 免申即享 entitlement
rules), loaded with the reference data: a rule whose
code is missing is created; one already present is left as the administrator made it (its
status above all: reloading the reference data never switches a rule on or off)."""

from pathlib import Path

from django.core import serializers
from django.db import transaction

from .models import EntitlementRule, InvitationRule


@transaction.atomic
def rules_seed(path: Path) -> int:
    """Create the fixture's rules whose code is not in the database; returns how many."""
    present = {
        model: set(model.objects.values_list("code", flat=True))
        for model in (InvitationRule, EntitlementRule)
    }
    created = 0
    with open(path, encoding="utf-8") as source:
        for item in serializers.deserialize("json", source, handle_forward_references=False):
            rule = item.object
            if isinstance(rule, InvitationRule | EntitlementRule) and rule.code not in present.get(
                type(rule), {rule.code}
            ):
                rule.pk = None
                rule.save(force_insert=True)
                created += 1
    return created
