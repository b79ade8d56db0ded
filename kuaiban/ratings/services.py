"""Rating a concluded case (好差评, domain.md §4): once per item case and once for the application
as a whole, within the rating period, never changed afterwards."""

from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import STAFF_ROLES
from kuaiban.cases.models import Application, ApplicationState, CaseState, ItemCase

from .followups import followup_open_for_rating
from .models import (
    STAFF_ENTERED_CHANNELS,
    Channel,
    Grade,
    Rating,
    RatingPolicy,
)
from .selectors import dimensions_for, rating_open_until, rating_targets


def rating_submit(
    *,
    application: Application,
    item_case: ItemCase | None = None,
    grade: int,
    dimensions: Mapping[str, int] | None = None,
    comment: str = "",
    channel: str,
    named: bool = False,
    entered_by=None,
    now: datetime | None = None,
) -> Rating:
    """Store the applicant's rating of a concluded item case (or of the whole application).

    Refused (ValidationError) when the case has not concluded, is not the application's, was
    rated already, or the rating period has passed; and when staff enter a rating through any
    channel but the hotline, or a member of the public claims the hotline channel. The rater is
    the application's applicant; staff see who only if `named`.
    """
    now = now or timezone.now()
    dimensions = dict(dimensions or {})
    if grade not in Grade.values:
        raise ValidationError(_("Choose one of the five grades."))
    allowed = {str(d) for d in dimensions_for(application)}
    if not set(dimensions) <= allowed:
        raise ValidationError(_("These aspects do not apply to this service."))
    if any(value not in Grade.values for value in dimensions.values()):
        raise ValidationError(_("Choose one of the five grades."))
    if channel not in Channel.values:
        raise ValidationError(_("Unknown rating channel."))
    staff_entry = entered_by is not None
    if staff_entry != (channel in STAFF_ENTERED_CHANNELS) or (
        staff_entry and entered_by.role not in STAFF_ROLES
    ):
        # Staff never rate in someone's name unmarked; the public does not use the staff channel.
        raise ValidationError(_("Staff may enter a rating only for a 12345 hotline call."))
    with transaction.atomic():
        # Serialise ratings of one application: the unique constraints are the last word, the
        # lock gives a clean message instead of an integrity error in the common race.
        application = Application.objects.select_for_update(of=("self",)).get(pk=application.pk)
        target = next(
            (
                t
                for t in rating_targets(application, now=now)
                if (t.item_case.pk if t.item_case else None)
                == (item_case.pk if item_case else None)
            ),
            None,
        )
        if target is None:
            raise ValidationError(_refusal(application, item_case, now))
        try:
            with transaction.atomic():
                rating = Rating.objects.create(
                    application=application,
                    item_case=item_case,
                    unit_id=item_case.unit_id if item_case else None,
                    grade=grade,
                    comment=comment.strip(),
                    channel=channel,
                    named=named,
                    entered_by=entered_by,
                    rated_at=now,
                    **dimensions,
                )
        except IntegrityError as error:
            raise ValidationError(_("This has already been rated.")) from error
        if rating.is_bad:
            followup_open_for_rating(rating=rating)
        return rating


def _refusal(application: Application, item_case: ItemCase | None, now: datetime) -> str:
    """Why there is nothing to rate here, in the applicant's words."""
    if item_case is not None and item_case.application_id != application.pk:
        return _("This case is not part of the application.")
    if application.state != ApplicationState.CONCLUDED or (
        item_case is not None and item_case.state != CaseState.CONCLUDED
    ):
        return _("Only a concluded case can be rated.")
    policy = RatingPolicy.current()
    if application.concluded_at and now > rating_open_until(application.concluded_at, policy):
        return _("The rating period of %(days)d days after the conclusion has passed.") % {
            "days": policy.rating_days
        }
    if item_case is None and not application.bundle_id:
        return _("Rate the item itself.")
    return _("This has already been rated.")
