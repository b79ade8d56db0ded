"""免申即享 where the law allows: who an entitlement rule would propose its item to, decided
from shared data alone (the rule's conditions over the facts of the person's record), and the
dry run. Creating the proposal (an accepted application of channel PROACTIVE) is `bundles`'
job (`bundles/services/entitlements.py`): the kernel names no app above it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from kuaiban.accounts.identity import age_on, birth_date_of, mask_name, mask_resident_id, sex_of
from kuaiban.accounts.models import Role, User
from kuaiban.cases.models import CaseState, ItemCase
from kuaiban.shareddata.models import ReferenceRecord

from .models import EntitlementRule, Proposal

SAMPLE_SIZE = 10


@dataclass
class Eligible:
    """A person whose facts meet every condition of a rule, with an account to propose to (a
    verified one, or a window-only record), not yet proposed to by this rule."""

    person_hash: str
    user: User
    facts: dict

    def masked(self) -> dict:
        return {
            "name": mask_name(self.facts.get("name", "")),
            "id_number": mask_resident_id(self.facts.get("id_number", "")),
        }


@dataclass
class EntitlementDryRun:
    count: int
    sample: list[dict]


def person_facts(user: User, record_facts: dict, today: date) -> dict:
    """The facts a rule decides on: the record's, plus what the verified ID number says (birth
    date, sex, age today) and the account's real name."""
    number = (user.resident_id or "").upper()
    facts = {str(k): v for k, v in (record_facts or {}).items()}
    facts.update(name=user.real_name, id_number=number)
    try:
        born = birth_date_of(number)
    except ValueError:
        return facts
    facts.update(
        birth_date=born.isoformat(),
        sex=sex_of(number),
        age=age_on(born, today),
    )
    return facts


def _number(value) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _iso_date(value) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10


def condition_met(condition: dict, facts: dict) -> bool:
    """One condition: numbers compared as numbers, ISO dates as dates, other text only for
    equality; a missing fact never
    meets a condition (the rule proposes only what the data decides)."""
    name, op, wanted = condition.get("fact"), condition.get("op"), condition.get("value")
    if name not in facts or facts[name] in (None, ""):
        return False
    have = facts[name]
    left, right = _number(have), _number(wanted)
    if left is None or right is None:
        left, right = str(have), str(wanted)  # type: ignore[assignment]
        # Text is only equal or not, but ISO dates (birth_date <= "1964-12-31") are ordered.
        if op not in ("=", "!=") and not (_iso_date(left) and _iso_date(right)):
            return False
    return {
        "=": lambda: left == right,
        "!=": lambda: left != right,
        ">=": lambda: left >= right,  # type: ignore[operator]
        "<=": lambda: left <= right,  # type: ignore[operator]
        ">": lambda: left > right,  # type: ignore[operator]
        "<": lambda: left < right,  # type: ignore[operator]
    }.get(str(op), lambda: False)()


def eligible(rule: EntitlementRule, facts: dict) -> bool:
    conditions = rule.conditions if isinstance(rule.conditions, list) else []
    return bool(conditions) and all(condition_met(c, facts) for c in conditions)


def entitlement_candidates(rule: EntitlementRule, today: date | None = None) -> list[Eligible]:
    """Everyone the rule would propose to today: in its source, with a verified citizen account
    or a window-only record holding their ID number, meeting every condition, not yet proposed
    to by the rule, without a case of the item (other than a withdrawn one)."""
    today = today or timezone.localdate()
    records = {
        r.subject_hash: r.facts
        for r in ReferenceRecord.objects.filter(kind=rule.source).only("subject_hash", "facts")
    }
    if not records:
        return []
    proposed = set(
        Proposal.objects.filter(rule=rule, person_hash__in=list(records)).values_list(
            "person_hash", flat=True
        )
    )
    # Someone with a case of the item already (applied themselves, decided, denied) is left
    # alone; a withdrawn one does not count.
    has_case = (
        ItemCase.objects.filter(item_id=rule.item_id)
        .exclude(state=CaseState.WITHDRAWN)
        .values("application__applicant_id")
    )
    people = (
        User.objects.filter(
            role=Role.CITIZEN, is_active=True, resident_id_hash__in=list(records.keys() - proposed)
        )
        .exclude(is_verified=False, window_only=False)
        .exclude(pk__in=has_case)
        .order_by("pk")
    )
    found = []
    for user in people.iterator(chunk_size=500):
        facts = person_facts(user, records[user.resident_id_hash or ""], today)
        if eligible(rule, facts):
            found.append(Eligible(user.resident_id_hash or "", user, facts))
    return found


def entitlement_dry_run(rule: EntitlementRule, today: date | None = None) -> EntitlementDryRun:
    """What the rule would propose today, creating nothing: the count and a masked sample."""
    found = entitlement_candidates(rule, today)
    return EntitlementDryRun(len(found), [e.masked() for e in found[:SAMPLE_SIZE]])
