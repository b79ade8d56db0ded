"""Results out together by the applicant's channel: download (delivered at the conclusion),
pick-up (the window's clerk confirms), mail (delivered only with its tracking number)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from bundles.services import delivery
from kuaiban.cases.models import Application, CaseEvent, EventAction
from kuaiban.documents.models import ResultDelivery
from kuaiban.notifications.models import Notification
from tests.builders import accepted, approved, case_of, single_item_submitted

pytestmark = pytest.mark.django_db


def _concluded(citizen, clerk, reviewer_of, **fields) -> Application:
    application = single_item_submitted("LR-002", citizen)
    Application.objects.filter(pk=application.pk).update(**fields)
    application = accepted(application, clerk)
    case = case_of(application)
    approved(case, reviewer_of(case.unit.code))
    application.refresh_from_db()
    assert application.state == "concluded"
    return application


def test_rule_posted_results_are_delivered_only_once_the_tracking_number_is_recorded(
    citizen, clerk_of, reviewer_of
):
    clerk = clerk_of("LABOUR")
    application = _concluded(
        citizen, clerk, reviewer_of, delivery="mail", delivery_address="江苏省南通市崇川区某路1号"
    )
    record = ResultDelivery.objects.get(application=application)
    assert record.channel == "mail" and record.delivered_at is None
    # not a hand-over, and not without a valid number for the carrier
    with pytest.raises(ValidationError):
        delivery.results_handed_over(application=application, actor=clerk)
    for carrier, number in (("sf", "12345"), ("ems", "SF1234567890123"), ("", "1234567890123")):
        with pytest.raises(ValidationError):
            delivery.results_posted(
                application=application, actor=clerk, carrier=carrier, tracking_number=number
            )
    record.refresh_from_db()
    assert record.delivered_at is None and record.tracking_number == ""
    # nothing else can mark it delivered without the number either
    with pytest.raises(IntegrityError), transaction.atomic():
        ResultDelivery.objects.filter(pk=record.pk).update(delivered_at=timezone.now())
    delivery.results_posted(
        application=application, actor=clerk, carrier="ems", tracking_number="ea 123456789 cn"
    )
    record.refresh_from_db()
    assert record.delivered_at and record.tracking_number == "EA123456789CN"
    assert record.carrier == "ems" and record.delivered_by == clerk
    event = CaseEvent.objects.get(application=application, action=EventAction.RESULTS_POSTED)
    assert event.data == {"carrier": "ems", "tracking_number": "EA123456789CN"}
    assert any("EA123456789CN" in n.body for n in Notification.objects.filter(recipient=citizen))
    with pytest.raises(ValidationError):  # once
        delivery.results_posted(
            application=application, actor=clerk, carrier="sf", tracking_number="SF123456789012"
        )


def test_rule_a_pick_up_is_confirmed_by_a_clerk_of_the_window(citizen, clerk_of, reviewer_of):
    clerk = clerk_of("LABOUR")
    application = _concluded(citizen, clerk, reviewer_of, delivery="pickup")
    with pytest.raises(PermissionDenied):
        delivery.results_handed_over(application=application, actor=clerk_of("SOCIAL"))
    with pytest.raises(ValidationError):  # not posted
        delivery.results_posted(
            application=application, actor=clerk, carrier="sf", tracking_number="SF123456789012"
        )
    delivery.results_handed_over(application=application, actor=clerk)
    record = ResultDelivery.objects.get(application=application)
    assert record.delivered_at and record.delivered_by == clerk
    assert (
        CaseEvent.objects.filter(
            application=application, action=EventAction.RESULTS_HANDED_OVER
        ).count()
        == 1
    )


def test_rule_results_go_out_only_after_the_conclusion(citizen, clerk_of):
    clerk = clerk_of("LABOUR")
    application = single_item_submitted("LR-002", citizen)
    Application.objects.filter(pk=application.pk).update(delivery="pickup")
    application = accepted(application, clerk)
    with pytest.raises(ValidationError):
        delivery.results_handed_over(application=application, actor=clerk)
    assert not ResultDelivery.objects.filter(application=application).exists()


def test_a_download_is_delivered_at_the_conclusion(citizen, clerk_of, reviewer_of):
    application = _concluded(citizen, clerk_of("LABOUR"), reviewer_of, delivery="download")
    assert ResultDelivery.objects.get(application=application).delivered_at is not None


def test_the_clerks_page_has_the_tracking_form_and_records_the_posting(
    citizen, clerk_of, reviewer_of
):
    clerk = clerk_of("LABOUR")
    application = _concluded(citizen, clerk, reviewer_of, delivery="mail")
    client = Client()
    client.force_login(clerk)
    page = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'data-testid="tracking-form"' in page and 'data-testid="document-download"' in page
    assert 'data-testid="pickup-form"' not in page
    response = client.post(
        f"/staff/intake/{application.reference}/posted/",
        {"carrier": "sf", "tracking_number": "SF1234567890123"},
    )
    assert response.status_code == 302
    page = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'data-testid="tracking-form"' not in page and "SF1234567890123" in page
    owner = Client()
    owner.force_login(citizen)
    status = owner.get(f"/applications/{application.reference}/").content.decode()
    assert 'data-testid="tracking-number"' in status and "SF1234567890123" in status


def test_the_clerks_pick_up_form(citizen, clerk_of, reviewer_of):
    clerk = clerk_of("LABOUR")
    application = _concluded(citizen, clerk, reviewer_of, delivery="pickup")
    client = Client()
    client.force_login(clerk)
    page = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'data-testid="pickup-form"' in page
    client.post(f"/staff/intake/{application.reference}/handed-over/")
    assert ResultDelivery.objects.get(application=application).delivered_at is not None
