"""The shipped pre-check rules (fixtures/precheck.json), loaded with the reference data: a rule
whose code is missing is created; one already present is left as the administrator made it
(its parameters, severity and whether it is enabled)."""

from pathlib import Path

from django.core import serializers
from django.db import transaction

from .models import PrecheckRule


@transaction.atomic
def rules_seed(path: Path) -> int:
    """Create the fixture's rules whose code is not in the database; returns how many."""
    present = set(PrecheckRule.objects.values_list("code", flat=True))
    created = 0
    with open(path, encoding="utf-8") as source:
        for item in serializers.deserialize("json", source, handle_forward_references=False):
            rule = item.object
            if isinstance(rule, PrecheckRule) and rule.code not in present:
                rule.pk = None
                rule.save(force_insert=True)
                created += 1
    return created
