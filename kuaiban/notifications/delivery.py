"""Delivering the outbox: claim a batch, send each row holding no lock, record each outcome.

A claim is one UPDATE whose subquery picks due rows `FOR UPDATE SKIP LOCKED` and stamps them
with this run's token and a lease; it commits at once. Sending happens outside any transaction,
so no row stays locked while a mail server or SMS gateway takes its time. The outcome is written
by an UPDATE conditional on the token: if the lease ran out and another dispatcher took the row
over, this run's late answer changes nothing. Two dispatchers never claim the same row; a crashed
one's claim expires after the lease and the row is due again (the SMS gateway deduplicates by the
row id, the idempotency key, should the crash have come after the gateway accepted).
"""

import logging
import random
import re
import smtplib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from kuaiban.accounts.identity import mask_phone

from .models import Notification
from .sms import SMSBackend, SMSRejected

logger = logging.getLogger(__name__)

# Rows claimed at once, and how long a claim lasts. The lease outlives a batch sent at the
# gateway's timeout (20 × 5 s); a run that sees its lease running short lets the rest go.
BATCH = 20
LEASE = timedelta(minutes=5)
LEASE_MARGIN = timedelta(seconds=60)
# After the n-th failure the row waits 1 min × 2^(n-1), never more than an hour, less up to a
# fifth at random so that rows failing together do not all come back in the same second.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
BACKOFF_JITTER = 0.2
# A run stops using a channel whose gateway failed this many times running.
FAILURES_IN_A_ROW = 3
# Long digit runs in an error (a phone or ID number echoed by a gateway) are masked.
DIGIT_RUN = re.compile(r"\d{7,}")


class PermanentFailure(Exception):
    """A delivery that cannot succeed however often it is tried."""


# Failures that retrying cannot mend: the row is dead at once.
PERMANENT = (PermanentFailure, SMSRejected, smtplib.SMTPRecipientsRefused)


def backoff(failures: int) -> timedelta:
    """How long a row waits after its `failures`-th failed attempt."""
    delay = min(BACKOFF_BASE * 2 ** max(failures - 1, 0), BACKOFF_CAP)
    return delay * (1 - random.uniform(0, BACKOFF_JITTER))  # noqa: S311 (not for secrets)


def notifications_dispatch(*, ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Deliver due pending notifications (only the given ones, if any), oldest due first.

    Returns how many were sent. Failures are recorded on their rows, never raised.
    """
    wanted = list(ids) if ids is not None else None
    gateways = _Gateways()
    sent = handled = 0
    while handled < limit:
        claim = _claim(ids=wanted, size=min(BATCH, limit - handled), skip=gateways.down)
        for position, notification in enumerate(claim.rows):
            if timezone.now() + LEASE_MARGIN >= claim.until:
                _release(claim.token, [n.pk for n in claim.rows[position:]])
                break
            if notification.channel in gateways.down:  # it failed just now: wait for the next run
                _release(claim.token, [notification.pk])
                continue
            sent += _attempt(notification, claim.token, gateways)
        handled += len(claim.rows)
        if len(claim.rows) < BATCH:
            break
    return sent


@dataclass
class _Claim:
    token: uuid.UUID
    until: datetime
    rows: list[Notification]


def _claim(*, ids: list[int] | None, size: int, skip: set[str]) -> _Claim:
    """Claim up to `size` due rows, none of the channels in `skip`."""
    now = timezone.now()
    token = uuid.uuid4()
    until = now + LEASE
    due = Notification.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
        status=Notification.Status.PENDING,
        next_attempt_at__lte=now,
    ).exclude(channel__in=skip)
    if ids is not None:
        due = due.filter(pk__in=ids)
    chosen = (
        due.order_by("next_attempt_at", "pk")
        .select_for_update(skip_locked=True)
        .values("pk")[:size]
    )
    with transaction.atomic():  # one statement, committed before anything is sent
        Notification.objects.filter(pk__in=chosen).update(claim_token=token, claimed_until=until)
    claimed = (
        Notification.objects.filter(claim_token=token)
        .select_related("recipient")
        .order_by("next_attempt_at", "pk")
    )
    return _Claim(token, until, list(claimed))


def _release(token: uuid.UUID, pks: list[int]) -> None:
    Notification.objects.filter(pk__in=pks, claim_token=token).update(
        claim_token=None, claimed_until=None
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
    recorded = _mine(notification, token).update(
        status=Notification.Status.SENT,
        sent_at=timezone.now(),
        attempts=F("attempts") + 1,
        last_error="",
        claim_token=None,
        claimed_until=None,
    )
    if not recorded:
        logger.warning("notification %s sent after its claim ran out", notification.pk)
    return 1


def _send(notification: Notification, gateways: _Gateways) -> None:
    recipient = notification.recipient
    if notification.channel == Notification.Channel.EMAIL:
        if not recipient.email:
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
    failures = notification.attempts + 1
    dead = permanent or failures >= settings.KUAIBAN_NOTIFY_MAX_ATTEMPTS
    now = timezone.now()
    message = _error_text(error)
    if dead and not permanent:
        message = f"gave up after {failures} attempts: {message}"
    _mine(notification, token).update(
        status=Notification.Status.DEAD if dead else Notification.Status.PENDING,
        attempts=failures,
        last_error=message[:300],
        next_attempt_at=now if dead else now + backoff(failures),
        claim_token=None,
        claimed_until=None,
    )
    logger.warning(
        "notification %s (%s) %s: %s",
        notification.pk,
        notification.channel,
        "dead" if dead else f"attempt {failures} failed",
        message,
    )


def _mine(notification: Notification, token: uuid.UUID):
    return Notification.objects.filter(
        pk=notification.pk, claim_token=token, status=Notification.Status.PENDING
    )


def _error_text(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return DIGIT_RUN.sub(lambda match: mask_phone(match.group()), text)
