import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Notification

logger = logging.getLogger(__name__)


def notify(
    *, recipient, subject: str, body: str, link: str = "", channels: Iterable[str] | None = None
):
    """Queue a message to a user (inside the caller's transaction); it goes out after commit."""
    if channels is None:
        channels = [Notification.Channel.IN_APP]
        if recipient.email:
            channels.append(Notification.Channel.EMAIL)
        if getattr(recipient, "phone", ""):
            channels.append(Notification.Channel.SMS)
    rows = Notification.objects.bulk_create(
        Notification(recipient=recipient, channel=c, subject=subject, body=body, link=link)
        for c in channels
    )
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: notifications_dispatch(ids=ids))
    return rows


def _deliver(notification: Notification) -> None:
    if notification.channel == Notification.Channel.EMAIL:
        send_mail(notification.subject, notification.body, None, [notification.recipient.email])
    elif notification.channel == Notification.Channel.SMS:
        backend = import_string(settings.KUAIBAN_SMS_BACKEND)()
        backend.send(notification.recipient.phone, f"{notification.subject}：{notification.body}")
    # In-app messages are delivered by being in the table.


def notifications_dispatch(*, ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Send unsent notifications (the given ones, or the oldest); each exactly once."""
    sent = 0
    with transaction.atomic():
        pending = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True)
            .select_related("recipient")
        )
        if ids is not None:
            pending = pending.filter(pk__in=list(ids))
        for notification in pending.order_by("created_at")[:limit]:
            try:
                _deliver(notification)
            except Exception as error:  # any gateway failure: keep it for a retry
                logger.warning("notification %s not sent: %s", notification.pk, error)
                notification.attempts += 1
                notification.last_error = str(error)[:300]
                notification.save(update_fields=["attempts", "last_error"])
                continue
            notification.sent_at = timezone.now()
            notification.attempts += 1
            notification.save(update_fields=["sent_at", "attempts"])
            sent += 1
    return sent
