"""Results out together (统一出件), by the channel the applicant chose: a download is delivered as
the application concludes (`documents.services.delivery_open`); at the window the clerk confirms
the hand-over; a posting is delivered only once its carrier and tracking number are recorded
(the rule; a database CHECK keeps it too). Clerks act only for their windows' applications."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kuaiban.cases.events import record_event
from kuaiban.cases.models import Application, ApplicationState, EventAction, VisitKind
from kuaiban.cases.visits import visit_count
from kuaiban.documents.models import ResultDelivery
from kuaiban.documents.services import delivery_open

from .guards import lock_application, notify_applicant, require_window_clerk

# Domestic EMS and registered mail: 13 digits, or the UPU S10 form (EA123456789CN); SF Express:
# SF and 12 to 15 digits.
TRACKING_SHAPES = {
    ResultDelivery.Carrier.EMS: re.compile(r"^(?:\d{13}|[A-Z]{2}\d{9}[A-Z]{2})$"),
    ResultDelivery.Carrier.POST: re.compile(r"^(?:\d{13}|[A-Z]{2}\d{9}[A-Z]{2})$"),
    ResultDelivery.Carrier.SF: re.compile(r"^SF\d{12,15}$"),
}


def tracking_number_normalized(carrier: str, typed: str) -> str:
    """The tracking number as the carrier prints it, or a ValidationError naming the shape."""
    number = "".join((typed or "").split()).upper()
    shape = TRACKING_SHAPES.get(carrier)  # type: ignore[call-overload]
    if shape is None:
        raise ValidationError(_("Choose the carrier."), code="carrier")
    if not shape.match(number):
        raise ValidationError(
            _("This is not a tracking number of %(carrier)s.")
            % {"carrier": ResultDelivery.Carrier(carrier).label},
            code="tracking_number",
        )
    return number


def _delivery_to_record(application: Application, actor, channel: str) -> ResultDelivery:
    application = lock_application(application)
    require_window_clerk(application, actor)
    if application.state != ApplicationState.CONCLUDED:
        raise ValidationError(_("The results go out once the application has concluded."))
    delivery = ResultDelivery.objects.select_for_update().filter(application=application).first()
    delivery = delivery or delivery_open(application)
    if delivery.channel != channel:
        raise ValidationError(
            _("The applicant chose another way to receive the results: %(channel)s.")
            % {"channel": delivery.get_channel_display()}
        )
    if delivery.delivered_at is not None:
        raise ValidationError(_("The results have already been delivered."))
    return delivery


@transaction.atomic
def results_handed_over(*, application: Application, actor) -> ResultDelivery:
    """The clerk of the window confirms that the applicant picked the results up."""
    delivery = _delivery_to_record(application, actor, Application.Delivery.PICKUP)
    delivery.delivered_at, delivery.delivered_by = timezone.now(), actor
    delivery.save(update_fields=["delivered_at", "delivered_by"])
    record_event(
        application=delivery.application, action=EventAction.RESULTS_HANDED_OVER, actor=actor
    )
    visit_count(application=delivery.application, kind=VisitKind.PICKUP, actor=actor)
    return delivery


@transaction.atomic
def results_posted(
    *, application: Application, actor, carrier: str, tracking_number: str
) -> ResultDelivery:
    """The clerk records the carrier and the tracking number: only then are posted results
    delivered, and the applicant is told where to follow them."""
    number = tracking_number_normalized(carrier, tracking_number)
    delivery = _delivery_to_record(application, actor, Application.Delivery.MAIL)
    delivery.carrier, delivery.tracking_number = carrier, number
    delivery.delivered_at, delivery.delivered_by = timezone.now(), actor
    delivery.save(update_fields=["carrier", "tracking_number", "delivered_at", "delivered_by"])
    application = delivery.application
    with translation.override(settings.LANGUAGE_CODE):  # stored text: the portal's language
        label = delivery.get_carrier_display()
    record_event(
        application=application,
        action=EventAction.RESULTS_POSTED,
        actor=actor,
        reason=f"{label} {number}",
        data={"carrier": carrier, "tracking_number": number},
    )
    notify_applicant(
        application,
        _("Application %(reference)s: results posted") % {"reference": application.reference},
        _(
            "The results of your application %(reference)s were posted: %(carrier)s, "
            "tracking number %(number)s."
        )
        % {"reference": application.reference, "carrier": label, "number": number},
    )
    return delivery
