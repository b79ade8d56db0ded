import logging
from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban import broker, outbox

from .models import Notification
from .tasks import dispatch

logger = logging.getLogger(__name__)


def notify(
    *,
    recipient,
    subject: str,
    body: str,
    link: str = "",
    channels: Iterable[str] | None = None,
    phone: str = "",
) -> list[Notification]:
    """Queue a message to a user (inside the caller's transaction); it goes out after commit.

    In-app messages are delivered by being written; e-mail and SMS are queued for Celery. An SMS
    goes to `phone` when given (a number confirmed at the window, a number being proven by a
    code), otherwise to the recipient's. With no recipient (someone without an account, a
    proactive invitation) only an SMS to `phone` is possible.
    """
    if recipient is None:
        if not phone or (channels is not None and list(channels) != [Notification.Channel.SMS]):
            raise ValueError("without a recipient only an SMS to a phone can be sent")
        channels = [Notification.Channel.SMS]
    if channels is None:
        channels = [Notification.Channel.IN_APP]
        if recipient.email:
            channels.append(Notification.Channel.EMAIL)
        if phone or getattr(recipient, "phone", ""):
            channels.append(Notification.Channel.SMS)
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(
            recipient=recipient,
            channel=channel,
            subject=subject,
            body=body,
            link=link,
            phone=phone if channel == Notification.Channel.SMS else "",
            created_at=now,
            next_attempt_at=now,
            **_delivered_on_write(channel, now),
        )
        for channel in channels
    )
    if any(row.status == Notification.Status.PENDING for row in rows):
        transaction.on_commit(notifications_enqueue)
    return rows


def _delivered_on_write(channel: str, now) -> dict:
    if channel == Notification.Channel.IN_APP:
        return {"status": Notification.Status.SENT, "sent_at": now}
    return {}


def notifications_enqueue() -> bool:
    """Wake the dispatch up to deliver what was just committed (one run for a burst of commits,
    `kuaiban.broker.ring`); False (and the rows wait for beat's dispatch) when the broker cannot
    be reached. With `CELERY_TASK_ALWAYS_EAGER` they are sent here."""
    # A wake-up call, never a condition of the request: the rows are committed and beat's
    # dispatch finds them anyway. One bounded attempt (`kuaiban.broker.publish`).
    return broker.ring(dispatch)


def notifications_retry(*, actor, ids: Iterable[int]) -> int:
    """Put dead notifications back in the queue with a fresh set of attempts (an administrator
    fixed the cause); each is recorded in the admin log under the actor's name. Returns how many
    were dead; rows in any other state are left alone."""
    with transaction.atomic():
        dead = list(
            Notification.objects.select_for_update()
            .filter(pk__in=list(ids), status=Notification.Status.DEAD)
            .order_by("pk")
        )
        if not dead:
            return 0
        pks = [n.pk for n in dead]
        outbox.put_back(Notification, pks)
        for notification in dead:
            LogEntry.objects.log_actions(
                actor.pk,
                [notification],
                CHANGE,
                change_message=_("Retried by hand after %(attempts)d failed attempt(s): %(error)s")
                % {"attempts": notification.attempts, "error": notification.last_error},
                single_object=True,
            )
        transaction.on_commit(notifications_enqueue)
    logger.info("notifications %s put back in the queue by %s", pks, actor.get_username())
    return len(dead)
