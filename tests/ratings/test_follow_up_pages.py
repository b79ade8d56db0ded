"""The follow-up screens: the unit's queue and steps, the supervision office's list, and the
applicant reading the answer and rating the rectification."""

import pytest
from django.test import Client
from django.urls import reverse

from kuaiban.cases.models import AccessLog
from kuaiban.ratings.models import Channel, FollowUp, FollowUpState
from kuaiban.ratings.services import rating_submit
from tests.builders import concluded, reviewer_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    other = Client()
    other.force_login(user)
    return other


def bad_review(citizen, *, named=False):
    application = concluded(citizen)
    case = application.cases.first()
    return rating_submit(
        application=application,
        item_case=case,
        grade=1,
        channel=Channel.ONLINE,
        comment="窗口排队太久",
        named=named,
    )


def test_the_unit_verifies_and_answers_and_the_applicant_reads_and_rates_it(client, citizen):
    rating = bad_review(citizen)
    follow_up = rating.follow_up
    reviewer = reviewer_of(follow_up.unit.code)
    client.force_login(reviewer)
    queue = client.get(reverse("staff:follow_ups"))
    assert f'data-follow-up="{follow_up.pk}"'.encode() in queue.content
    detail = client.get(reverse("staff:follow_up_detail", args=[follow_up.pk]))
    assert "窗口排队太久".encode() in detail.content
    client.post(
        reverse("staff:follow_up_verify", args=[follow_up.pk]),
        {"contact_note": "查看记录，情况属实", "finding": "justified"},
    )
    client.post(
        reverse("staff:follow_up_answer", args=[follow_up.pk]),
        {"rectification": "高峰时段增开窗口", "answer": "已增开窗口，感谢您的反馈。"},
    )
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.ANSWERED

    client.force_login(citizen)
    reference = rating.application.reference
    status = client.get(reverse("applications:status", args=[reference]))
    assert "已增开窗口，感谢您的反馈。".encode() in status.content
    client.post(
        reverse("applications:rate_rectification", args=[reference, follow_up.pk]), {"grade": "4"}
    )
    follow_up.refresh_from_db()
    assert follow_up.rectification_grade == 4


def test_the_unit_never_sees_who_rated_unless_named(client, citizen):
    citizen.real_name = "赵匿名"
    citizen.save()
    anonymous = bad_review(citizen).follow_up
    client.force_login(reviewer_of(anonymous.unit.code))
    page = client.get(reverse("staff:follow_up_detail", args=[anonymous.pk]))
    assert "赵匿名".encode() not in page.content
    assert anonymous.application.reference.encode() not in page.content
    office = client_for(UserFactory(supervisor=True))
    listing = office.get(reverse("supervision:follow_ups")).content
    assert "赵匿名".encode() not in listing
    assert anonymous.application.reference.encode() not in listing
    assert not AccessLog.objects.filter(kind="named_rater").exists()

    named = bad_review(citizen, named=True).follow_up
    page = client.get(reverse("staff:follow_up_detail", args=[named.pk]))
    assert "赵匿名".encode() in page.content
    # Seeing a named rater's name and number is an access to personal data, and logged.
    logged = AccessLog.objects.get(kind="named_rater")
    assert (logged.object_id, logged.reference) == (str(named.pk), named.application.reference)


def test_another_units_reviewer_cannot_open_the_follow_up(client, citizen):
    follow_up = bad_review(citizen).follow_up
    other = "JYZX" if follow_up.unit.code != "JYZX" else "SBZX"
    client.force_login(reviewer_of(other))
    assert client.get(reverse("staff:follow_up_detail", args=[follow_up.pk])).status_code == 404
    response = client.post(
        reverse("staff:follow_up_verify", args=[follow_up.pk]),
        {"contact_note": "x", "finding": "justified"},
    )
    assert response.status_code == 404
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.OPEN


def test_the_supervision_office_lists_every_open_follow_up(client, citizen):
    follow_up = bad_review(citizen).follow_up
    client.force_login(UserFactory(supervisor=True))
    page = client.get(reverse("supervision:follow_ups"))
    assert f'data-follow-up="{follow_up.pk}"'.encode() in page.content


def test_the_follow_up_pages_run_the_same_queries_for_one_row_or_many(client, citizen):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    follow_up = bad_review(citizen).follow_up
    reviewer = reviewer_of(follow_up.unit.code)
    office = UserFactory(supervisor=True)

    def queries(user, url):
        client.force_login(user)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    one = (queries(reviewer, "/staff/follow-ups/"), queries(office, "/supervision/follow-ups/"))
    for _ in range(4):
        bad_review(UserFactory(citizen=True))
    many = (queries(reviewer, "/staff/follow-ups/"), queries(office, "/supervision/follow-ups/"))
    assert FollowUp.objects.filter(unit=follow_up.unit).count() == 5
    assert one == many


def test_supervisors_see_where_the_follow_ups_stand_equal_to_direct_counts(client, citizen):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from kuaiban.ratings.selectors import follow_up_counts

    for _ in range(3):
        bad_review(UserFactory(citizen=True))
    answered = bad_review(citizen).follow_up
    reviewer = reviewer_of(answered.unit.code)
    from kuaiban.ratings.followups import followup_answer, followup_verify

    followup_verify(follow_up=answered, actor=reviewer, contact_note="核实", finding="justified")
    followup_answer(follow_up=answered, actor=reviewer, rectification="整改", answer="已整改")
    later = timezone.now() + timedelta(days=30)
    with time_machine.travel(later):
        counts = follow_up_counts()
        assert (counts.open, counts.overdue) == (3, 3)
        assert counts.open == FollowUp.objects.filter(state__in=["open", "verified"]).count()
        client.force_login(UserFactory(supervisor=True))
        for url in ("/supervision/", "/supervision/dashboard/"):
            page = client.get(url).content.decode()
            assert 'data-testid="follow-up-counts"' in page
            assert "3" in page.split('data-testid="follow-up-counts"')[1][:600]
