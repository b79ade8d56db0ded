"""Proactive services (主动服务, kuaiban/proactive): the shipped rules P-B02-B03 (an employer's
termination filing invites the employee to B03) and P-B07-AGE (insured people near the
retirement age are reminded of B07); once per person and trigger, dry run, opt-out, the link
that starts the bundle pre-filled, and the funnel."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from bundles.services import applications
from kuaiban.accounts.identity import resident_id_check_char
from kuaiban.notifications.models import Notification
from kuaiban.proactive.models import Invitation, InvitationRule, OptOut, RuleStatus
from kuaiban.proactive.selectors import invitation_funnel
from kuaiban.proactive.services import (
    invitations_send,
    on_submission,
    proactive_run,
    rule_candidates,
    rule_dry_run,
)
from tests.builders import complete, on_record, submit, submitted_with_form
from tests.factories import UserFactory, generated_resident_id

pytestmark = pytest.mark.django_db


def _rule(code: str) -> InvitationRule:
    return InvitationRule.objects.select_related("bundle").get(code=code)


def _termination(employer, employee_number: str, *, name="李员工", phone="") -> object:
    """The employer's B02 filing (企业与员工解除终止劳动合同) naming the employee."""
    return submitted_with_form(
        "B02",
        employer,
        {
            "employee_id_number": employee_number,
            "employee_name": name,
            "employee_phone": phone,
            "termination_date": "2026-11-20",
        },
    )


def _answer_no(application, user) -> None:
    applications.application_answer_questions(
        application=application,
        actor=user,
        answers={q.code: False for q in application.situation_questions()},
    )


def _invitations(rule_code: str = "P-B02-B03"):
    return Invitation.objects.filter(rule__code=rule_code)


def test_rule_P_B02_B03_invites_the_employee_once_even_if_the_trigger_repeats(citizen):
    employer = UserFactory(enterprise=True)
    filing = _termination(employer, citizen.resident_id, name=citizen.real_name)

    invitation = _invitations().get()
    assert invitation.user == citizen
    assert invitation.trigger_key == f"application:{filing.reference}"
    messages = Notification.objects.filter(recipient=citizen, link__contains=invitation.token)
    assert set(messages.values_list("channel", flat=True)) >= {"in_app", "sms"}
    sent = messages.count()

    # The trigger repeats: the hook again (a resubmission), the daily catch-up, the beat run.
    on_submission(filing)
    invitations_send(_rule("P-B02-B03"))
    proactive_run()
    assert _invitations().count() == 1
    assert (
        Notification.objects.filter(recipient=citizen)
        .filter(link__contains=invitation.token)
        .count()
        == sent
    )

    # A second filing is a new trigger: the employee is invited for it too.
    _termination(employer, citizen.resident_id, name=citizen.real_name)
    assert _invitations().count() == 2


def test_an_employee_without_an_account_gets_the_invitation_by_sms_to_the_number_filed(client):
    number = generated_resident_id()
    _termination(UserFactory(enterprise=True), number, phone="13912340000")
    invitation = _invitations().get()
    assert invitation.user is None
    message = Notification.objects.get(recipient=None)
    assert (message.channel, message.phone) == ("sms", "13912340000")
    assert invitation.token in message.body
    # The link opens for an account proven to hold that ID number, not for one that only typed it.
    link = f"/invitations/{invitation.token}/"
    client.force_login(UserFactory(citizen=True, unverified=True, resident_id=number))
    assert client.get(link).status_code == 404
    client.force_login(UserFactory(citizen=True, resident_id=number))
    assert client.get(link).status_code == 200
    # Unreachable (no account, no phone): not invited, counted as such by the dry run.
    _termination(UserFactory(enterprise=True), generated_resident_id(), phone="")
    assert _invitations().count() == 1


def test_a_rule_in_dry_run_sends_nothing_and_reports_its_count(citizen):
    rule = _rule("P-B02-B03")
    rule.status = RuleStatus.DRY_RUN
    rule.save()
    employer = UserFactory(enterprise=True)
    _termination(employer, citizen.resident_id, name=citizen.real_name)
    _termination(employer, generated_resident_id(), name="赵员工", phone="13912340001")
    before = Notification.objects.count()

    preview = rule_dry_run(rule)
    assert preview.count == 2
    assert invitations_send(rule) == 0
    assert "P-B02-B03" not in proactive_run()  # only rules that are on run
    assert not _invitations().exists()
    assert Notification.objects.count() == before
    # The sample is masked: no full ID number, no full name.
    masked = {s["id_number"] for s in preview.sample}
    assert citizen.resident_id not in masked
    assert any(s.startswith(citizen.resident_id[:6]) and "*" in s for s in masked)
    assert "赵员工" not in {s["name"] for s in preview.sample}

    # Switched on, the same people are invited (once), and the preview then counts nobody.
    rule.status = RuleStatus.ON
    rule.save()
    assert invitations_send(rule) == 2
    assert invitations_send(rule) == 0
    assert rule_dry_run(rule).count == 0


def test_an_opt_out_is_respected(client, citizen):
    employer = UserFactory(enterprise=True)
    _termination(employer, citizen.resident_id, name=citizen.real_name)
    invitation = _invitations().get()
    client.force_login(citizen)
    response = client.post(f"/invitations/{invitation.token}/", {"opt_out": "rule"})
    assert response.status_code == 302
    assert OptOut.objects.filter(person_hash=invitation.person_hash, rule=invitation.rule).exists()

    _termination(employer, citizen.resident_id, name=citizen.real_name)
    assert _invitations().count() == 1
    assert rule_dry_run(_rule("P-B02-B03")).count == 0


def test_the_invited_citizens_new_B03_application_is_pre_filled(client, citizen, other_citizen):
    employer = UserFactory(enterprise=True)
    _termination(employer, citizen.resident_id, name=citizen.real_name)
    invitation = _invitations().get()
    link = f"/invitations/{invitation.token}/"

    client.force_login(other_citizen)
    assert client.get(link).status_code == 404
    client.force_login(citizen)
    page = client.get(link)
    assert page.status_code == 200
    assert 'data-testid="invitation"' in page.content.decode()
    response = client.post(link, {"start_key": "4b0b4f0e-1c0e-4a59-9d2b-2d1b1f6c0a01"})
    assert response.status_code == 302
    invitation.refresh_from_db()
    application = invitation.application
    assert application is not None and application.bundle.code == "B03"
    assert application.applicant == citizen
    assert invitation.started_at is not None
    assert application.form_data["termination_date"] == "2026-11-20"
    assert application.form_data["last_employer_name"] == employer.real_name
    assert application.form_data["termination_reason"]
    # Following the link again opens the same draft.
    assert client.post(link, {"start_key": "4b0b4f0e-1c0e-4a59-9d2b-2d1b1f6c0a02"}).url == (
        response.url
    )

    # The form page shows the answers already known.
    _answer_no(application, citizen)
    form = client.get(f"/applications/{application.reference}/form/").content.decode()
    assert 'value="2026-11-20"' in form
    assert employer.real_name in form


def test_the_funnel_equals_direct_counts(client, citizen, other_citizen):
    employer = UserFactory(enterprise=True)
    for person in (citizen, other_citizen):
        _termination(employer, person.resident_id, name=person.real_name)
    _termination(employer, generated_resident_id(), phone="13912340002")
    started = _invitations().get(user=citizen)
    client.force_login(citizen)
    client.post(f"/invitations/{started.token}/", {"start_key": ""})
    started.refresh_from_db()
    _answer_no(started.application, citizen)
    submit(complete(started.application, citizen))
    client.force_login(other_citizen)
    other = _invitations().get(user=other_citizen)
    client.post(f"/invitations/{other.token}/", {"start_key": ""})

    today = timezone.localdate()
    rows = {row.rule.code: row for row in invitation_funnel(today - timedelta(days=7), today)}
    invitations = _invitations()
    direct = (
        invitations.count(),
        invitations.filter(started_at__isnull=False).count(),
        invitations.filter(application__submitted_at__isnull=False).count(),
    )
    row = rows["P-B02-B03"]
    assert (row.invited, row.started, row.submitted) == direct == (3, 2, 1)
    assert (rows["P-B07-AGE"].invited, rows["P-B07-AGE"].submitted) == (0, 0)
    # Nothing sent before the period.
    earlier = {r.rule.code: r for r in invitation_funnel(date(2020, 1, 1), date(2020, 1, 31))}
    assert earlier["P-B02-B03"].invited == 0

    client.force_login(UserFactory(supervisor=True))
    page = client.get("/supervision/invitations/").content.decode()
    assert 'data-rule="P-B02-B03" data-invited="3" data-started="2" data-submitted="1"' in page


def _born(years_ago: int, days_later: int, *, man: bool) -> str:
    today = timezone.localdate()
    born = today.replace(year=today.year - years_ago) + timedelta(days=days_later)
    first17 = f"321002{born:%Y%m%d}01{1 if man else 2}"
    return first17 + resident_id_check_char(first17)


def test_rule_P_B07_AGE_reminds_insured_people_reaching_the_retirement_age():
    rule = _rule("P-B07-AGE")
    soon_man = UserFactory(citizen=True, resident_id=_born(60, 30, man=True))
    soon_woman = UserFactory(citizen=True, resident_id=_born(55, 10, man=False))
    uninsured = UserFactory(citizen=True, resident_id=_born(60, 20, man=True))
    later = UserFactory(citizen=True, resident_id=_born(60, 200, man=True))
    for person in (soon_man, soon_woman, later):
        on_record(person)
    assert uninsured and rule.status == RuleStatus.DRY_RUN

    assert rule_dry_run(rule).count == 2
    assert invitations_send(rule) == 0  # dry run
    rule.status = RuleStatus.ON
    rule.save()
    assert invitations_send(rule) == 2
    assert invitations_send(rule) == 0
    invited = _invitations("P-B07-AGE")
    assert set(invited.values_list("user", flat=True)) == {soon_man.pk, soon_woman.pk}
    mine = invited.get(user=soon_man)
    assert mine.prefill["retiree_id_number"] == soon_man.resident_id
    assert Notification.objects.filter(recipient=soon_man, link__contains=mine.token).exists()


def test_rule_P_B07_AGE_decrypts_only_the_numbers_of_people_born_on_its_windows_days(
    monkeypatch,
):
    """The daily run reads the insured born on the 91 days of its window (their month and day
    of birth is kept beside the encrypted number), not every insured citizen's number."""
    from kuaiban.accounts import crypto

    rule = _rule("P-B07-AGE")
    soon = UserFactory(citizen=True, resident_id=_born(60, 30, man=True))
    others = [UserFactory(citizen=True, resident_id=_born(60, d, man=True)) for d in (120, 200)]
    for person in (soon, *others):
        on_record(person)
    decrypted: list[str] = []
    real = crypto.decrypt

    def counted(token: str) -> str:
        decrypted.append(real(token))
        return decrypted[-1]

    monkeypatch.setattr(crypto, "decrypt", counted)
    (found,) = rule_candidates(rule)
    assert found.user == soon and soon.resident_id in decrypted
    assert not {p.resident_id for p in others} & set(decrypted)  # nobody else's number read


def test_rule_P_B07_AGE_invites_one_born_on_29_february_for_1_march_of_a_common_year():
    rule = _rule("P-B07-AGE")  # women: 55
    first17 = "32100219680229012"  # a woman born on 29 February 1968: 55 in 2023
    woman = UserFactory(citizen=True, resident_id=first17 + resident_id_check_char(first17))
    on_record(woman)
    assert woman.birth_monthday == 229
    (found,) = rule_candidates(rule, date(2023, 2, 10))  # the window reaches into May
    assert (found.user, found.trigger_key) == (woman, "age:2023-03-01")
    assert rule_candidates(rule, date(2023, 3, 2)) == []  # the day has passed


def test_the_month_and_day_of_birth_follow_the_id_number():
    first17 = "32100219761105011"
    citizen = UserFactory(citizen=True, resident_id=first17 + resident_id_check_char(first17))
    assert citizen.birth_monthday == 1105
    first17 = "32100219800704011"
    citizen.set_resident_id(first17 + resident_id_check_char(first17))
    citizen.save(update_fields=["resident_id", "resident_id_hash"])
    citizen.refresh_from_db()
    assert citizen.birth_monthday == 704
    citizen.set_resident_id("")
    citizen.save()
    citizen.refresh_from_db()
    assert citizen.birth_monthday is None


def test_the_admin_previews_a_rule_before_it_is_switched_on(client, citizen):
    """The dry-run action in the admin: the count it reports, nothing sent."""
    rule = _rule("P-B02-B03")
    rule.status = RuleStatus.DRY_RUN
    rule.save()
    _termination(UserFactory(enterprise=True), citizen.resident_id, name=citizen.real_name)
    admin = UserFactory(role="administrator", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/proactive/invitationrule/",
        {"action": "dry_run", "_selected_action": [rule.pk]},
        follow=True,
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("P-B02-B03") and " 1 " in message
    assert citizen.resident_id not in message and citizen.resident_id[:6] in message
    assert not _invitations().exists()


def test_reloading_the_reference_data_keeps_an_administrators_rule_and_restores_a_missing_one():
    from django.core.management import call_command

    InvitationRule.objects.filter(code="P-B02-B03").update(status=RuleStatus.OFF, lead_days=3)
    InvitationRule.objects.filter(code="P-B07-AGE").delete()
    call_command("load_reference_data", verbosity=0)
    kept = _rule("P-B02-B03")
    assert (kept.status, kept.lead_days) == (RuleStatus.OFF, 3)
    assert _rule("P-B07-AGE").status == RuleStatus.DRY_RUN


def test_a_rule_is_checked_before_it_is_saved_in_the_admin():
    from django.core.exceptions import ValidationError

    rule = _rule("P-B02-B03")
    rule.full_clean()  # the shipped rules are valid
    _rule("P-B07-AGE").full_clean()
    rule.person_id_field = "no_such_field"
    rule.message_zh = "{name} {unknown}"
    rule.prefill = {"termination_date": "form:nothing", "last_employer_name": "applicant:name"}
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert set(refused.value.message_dict) == {"person_id_field", "message_zh", "prefill"}
    assert "form:nothing" in refused.value.message_dict["prefill"][0]


def test_a_death_registration_invites_the_family_member_who_registered_it(citizen):
    """Rules P-B09-DEATH and P-B08-DEATH: a death registered lately invites its informant, to
    B09 when the death was not at work, to B08 when it was; an old death invites nobody."""
    from kuaiban.shareddata.kinds import DataKind
    from kuaiban.shareddata.services import reference_records_load

    rule = _rule("P-B09-DEATH")
    rule.full_clean()
    today = timezone.localdate()
    deceased, long_ago = generated_resident_id(birth="19400101"), generated_resident_id()
    at_work = generated_resident_id(birth="19800101")
    informant = {
        "informant_id_number": citizen.resident_id,
        "informant_name": citizen.real_name,
        "informant_phone": citizen.phone,
    }
    died = {"date_of_death": f"{today}", "work_related": "no"}
    reference_records_load(
        DataKind.DEATH,
        [
            (
                deceased,
                "MZ-TEST-0001",
                {"name": "周老", "id_number": deceased} | died | informant,
            ),
            (
                long_ago,
                "MZ-TEST-0002",
                {"name": "吴老", "date_of_death": f"{today - timedelta(days=400)}"} | informant,
            ),
            (
                at_work,
                "MZ-TEST-0003",
                {"name": "郑工", "id_number": at_work} | died | {"work_related": "yes"} | informant,
            ),
        ],
    )
    work_rule = _rule("P-B08-DEATH")
    work_rule.full_clean()
    found = rule_candidates(work_rule)
    assert [c.trigger_key for c in found] == ["death:MZ-TEST-0003"]
    assert found[0].prefill == {
        "injured_worker_name": "郑工",
        "injured_worker_id_number": at_work,
        "death_date": f"{today}",
    }
    assert rule_dry_run(rule).count == 1
    assert invitations_send(rule) == 0  # shipped in dry run
    rule.status = RuleStatus.ON
    rule.save()
    assert invitations_send(rule) == 1
    assert invitations_send(rule) == 0
    invitation = _invitations("P-B09-DEATH").get()
    assert (invitation.user, invitation.trigger_key) == (citizen, "death:MZ-TEST-0001")
    assert invitation.prefill == {
        "deceased_name": "周老",
        "deceased_id_number": deceased,
        "death_date": f"{today}",
    }


def test_an_sms_without_an_account_is_delivered_and_listed_masked_in_the_admin(client, settings):
    """The outbox row without a recipient (someone without an account) goes to its phone."""
    from kuaiban.notifications.delivery import notifications_dispatch
    from kuaiban.notifications.sms import MemorySMSBackend

    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notifications.sms.MemorySMSBackend"
    MemorySMSBackend.outbox.clear()
    _termination(UserFactory(enterprise=True), generated_resident_id(), phone="13912340003")
    row = Notification.objects.get(recipient=None)
    notifications_dispatch(ids=[row.pk])
    row.refresh_from_db()
    assert row.status == "sent"
    (sms,) = [m for m in MemorySMSBackend.outbox if m.message_id == row.pk]
    assert sms.phone == "13912340003" and _invitations().get().token in sms.text

    client.force_login(UserFactory(role="administrator", is_staff=True, is_superuser=True))
    page = client.get("/admin/notifications/notification/").content.decode()
    assert "139****0003" in page and "13912340003" not in page
