"""The applicant's 好差评 pages: the invitation on the status page, the rating page, and the
link in the conclusion SMS that works without logging in."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from kuaiban.notifications.models import Notification
from kuaiban.ratings.links import rating_token
from kuaiban.ratings.models import Channel, Rating
from tests.builders import clerk_of, concluded, submitted

pytestmark = pytest.mark.django_db


def test_the_status_page_of_a_concluded_application_invites_a_rating(client, citizen):
    application = concluded(citizen)
    client.force_login(citizen)
    page = client.get(reverse("applications:status", args=[application.reference]))
    assert b'data-testid="rate-invitation"' in page.content


def test_a_citizen_rates_the_whole_application_and_gets_a_confirmation(client, citizen):
    application = concluded(citizen)
    client.force_login(citizen)
    url = reverse("applications:rate", args=[application.reference])
    response = client.post(
        url,
        {"target": "all", "grade": "2", "efficiency": "1", "comment": "等了很久", "named": "on"},
        follow=True,
    )
    rating = Rating.objects.get(application=application, item_case=None)
    assert (rating.grade, rating.efficiency, rating.channel, rating.named) == (2, 1, "online", True)
    assert rating.entered_by is None
    assert f"{application.reference}".encode() in response.content
    assert f"{rating.pk}".encode() in response.content  # the rating's number
    # The whole is rated; only the item cases are left.
    second = client.post(url, {"target": "all", "grade": "5"})
    assert second.status_code == 200
    assert Rating.objects.filter(application=application).count() == 1


def test_a_bad_input_keeps_what_was_typed(client, citizen):
    application = concluded(citizen)
    client.force_login(citizen)
    response = client.post(
        reverse("applications:rate", args=[application.reference]),
        {"target": "all", "comment": "服务态度一般"},  # no grade
    )
    assert response.status_code == 200
    assert "服务态度一般".encode() in response.content
    assert not Rating.objects.exists()


def test_someone_elses_application_cannot_be_rated(client, citizen, other_citizen):
    application = concluded(other_citizen)
    client.force_login(citizen)
    url = reverse("applications:rate", args=[application.reference])
    assert client.get(url).status_code == 404
    assert client.post(url, {"target": "all", "grade": "1"}).status_code == 404
    assert not Rating.objects.exists()


def test_an_open_application_has_nothing_to_rate(client, citizen):
    application = submitted("B10", citizen)
    client.force_login(citizen)
    page = client.get(reverse("applications:rate", args=[application.reference]))
    assert b'data-testid="nothing-to-rate"' in page.content


def test_the_conclusion_sms_carries_a_link_that_rates_without_logging_in(client, citizen):
    application = concluded(citizen)
    texts = Notification.objects.filter(
        recipient=citizen, channel=Notification.Channel.SMS, subject__contains=application.reference
    ).values_list("body", flat=True)
    links = [m for text in texts if (m := re.search(r"https?://\S+/rate/([^/\s]+)/", text))]
    assert len(links) == 1, list(texts)
    link = links[0]
    response = client.post(f"/rate/{link.group(1)}/", {"target": "all", "grade": "5"})
    assert response.status_code == 302
    rating = Rating.objects.get(application=application, item_case=None)
    assert rating.channel == "sms_link"


def test_a_tampered_or_expired_link_is_not_found(client, citizen):
    application = concluded(citizen)
    token = rating_token(application)
    assert client.get(f"/rate/{token}x/").status_code == 404
    with time_machine.travel(timezone.now() + timedelta(days=17)):
        assert client.get(f"/rate/{token}/").status_code == 404


def test_the_window_shows_a_qr_code_whose_link_rates_as_a_window_rating(client, citizen):
    application = concluded(citizen)
    clerk = clerk_of("BUNDLE")
    client.force_login(clerk)
    page = client.get(reverse("staff:intake_application", args=[application.reference]))
    assert b'data-testid="rating-qr"' in page.content and b"<svg" in page.content
    client.logout()
    token = rating_token(application, Channel.WINDOW)
    client.post(f"/rate/{token}/", {"target": "all", "grade": "5", "attitude": "5"})
    assert Rating.objects.get(application=application).channel == "window"


def test_a_hotline_rating_typed_in_by_the_clerk_is_marked_as_theirs(client, citizen):
    application = concluded(citizen)
    clerk = clerk_of("BUNDLE")
    client.force_login(clerk)
    client.post(
        reverse("staff:intake_hotline_rating", args=[application.reference]),
        {"target": "all", "grade": "2", "comment": "热线反映：等候时间长"},
    )
    rating = Rating.objects.get(application=application)
    assert (rating.channel, rating.entered_by, rating.grade) == ("hotline", clerk, 2)
    assert rating.follow_up.kind == "bad_review"


def test_a_link_for_another_channel_or_a_forged_payload_is_not_found(client, citizen):
    from django.core import signing

    from kuaiban.ratings.links import SALT

    application = concluded(citizen)
    forged = signing.dumps({"a": application.pk, "c": "hotline"}, salt=SALT, compress=True)
    assert client.get(f"/rate/{forged}/").status_code == 404
    old_style = signing.dumps(application.pk, salt=SALT, compress=True)
    assert client.get(f"/rate/{old_style}/").status_code == 404
