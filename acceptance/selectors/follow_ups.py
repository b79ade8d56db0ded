"""The supervision office's view of the follow-ups (好差评): every open one, the escalated and
overdue first; a district supervisor sees those of their district's halls."""

from django.db.models import F, QuerySet

from kuaiban.ratings.models import FollowUp, FollowUpState

OPEN_STATES = (FollowUpState.OPEN, FollowUpState.VERIFIED, FollowUpState.APPEALED)


def open_follow_ups(user) -> QuerySet[FollowUp]:
    """Not yet answered or closed: the appeals to decide, the escalated and the rest."""
    follow_ups = (
        FollowUp.objects.filter(state__in=OPEN_STATES)
        .select_related(
            "unit", "rating", "item_case__item", "application__bundle", "application__item"
        )
        .order_by(
            F("appeal_due_at").asc(nulls_last=True),
            F("escalated_at").asc(nulls_last=True),
            "answer_due_at",
            "id",
        )
    )
    if user.district_id:
        follow_ups = follow_ups.filter(application__hall__district_id=user.district_id)
    return follow_ups


def follow_up_for_office(user, follow_up_id: int) -> FollowUp | None:
    """An appealed follow-up the supervision office may decide; None otherwise."""
    if not user.is_supervision_office:
        return None
    return FollowUp.objects.filter(pk=follow_up_id, state=FollowUpState.APPEALED).first()
