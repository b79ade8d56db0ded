"""免申即享 (kuaiban/proactive/entitlements.py, bundles/services/entitlements.py): rule
ENTITLEMENT-ONCE (one proposal per person and rule, however often the rule runs),
ENTITLEMENT-DATA-DECIDES (only people whose shared data meets every condition; a verified
account or a window-only record), ENTITLEMENT-DRY-RUN (counted, nothing created),
ENTITLEMENT-OBJECTION (the person objects within the days: withdrawn with the reason),
ENTITLEMENT-DECIDED-AS-USUAL (the unit approves, the person is told) and ENTITLEMENT-CLOCK (the
case's clock starts at the proposal)."""

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from bundles.services.entitlements import entitlements_propose, entitlements_run, proposal_object
from kuaiban.accounts.identity import resident_id_check_char
from kuaiban.cases.models import (
    Application,
    ApplicationState,
    CaseEvent,
    CaseState,
    EventAction,
)
from kuaiban.catalog.models import ServiceItem
from kuaiban.notifications.models import Notification
from kuaiban.proactive.entitlements import entitlement_dry_run
from kuaiban.proactive.models import EntitlementRule, Proposal, RuleStatus
from kuaiban.shareddata.kinds import DataKind
from kuaiban.shareddata.services import reference_records_load
from tests.builders import approved, reviewer_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

_serial = itertools.count(101, 2)  # odd: a man's number


def _man_born(birth: str) -> str:
    first17 = f"321002{birth}{next(_serial) % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def _insured(months: int, *, birth: str = "19600115", **kwargs):
    """A citizen (a man born on `birth`) with `months` of contributions in the source."""
    user = UserFactory(citizen=True, resident_id=_man_born(birth), **kwargs)
    facts = {"insured_since": "1990-07", "months_paid": str(months)}
    reference_records_load(DataKind.SOCIAL_INSURANCE, [(user.resident_id, f"SI-{user.pk}", facts)])
    return user


def _rule(status: str = RuleStatus.ON) -> EntitlementRule:
    """Normal retirement (SI-013) for men: 60 or over, at least 15 years of contributions."""
    return EntitlementRule.objects.create(
        code="E-TEST-RETIRE",
        name="职工正常退休（男）",
        item=ServiceItem.objects.get(code="SI-013"),
        conditions=[
            {"fact": "sex", "op": "=", "value": "male"},
            {"fact": "age", "op": ">=", "value": 60},
            {"fact": "months_paid", "op": ">=", "value": 180},
        ],
        prefill={
            "retiree_name": "name",
            "retiree_id_number": "id_number",
            "file_birth_date": "birth_date",
        },
        status=status,
        objection_days=15,
        message_zh="{name}：已为您提出{item}，{days}日内可提出异议：{link}",
    )


def test_rule_entitlement_once_even_if_the_rule_runs_twice():
    person = _insured(200)
    rule = _rule()
    assert entitlements_propose(rule) == 1
    assert entitlements_run() == {rule.code: 0}
    proposal = Proposal.objects.get(rule=rule)
    application = proposal.application
    assert Application.objects.filter(applicant=person).count() == 1
    assert application.channel == Application.Channel.PROACTIVE
    assert application.item.code == "SI-013"
    assert application.state == ApplicationState.ACCEPTED
    assert application.cases.get().state == CaseState.ACCEPTED
    assert application.form_data["retiree_id_number"] == person.resident_id
    assert application.form_data["retiree_name"] == person.real_name
    assert application.form_data["file_birth_date"] == "1960-01-15"
    event = CaseEvent.objects.get(application=application, action=EventAction.PROPOSE)
    assert event.data["rule"] == rule.code
    assert "months_paid" in event.data["facts"]
    told = Notification.objects.filter(recipient=person, link__contains=application.reference)
    assert told.filter(body__contains="职工正常退休审批").exists()


def test_rule_entitlement_data_decides_an_ineligible_person_gets_none():
    too_few = _insured(160)
    too_young = _insured(240, birth="19800115")
    unverified = _insured(240, unverified=True)
    rule = _rule()
    assert entitlements_propose(rule) == 0
    assert not Application.objects.filter(applicant__in=[too_few, too_young, unverified]).exists()
    assert not Proposal.objects.exists()


def test_rule_entitlement_data_decides_a_window_only_record_is_proposed_to():
    person = _insured(200, window_only=True, is_verified=False)
    person.set_resident_id(person.resident_id)
    person.save()
    assert entitlements_propose(_rule()) == 1
    assert Proposal.objects.get().application.applicant == person


def test_rule_entitlement_dry_run_reports_the_count_and_creates_nothing():
    person = _insured(200)
    _insured(100)
    rule = _rule(status=RuleStatus.DRY_RUN)
    result = entitlement_dry_run(rule)
    assert result.count == 1
    assert result.sample[0]["id_number"] != person.resident_id
    assert result.sample[0]["id_number"][:6] == person.resident_id[:6]
    assert entitlements_propose(rule) == 0  # a rule in dry run proposes nothing
    assert entitlements_run() == {}
    assert not Application.objects.exists()
    assert not Proposal.objects.exists()
    assert not Notification.objects.filter(recipient=person).exists()


def test_rule_entitlement_objection_withdraws_with_the_reason():
    person = _insured(200)
    entitlements_propose(_rule())
    application = Proposal.objects.get().application
    proposal_object(application=application, actor=person, reason="我仍在职，暂不退休")
    application.refresh_from_db()
    assert application.state == ApplicationState.WITHDRAWN
    assert application.cases.get().state == CaseState.WITHDRAWN
    objection = CaseEvent.objects.get(application=application, action=EventAction.OBJECT)
    assert objection.reason == "我仍在职，暂不退休"
    assert objection.actor == person
    assert Proposal.objects.get().objected_at is not None
    # The rule running again does not propose again.
    assert entitlements_propose(_rule_again()) == 0


def _rule_again() -> EntitlementRule:
    return EntitlementRule.objects.get(code="E-TEST-RETIRE")


def test_rule_entitlement_objection_needs_a_reason_the_person_and_the_time():
    person = _insured(200)
    entitlements_propose(_rule())
    application = Proposal.objects.get().application
    with pytest.raises(ValidationError):
        proposal_object(application=application, actor=person, reason=" ")
    with pytest.raises(ValidationError):
        proposal_object(application=application, actor=UserFactory(citizen=True), reason="不要")
    late = timezone.now() + timedelta(days=16)
    with time_machine.travel(late), pytest.raises(ValidationError):
        proposal_object(application=application, actor=person, reason="不要")
    application.refresh_from_db()
    assert application.state == ApplicationState.ACCEPTED


def test_rule_entitlement_decided_as_usual_the_unit_approves_and_the_person_is_told():
    person = _insured(200)
    entitlements_propose(_rule())
    application = Proposal.objects.get().application
    before = Notification.objects.filter(recipient=person).count()
    case = approved(application.cases.get(), reviewer_of("SBZX"))
    assert case.state in (CaseState.APPROVED, CaseState.CONCLUDED)
    application.refresh_from_db()
    assert application.state == ApplicationState.CONCLUDED
    assert Notification.objects.filter(recipient=person).count() > before


def test_rule_entitlement_clock_starts_at_the_proposal():
    _insured(200)
    entitlements_propose(_rule())
    proposal = Proposal.objects.get()
    case = proposal.application.cases.get()
    assert case.accepted_at == proposal.proposed_at
    assert case.received_at == proposal.proposed_at
    assert case.committed_due_at is not None and case.committed_due_at > proposal.proposed_at


def test_rule_entitlement_the_status_page_shows_the_proposal_and_takes_an_objection(client):
    person = _insured(200)
    entitlements_propose(_rule())
    application = Proposal.objects.get().application
    client.force_login(person)
    status = reverse("applications:status", kwargs={"reference": application.reference})
    page = client.get(status)
    assert "免申即享" in page.content.decode()
    url = reverse("applications:object", kwargs={"reference": application.reference})
    assert 'data-testid="objection-form"' in page.content.decode()
    assert client.post(url, {"reason": ""}).status_code == 400  # a reason is required
    response = client.post(url, {"reason": "信息有误"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.WITHDRAWN
    after = client.get(status).content.decode()
    assert 'data-testid="objected"' in after and 'data-testid="objection-form"' not in after


def test_rule_entitlement_the_unit_sees_the_rule_and_the_masked_facts(client):
    person = _insured(200)
    entitlements_propose(_rule())
    case = Proposal.objects.get().application.cases.get()
    reviewer = reviewer_of("SBZX")
    client.force_login(reviewer)
    page = client.get(reverse("staff:case_detail", kwargs={"case_id": case.pk})).content.decode()
    assert 'data-rule="E-TEST-RETIRE"' in page
    assert "免申即享" in page
    assert person.resident_id not in page  # masked
    assert person.resident_id[:6] in page


def test_rule_entitlement_the_shipped_rule_is_previewed_in_the_admin_and_proposes_nothing(client):
    """E-SI013-MEN ships in dry run: the admin's preview counts the eligible, masked; nothing is
    created until an administrator switches it on."""
    person = _insured(200)
    _insured(100)
    rule = EntitlementRule.objects.get(code="E-SI013-MEN")
    assert rule.status == RuleStatus.DRY_RUN
    admin = UserFactory(role="administrator", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/proactive/entitlementrule/",
        {"action": "dry_run", "_selected_action": [rule.pk]},
        follow=True,
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("E-SI013-MEN") and " 1 " in message
    assert person.resident_id not in message and person.resident_id[:6] in message
    assert entitlements_run() == {}
    assert not Proposal.objects.exists()
    rule.status = RuleStatus.ON
    rule.save()
    assert entitlements_run() == {"E-SI013-MEN": 1}
    assert Proposal.objects.get().application.applicant == person


def test_rule_entitlement_conditions_compare_numbers_and_iso_dates():
    from kuaiban.proactive.entitlements import condition_met

    facts = {"months_paid": "200", "birth_date": "1960-01-15", "sex": "male"}
    assert condition_met({"fact": "months_paid", "op": ">=", "value": 180}, facts)
    assert not condition_met({"fact": "months_paid", "op": ">", "value": "200"}, facts)
    assert condition_met({"fact": "birth_date", "op": "<=", "value": "1964-12-31"}, facts)
    assert not condition_met({"fact": "birth_date", "op": ">", "value": "1964-12-31"}, facts)
    assert not condition_met({"fact": "sex", "op": ">=", "value": "female"}, facts)
    assert not condition_met({"fact": "insured_since", "op": "=", "value": ""}, facts)


def test_rule_entitlement_a_rule_is_checked_before_it_is_saved():
    rule = _rule(status=RuleStatus.DRAFT)
    rule.conditions = [{"fact": "age", "op": "≥", "value": 60}]
    rule.message_zh = "{who}"
    with pytest.raises(ValidationError) as raised:
        rule.full_clean()
    assert {"conditions", "message_zh"} <= set(raised.value.message_dict)


def test_rule_entitlement_beat_runs_the_rules_daily():
    from kuaiban.celery import app

    entry = app.conf.beat_schedule["entitlement-rules"]
    assert entry["task"] == "bundles.run_entitlement_rules"
    assert entry["schedule"] == 24 * 60 * 60
    app.loader.import_default_modules()  # as `run_timers` and the worker do
    assert app.tasks["bundles.run_entitlement_rules"].apply().result == 0  # nothing is on


def test_rule_entitlement_data_decides_someone_who_applied_already_is_left_alone():
    from tests.builders import single_item_submitted

    person = _insured(200)
    single_item_submitted("SI-013", person)
    assert entitlement_dry_run(_rule()).count == 0
    assert entitlements_propose(_rule_again()) == 0


def test_rule_entitlement_a_window_only_record_is_told_by_sms_only():
    person = _insured(200, window_only=True, is_verified=False)
    person.set_resident_id(person.resident_id)
    person.save()
    entitlements_propose(_rule())
    told = Notification.objects.filter(recipient=person)
    assert set(told.values_list("channel", flat=True)) == {Notification.Channel.SMS}


def test_rule_entitlement_the_proposal_waits_in_the_units_queue(client):
    _insured(200)
    entitlements_propose(_rule())
    application = Proposal.objects.get().application
    client.force_login(reviewer_of("SBZX"))
    assert application.reference in client.get(reverse("staff:cases")).content.decode()
    client.force_login(reviewer_of("LDGX"))
    assert application.reference not in client.get(reverse("staff:cases")).content.decode()


def test_rule_entitlement_an_item_not_offered_is_not_proposed():
    _insured(200)
    rule = _rule()
    ServiceItem.objects.filter(pk=rule.item_id).update(is_published=False)
    assert entitlements_propose(rule) == 0
    assert not Proposal.objects.exists()


def test_rule_entitlement_once_when_two_runs_race(committed_db):
    """Beat's run and a manual one at the same moment (PostgreSQL): one proposal in all."""
    import threading

    from django.db import connection

    person = _insured(200)
    rule = _rule()
    barrier = threading.Barrier(2)
    made: list[int] = []

    def run():
        barrier.wait()
        try:
            made.append(entitlements_propose(rule))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(made) == [0, 1]
    assert Application.objects.filter(applicant=person).count() == 1
    assert Proposal.objects.filter(rule=rule).count() == 1


def test_rule_entitlement_figures_per_rule_equal_direct_counts(client):
    """The supervision page's 免申即享 table: proposed, objected, approved, denied per rule."""
    from bundles.services import handling
    from kuaiban.proactive.selectors import proposal_figures

    people = [_insured(200) for _ in range(4)]
    rule = _rule()
    assert entitlements_propose(rule) == 4
    by_person = {p.application.applicant_id: p.application for p in Proposal.objects.all()}
    reviewer = reviewer_of("SBZX")
    proposal_object(application=by_person[people[0].pk], actor=people[0], reason="仍在职")
    approved(by_person[people[1].pk].cases.get(), reviewer)
    handling.case_deny(
        case=by_person[people[2].pk].cases.get(),
        actor=reviewer,
        reason="档案出生时间不符",
        legal_basis="社会保险法第十六条",
    )
    direct = (
        Proposal.objects.filter(rule=rule).count(),
        Proposal.objects.filter(rule=rule, objected_at__isnull=False).count(),
        CaseEvent.objects.filter(
            application__proposal__rule=rule, action=EventAction.APPROVE
        ).count(),
        CaseEvent.objects.filter(application__proposal__rule=rule, action=EventAction.DENY).count(),
    )
    today = timezone.localdate()
    row = {r.rule.code: r for r in proposal_figures(today, today)}[rule.code]
    assert (row.proposed, row.objected, row.approved, row.denied) == direct == (4, 1, 1, 1)
    earlier = {
        r.rule.code: r
        for r in proposal_figures(today - timedelta(days=9), today - timedelta(days=2))
    }
    assert earlier[rule.code].proposed == 0
    client.force_login(UserFactory(supervisor=True))
    page = client.get("/supervision/invitations/").content.decode()
    expected = 'data-rule="E-TEST-RETIRE" data-proposed="4" data-objected="1" data-approved="1"'
    assert expected in page
