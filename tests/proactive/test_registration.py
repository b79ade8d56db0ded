"""P-B04-GRADUATE (kuaiban/proactive, trigger on_registration): a citizen whose account becomes
real-name verified is looked up in the education source (学历信息, LOCAL records); a graduate of
the last two years is invited to B04 once, with the school, major and graduation date filled in."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from kuaiban.accounts.services import citizen_verified, identity_verify
from kuaiban.notifications.models import Notification
from kuaiban.proactive.models import Invitation, InvitationRule, RuleStatus
from kuaiban.proactive.services import proactive_run, rule_dry_run
from kuaiban.shareddata.kinds import DataKind
from kuaiban.shareddata.services import reference_records_load
from tests.factories import UserFactory, reference_identity

pytestmark = pytest.mark.django_db


def _registrant(graduated_days_ago: int | None):
    """A citizen who registered and proved the phone, in the population register, with (or
    without) a graduation that many days ago in the education source."""
    user = UserFactory(citizen=True, unverified=True, phone_verified_at=timezone.now())
    reference_identity(user)
    if graduated_days_ago is not None:
        graduated = timezone.localdate() - timedelta(days=graduated_days_ago)
        facts = {
            "school": "扬州大学",
            "major": "软件工程",
            "degree": "本科",
            "graduation_date": graduated.isoformat(),
        }
        reference_records_load(DataKind.EDUCATION, [(user.resident_id, f"XL-{user.pk}", facts)])
    return user


def _verify(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return identity_verify(user=user).account


def _invitations():
    return Invitation.objects.filter(rule__code="P-B04-GRADUATE")


def test_rule_P_B04_GRADUATE_invites_a_graduate_who_verifies_once(
    django_capture_on_commit_callbacks,
):
    user = _registrant(graduated_days_ago=150)
    account = _verify(user, django_capture_on_commit_callbacks)

    invitation = _invitations().get()
    assert (invitation.user, invitation.trigger_key) == (account, "registration")
    sent = Notification.objects.filter(recipient=account, link__contains=invitation.token).count()
    assert sent >= 1

    # The announcement repeats, the daily run catches up: still one invitation, no new message.
    with django_capture_on_commit_callbacks(execute=True):
        citizen_verified(account)
    proactive_run()
    assert _invitations().count() == 1
    assert (
        Notification.objects.filter(recipient=account, link__contains=invitation.token).count()
        == sent
    )


@pytest.mark.parametrize("graduated_days_ago", [None, 800])
def test_rule_P_B04_GRADUATE_leaves_out_non_graduates_and_old_graduates(
    graduated_days_ago, django_capture_on_commit_callbacks
):
    user = _registrant(graduated_days_ago)
    _verify(user, django_capture_on_commit_callbacks)
    proactive_run()
    assert not _invitations().exists()


def test_rule_P_B04_GRADUATE_prefills_B04_from_the_education_record(
    client, django_capture_on_commit_callbacks
):
    user = _registrant(graduated_days_ago=30)
    account = _verify(user, django_capture_on_commit_callbacks)
    invitation = _invitations().get()

    client.force_login(account)
    response = client.post(
        f"/invitations/{invitation.token}/", {"start_key": "4b0b4f0e-1c0e-4a59-9d2b-2d1b1f6c0b04"}
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    application = invitation.application
    assert application is not None and application.bundle.code == "B04"
    graduated = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert application.form_data["graduate_school"] == "扬州大学"
    assert application.form_data["major"] == "软件工程"
    assert application.form_data["graduation_date"] == graduated


def test_the_daily_run_catches_up_a_graduate_the_announcement_missed_and_the_dry_run_counts():
    user = _registrant(graduated_days_ago=100)
    # Verified without the announcement (say the subscriber failed): only the daily run finds it.
    UserFactory._meta.model.objects.filter(pk=user.pk).update(
        is_verified=True, verified_at=timezone.now()
    )
    user.refresh_from_db()
    user.set_resident_id(user.resident_id)
    user.save()
    rule = InvitationRule.objects.get(code="P-B04-GRADUATE")
    assert rule.status == RuleStatus.ON
    assert rule_dry_run(rule).count == 1
    assert proactive_run()["P-B04-GRADUATE"] == 1
    assert _invitations().get().user == user
    # Verified longer ago than the catch-up window: not looked up by the daily run.
    late = _registrant(graduated_days_ago=100)
    UserFactory._meta.model.objects.filter(pk=late.pk).update(
        is_verified=True, verified_at=timezone.now() - timedelta(days=30)
    )
    assert rule_dry_run(rule).count == 0


def test_the_education_source_over_http_invites_and_a_source_switched_off_is_not_asked(
    settings, django_capture_on_commit_callbacks
):
    graduated = (timezone.localdate() - timedelta(days=60)).isoformat()
    asked: list[dict] = []

    class Education(BaseHTTPRequestHandler):
        def do_POST(self):
            asked.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            facts = {"school": "南京大学", "major": "法学", "graduation_date": graduated}
            body = json.dumps({"result": "found", "reference": "XX-1", "facts": facts}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Education)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        settings.KUAIBAN_SHARED_DATA_SOURCES = {
            "education": {"provider": "off", "url": url, "token": "t", "timeout": 2}
        }
        _verify(_registrant(graduated_days_ago=None), django_capture_on_commit_callbacks)
        assert asked == [] and not _invitations().exists()

        settings.KUAIBAN_SHARED_DATA_SOURCES["education"]["provider"] = "http"
        account = _verify(_registrant(graduated_days_ago=None), django_capture_on_commit_callbacks)
        assert [(a["kind"], a["subject"]) for a in asked] == [("education", account.resident_id)]
        assert _invitations().get().prefill == {
            "graduate_school": "南京大学",
            "major": "法学",
            "graduation_date": graduated,
        }
    finally:
        server.shutdown()
        server.server_close()


def test_a_registration_rule_names_its_source_and_date_fact_before_it_is_saved():
    from django.core.exceptions import ValidationError

    rule = InvitationRule.objects.get(code="P-B04-GRADUATE")
    rule.full_clean()  # the shipped rule is valid
    rule.source, rule.source_date_fact = "", ""
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert set(refused.value.message_dict) == {"source", "source_date_fact"}


def test_a_graduate_s_first_log_in_through_the_provincial_platform_invites_too(
    django_capture_on_commit_callbacks,
):
    from django.db import transaction

    from kuaiban.accounts import sso
    from tests.factories import generated_resident_id

    number = generated_resident_id(birth="20020304")
    graduated = (timezone.localdate() - timedelta(days=20)).isoformat()
    facts = {"school": "扬州大学", "major": "数学", "graduation_date": graduated}
    reference_records_load(DataKind.EDUCATION, [(number, "XL-SSO", facts)])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outcome = sso.sso_account(
            claims={"sub": "sso-grad", "name": "测试毕业生", "id_number": number}
        )
    assert _invitations().get().user == outcome.account
