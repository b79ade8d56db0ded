"""Delivering the outbox: claim a batch, send each row holding no lock, record each outcome.

The claim, its lease and the backoff are `kuaiban.outbox`'s (shared with the departments'
webhooks). The SMS gateway deduplicates by the row id, the idempotency key, should a dispatcher
crash after the gateway accepted.
"""

import logging
import re
import smtplib
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.module_loading import import_string

from kuaiban import outbox
from kuaiban.accounts.identity import mask_phone
from kuaiban.outbox import BACKOFF_CAP, LEASE, backoff  # noqa: F401 (this module's contract)

from .models import Notification
from .sms import SMSBackend, SMSRejected

logger = logging.getLogger(__name__)

# Rows claimed at once. The lease outlives a batch sent at the gateway's timeout (20 × 5 s).
BATCH = 20
# Rows one run handles at most; a run that sent this many wakes another (tasks.py).
LIMIT = 500
# A run stops using a channel whose gateway failed this many times running.
FAILURES_IN_A_ROW = 3
# Long digit runs in an error (a phone or ID number echoed by a gateway) are masked.
DIGIT_RUN = re.compile(r"\d{7,}")


class PermanentFailure(Exception):
    """A delivery that cannot succeed however often it is tried."""


# Failures that retrying cannot mend: the row is dead at once.
PERMANENT = (PermanentFailure, SMSRejected, smtplib.SMTPRecipientsRefused)


def notifications_dispatch(*, ids: Iterable[int] | None = None, limit: int = LIMIT) -> int:
    """Deliver due pending notifications (only the given ones, if any), oldest due first.

    Returns how many were sent. Failures are recorded on their rows, never raised.
    """
    wanted = list(ids) if ids is not None else None
    gateways = _Gateways()

    def due_rows():
        rows = outbox.due(Notification).exclude(channel__in=gateways.down)
        return rows if wanted is None else rows.filter(pk__in=wanted)

    return outbox.dispatch(
        due_rows,
        lambda notification, token: _attempt(notification, token, gateways),
        limit=limit,
        batch=BATCH,
        related=["recipient"],
        # A channel whose gateway failed just now: its rows wait for the next run.
        skip=lambda notification: notification.channel in gateways.down,
    )


class _Gateways:
    """The run's view of the gateways: the SMS backend (made on first use), and the channels
    whose gateway failed `FAILURES_IN_A_ROW` times running. A run stops sending on such a
    channel: with the gateway down, every message would wait out its timeout in vain."""

    def __init__(self) -> None:
        self._sms: SMSBackend | None = None
        self._failures: dict[str, int] = {}
        self.down: set[str] = set()

    def sms(self) -> SMSBackend:
        if self._sms is None:
            self._sms = import_string(settings.KUAIBAN_SMS_BACKEND)()
        return self._sms

    def worked(self, channel: str) -> None:
        self._failures[channel] = 0

    def failed(self, channel: str) -> None:
        self._failures[channel] = self._failures.get(channel, 0) + 1
        if self._failures[channel] >= FAILURES_IN_A_ROW and channel not in self.down:
            self.down.add(channel)
            logger.warning(
                "%s gateway failed %d times in a row: its other messages wait for the next run",
                channel,
                FAILURES_IN_A_ROW,
            )


def _attempt(notification: Notification, token: uuid.UUID, gateways: _Gateways) -> int:
    """Send one claimed row and record the outcome; 1 if it went out."""
    try:
        _send(notification, gateways)
    except PERMANENT as error:  # this message's fault, not the gateway's
        _record_failure(notification, token, error, permanent=True)
        return 0
    except Exception as error:  # any other gateway failure may pass: retry later
        _record_failure(notification, token, error, permanent=False)
        gateways.failed(notification.channel)
        return 0
    gateways.worked(notification.channel)
    outbox.record_success(
        notification,
        token,
        sent_at=timezone.now(),
        what=f"notification {notification.pk}",
        log=logger,
    )
    return 1


def _send(notification: Notification, gateways: _Gateways) -> None:
    recipient = notification.recipient
    if notification.channel == Notification.Channel.EMAIL:
        if recipient is None or not recipient.email:
            raise PermanentFailure("the recipient has no e-mail address")
        send_mail(notification.subject, notification.body, None, [recipient.email])
    elif notification.channel == Notification.Channel.SMS:
        phone = notification.phone or getattr(recipient, "phone", "")
        if not phone:
            raise PermanentFailure("the recipient has no mobile number")
        text = f"{notification.subject}：{notification.body}"
        gateways.sms().send(phone, text, message_id=notification.pk)
    # In-app messages are delivered by being in the table.


def _record_failure(
    notification: Notification, token: uuid.UUID, error: Exception, *, permanent: bool
) -> None:
    outbox.record_failure(
        notification,
        token,
        _error_text(error),
        permanent=permanent,
        max_attempts=settings.KUAIBAN_NOTIFY_MAX_ATTEMPTS,
        what=f"notification {notification.pk} ({notification.channel})",
        log=logger,
    )


def _error_text(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return DIGIT_RUN.sub(lambda match: mask_phone(match.group()), text)
