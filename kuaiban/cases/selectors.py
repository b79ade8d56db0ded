"""Reads of applications that every app shares."""

from django.db.models import QuerySet

from .models import EDITABLE_APPLICATION_STATES, Application


def unfinished_applications(person) -> QuerySet[Application]:
    """The person's own online drafts and returned applications, newest first (继续办理). The
    window's drafts are the clerk's to fill, not the applicant's."""
    return (
        Application.objects.filter(
            applicant=person,
            state__in=EDITABLE_APPLICATION_STATES,
            channel=Application.Channel.ONLINE,
        )
        .select_related("bundle", "item")
        .order_by("-created_at")
    )
