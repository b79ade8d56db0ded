"""好差评 ratings (domain.md §4): a concluded case, and a bundle as a whole, can be rated once,
within the rating period, never changed; staff enter ratings only as marked hotline entries."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from kuaiban.ratings.models import Channel, Grade, Rating, RatingPolicy
from kuaiban.ratings.selectors import rating_targets
from kuaiban.ratings.services import rating_submit
from tests.builders import TUESDAY_10AM, concluded, submitted
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_concluded_bundle_offers_each_case_and_the_whole_for_rating():
    application = concluded(when=TUESDAY_10AM)
    targets = rating_targets(application, now=TUESDAY_10AM + timedelta(hours=1))
    cases = set(application.cases.values_list("pk", flat=True))
    assert [t.item_case for t in targets if t.item_case is None] == [None]
    assert {t.item_case.pk for t in targets if t.item_case} == cases


def test_rule_a_case_is_rated_once_and_a_second_rating_is_refused():
    application = concluded()
    case = application.cases.first()
    rating_submit(
        application=application, item_case=case, grade=Grade.SATISFIED, channel=Channel.ONLINE
    )
    with pytest.raises(ValidationError):
        rating_submit(
            application=application,
            item_case=case,
            grade=Grade.VERY_DISSATISFIED,
            channel=Channel.ONLINE,
        )
    assert Rating.objects.get(item_case=case).grade == Grade.SATISFIED


def test_rule_the_whole_application_is_rated_once_beside_its_cases():
    application = concluded()
    rating_submit(application=application, grade=Grade.VERY_SATISFIED, channel=Channel.SMS_LINK)
    with pytest.raises(ValidationError):
        rating_submit(application=application, grade=Grade.SATISFIED, channel=Channel.ONLINE)
    case = application.cases.first()
    rating_submit(application=application, item_case=case, grade=3, channel=Channel.ONLINE)
    assert Rating.objects.filter(application=application).count() == 2


def test_rule_a_rating_after_the_period_is_refused_and_the_case_counts_as_not_rated():
    policy = RatingPolicy.current()
    assert policy.rating_days == 15  # the fixture's default
    application = concluded(when=TUESDAY_10AM)
    inside = TUESDAY_10AM + timedelta(days=15) - timedelta(minutes=1)
    outside = TUESDAY_10AM + timedelta(days=15, minutes=1)
    assert rating_targets(application, now=inside)
    assert rating_targets(application, now=outside) == []
    with pytest.raises(ValidationError) as refused:
        rating_submit(application=application, grade=1, channel=Channel.ONLINE, now=outside)
    assert "15" in str(refused.value)
    assert not Rating.objects.exists()


def test_the_rating_period_is_data_an_administrator_can_change():
    RatingPolicy.objects.filter(code="default").update(rating_days=30)
    application = concluded(when=TUESDAY_10AM)
    rating_submit(
        application=application,
        grade=4,
        channel=Channel.ONLINE,
        now=TUESDAY_10AM + timedelta(days=29),
    )


def test_an_application_not_yet_concluded_cannot_be_rated():
    application = submitted("B10")
    assert rating_targets(application) == []
    with pytest.raises(ValidationError):
        rating_submit(application=application, grade=5, channel=Channel.ONLINE)


def test_a_case_of_another_application_cannot_be_rated_here():
    application, other = concluded(), concluded()
    with pytest.raises(ValidationError):
        rating_submit(
            application=application,
            item_case=other.cases.first(),
            grade=5,
            channel=Channel.ONLINE,
        )


def test_the_dimensions_follow_the_channel_the_service_was_given_through():
    application = concluded()  # applied online: efficiency, guide accuracy, convenience
    assert application.channel == "online"
    with pytest.raises(ValidationError):
        rating_submit(
            application=application, grade=4, channel=Channel.ONLINE, dimensions={"attitude": 4}
        )
    rating = rating_submit(
        application=application,
        grade=4,
        channel=Channel.ONLINE,
        dimensions={"efficiency": 5, "guide_accuracy": 2},
    )
    assert (rating.efficiency, rating.guide_accuracy, rating.attitude) == (5, 2, None)


def test_rule_staff_enter_ratings_only_as_marked_hotline_entries():
    application = concluded()
    clerk = UserFactory(clerk=True)
    with pytest.raises(ValidationError):
        rating_submit(application=application, grade=5, channel=Channel.WINDOW, entered_by=clerk)
    with pytest.raises(ValidationError):
        rating_submit(application=application, grade=5, channel=Channel.HOTLINE)
    with pytest.raises(ValidationError):
        rating_submit(
            application=application,
            grade=5,
            channel=Channel.HOTLINE,
            entered_by=UserFactory(citizen=True),
        )
    rating = rating_submit(
        application=application, grade=2, channel=Channel.HOTLINE, entered_by=clerk
    )
    assert rating.entered_by == clerk


def test_a_rating_cannot_be_changed_or_deleted():
    application = concluded()
    rating = rating_submit(application=application, grade=1, channel=Channel.ONLINE)
    with pytest.raises(TypeError):
        rating.save()
    with pytest.raises(TypeError):
        Rating.objects.update(grade=5)
    with pytest.raises(TypeError):
        rating.delete()
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE ratings_rating SET grade = 5")
    assert Rating.objects.get().grade == 1


def test_the_comment_is_stored_encrypted():
    application = concluded()
    rating_submit(application=application, grade=2, channel=Channel.ONLINE, comment="窗口排队太久")
    with connection.cursor() as cursor:
        cursor.execute("SELECT comment FROM ratings_rating")
        (stored,) = cursor.fetchone()
    assert "排队" not in stored
    assert Rating.objects.get().comment == "窗口排队太久"
