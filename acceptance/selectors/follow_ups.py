"""The supervision office's view of the follow-ups (好差评): every open one, the escalated and
overdue first; a district supervisor sees those of their district's halls."""

from django.db.models import F, QuerySet

from kuaiban.ratings.models import FollowUp, FollowUpState

OPEN_STATES = (FollowUpState.OPEN, FollowUpState.VERIFIED)


def open_follow_ups(user) -> QuerySet[FollowUp]:
    follow_ups = (
        FollowUp.objects.filter(state__in=OPEN_STATES)
        .select_related("unit", "rating", "item_case__item", "application")
        .order_by(F("escalated_at").asc(nulls_last=True), "answer_due_at", "id")
    )
    if user.district_id:
        follow_ups = follow_ups.filter(application__hall__district_id=user.district_id)
    return follow_ups
