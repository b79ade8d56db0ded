"""Smart pre-check (智能预审, kuaiban/precheck): the rule kinds on facts (pure), the shipped B07
rules before submission (warn, block), the name flagged for the clerk on the intake page and
their verdict, a duplicate open application, and the supervisors' figures."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bundles.services import intake, submission
from kuaiban.accounts.identity import resident_id_check_char
from kuaiban.accounts.services import reference_identities_load
from kuaiban.cases.models import Application
from kuaiban.precheck.models import PrecheckFinding, PrecheckRule, PrecheckVerdict
from kuaiban.precheck.rules import Facts, RuleKind, RuleSpec, Severity, evaluate
from kuaiban.precheck.selectors import precheck_figures
from kuaiban.precheck.services import precheck_run
from kuaiban.shareddata.kinds import DataKind
from kuaiban.shareddata.services import reference_records_load
from tests.builders import clerk_of, ready_application, submit, submitted, submitted_with_form
from tests.factories import UserFactory, generated_resident_id

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)


def _number(born: str, serial: str) -> str:
    """A generated ID number: the 17th digit odd for a man, even for a woman."""
    first17 = f"321002{born}{serial}"
    return first17 + resident_id_check_char(first17)


def _spec(kind, params, severity=Severity.WARN, text="{age}/{required}") -> RuleSpec:
    return RuleSpec("R", kind, severity, text, "", params)


# -- the rule kinds, pure ------------------------------------------------------------------------


def test_age_at_least_reads_birth_date_and_sex_from_the_id_number():
    rule = _spec(RuleKind.AGE_AT_LEAST, {"id_field": "id", "male": 60, "female": 50})
    man_59, woman_59 = (_number("19670315", serial) for serial in ("001", "002"))
    assert [f.message_zh for f in evaluate([rule], Facts(form={"id": man_59}, today=TODAY))] == [
        "59/60"
    ]
    assert evaluate([rule], Facts(form={"id": woman_59}, today=TODAY)) == []  # 59 ≥ 50
    # At a date of the form instead of today.
    dated = _spec(
        RuleKind.AGE_AT_LEAST, {"id_field": "id", "at_field": "on", "male": 30, "female": 30}
    )
    assert evaluate([dated], Facts(form={"id": man_59, "on": "1990-01-01"}, today=TODAY))
    assert not evaluate([dated], Facts(form={"id": man_59, "on": "2000-03-15"}, today=TODAY))
    # No ID number: nothing fires (the pre-check never guesses).
    assert evaluate([rule], Facts(form={}, today=TODAY)) == []


def test_contribution_years_from_the_social_insurance_facts_or_a_form_field():
    rule = _spec(
        RuleKind.CONTRIBUTION_YEARS_AT_LEAST, {"years": 15, "field": "y"}, text="{years}<{required}"
    )
    few = Facts(shared={"social_insurance": {"months_paid": "126"}})
    assert [f.message_zh for f in evaluate([rule], few)] == ["10.5<15"]
    assert evaluate([rule], Facts(shared={"social_insurance": {"months_paid": "180"}})) == []
    assert [f.message_zh for f in evaluate([rule], Facts(form={"y": "3"}))] == ["3<15"]
    assert evaluate([rule], Facts()) == []


def test_contribution_years_reads_the_fact_the_rule_names_and_shows_whole_months():
    rule = _spec(
        RuleKind.CONTRIBUTION_YEARS_AT_LEAST,
        {"years": 1, "fact": "ui_months_paid"},
        text="{months}/{required}",
    )
    record = {"months_paid": "200", "ui_months_paid": "8"}
    assert [f.message_zh for f in evaluate([rule], Facts(shared={"social_insurance": record}))] == [
        "8/1"
    ]
    assert evaluate([rule], Facts(shared={"social_insurance": {"months_paid": "8"}})) == []


def test_dates_in_order_names_the_later_field():
    rule = _spec(RuleKind.DATES_IN_ORDER, {"fields": ["a", "b", "c"]}, text="{earlier}>{later}")
    (finding,) = evaluate([rule], Facts(form={"a": "2000-01-01", "c": "1999-12-31"}))
    assert (finding.field, finding.message_zh) == ("c", "2000-01-01>1999-12-31")
    assert evaluate([rule], Facts(form={"a": "2000-01-01", "b": "2000-01-01"})) == []


def test_name_matches_ignores_spaces_and_needs_both_names():
    rule = _spec(RuleKind.NAME_MATCHES, {"field": "n", "source": "identity"}, text="x")
    source = {"identity": {"name": "王小明"}}
    assert evaluate([rule], Facts(form={"n": "王 小明"}, shared=source)) == []
    assert [f.field for f in evaluate([rule], Facts(form={"n": "王晓明"}, shared=source))] == ["n"]
    assert evaluate([rule], Facts(form={"n": "王晓明"})) == []


def test_duplicate_lists_the_open_references_about_the_same_person():
    rule = _spec(RuleKind.DUPLICATE_OPEN_APPLICATION, {}, text="{references}")
    others = (("A1", {}), ("A2", {"id": "X"}))
    assert [f.message_zh for f in evaluate([rule], Facts(open_applications=others))] == ["A1、A2"]
    assert evaluate([rule], Facts()) == []
    # With person fields: only an open application naming the same person counts (also in
    # its table of persons); a form naming no one compares as before.
    by_person = _spec(
        RuleKind.DUPLICATE_OPEN_APPLICATION, {"person_fields": ["id"]}, text="{references}"
    )
    others = (("A1", {"id": "x1"}), ("A2", {"id": "Y", "persons": [{"id": "Z"}]}))
    found = evaluate([by_person], Facts(form={"id": "X1"}, open_applications=others))
    assert [f.message_zh for f in found] == ["A1"]
    found = evaluate(
        [by_person], Facts(form={"id": "Q", "persons": [{"id": "Z"}]}, open_applications=others)
    )
    assert [f.message_zh for f in found] == ["A2"]
    assert evaluate([by_person], Facts(form={"id": "Q"}, open_applications=others)) == []
    assert len(evaluate([by_person], Facts(open_applications=others))) == 1


def test_the_duplicate_facts_are_the_applicants_open_applications_of_the_same_service():
    """Only the same bundle (or, for a single item, the same item outside any bundle) counts;
    another service, a withdrawn application and another applicant's do not."""
    from bundles.services.applications import application_withdraw
    from kuaiban.precheck.services import facts_for
    from tests.builders import single_item_ready, single_item_submitted

    rule = _spec(RuleKind.DUPLICATE_OPEN_APPLICATION, {}, text="{references}")
    citizen = UserFactory(citizen=True)
    earlier = submitted("B10", citizen)
    submitted("B03", citizen)
    withdrawn = submitted("B10", citizen)
    application_withdraw(application=withdrawn, actor=citizen, reason="重复")
    submitted("B10")  # someone else's
    current = ready_application(citizen, "B10")
    assert [ref for ref, _form in facts_for(current, [rule]).open_applications] == [
        earlier.reference
    ]
    enterprise = UserFactory(enterprise=True)
    same_item = single_item_submitted("LR-002", enterprise)
    submitted("B07", enterprise)
    current = single_item_ready("LR-002", enterprise)
    assert [ref for ref, _form in facts_for(current, [rule]).open_applications] == [
        same_item.reference
    ]


# -- the shipped rules on applications ---------------------------------------------------------


def _retiree(*, months_paid: str | None = None, source_name: str | None = None):
    """A citizen born 1960 (past every statutory age), in the LOCAL sources: the population
    register (under `source_name`, their own name by default) and, with `months_paid`, the
    social-insurance record."""
    user = UserFactory(citizen=True, real_name="王小明")
    user.resident_id = generated_resident_id(birth="19600101")
    user.set_resident_id(user.resident_id)
    user.save()
    reference_identities_load([(source_name or user.real_name, user.resident_id)])
    if months_paid is not None:
        facts = {"insured_since": "2016-01", "months_paid": months_paid, "bank": "测试银行"}
        reference_records_load(DataKind.SOCIAL_INSURANCE, [(user.resident_id, "SI-T", facts)])
    return user


def _fetch_shared(application, user) -> None:
    submission.shared_data_fetch(application=application, actor=user, consented=True)


def test_rule_PC_B07_CONTRIB_warns_before_submission_with_the_reason(client):
    user = _retiree(months_paid="120")
    application = ready_application(user, "B07")
    _fetch_shared(application, user)  # consent given: the social-insurance record is fetched
    client.force_login(user)
    page = client.get(f"/applications/{application.reference}/review/")
    assert page.status_code == 200
    warnings = page.context["precheck_warnings"]
    assert [f.rule for f in warnings] == ["PC-B07-CONTRIB"]
    body = page.content.decode()
    assert 'data-testid="precheck-warnings"' in body
    assert "累计缴费10年，不足15年" in body
    # A warning does not stop submission; it is stored with it.
    submit(application)
    assert application.state == "submitted"
    stored = PrecheckFinding.objects.get(application=application)
    assert (stored.rule.code, stored.severity) == ("PC-B07-CONTRIB", Severity.WARN)
    assert "累计缴费10年" in stored.message_zh


def test_a_warning_from_data_fetched_at_submission_is_shown_before_it_is_submitted(client):
    # The first press of "submit" fetches the social-insurance record (with consent): its
    # warning was not on the page, so the applicant is brought back to read it, not submitted.
    user = _retiree(months_paid="120")
    application = ready_application(user, "B07")
    client.force_login(user)
    url = f"/applications/{application.reference}/review/"
    assert client.post(url, {"consent": "on"}).url == url
    application.refresh_from_db()
    assert application.state == "draft"
    page = client.get(url).content.decode()
    assert "累计缴费10年，不足15年" in page
    # The page posts what it showed (rule PRECHECK-SEEN): submitted once they have seen it.
    assert '<input type="hidden" name="warning_seen" value="PC-B07-CONTRIB">' in page
    done = client.post(url, {"consent": "on", "warning_seen": "PC-B07-CONTRIB"})
    assert done.url == f"/applications/{application.reference}/done/"
    assert application.precheck_findings.get().rule.code == "PC-B07-CONTRIB"


def test_rule_PRECHECK_SEEN_a_warning_the_page_did_not_post_back_refuses_only_that_submission():
    user = _retiree(months_paid="120")
    application = ready_application(user, "B07")
    _fetch_shared(application, user)
    with pytest.raises(ValidationError) as refused:
        submission.application_submit(application=application, actor=user, warnings_seen=[])
    assert refused.value.code == "precheck_unseen"
    application.refresh_from_db()
    assert application.state == "draft" and not application.cases.exists()
    # The page that showed the warning posts it back (the window and the API pass None).
    submission.application_submit(
        application=application, actor=user, warnings_seen=["PC-B07-CONTRIB"]
    )
    application.refresh_from_db()
    assert application.state == "submitted"


def test_enough_contribution_years_warn_nothing(client):
    user = _retiree(months_paid="200")
    application = ready_application(user, "B07")
    _fetch_shared(application, user)
    assert precheck_run(application) == []


def test_a_BLOCK_rule_refuses_submission_naming_the_reason():
    # The bureau makes the contribution check blocking (rules are data, edited in the admin).
    rule = PrecheckRule.objects.get(code="PC-B07-CONTRIB")
    rule.severity = Severity.BLOCK
    rule.save()
    user = _retiree(months_paid="120")
    application = ready_application(user, "B07")
    _fetch_shared(application, user)
    with pytest.raises(ValidationError) as refused:
        submission.application_submit(application=application, actor=user)
    assert any("累计缴费10年，不足15年" in m for m in refused.value.messages)
    application.refresh_from_db()
    assert application.state == "draft"
    assert not PrecheckFinding.objects.filter(application=application).exists()
    # The check page lists it among what stops submission, with a link to the form.
    problems = submission.missing_for_submission(application)
    assert [p.step for p in problems if "累计缴费10年" in p] == ["form"]


def test_rule_PC_B07_NAME_flags_a_name_unlike_the_identity_source_for_the_clerk(client):
    user = _retiree(months_paid="200", source_name="王晓明")
    application = ready_application(user, "B07")
    _fetch_shared(application, user)
    submit(application)
    (finding,) = PrecheckFinding.objects.filter(application=application)
    assert (finding.rule.code, finding.severity, finding.field) == (
        "PC-B07-NAME",
        Severity.FLAG,
        "retiree_name",
    )
    # Flags are the clerk's: the applicant's check page did not show it.
    clerk = clerk_of("BUNDLE")
    client.force_login(clerk)
    page = client.get(f"/staff/intake/{application.reference}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="precheck-findings"' in body
    assert 'data-rule="PC-B07-NAME" data-severity="flag" data-verdict=""' in body
    assert "与人口库（身份信息共享数据）中的姓名不一致" in body


def test_the_clerk_s_agree_and_disagree_are_recorded_with_who_and_when(client):
    user = _retiree(months_paid="200", source_name="王晓明")
    application = ready_application(user, "B07")
    _fetch_shared(application, user)
    submit(application)
    finding = PrecheckFinding.objects.get(application=application)
    clerk = clerk_of("BUNDLE")
    client.force_login(clerk)
    url = f"/staff/intake/{application.reference}/precheck/{finding.pk}/"
    assert client.post(url, {"verdict": "disagree"}).status_code == 302
    assert client.post(url, {"verdict": "agree"}).status_code == 302
    assert client.post(url, {"verdict": "maybe"}).status_code == 302  # refused, nothing written
    verdicts = list(PrecheckVerdict.objects.filter(finding=finding).order_by("pk"))
    assert [(v.agreed, v.by_id) for v in verdicts] == [(False, clerk.pk), (True, clerk.pk)]
    assert all(timezone.now() - v.at < timedelta(minutes=1) for v in verdicts)
    body = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'data-rule="PC-B07-NAME" data-severity="flag" data-verdict="agree"' in body
    # Another window's clerk does not see the application: 404.
    client.force_login(clerk_of("LABOUR"))
    assert client.post(url, {"verdict": "agree"}).status_code == 404
    assert PrecheckVerdict.objects.filter(finding=finding).count() == 2


def test_rule_PC_DUPLICATE_catches_a_second_open_application_of_the_same_bundle(client):
    first = submitted("B10")
    user = first.applicant
    second = ready_application(user, "B10")
    found = precheck_run(second)
    assert [(f.rule, f.severity) for f in found] == [("PC-DUPLICATE", Severity.WARN)]
    assert first.reference in found[0].message_zh
    client.force_login(user)
    page = client.get(f"/applications/{second.reference}/review/")
    assert first.reference in page.content.decode()
    submit(second)
    assert second.precheck_findings.get().rule.code == "PC-DUPLICATE"
    # Once the first is withdrawn or concluded it is no longer open: a third draft is clean.
    Application.objects.filter(pk__in=[first.pk, second.pk]).update(state="concluded")
    assert precheck_run(ready_application(user, "B10")) == []


def test_an_employer_s_filings_for_two_employees_are_not_duplicates():
    employer = UserFactory(enterprise=True)
    one, two = generated_resident_id(), generated_resident_id()
    submitted_with_form("B02", employer, {"employee_id_number": one, "employee_name": "甲"})
    other = submitted_with_form("B02", employer, {"employee_id_number": two, "employee_name": "乙"})
    assert not other.precheck_findings.exists()
    again = submitted_with_form("B02", employer, {"employee_id_number": one, "employee_name": "甲"})
    assert again.precheck_findings.get().rule.code == "PC-DUPLICATE"


def test_a_disabled_rule_does_not_fire():
    first = submitted("B10")
    rule = PrecheckRule.objects.get(code="PC-DUPLICATE")
    rule.enabled = False
    rule.save()  # as the admin saves it: every process's rule table is rebuilt
    assert precheck_run(ready_application(first.applicant, "B10")) == []


# -- the supervisors' figures -----------------------------------------------------------------


def test_the_supervisors_figures_equal_direct_counts(client):
    clerk = clerk_of("BUNDLE")
    # Two applicants with a duplicate each (two findings), one of them returned; a third
    # application without a finding, returned too; the clerk agrees with one finding, disagrees
    # and then agrees with the other (the latest counts), and disagrees with nothing else.
    duplicates = []
    for _n in range(2):
        first = submitted("B10")
        duplicates.append(submit(ready_application(first.applicant, "B10")))
    lone = submitted("B10")
    for application in (duplicates[0], lone):
        intake.application_return(
            application=application,
            actor=clerk,
            material_ids=[application.materials.exclude(file=None).first().material_id],
            note="请补正",
        )
    finding_a, finding_b = (d.precheck_findings.get() for d in duplicates)
    PrecheckVerdict.objects.create(finding=finding_a, agreed=True, by=clerk)
    PrecheckVerdict.objects.create(finding=finding_b, agreed=False, by=clerk)
    PrecheckVerdict.objects.create(finding=finding_b, agreed=True, by=clerk)

    today = timezone.localdate()
    rows = {row.rule.code: row for row in precheck_figures(today, today)}
    row = rows["PC-DUPLICATE"]
    fired = PrecheckFinding.objects.filter(rule__code="PC-DUPLICATE")
    with_finding = Application.objects.filter(precheck_findings__rule__code="PC-DUPLICATE")
    submitted_today = Application.objects.filter(submitted_at__date=today)
    returned = {a.pk for a in submitted_today if a.events.filter(action="return").exists()}
    without = submitted_today.exclude(pk__in=with_finding)
    assert row.fired == fired.count() == 2
    assert row.reviewed == 2 and row.agreed == 2
    assert row.with_finding == with_finding.distinct().count() == 2
    assert row.with_returned == len(returned & {a.pk for a in with_finding}) == 1
    assert row.without_finding == without.count() == 3
    assert row.without_returned == len(returned & {a.pk for a in without}) == 1
    assert (row.return_rate_with, row.return_rate_without) == (0.5, 1 / 3)
    assert rows["PC-B07-NAME"].fired == 0 and rows["PC-B07-NAME"].with_finding == 0
    # Outside the period nothing is counted.
    assert precheck_figures(today - timedelta(days=9), today - timedelta(days=8))[0].fired == 0

    supervisor = UserFactory(supervisor=True)
    client.force_login(supervisor)
    page = client.get("/supervision/prechecks/")
    assert page.status_code == 200
    assert 'data-rule="PC-DUPLICATE" data-fired="2" data-reviewed="2" data-agreed="2"' in (
        page.content.decode()
    )


# -- the rules as data -------------------------------------------------------------------------


def test_reloading_the_reference_data_keeps_an_administrator_s_rules():
    from django.core.management import call_command

    PrecheckRule.objects.filter(code="PC-B07-CONTRIB").update(enabled=False, params={"years": 20})
    PrecheckRule.objects.filter(code="PC-B07-AGE").delete()
    call_command("load_reference_data", verbosity=0)
    contrib = PrecheckRule.objects.get(code="PC-B07-CONTRIB")
    assert (contrib.enabled, contrib.params) == (False, {"years": 20})
    assert PrecheckRule.objects.get(code="PC-B07-AGE").params["male"] == 60


def test_a_rule_s_parameters_are_checked_before_it_is_saved():
    rule = PrecheckRule.objects.get(code="PC-B07-AGE")
    rule.params = {"male": "sixty"}
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert "params" in refused.value.message_dict
    rule.params = {"male": 63, "female": 55}
    rule.full_clean()


def test_findings_and_verdicts_are_append_only():
    first = submitted("B10")
    second = submit(ready_application(first.applicant, "B10"))
    finding = second.precheck_findings.get()
    with pytest.raises(TypeError):
        finding.save()
    with pytest.raises(TypeError):
        PrecheckFinding.objects.filter(pk=finding.pk).update(message_zh="改")


def test_the_admin_edits_rules_and_only_reads_findings_and_verdicts(client):
    client.force_login(UserFactory(role="administrator", is_staff=True, is_superuser=True))
    rule = PrecheckRule.objects.get(code="PC-B07-CONTRIB")
    page = client.get("/admin/precheck/precheckrule/")
    assert page.status_code == 200 and "PC-B07-CONTRIB" in page.content.decode()
    assert client.get(f"/admin/precheck/precheckrule/{rule.pk}/change/").status_code == 200
    for table in ("precheckfinding", "precheckverdict"):
        assert client.get(f"/admin/precheck/{table}/").status_code == 200
        assert client.get(f"/admin/precheck/{table}/add/").status_code == 403


def _unemployed(months_paid: str):
    """A citizen in the population register with a social-insurance record of `months_paid`."""
    user = UserFactory(citizen=True)
    reference_identities_load([(user.real_name, user.resident_id)])
    facts = {"insured_since": "2024-01", "months_paid": months_paid, "bank": "测试银行"}
    reference_records_load(DataKind.SOCIAL_INSURANCE, [(user.resident_id, "SI-U", facts)])
    return user


def test_rule_PC_B03_UI_YEAR_warns_an_applicant_with_8_months_paid_before_submission(client):
    user = _unemployed("8")
    application = ready_application(user, "B03")
    _fetch_shared(application, user)  # consent given: B03's bank account material (SI-004)
    client.force_login(user)
    page = client.get(f"/applications/{application.reference}/review/")
    assert [f.rule for f in page.context["precheck_warnings"]] == ["PC-B03-UI-YEAR"]
    body = page.content.decode()
    assert "累计缴费8个月，不足1年" in body
    assert "失业保险条例" in body
    submit(application)
    assert application.state == "submitted"
    stored = PrecheckFinding.objects.get(application=application)
    assert (stored.rule.code, stored.severity) == ("PC-B03-UI-YEAR", Severity.WARN)


def test_rule_PC_B03_UI_YEAR_is_silent_with_24_months_paid():
    user = _unemployed("24")
    application = ready_application(user, "B03")
    _fetch_shared(application, user)
    assert precheck_run(application) == []
