"""Rule INTAKE-FALLBACK: an application whose intake window no active clerk serves is taken in
at the 一窗通办 window, so it never waits forever (issue 16 part 6)."""

import pytest

from bundles.services import intake
from kuaiban.cases.models import Application, ApplicationState
from tests.builders import clerk_of, single_item_submitted

pytestmark = pytest.mark.django_db


def _seen_by(clerk, application) -> bool:
    return Application.objects.filter(Application.taken_in_by(clerk), pk=application.pk).exists()


def test_an_unstaffed_window_s_application_goes_to_the_one_window_clerk(client):
    one_window = clerk_of("BUNDLE", "SOCIAL")
    application = single_item_submitted("LR-002")  # the 劳动关系 window: nobody serves it
    assert _seen_by(one_window, application)
    client.force_login(one_window)
    assert application.reference in client.get("/staff/intake/").content.decode()
    intake.application_accept(application=application, actor=one_window)
    application.refresh_from_db()
    assert application.state == ApplicationState.ACCEPTED


def test_once_the_window_is_staffed_its_own_clerk_takes_it_in():
    one_window, social_only = clerk_of("BUNDLE", "SOCIAL"), clerk_of("SOCIAL")
    application = single_item_submitted("LR-002")
    labour = clerk_of("LABOUR")
    assert _seen_by(labour, application)
    assert not _seen_by(one_window, application)
    assert not _seen_by(social_only, application)  # only the 一窗通办 window stands in
    labour.is_active = False
    labour.save()
    assert _seen_by(one_window, application)
