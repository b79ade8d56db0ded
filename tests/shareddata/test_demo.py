"""The demo's LOCAL sources: `setup_demo` fills them so its sample applicants' shared materials
are found."""

import pytest
from django.core.management import call_command

from bundles.services import submission
from kuaiban.accounts.models import User
from kuaiban.shareddata.models import FetchStatus
from tests.builders import ready_application, single_item_ready

pytestmark = pytest.mark.django_db


def test_setup_demo_puts_the_sample_applicants_shared_data_on_record(capsys):
    call_command("setup_demo")
    capsys.readouterr()
    citizen = User.objects.get(username="citizen")
    enterprise = User.objects.get(username="enterprise")
    for application, expected in [
        (ready_application(citizen, "B07"), {"M-ID", "M-BANK"}),
        # B08's first stage decides the injury the second stage needs: found in the application
        (ready_application(citizen, "B08"), {"M-ID", "M-BANK", "M-INJURY-DECISION"}),
        (single_item_ready("SI-001", enterprise), {"M-LICENCE"}),
    ]:
        applicant = application.applicant
        fetched = submission.shared_data_fetch(
            application=application, actor=applicant, consented=True
        )
        assert {r.material.code for r in fetched} >= expected
        assert {r.status for r in fetched if r.material.code in expected} == {FetchStatus.FOUND}


def test_setup_demo_gives_its_generated_graduate_an_education_record_that_invites_to_B04(
    capsys, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from kuaiban.accounts.identity import resident_id_check_char
    from kuaiban.accounts.services import identity_verify
    from kuaiban.proactive.models import Invitation
    from tests.factories import UserFactory

    call_command("setup_demo")
    assert "刘晓燕" in capsys.readouterr().out
    first17 = "32100220000701903"  # the demo's generated person 刘晓燕 (born 2000-07-01)
    registrant = UserFactory(
        citizen=True,
        unverified=True,
        real_name="刘晓燕",
        resident_id=first17 + resident_id_check_char(first17),
        phone_verified_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        account = identity_verify(user=registrant).account
    invitation = Invitation.objects.get(rule__code="P-B04-GRADUATE", user=account)
    assert invitation.prefill["graduate_school"] == "扬州大学"
